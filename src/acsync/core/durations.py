"""Durations written as ``<int><unit>``: ``s``, ``min``, ``h``, ``d``, ``w``, ``mo``, ``y``.

Months and years are calendar units: adding one month to 31 January gives the last day of
February (28 or 29), and one year after 29 February 2024 is 28 February 2025. Fixed units
(``s`` … ``w``) are plain ``timedelta``\\ s.

A duration is at most 100 years (``100y``, ``1200mo``, ``36525d``…): with the instants of
``core.timefmt``'s supported range (1970–2199) any instant plus or minus a few durations stays
inside what ``datetime`` can hold, so no expiry, window or episode overflows.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

UNITS = ("s", "min", "h", "d", "w", "mo", "y")
_FIXED_SECONDS = {"s": 1, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PATTERN = re.compile(r"^\s*(\d+)\s*(s|min|h|d|w|mo|y)\s*$")
ALLOWED = "a whole number and a unit, e.g. 90d, 3mo, 12h; units: s, min, h, d, w, mo, y"
MAX_MONTHS = 1200  # 100 years
MAX_SECONDS = 36525 * 86400  # 100 years of 365.25 days
LIMIT = "at most 100 years (100y, 1200mo, 5217w, 36525d, 876600h)"


@dataclass(frozen=True, slots=True)
class Duration:
    amount: int
    unit: str
    # The duration as a timedelta, or None for calendar units (months, years).
    fixed: timedelta | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        seconds = _FIXED_SECONDS.get(self.unit)
        object.__setattr__(
            self, "fixed", None if seconds is None else timedelta(seconds=self.amount * seconds)
        )

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    @property
    def is_calendar(self) -> bool:
        return self.unit in ("mo", "y")

    def _months(self) -> int:
        return self.amount * (12 if self.unit == "y" else 1)

    def after(self, t: datetime) -> datetime:
        """``t + self``."""
        delta = self.fixed
        if delta is not None:
            return t + delta
        return add_months(t, self._months())

    def before(self, t: datetime) -> datetime:
        """``t - self``."""
        delta = self.fixed
        if delta is not None:
            return t - delta
        return add_months(t, -self._months())


def parse_duration(text: object) -> Duration:
    """Parse ``"90d"``; raise ValueError naming what is allowed."""
    if not isinstance(text, str):
        raise ValueError(f"expected {ALLOWED}")
    m = _PATTERN.match(text)
    if m is None:
        raise ValueError(f"expected {ALLOWED}")
    if len(m.group(1)) > 12:
        raise ValueError(f"a duration is {LIMIT}")
    amount, unit = int(m.group(1)), m.group(2)
    if amount <= 0:
        raise ValueError("a duration must be longer than zero")
    seconds = _FIXED_SECONDS.get(unit)
    months = amount * (12 if unit == "y" else 1)
    if (amount * seconds > MAX_SECONDS) if seconds else (months > MAX_MONTHS):
        raise ValueError(f"{amount}{unit} is too long: a duration is {LIMIT}")
    return Duration(amount, unit)


def add_months(t: datetime, months: int) -> datetime:
    """Calendar month arithmetic, clamping the day to the target month's length."""
    y, m0 = divmod(t.month - 1 + months, 12)
    year, month = t.year + y, m0 + 1
    day = min(t.day, calendar.monthrange(year, month)[1])
    return t.replace(year=year, month=month, day=day)
