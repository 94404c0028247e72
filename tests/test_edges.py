"""Instants and durations at the representable edges (Hypothesis): every instant acsync accepts,
plus any few durations it accepts, can be computed with; everything else is a ValueError that
names the range, never an OverflowError (issue 14)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acsync.core.durations import LIMIT, MAX_MONTHS, MAX_SECONDS, UNITS, parse_duration
from acsync.core.event import EventError, parse_event
from acsync.core.ledger import build_ledger
from acsync.core.scoring import evaluate, steps
from acsync.core.timefmt import EARLIEST, LATEST, iso, parse_instant, parse_when
from acsync.core.webhook_decode import WebhookError, to_events
from tests.conftest import ruleset

LAST = LATEST - timedelta(seconds=1)
offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
# Hypothesis bounds are wall-clock times (no zone): the last and first days of the calendar
NEAR_END = datetime(9999, 12, 30, tzinfo=UTC).replace(tzinfo=None)
NEAR_START = datetime(1, 1, 2, tzinfo=UTC).replace(tzinfo=None)
NEAR_2199 = datetime(2198, 12, 31, tzinfo=UTC).replace(tzinfo=None)
anywhere = st.one_of(
    st.datetimes(timezones=offsets),  # year 1 to 9999, every offset
    st.datetimes(min_value=NEAR_END, timezones=offsets),
    st.datetimes(max_value=NEAR_START, timezones=offsets),
    st.datetimes(timezones=st.timezones()),
)
supported = st.datetimes(
    min_value=EARLIEST.replace(tzinfo=None), max_value=LAST.replace(tzinfo=None), timezones=st.just(UTC)
)
edges = st.sampled_from(
    [EARLIEST, LAST, datetime(2199, 12, 31, tzinfo=UTC), datetime(1970, 1, 31, tzinfo=UTC)]
)
FIXED = {"s": 1, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def bound(unit: str) -> int:
    if unit in FIXED:
        return MAX_SECONDS // FIXED[unit]
    return MAX_MONTHS // (12 if unit == "y" else 1)


durations = st.sampled_from(UNITS).flatmap(
    lambda u: st.one_of(st.integers(1, bound(u)), st.just(bound(u))).map(lambda n: f"{n}{u}")
)


def in_utc(t: datetime) -> datetime | None:
    try:
        return t.astimezone(UTC)
    except OverflowError:
        return None


@given(anywhere)
def test_any_instant_text_is_accepted_in_range_or_refused_naming_the_range(t: datetime) -> None:
    text = t.isoformat()
    expected = in_utc(t)
    ok = expected is not None and EARLIEST <= expected < LATEST
    if ok:
        assert expected is not None
        assert parse_instant(text) == expected.replace(microsecond=0)
    else:
        with pytest.raises(ValueError, match=r"supported range, from 1970-01-01 to 2199-12-31"):
            parse_instant(text)


@given(st.dates())
def test_any_date_for_at_is_midnight_utc_or_refused(day: date) -> None:
    text = day.isoformat()
    if 1970 <= day.year <= 2199:
        assert parse_when(text) == datetime(day.year, day.month, day.day, tzinfo=UTC)
    else:
        with pytest.raises(ValueError, match="supported range"):
            parse_when(text)


@given(st.text(max_size=40) | st.integers(0, 10**30).map(lambda n: f"{n}d"))
def test_any_duration_text_parses_within_the_limit_or_is_a_value_error(text: str) -> None:
    try:
        d = parse_duration(text)
    except ValueError:
        return
    assert str(d) == f"{d.amount}{d.unit}"
    if d.fixed is not None:
        assert d.fixed.total_seconds() <= MAX_SECONDS
    else:
        assert d.amount * (12 if d.unit == "y" else 1) <= MAX_MONTHS


@pytest.mark.parametrize("text", ["101y", "1201mo", "5218w", "36526d", "876601h", "99999y", f"{10**40}s"])
def test_durations_past_100_years_are_refused_with_the_limit(text: str) -> None:
    with pytest.raises(ValueError, match="at most 100 years"):
        parse_duration(text)
    assert "100y" in LIMIT


@given(st.one_of(supported, edges), st.lists(durations, min_size=1, max_size=4))
def test_an_instant_in_range_plus_or_minus_any_few_durations_is_computable(
    t: datetime, texts: list[str]
) -> None:
    later = earlier = t
    for text in texts:
        d = parse_duration(text)
        later, earlier = d.after(later), d.before(earlier)
    assert iso(later) > iso(t) > iso(earlier)


@given(st.one_of(supported, edges), st.one_of(supported, edges), durations, durations)
def test_scoring_events_at_the_edges_with_the_longest_durations_never_overflows(
    first: datetime, second: datetime, expiry: str, window: str
) -> None:
    rules = ruleset(
        scores=[{"name": "lead_score"}],
        rules=[
            {"name": "Visit", "on": "site_visit", "points": 10, "expires_after": expiry},
            {"name": "Open", "on": "open", "points": 5, "max": {"count": 1, "within": window}},
            {"name": "Decay", "on": "site_visit", "points": 3, "half_life": "5217w"},
        ],
        inactivity=[
            {"name": "Quiet", "without": ["open"], "for": window, "points": -5, "penalty_lasts": expiry},
            {"name": "Reset", "without": ["site_visit"], "for": expiry, "reset": True, "tag": "Cold"},
        ],
        thresholds=[{"name": "Hot", "at_least": 10, "tag": "Hot"}],
    )
    events = sorted(
        [
            parse_event({"type": "site_visit", "contact_id": "1", "at": first.isoformat(), "url": "u"}),
            parse_event({"type": "open", "contact_id": "1", "at": second.isoformat(), "campaign": "c"}),
            parse_event({"type": "open", "contact_id": "1", "at": first.isoformat(), "campaign": "d"}),
        ],
        key=lambda e: (e.at, e.key),
    )
    entries = build_ledger(events, rules, min(first, second))
    steps(entries, rules)
    for now in (EARLIEST, first, second, LAST):
        evaluate(entries, rules, now)


@pytest.mark.parametrize(
    "at",
    [
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T00:00:00Z",
        "1969-12-31T23:59:59Z",
    ],
)
def test_an_event_or_a_webhook_outside_the_range_is_refused_with_the_range(at: str) -> None:
    with pytest.raises(EventError, match="supported range"):
        parse_event({"type": "site_visit", "contact_id": "2", "at": at, "url": "x"})
    with pytest.raises(WebhookError, match="supported range"):
        to_events({"type": "open", "contact": {"id": "1"}, "date_time": at}, EARLIEST)


@given(
    st.datetimes(min_value=datetime(1971, 1, 1, tzinfo=UTC).replace(tzinfo=None), max_value=NEAR_2199),
    st.timezones(),
    st.sampled_from([" ", "T"]),
)
def test_a_webhook_time_without_an_offset_is_never_rejected_in_any_zone(
    wall: datetime, zone: tzinfo, sep: str
) -> None:
    data = {"type": "open", "contact": {"id": "1"}, "campaign": {"id": "2"}, "date_time": wall.isoformat(sep)}
    (event,) = to_events(data, EARLIEST, zone).events
    assert event.at == wall.replace(tzinfo=zone, microsecond=0).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2013-07-18 08:46:33 UTC", "2013-07-18T08:46:33Z"),
        ("2013-07-18 8:46:33 gmt", "2013-07-18T08:46:33Z"),
        ("2013-07-18T2:10:00-05:00", "2013-07-18T07:10:00Z"),  # a one-digit hour, as in AC's example
        ("2013-07-18T08:46:33+0000", "2013-07-18T08:46:33Z"),
        ("2013-07-18 08:46:33-05", "2013-07-18T13:46:33Z"),
    ],
)
def test_loose_but_readable_times_are_read(text: str, utc: str) -> None:
    assert iso(parse_instant(text)) == utc
