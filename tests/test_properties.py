"""Hypothesis properties of the engine (DESIGN §9), in the core and through the store."""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acsync.config import load_config
from acsync.core.event import Event, parse_event
from acsync.core.ledger import AWARD, build_ledger
from acsync.core.scoring import (
    EXACT_UP_TO,
    PER_MILLE,
    clamp,
    evaluate,
    raw_score,
    round_score,
    steps,
    tags_over,
)
from acsync.jobs.ingest import ingest_lines
from acsync.jobs.score import score
from acsync.store import Store
from tests.conftest import ROOT, T0, ruleset

EXAMPLE = load_config(ROOT / "config.example.toml")
LIMITS = ruleset(
    scores=[{"name": "lead_score"}],
    rules=[
        {"name": "Signup", "on": "subscribe", "points": 5, "once": True},
        {"name": "Click", "on": "click", "points": 10, "once_per": "campaign", "expires_after": "3mo"},
        {"name": "Visit", "on": "site_visit", "points": 10, "max": {"count": 2, "within": "7d"}},
        {
            "name": "Open",
            "on": "open",
            "points": 5,
            "expires_after": "90d",
            "max": {"count": 3, "within": "1mo"},
        },
        {"name": "Order", "on": "order", "points": 50},
    ],
)

event_dicts = st.builds(
    lambda type_, contact, hours, campaign, url, name: {
        "type": type_,
        "contact_id": contact,
        "at": (T0 + timedelta(hours=hours)).isoformat(),
        **({"campaign": campaign} if type_ in ("open", "click") else {}),
        **({"url": url} if type_ in ("click", "site_visit") else {}),
        **({"name": name} if type_ == "order" else {}),
        **({"list": "1"} if type_ == "subscribe" else {}),
    },
    st.sampled_from(["open", "click", "site_visit", "subscribe", "order", "reply"]),
    st.sampled_from(["1", "2", "3"]),
    st.integers(0, 24 * 240),
    st.sampled_from(["10", "11", "12"]),
    st.sampled_from(["https://www.example.com/blog/a", "https://www.example.com/pricing"]),
    st.sampled_from(["o1", "o2"]),
)
event_lists = st.lists(event_dicts, min_size=0, max_size=40)
instants = st.integers(0, 24 * 400).map(lambda h: T0 + timedelta(hours=h))


def by_contact(dicts: list[dict[str, Any]]) -> dict[str, list[Event]]:
    out: dict[str, dict[str, Event]] = defaultdict(dict)
    for d in dicts:
        e = parse_event(d)
        known = out[d["contact_id"]].get(e.key)
        if known is None or e.at < known.at:
            out[d["contact_id"]][e.key] = e
    return {c: sorted(es.values(), key=lambda e: (e.at, e.key)) for c, es in out.items()}


# --- core -------------------------------------------------------------------------------------
@given(event_lists)
def test_limits_are_never_exceeded(dicts: list[dict[str, Any]]) -> None:
    for events in by_contact(dicts).values():
        entries = build_ledger(events, LIMITS)
        per_rule: dict[str, list[datetime]] = defaultdict(list)
        for e in entries:
            per_rule[e.rule].append(e.awarded_at)
        assert len(per_rule["Signup"]) <= 1
        clicks = [ev.campaign for ev in events if ev.key in {e.event for e in entries if e.rule == "Click"}]
        assert len(clicks) == len(set(clicks))
        for rule in LIMITS.rules:
            if rule.max_count is None or rule.max_within is None:
                continue
            times = per_rule[rule.name]
            for t in times:
                window = [x for x in times if rule.max_within.before(t) < x <= t]
                assert len(window) <= rule.max_count


@given(event_lists)
def test_past_every_expiry_a_score_is_its_non_expiring_entries(dicts: list[dict[str, Any]]) -> None:
    far = T0 + timedelta(days=3650)
    for events in by_contact(dicts).values():
        entries = build_ledger(events, LIMITS)
        lasting = sum(e.points for e in entries if e.kind == AWARD and e.expires_at is None)
        assert raw_score(entries, far) == lasting


@given(event_lists, st.randoms(use_true_random=False))
def test_the_ledger_does_not_depend_on_input_order(dicts: list[dict[str, Any]], rnd: Any) -> None:
    rs = EXAMPLE.ruleset()
    for events in by_contact(dicts).values():
        shuffled = list(events)
        rnd.shuffle(shuffled)
        again = sorted(shuffled, key=lambda e: (e.at, e.key))
        assert build_ledger(again, rs) == build_ledger(events, rs)


