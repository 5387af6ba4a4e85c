"""A site's configuration document: one validated pydantic model per site."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SiteConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    site: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="public site key")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Origins (scheme://host[:port]) whose pages may send events; '*' allows any.",
    )

    def allows_origin(self, origin: str | None) -> bool:
        """Requests without an Origin header (server-side, curl) are not browser pages and pass."""
        if origin is None:
            return True
        return "*" in self.allowed_origins or origin.rstrip("/") in self.allowed_origins
