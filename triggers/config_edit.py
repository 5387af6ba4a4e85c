"""Editing a site config safely: every problem named by its field, and what a change changes. Pure.

``check`` validates a proposed document and lists *all* its problems (a form
needs every bad field at once, not the first); ``changes`` says, field by field,
what differs between two documents, which is what a version history shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from triggers.config import SiteConfig

Problem = dict[str, str]
Change = dict[str, Any]


@dataclass(frozen=True)
class Checked:
    config: SiteConfig | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.config is not None


def problems_of(error: ValidationError) -> list[Problem]:
    """``[{"field": "timing.score_threshold", "message": "..."}]``, one per problem, in document order."""
    found = []
    for detail in error.errors(include_url=False):
        path = ".".join(str(part) for part in detail["loc"]) or "(document)"
        message = str(detail["msg"]).removeprefix("Value error, ")
        found.append({"field": path, "message": message})
    return found


def check(document: Any, site: str) -> Checked:
    """Validate ``document`` as the config of ``site``; its ``version`` is the server's to set."""
    if not isinstance(document, dict):
        return Checked(None, [{"field": "(document)", "message": "a config document is a JSON object"}])
    if document.get("site", site) != site:
        return Checked(
            None, [{"field": "site", "message": f"this document is for site {document['site']!r}, not {site!r}"}]
        )
    try:
        return Checked(SiteConfig.model_validate({**document, "site": site}))
    except ValidationError as error:
        return Checked(None, problems_of(error))


def changes(before: Any, after: Any, path: str = "") -> list[Change]:
    """Leaf-by-leaf differences: ``[{"field", "from", "to"}]``; lists compare as whole values.

    A key that appears or disappears shows ``None`` on the missing side. ``version`` is
    bookkeeping, not a change anyone made, and is left out.
    """
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[Change] = []
        for key in sorted(set(before) | set(after), key=lambda k: (k not in before, str(k))):
            if not path and key == "version":
                continue
            found += changes(before.get(key), after.get(key), f"{path}.{key}" if path else str(key))
        return found
    if before == after and type(before) is type(after):
        return []
    return [{"field": path or "(document)", "from": before, "to": after}]


def document_of(config: SiteConfig) -> dict[str, Any]:
    """The stored form: every option spelt out, so a diff shows defaults as well."""
    return config.model_dump(mode="json")