# --- through the store ------------------------------------------------------------------------
def snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """The store's scoring state, keyed by AC id rather than local ids."""
    q = store.conn.execute
    return {
        "ledger": sorted(
            q(
                "SELECT c.ac_id, l.score, l.rule, l.ref, l.kind, l.points, l.awarded_at, l.expires_at, "
                "l.tag, l.ends_at FROM ledger l JOIN contacts c ON c.id = l.contact"
            ).fetchall()
        ),
        "scores": sorted(
            q(
                "SELECT c.ac_id, s.score, s.value, s.rounded, s.segment FROM scores s "
                "JOIN contacts c ON c.id = s.contact"
            ).fetchall()
        ),
        "tags": sorted(
            q(
                "SELECT c.ac_id, t.tag, t.since, t.reasons FROM tag_state t "
                "JOIN contacts c ON c.id = t.contact"
            ).fetchall()
        ),
        "steps": sorted(
            q(
                "SELECT c.ac_id, s.score, s.at, s.value FROM score_steps s "
                "JOIN contacts c ON c.id = s.contact"
            ).fetchall()
        ),
        "outbox": sorted(
            q(
                "SELECT c.ac_id, o.kind, o.name, o.value FROM outbox o JOIN contacts c ON c.id = o.contact"
            ).fetchall()
        ),
    }


def run(
    dicts_batches: list[list[dict[str, Any]]], scored_at: list[datetime], rs_settings: Any = EXAMPLE
) -> Any:
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "p.db") as store:
        for batch, t in zip(dicts_batches, scored_at, strict=True):
            ingest_lines(store, [json.dumps(d) for d in batch], "test", t)
            score(store, rs_settings.ruleset(), rs_settings.fingerprints(), t)
        return snapshot(store)


store_settings = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@store_settings
@given(event_lists, st.randoms(use_true_random=False), instants)
def test_ingest_order_does_not_matter(dicts: list[dict[str, Any]], rnd: Any, t: datetime) -> None:
    shuffled = list(dicts)
    rnd.shuffle(shuffled)
    assert run([shuffled], [t]) == run([dicts], [t])


@store_settings
@given(event_lists, st.data(), instants)
def test_duplicated_events_change_nothing(
    dicts: list[dict[str, Any]], data: st.DataObject, t: datetime
) -> None:
    dupes = data.draw(st.lists(st.sampled_from(dicts), max_size=10)) if dicts else []
    assert run([dicts + dupes], [t]) == run([dicts], [t])


@store_settings
@given(event_lists, st.integers(0, 40), instants, st.integers(0, 24 * 200))
def test_incremental_scoring_equals_scoring_once(
    dicts: list[dict[str, Any]], split: int, t1: datetime, later_hours: int
) -> None:
    t2 = t1 + timedelta(hours=later_hours)
    stepwise = run([dicts[:split], dicts[split:], []], [t1, t2, t2])
    assert stepwise == run([dicts], [t2])


@store_settings
@given(event_lists, instants)
def test_scoring_twice_equals_scoring_once(dicts: list[dict[str, Any]], t: datetime) -> None:
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "p.db") as store:
        ingest_lines(store, [json.dumps(d) for d in dicts], "test", t)
        rs, fp = EXAMPLE.ruleset(), EXAMPLE.fingerprints()
        score(store, rs, fp, t)
        tables = ("contacts", "ledger", "scores", "score_history", "tag_state")
        before = {name: store.conn.execute(f"SELECT * FROM {name}").fetchall() for name in tables}
        report = score(store, rs, fp, t)
        after = {name: store.conn.execute(f"SELECT * FROM {name}").fetchall() for name in tables}
        assert after == before
        assert (report.rebuilt, report.evaluated, report.changed) == (0, 0, 0)


@given(event_lists, st.lists(instants, min_size=1, max_size=6))
def test_steps_give_the_evaluated_score_at_any_instant(
    dicts: list[dict[str, Any]], ts: list[datetime]
) -> None:
    """The stored step function of a score (reports read it) agrees with evaluating the ledger."""
    rs = EXAMPLE.ruleset()
    for events in by_contact(dicts).values():
        entries = build_ledger(events, rs, T0)
        stepped = steps(entries, rs)
        for t in ts:
            for sdef in rs.scores:
                mine = [v for name, at, v in stepped if name == sdef.name and at <= t]
                start = round_score(clamp(0.0, sdef))
                assert (mine[-1] if mine else start) == evaluate(entries, rs, t).rounded[sdef.name]


