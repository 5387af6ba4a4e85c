"""Business hours: when a person can answer, in the site's own time zone.

Schedules are wall-clock times in the site's zone, so the shop that opens at
09:00 opens at 09:00 local on both sides of a DST change; only the conversion
from the server's epoch milliseconds goes through ``zoneinfo``. Intervals do not
cross midnight: a night shift is two intervals on two days.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from triggers.memo import Memo

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_INTERVAL = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$")
_LOOKAHEAD_DAYS = 14


def _minutes(hh: str, mm: str) -> int:
    return int(hh) * 60 + int(mm)


def _check_interval(text: str) -> str:
    match = _INTERVAL.match(text)
    if not match:
        raise ValueError(f"opening interval {text!r} must look like '09:00-17:30'")
    start, end = _minutes(*match.group(1, 2)), _minutes(*match.group(3, 4))
    if not start < end <= 24 * 60:
        raise ValueError(f"opening interval {text!r} must end after it starts, by 24:00 at the latest")
    return text


Interval = Annotated[str, AfterValidator(_check_interval)]


def _bounds(interval: str) -> tuple[int, int]:
    start, end = interval.split("-")
    return _minutes(*start.split(":")), _minutes(*end.split(":"))


class BusinessHours(Memo, BaseModel):
    """When chats can be answered by a person. Days missing from ``weekly`` are closed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = Field(default="UTC", description="IANA zone, e.g. 'Europe/Berlin'")
    weekly: dict[Weekday, list[Interval]] = Field(
        default_factory=lambda: {day: ["09:00-17:00"] for day in WEEKDAYS[:5]}
    )
    closed_dates: list[dt.date] = Field(default_factory=list, description="public holidays, in the local calendar")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r}; use an IANA name such as 'Europe/Paris'") from None
        return zone

    def local(self, now_ms: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(now_ms / 1000, ZoneInfo(self.timezone))

    def _intervals(self, day: dt.date) -> list[tuple[int, int]]:
        if day in self.closed_dates:
            return []
        return sorted(_bounds(text) for text in self.weekly.get(WEEKDAYS[day.weekday()], []))

    def is_open(self, now_ms: int) -> bool:
        local = self.local(now_ms)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self._intervals(local.date()))

    def next_opening(self, now_ms: int) -> dt.datetime | None:
        """The next local time a person can answer, within two weeks; None if closed all that time.

        Every collect of a closed site asks (the visitor is told when to come back): the answer stays
        the same until that opening, and is kept until then (a None, for a minute)."""
        kept = self._kept
        asked, until, known = kept.get("next_opening", (0, 0, None))
        if asked <= now_ms < until:
            return known  # type: ignore[no-any-return]
        opening = self._find_next_opening(now_ms)
        until = int(opening.timestamp() * 1000) if opening is not None else now_ms + 60_000
        kept["next_opening"] = (now_ms, until, opening)
        return opening

    def _find_next_opening(self, now_ms: int) -> dt.datetime | None:
        local = self.local(now_ms)
        zone = ZoneInfo(self.timezone)
        for offset in range(_LOOKAHEAD_DAYS + 1):
            day = local.date() + dt.timedelta(days=offset)
            for start, _ in self._intervals(day):
                opening = dt.datetime.combine(day, dt.time(start // 60, start % 60), zone)
                if opening.timestamp() * 1000 > now_ms:
                    return opening
        return None

    def summary(self) -> str:
        """Opening hours for a visitor, e.g. 'mon-fri 09:00-17:00; sat 10:00-14:00 (Europe/Paris)'."""
        return self._memo("summary", self._summarise)  # type: ignore[no-any-return]

    def _summarise(self) -> str:
        groups: list[tuple[list[str], list[str]]] = []
        for day in WEEKDAYS:
            intervals = sorted(self.weekly.get(day, []))
            if not intervals:
                continue
            if groups and groups[-1][1] == intervals and WEEKDAYS.index(day) - 1 == WEEKDAYS.index(groups[-1][0][-1]):
                groups[-1][0].append(day)
            else:
                groups.append(([day], intervals))
        parts = [
            (days[0] if len(days) == 1 else f"{days[0]}-{days[-1]}") + " " + ", ".join(intervals)
            for days, intervals in groups
        ]
        return f"{'; '.join(parts) or 'closed'} ({self.timezone})"
