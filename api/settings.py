"""The process's settings: ``TACTFUL_*`` environment variables, validated once at start."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_GENERATED_TOKEN = secrets.token_urlsafe(24)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TACTFUL_", extra="ignore", frozen=True)

    redis_url: str | None = Field(None, description="redis://host:port/db; unset means the embedded memory store")
    redis_cluster: bool = Field(False, description="TACTFUL_REDIS_URL names one node of a Redis Cluster")
    redis_prefix: str = Field("tf", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    redis_shards: int = Field(16, ge=1, le=1024, description="per site; more shards spread a site over a Cluster")
    redis_wait_replicas: int = Field(
        1,
        ge=0,
        le=8,
        description="a chat message is acknowledged once this many of its master's connected replicas have it",
    )
    redis_max_connections: int = Field(
        64, ge=2, le=10_000, description="per worker (per node on a Cluster); beyond it requests wait"
    )
    data_dir: Path = Field(Path("var"), description="memory mode: event log file and model snapshots")
    demo: bool = Field(True, description="configure the demo site and its pages")
    public_url: str = Field("http://127.0.0.1:8000", description="where browsers reach this server")
    max_visitors: int = Field(200_000, ge=100, description="memory mode: visitors kept before the oldest go")
    site_refresh_s: float = Field(2.0, gt=0, le=60, description="how often workers reload site configs")
    model_refresh_s: float = Field(2.0, gt=0, le=60, description="how often workers look for a new model")
    availability_refresh_s: float = Field(0.5, gt=0, le=10, description="how often workers reread agent capacity")
    run_learner: bool = Field(False, description="with Redis: this process also runs the learner (one only!)")

    # -- agents and chat (api/chat) --
    agent_offer_timeout_s: float = Field(20.0, gt=0, le=600, description="an offered chat moves to the next agent")
    chat_queue_wait_s: float = Field(
        180.0, ge=0, le=3600, description="how long a visitor waits for a free agent before the offline form"
    )
    agent_heartbeat_s: float = Field(1.0, gt=0, le=30, description="how often a console's presence is rewritten")
    agent_presence_ttl_s: float = Field(4.0, gt=0, le=120, description="presence expires this long after a heartbeat")
    agent_grace_s: float = Field(
        10.0, ge=0, le=600, description="a disconnected agent's chats are re-offered after this long"
    )
    visitor_grace_s: float = Field(
        120.0,
        ge=0,
        le=86_400,
        description="a chat ends this long after the visitor's last tab with it open went away (left the site)",
    )
    transcript_retention_days: int = Field(90, ge=1, le=3650, description="chats are deleted this long after they end")
    transcript_sweep_s: float = Field(3600.0, gt=0, description="how often expired transcripts are deleted")
    webhook_backoff_s: float = Field(1.0, gt=0, le=600, description="first retry delay; doubles each attempt")
    webhook_max_attempts: int = Field(8, ge=1, le=30, description="attempts before an event is reported failed")

    admin_token: str | None = Field(
        None, min_length=16, description="bearer token for admin endpoints; unset: one is generated at start"
    )

    # -- marketers: config history, analytics, dashboard (#7) --
    admin_label: str = Field(
        "admin", pattern=r"^[\w .@-]{1,64}$", description="who config changes made with the admin token are recorded as"
    )
    load_sample_s: float = Field(30.0, gt=0, le=600, description="how often agent load is sampled for analytics")

    # -- reliability and security (#9): limits, logs, development mode --
    dev_mode: bool = Field(False, description="development: Redis without an explicit admin token, weak tokens allowed")
    rate_limit_ip_per_s: float = Field(200.0, ge=0, description="collect requests per second per client IP; 0: off")
    rate_limit_ip_burst: int = Field(400, ge=1, description="collect requests one IP may send at once")
    rate_limit_visitor_per_s: float = Field(10.0, ge=0, description="collect requests per second per visitor; 0: off")
    rate_limit_visitor_burst: int = Field(60, ge=1, description="collect requests one visitor may send at once")
    rate_limit_max_keys: int = Field(
        100_000, ge=100, le=10_000_000, description="rate-limit buckets kept per worker (LRU) for each limit"
    )
    ws_max_message_bytes: int = Field(16_384, ge=256, le=1_048_576, description="largest WebSocket frame accepted")
    ws_messages_per_s: float = Field(20.0, gt=0, description="WebSocket frames per second per socket")
    ws_messages_burst: int = Field(40, ge=1, description="WebSocket frames one socket may send at once")
    log_format: str = Field("json", pattern=r"^(json|text)$", description="json: one JSON object per line")
    access_log: bool = Field(False, description="log one line per request (method, route, status, duration)")

    def admin_token_value(self) -> str:
        """The configured token, or the one generated for this process (printed at start)."""
        return self.admin_token or _GENERATED_TOKEN

    @model_validator(mode="after")
    def _cluster_needs_a_node(self) -> Settings:
        if self.redis_cluster and not self.redis_url:
            raise ValueError("redis_cluster: set TACTFUL_REDIS_URL to one node of the cluster")
        return self

    @model_validator(mode="after")
    def _admin_token_outside_development(self) -> Settings:
        """Only the embedded default (or an explicit development mode) may run on a generated token."""
        if self.dev_mode:
            return self
        if self.admin_token is None and self.redis_url:
            raise ValueError(
                "admin_token: set TACTFUL_ADMIN_TOKEN (16+ random characters) when TACTFUL_REDIS_URL "
                "is set, or TACTFUL_DEV_MODE=true for development"
            )
        if self.admin_token is not None and weak_token(self.admin_token):
            raise ValueError(
                "admin_token: TACTFUL_ADMIN_TOKEN looks like a placeholder; generate one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return self

    @field_validator("public_url")
    @classmethod
    def _origin_only(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


PLACEHOLDER_TOKENS = ("changeme", "change_me", "change-me", "password", "default", "example", "replaceme", "secret")


def weak_token(token: str) -> bool:
    """A token that is not random: a placeholder word, or too few distinct characters."""
    folded = token.casefold()
    return len(set(token)) < 8 or any(word in folded for word in PLACEHOLDER_TOKENS)
