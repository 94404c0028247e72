"""AC's value quirks, read defensively: string ids and counts, zero dates, offsets in times."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from acsync.core.timefmt import in_range, utc


def as_int(value: Any, default: int = 0) -> int:
    """``"113"``, ``113`` and ``"113.0"`` are 113; anything else is ``default``."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    try:
        return int(float(str(value)))
    except (TypeError, ValueError):
        return default


def as_number(value: Any) -> float | None:
    """``9111``, ``"1000"`` and ``"10.50"`` as a number (AC sends amounts either way); else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value) if isinstance(value, int | float) else float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def as_id(value: Any) -> str | None:
    """Ids come as strings, sometimes as numbers (a tag create answered ``"id": 1``)."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    return str(value)


_ONE_DIGIT_HOUR = re.compile(r"^(\d{4}-\d{2}-\d{2}[T ])(\d:)")


def ac_time(value: Any) -> datetime | None:
    """An AC timestamp as aware UTC, or None for empty and zero dates (``0000-00-00 …``).

    ISO times carry the account's offset (``2018-09-28T13:55:59-05:00``); the ``*_utc_timestamp``
    form ``2021-06-30 04:12:14`` has none and is UTC. AC's own order example writes a one-digit
    hour (``2019-09-06T2:10:00-05:00``): it is read as 02:10.
    """
    if not isinstance(value, str) or not value.strip() or value.startswith("0000-00-00"):
        return None
    text = _ONE_DIGIT_HOUR.sub(r"\g<1>0\g<2>", value.strip())
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    try:
        return in_range(utc(t))
    except (OverflowError, ValueError):  # a bogus time (year 9999 less an offset): no time at all
        return None
