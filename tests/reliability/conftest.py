"""Reliability and security tests reuse the API tests' app settings on both stores."""

from tests.api.conftest import app_settings

__all__ = ["app_settings"]
