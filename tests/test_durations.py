from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from acsync.core.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "start", "expected"),
    [
        ("90d", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)),
        ("1mo", datetime(2026, 1, 31, tzinfo=UTC), datetime(2026, 2, 28, tzinfo=UTC)),
        ("1mo", datetime(2028, 1, 31, tzinfo=UTC), datetime(2028, 2, 29, tzinfo=UTC)),
        ("3mo", datetime(2026, 11, 30, 12, tzinfo=UTC), datetime(2027, 2, 28, 12, tzinfo=UTC)),
        ("1y", datetime(2028, 2, 29, tzinfo=UTC), datetime(2029, 2, 28, tzinfo=UTC)),
        ("2w", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 15, tzinfo=UTC)),
        ("90min", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 1, 30, tzinfo=UTC)),
        ("12h", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 12, tzinfo=UTC)),
        ("30s", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)),
    ],
)
def test_after(text: str, start: datetime, expected: datetime) -> None:
    assert parse_duration(text).after(start) == expected


def test_before_is_calendar_aware() -> None:
    assert parse_duration("1mo").before(datetime(2026, 3, 31, tzinfo=UTC)) == datetime(
        2026, 2, 28, tzinfo=UTC
    )


def test_fixed_and_calendar() -> None:
    assert parse_duration("2d").fixed == timedelta(days=2)
    assert parse_duration("2mo").fixed is None
    assert str(parse_duration(" 3mo ")) == "3mo"


@pytest.mark.parametrize("bad", ["", "90", "d", "1.5d", "-3d", "0d", "3 days", "3m", 90, None])
def test_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match=r"duration|expected"):
        parse_duration(bad)