DECAYING = ruleset(
    scores=[{"name": "lead_score", "floor": -5, "cap": 60}],
    rules=[
        {"name": "Visit", "on": "site_visit", "points": 30, "half_life": "3d"},
        {"name": "Open", "on": "open", "points": 7, "half_life": "1d", "expires_after": "10d"},
        {"name": "Click", "on": "click", "points": -12, "half_life": "5d"},
        {"name": "Order", "on": "order", "points": 20, "expires_after": "30d"},
    ],
    inactivity=[
        {"name": "Quiet", "without": ["open", "click"], "for": "60d", "reset": True},
        {"name": "No visit", "without": ["site_visit"], "for": "20d", "reset": "dynamic"},
    ],
)
seconds = st.integers(0, 400 * 86400).map(lambda s: T0 + timedelta(seconds=s))


@settings(max_examples=60, deadline=None)
@given(event_lists, st.lists(seconds, min_size=1, max_size=8))
def test_steps_of_decaying_scores_are_exact_at_every_second(
    dicts: list[dict[str, Any]], ts: list[datetime]
) -> None:
    """Decay (one or several half-lives, of either sign, with expiry, reset, floor and cap): the
    stored steps give the evaluated rounded score at any whole second, and each step is the first
    second with its value."""
    rs = DECAYING
    for events in by_contact(dicts).values():
        entries = build_ledger(events, rs, T0)
        stepped = steps(entries, rs)
        for name, t, v in stepped:
            assert evaluate(entries, rs, t).rounded[name] == v
        for t in ts:
            mine = [v for _, at, v in stepped if at <= t]
            assert (mine[-1] if mine else 0) == evaluate(entries, rs, t).rounded["lead_score"]
            # and nothing stored changes before the instant scoring is next due
            state = evaluate(entries, rs, t)
            if state.next_change is not None and state.next_change > t + timedelta(seconds=1):
                before = state.next_change - timedelta(seconds=1)
                assert evaluate(entries, rs, before).rounded == state.rounded


big_points = st.one_of(st.integers(-(10**6), 10**6), st.integers(-50, 50)).filter(bool)
lives = st.sampled_from(["1s", "1min", "1h", "6h", "1d", "7d"])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["open", "click"]), st.integers(0, 2 * 86400)), min_size=1, max_size=6
    ),
    big_points,
    lives,
    big_points,
    lives,
    st.sampled_from([None, -(10**6), 0]),
    st.lists(st.integers(0, 3 * 86400), min_size=1, max_size=6),
    st.integers(-30000, 30000),
)
def test_steps_of_large_fast_decays_keep_their_bound(
    visits: list[tuple[str, int]],
    open_points: int,
    open_life: str,
    click_points: int,
    click_life: str,
    floor: int | None,
    offsets: list[int],
    hot: int,
) -> None:
    """Points up to ±10⁶ and half-lives down to a second, one or two of them: each step is the
    evaluated value at its instant, and at any whole second the step in force is the evaluated
    rounded score when either is within ±10,000, else within 1/1000 of the step and on its side
    of the threshold's bounds. The wanted tags over many instants (``tags_over``) are evaluate's."""
    rs = ruleset(
        scores=[{"name": "lead_score", "floor": floor}] if floor is not None else [{"name": "lead_score"}],
        rules=[
            {"name": "Open", "on": "open", "points": open_points, "half_life": open_life},
            {"name": "Click", "on": "click", "points": click_points, "half_life": click_life},
        ],
        thresholds=[{"name": "Hot", "at_least": hot, "release_below": hot - 100, "tag": "Hot"}],
    )
    events = [
        parse_event(
            {
                "type": kind,
                "contact_id": "1",
                "at": (T0 + timedelta(seconds=s)).isoformat(),
                "campaign": str(i),
            }
            | ({"url": "https://x/"} if kind == "click" else {})
        )
        for i, (kind, s) in enumerate(visits)
    ]
    entries = build_ledger(sorted(events, key=lambda e: (e.at, e.key)), rs, T0)
    stepped = steps(entries, rs)
    exact_to = EXACT_UP_TO
    for _, t, v in [*stepped[:: max(1, len(stepped) // 12)], *stepped[-3:]]:  # evaluate is O(steps)
        assert evaluate(entries, rs, t).rounded["lead_score"] == v
    instants = sorted(T0 + timedelta(seconds=s) for s in offsets)
    for t in instants:
        mine = [v for _, at, v in stepped if at <= t]
        got = mine[-1] if mine else round_score(clamp(0.0, rs.scores[0]))
        want = evaluate(entries, rs, t).rounded["lead_score"]
        if abs(got) <= exact_to or abs(want) <= exact_to:
            assert got == want
        else:
            assert abs(got - want) <= abs(got) // PER_MILLE
            assert all((got >= c) == (want >= c) for c in (hot, hot - 100))
    assert tags_over(entries, rs, instants) == [set(evaluate(entries, rs, t).tags) for t in instants]
