"""Instants: aware UTC ``datetime``\\ s, stored as fixed-width ISO text.

Stored instants are whole seconds in the form ``2026-03-01T09:30:00Z``: fixed width, so text
order is time order inside SQLite, and readable in any SQLite tool.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc(t: datetime) -> datetime:
    """Normalise an aware datetime to UTC whole seconds; reject naive ones."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError("a time needs a UTC offset, e.g. 2026-03-01T09:30:00Z or +01:00")
    return t.astimezone(UTC).replace(microsecond=0)


def parse_instant(text: str) -> datetime:
    """Parse ISO 8601 with an offset (``Z`` accepted) into an aware UTC datetime."""
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {text!r}") from None
    return utc(t)


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
