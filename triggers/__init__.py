"""The decision policy: whether, when and how to invite a visitor."""

from triggers.config import SiteConfig

__all__ = ["SiteConfig"]
