"""The score's make-up in words for AC (``reason_field``) and the points to the next segment."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

from acsync.config import validate
from acsync.core.ledger import build_ledger
from acsync.core.reasons import MAX_CHARS, summary, to_next_segment
from acsync.core.scoring import evaluate
from acsync.jobs.pull import backfill
from acsync.jobs.push import push
from acsync.jobs.score import score
from acsync.jobs.setup import setup, wanted
from acsync.store import Store
from acsync.store.read import stored_ledger
from tests.conftest import ROOT, at, ev, ruleset
from tests.sandbox_helpers import NOW, sandbox_and_client

RULES: dict[str, Any] = {
    "scores": [{"name": "lead_score", "floor": 0}],
    "rules": [
        {"name": "E-mail open", "on": "open", "points": 5},
        {"name": "Pricing visit", "on": "site_visit", "points": 10, "expires_after": "60d"},
    ],
    "inactivity": [{"name": "Inaktiv", "without": ["open"], "for": "30d", "points": -50, "tag": "Inaktiv"}],
    "segments": [{"name": "Hot", "min": 50}, {"name": "Warm", "min": 20}, {"name": "Cold", "min": 0}],
}


def test_summary_reads_like_the_issue_asks() -> None:
    rs = ruleset(**RULES)
    events = [
        ev("open", at(0), campaign="1"),
        ev("open", at(1), campaign="2"),
        ev("open", at(2), campaign="3"),
        ev("site_visit", at(40), url="https://x/pricing"),
    ]
    entries = build_ledger(events, rs)
    assert (
        summary(entries, rs.scores[0], at(41))
        == "Inaktiv −50 · 3× E-mail open +15 · Pricing visit +10 until 11 Apr · floor 0"
    )
    assert summary(entries, rs.scores[0], at(10)) == "3× E-mail open +15"
    assert summary([], rs.scores[0], at(0)) == "no points yet"


def test_summary_is_bounded_and_says_what_it_left_out() -> None:
    rs = ruleset(
        rules=[
            {"name": f"Rule number {i:02d} with a long name", "on": "open", "points": i + 1}
            for i in range(40)
        ]
    )
    entries = build_ledger([ev("open", at(0), campaign="1")], rs)
    text = summary(entries, rs.scores[0], at(1))
    assert len(text) <= MAX_CHARS
    assert text.startswith("Rule number 39 with a long name +40 · Rule number 38")  # the largest first
    kept = text.count("Rule number")
    assert text.endswith(f"and {40 - kept} more rules")  # rules, not points: no "+N"


def test_a_rule_too_long_to_fit_is_shortened_not_dropped() -> None:
    rs = ruleset(rules=[{"name": "A" * 300, "on": "open", "points": 5}])
    entries = build_ledger([ev("open", at(0), campaign="1")], rs)
    text = summary(entries, rs.scores[0], at(1))
    assert len(text) == MAX_CHARS
    assert text.startswith("AAAA")
    assert text.endswith("A… +5")  # the points stay; the name gives way


def test_points_to_the_next_segment() -> None:
    rs = ruleset(**RULES)
    sdef = rs.scores[0]
    assert [to_next_segment(rs, sdef, v) for v in (0, 19, 20, 49, 50, 120)] == [20, 1, 30, 1, 0, 0]


def settings_with(**score: str) -> Any:
    data = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    data["scores"][0].update(score)
    return validate(data, {})


def world(path: Path, settings: Any) -> tuple[Any, Store, Counter[str]]:
    sb, client, clock = sandbox_and_client(40, rate=None)
    store = Store.open(path)
    setup(store, client, settings, dry_run=False)
    backfill(store, client, NOW)
    score(store, settings.ruleset(), settings.fingerprints(), NOW)
    before = Counter(sb.journal.as_json()["counts"])
    for _ in range(5):
        push(store, client, settings.push, NOW, sleep=clock.sleep, clock=clock)
    counts = Counter(sb.journal.as_json()["counts"]) - before
    return sb, store, counts


def test_reason_fields_are_pushed_in_the_same_requests(tmp_path: Path) -> None:
    explained = settings_with(reason_field="Score Reason", next_segment_field="Points To Next Segment")
    assert [(w.name, w.field_type) for w in wanted(explained) if w.kind == "field"] == [
        ("Lead Score", "number"),
        ("Score Reason", "text"),
        ("Points To Next Segment", "number"),
    ]
    sb, store, counts = world(tmp_path / "with.db", explained)
    _, plain_store, plain = world(tmp_path / "without.db", settings_with())
    plain_store.close()
    assert counts == plain  # the same requests, whether or not the reason fields are configured
    rs = explained.ruleset()
    titles = {f["id"]: f["title"] for f in sb.account.fields.values()}
    checked = 0
    for cid, ac_id in store.conn.execute("SELECT id, ac_id FROM contacts WHERE ac_id IS NOT NULL"):
        held = {
            titles[fv["field"]]: fv["value"] for fv in sb.account.field_values.get(int(ac_id), {}).values()
        }
        if "Lead Score" not in held:
            continue
        entries = stored_ledger(store.conn, cid)
        state = evaluate(entries, rs, NOW)
        assert held["Score Reason"] == summary(entries, rs.scores[0], NOW)
        assert len(held["Score Reason"]) <= MAX_CHARS
        assert held["Points To Next Segment"] == str(
            to_next_segment(rs, rs.scores[0], state.rounded["lead_score"])
        )
        checked += 1
    assert checked >= 20
    store.close()


def test_a_reason_under_the_cap_is_due_when_its_points_change() -> None:
    """At the cap the score stays 100 while the decaying points fade: the contact is due again
    when they change, so the pushed reason never keeps a stale "+69"."""
    sections: dict[str, Any] = {
        "scores": [{"name": "s", "cap": 100, "reason_field": "Why"}],
        "rules": [
            {"name": "Purchase", "on": "order", "points": 60},
            {"name": "Blog", "on": "site_visit", "points": 20, "half_life": "7d"},
        ],
    }
    visits = [ev("site_visit", at(0, hours=h), url="https://x/blog") for h in range(4)]
    entries = build_ledger([ev("order", at(0), id="1", value=100), *visits], ruleset(**sections))
    rs = ruleset(**sections)
    t = at(1)
    state = evaluate(entries, rs, t)
    assert state.rounded["s"] == 100  # 60 + about 72: capped
    assert state.next_change is not None
    later = evaluate(entries, rs, state.next_change)
    assert later.rounded["s"] == 100  # still capped, yet due: the reason changed
    assert summary(entries, rs.scores[0], state.next_change) != summary(entries, rs.scores[0], t)
    without = {**sections, "scores": [{"name": "s", "cap": 100}]}  # no reason: due when the score moves
    plain = evaluate(entries, ruleset(**without), t).next_change
    assert plain is not None
    assert plain > state.next_change
    assert evaluate(entries, ruleset(**without), plain).rounded["s"] == 99
