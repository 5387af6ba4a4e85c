"""Day arithmetic, in one place: days are UTC days since the epoch, times are epoch milliseconds.

Daily counters, a visitor's invitations and offers per day (``i<day>``, ``o<day>``), retention
and the store's time-to-live figures all count days this way.
"""

from __future__ import annotations

DAY_MS = 86_400_000


def day_of(ms: int) -> int:
    """The UTC day (days since the epoch) that the time ``ms`` falls in."""
    return ms // DAY_MS


def days_ms(days: int) -> int:
    """``days`` whole days, in milliseconds."""
    return days * DAY_MS
