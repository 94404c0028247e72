"""Instants: aware UTC ``datetime``\\ s, stored as fixed-width ISO text.

Stored instants are whole seconds in the form ``2026-03-01T09:30:00Z``: fixed width, so text
order is time order inside SQLite, and readable in any SQLite tool.

**The supported range.** Every instant acsync accepts (an event's ``at``, a webhook's
``date_time``, ``--at``, ``--since``) lies in ``[EARLIEST, LATEST)``: years 1970 to 2199.
Durations are at most 100 years (``core.durations``), so an instant plus or minus any few
durations stays far inside what ``datetime`` can hold (years 1 to 9999): scoring never
overflows. A time outside the range is refused where it enters, with the range in the message.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)  # exclusive
RANGE = "from 1970-01-01 to 2199-12-31 (UTC)"
# ``2026-03-01 9:30:00`` / ``2026-03-01T9:30:00-05:00``: a one-digit hour, seen in AC's examples
_ONE_DIGIT_HOUR = re.compile(r"^(\d{4}-\d{2}-\d{2}[T ])(\d)(:\d{2}.*)$")
_UTC_WORD = re.compile(r"\s*(UTC|GMT)$", re.IGNORECASE)  # ``2026-03-01 09:30:00 UTC``


class NoOffset(ValueError):
    """A time of day without a UTC offset (and no zone to read it in)."""


class OutOfRange(ValueError):
    """An instant outside ``[EARLIEST, LATEST)``."""


def utc(t: datetime) -> datetime:
    """Normalise an aware datetime to UTC whole seconds; reject naive ones."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise NoOffset("a time needs a UTC offset, e.g. 2026-03-01T09:30:00Z or +01:00")
    return t.astimezone(UTC).replace(microsecond=0)


def in_range(t: datetime) -> datetime:
    """``t`` when it lies in the supported range; else ValueError naming the range."""
    if not EARLIEST <= t < LATEST:
        raise OutOfRange(f"{t.isoformat()} is outside the supported range, {RANGE}")
    return t


def parse_instant(text: str, zone: tzinfo | None = None) -> datetime:
    """Parse ISO 8601 into an aware UTC datetime in the supported range.

    ``Z`` is accepted, and so are a space for the ``T``, a one-digit hour and a trailing
    ``UTC``. A time without an offset is read in ``zone`` when one is given (a daylight-saving
    gap or overlap resolves as ``zoneinfo`` does, never as an error), and is an error otherwise."""
    stripped = text.strip()
    try:
        t = datetime.fromisoformat(stripped)
    except ValueError:
        loose = _UTC_WORD.sub("+00:00", stripped)
        m = _ONE_DIGIT_HOUR.match(loose)
        try:
            t = datetime.fromisoformat(loose if m is None else f"{m.group(1)}0{m.group(2)}{m.group(3)}")
        except ValueError:
            raise ValueError(f"not an ISO 8601 time: {text!r}") from None
    if t.tzinfo is None and zone is not None:
        t = t.replace(tzinfo=zone)
    try:
        return in_range(utc(t))
    except OverflowError:  # year 1 or 9999 with an offset that crosses the end of the calendar
        raise OutOfRange(f"{stripped!r} is outside the supported range, {RANGE}") from None


_DATE = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")  # 2026-01-31 or 20260131
_WANTED = "an ISO 8601 time with an offset (2026-03-01T09:30:00Z) or a date (2026-01-31)"


def parse_when(text: str) -> datetime:
    """An instant (ISO 8601 with an offset) or a plain date (``2026-01-31`` or ``20260131``:
    midnight UTC), for a person's option; the error says in one phrase what was wrong."""
    stripped = text.strip()
    day: date | None = None
    if ":" not in stripped:  # no time of day: a date (2026-01-31, 20260131, 2026-W10)
        try:
            day = date.fromisoformat(stripped)
        except ValueError:
            if _DATE.match(stripped):
                raise ValueError(f"{stripped!r} is not a date of the calendar; expected {_WANTED}") from None
    try:
        return (
            in_range(datetime(day.year, day.month, day.day, tzinfo=UTC)) if day else parse_instant(stripped)
        )
    except OutOfRange:
        raise ValueError(f"{stripped!r} is outside the supported range, {RANGE}") from None
    except NoOffset:
        raise ValueError(f"{stripped!r} has no UTC offset: add Z or +01:00, or give a date") from None
    except ValueError:
        raise ValueError(f"{stripped!r} is not a time; expected {_WANTED}") from None


def iso(t: datetime) -> str:
    """The stored form of an aware datetime (hot path: no strftime)."""
    if t.tzinfo is not UTC:
        t = t.astimezone(UTC)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (t.year, t.month, t.day, t.hour, t.minute, t.second)  # noqa: UP031


def from_iso(text: str) -> datetime:
    """Read back the stored form (fast path for ``iso``'s own output)."""
    return datetime.fromisoformat(text)


def iso_or_none(t: datetime | None) -> str | None:
    return None if t is None else iso(t)


def human(t: datetime | str) -> str:
    """An instant for people, ``2026-03-01 09:30 UTC``, from a datetime or its stored form.
    (Machines get ``iso``: ``2026-03-01T09:30:00Z``.)"""
    text = iso(t if isinstance(t, datetime) else datetime.fromisoformat(t))
    return f"{text[:10]} {text[11:16]} UTC"
