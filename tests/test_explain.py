"""``acsync explain``: each entry's status and reason, refused events, floor and cap, tags."""

from __future__ import annotations

import json
import tomllib
from datetime import datetime
from typing import Any

from acsync.config import Settings, validate
from acsync.core.durations import parse_duration
from acsync.core.scoring import evaluate
from acsync.core.timefmt import from_iso
from acsync.jobs.ingest import ingest_lines
from acsync.jobs.score import score
from acsync.reports.explain import explain
from acsync.reports.history import contact_history, distribution
from acsync.reports.past import Contact, values_at
from acsync.reports.table import Report
from acsync.store import Store
from acsync.store.read import find_contact, stored_ledger
from tests.conftest import ROOT, at, settings

RULES: dict[str, Any] = {
    "scores": [{"name": "lead_score", "floor": 0}],
    "rules": [
        {"name": "Visit", "on": "site_visit", "points": 10, "max": {"count": 2, "within": "7d"}},
        {"name": "Click", "on": "click", "points": 5, "once_per": "campaign", "expires_after": "10d"},
        {"name": "Decay", "on": "open", "points": 40, "half_life": "7d"},
    ],
    "inactivity": [
        {
            "name": "Quiet",
            "without": ["site_visit", "click", "open"],
            "for": "30d",
            "points": -50,
            "tag": "Inaktiv",
        }
    ],
}


def load(store: Store, cfg: Settings, events: list[dict[str, Any]], now: datetime) -> None:
    lines = [json.dumps({"contact_id": "7", "email": "a@example.com", **e}) for e in events]
    ingest_lines(store, lines, "test", now)
    score(store, cfg.ruleset(), cfg.fingerprints(), now)


def explained(store: Store, cfg: Settings, t: datetime) -> dict[str, Any]:
    info = find_contact(store.conn, "7")
    assert info is not None
    return explain(store.conn, cfg.ruleset(), info, t)


def by_rule(data: dict[str, Any], rule: str) -> list[tuple[str, str]]:
    return [(e["status"], e["reason"]) for e in data["entries"] if e["rule"] == rule]


def test_limits_expiry_floor_and_tags_are_said_in_words(store: Store) -> None:
    cfg = settings(RULES)
    visits = [{"type": "site_visit", "at": at(d).isoformat(), "url": f"https://x/{d}"} for d in (0, 1, 2)]
    clicks = [
        {"type": "click", "at": at(d).isoformat(), "campaign": "9", "url": f"https://x/c{d}"} for d in (0, 3)
    ]
    load(store, cfg, [*visits, *clicks], at(3))
    data = explained(store, cfg, at(40))
    assert by_rule(data, "Visit") == [
        ("counts", "counts"),
        ("counts", "counts"),
        (
            "over_limit",
            "over the max limit: 2 within 7d, used up by the awards of "
            "2026-01-01 00:00 UTC, 2026-01-02 00:00 UTC",
        ),
    ]
    refused = next(e for e in data["entries"] if e["status"] == "over_limit" and e["rule"] == "Visit")
    assert refused["used_up_by"] == [e["event"] for e in data["entries"] if e["rule"] == "Visit"][:2]
    assert (refused["counts"], refused["value"]) == (False, 0.0)
    assert by_rule(data, "Click") == [
        ("expired", "expired on 2026-01-11 00:00 UTC"),
        ("over_limit", "over the limit: once per campaign (9), used up by the award of 2026-01-01 00:00 UTC"),
    ]
    # quiet since day 3: the episode started on day 33 and still lasts
    assert by_rule(data, "Quiet") == [
        ("counts", "counts until the next qualifying activity ends the episode")
    ]
    # 10 + 10 − 50 = −30 under a floor of 0: the totals say so
    assert data["totals"]["lead_score"] == {
        "entries": -30.0,
        "floor": 0.0,
        "cap": None,
        "floor_applied": True,
        "cap_applied": False,
        "score": 0,
    }
    assert data["scores"] == {"lead_score": 0}
    assert data["tags"] == ["Inaktiv"]
    assert data["tag_details"] == [{"tag": "Inaktiv", "since": "2026-02-03T00:00:00Z", "rules": ["Quiet"]}]
    # before the episode: it is pending, and nothing is clamped
    early = explained(store, cfg, at(5))
    assert by_rule(early, "Quiet") == [
        ("pending", "pending until 2026-02-03 00:00 UTC, when the inactivity episode starts")
    ]
    assert early["totals"]["lead_score"]["floor_applied"] is False
    assert early["tags"] == []


def test_a_reset_wipes_and_a_decayed_award_says_its_value(store: Store) -> None:
    cfg = settings(
        {
            "rules": RULES["rules"],
            "inactivity": [{"name": "Quiet", "without": ["click"], "for": "30d", "reset": True}],
        }
    )
    load(
        store,
        cfg,
        [
            {"type": "open", "at": at(0).isoformat(), "campaign": "1"},
            {"type": "click", "at": at(0).isoformat(), "campaign": "1", "url": "https://x/c"},
            {"type": "open", "at": at(31).isoformat(), "campaign": "2"},
        ],
        at(31),
    )
    data = explained(store, cfg, at(38))
    assert by_rule(data, "Decay") == [
        ("reset", "wiped by the reset of Quiet on 2026-01-31 00:00 UTC"),
        ("counts", "counts, decayed to 20.0 of 40 (half-life 7 days)"),
    ]
    assert by_rule(data, "Click") == [("expired", "expired on 2026-01-11 00:00 UTC")]  # before the reset
    assert by_rule(data, "Quiet") == [
        ("counts", "reset on 2026-01-31 00:00 UTC: everything awarded before it no longer counts")
    ]
    assert data["scores"] == {"lead_score": 20}
    assert data["totals"]["lead_score"]["floor_applied"] is False


def test_history_gives_the_cause_of_every_step_and_the_tag_changes(store: Store) -> None:
    cfg = settings(
        {
            "scores": [{"name": "lead_score"}],
            "rules": [
                {"name": "Visit", "on": "site_visit", "points": 10, "expires_after": "10d"},
                {"name": "Decay", "on": "open", "points": 3, "half_life": "1d"},
            ],
            "inactivity": [
                {"name": "Quiet", "without": ["site_visit"], "for": "30d", "points": -50, "tag": "Inaktiv"}
            ],
        }
    )
    load(
        store,
        cfg,
        [
            {"type": "site_visit", "at": at(0).isoformat(), "url": "https://x/0"},
            {"type": "site_visit", "at": at(40).isoformat(), "url": "https://x/40"},
            {"type": "open", "at": at(41).isoformat(), "campaign": "5"},
        ],
        at(41),
    )
    who = Contact(1, "7", "a@example.com", None)
    rows = contact_history(store.conn, cfg.ruleset(), cfg.ruleset().scores[0], who, at(-1), at(45)).rows
    got = [(r["at"], r["score"], r["change"], r["cause"], r["tags"]) for r in rows]
    assert got[:5] == [
        ("2025-12-31T00:00:00Z", 0, None, "the score at the start", []),
        ("2026-01-01T00:00:00Z", 10, 10, "Visit +10 (https://x/0)", []),
        ("2026-01-11T00:00:00Z", 0, -10, "Visit +10 of 2026-01-01 expired (https://x/0)", []),
        (
            "2026-01-31T00:00:00Z",
            -50,
            -50,
            "Quiet: inactivity episode began, -50; Inaktiv added",
            ["Inaktiv"],
        ),
        (
            "2026-02-10T00:00:00Z",
            10,
            60,
            "Visit +10 (https://x/40); Quiet: episode ended by new activity, its -50 no longer counts; "
            "Inaktiv removed",
            [],
        ),
    ]
    assert got[5] == ("2026-02-11T00:00:00Z", 13, 3, "Decay +3 (campaign 5)", [])
    decay = got[6:]  # 3 decays to 0 point by point: 12, 11, 10, then the visit of day 40 expires
    assert [r[1] for r in decay[:3]] == [12, 11, 10]
    assert all(r[3] == "decay of Decay" for r in decay[:3])
    assert [r["score"] for r in rows[1:]] == [
        evaluate(stored_ledger(store.conn, 1), cfg.ruleset(), from_iso(str(r["at"]))).rounded["lead_score"]
        for r in rows[1:]
    ]


def test_reports_of_decaying_scores_agree_with_the_evaluated_ledger(store: Store) -> None:
    """The issue's case: `report history` showed a mean of 30 where `contacts --at` said 2."""
    text = (
        (ROOT / "config.example.toml")
        .read_text(encoding="utf-8")
        .replace('expires_after = "90d"', 'half_life = "7d"')
    )
    cfg = validate(tomllib.loads(text), {})
    rs, sdef = cfg.ruleset(), cfg.ruleset().scores[0]
    lines = (ROOT / "examples" / "events.jsonl").read_text(encoding="utf-8").splitlines()
    end = from_iso("2026-12-31T00:00:00Z")
    ingest_lines(store, lines, "test", end)
    score(store, rs, cfg.fingerprints(), end)
    ledgers = {c: stored_ledger(store.conn, c) for (c,) in store.conn.execute("SELECT id FROM contacts")}
    rows = distribution(
        store.conn, rs, sdef, from_iso("2026-06-01T00:00:00Z"), end, parse_duration("1mo")
    ).rows
    seen: set[int] = set()
    for row in rows:
        t = from_iso(str(row["at"]))
        stepped = values_at(store.conn, sdef, str(row["at"]), list(ledgers))
        evaluated = {c: evaluate(entries, rs, t).rounded[sdef.name] for c, entries in ledgers.items()}
        assert stepped == evaluated, row["at"]  # exact, not within a point
        seen.update(evaluated.values())
    assert len(seen) > 10  # decayed scores of all sizes, not a trivial agreement on 0


# --- found in review of issue 16 ---------------------------------------------------------------------
RESETS: dict[str, Any] = {
    "scores": [{"name": "lead_score"}],
    "rules": [
        {"name": "Signup", "on": "subscribe", "points": 5},
        {"name": "Open", "on": "open", "points": 5, "expires_after": "30d"},
        {"name": "Visit", "on": "site_visit", "points": 10},
    ],
    "inactivity": [{"name": "Quiet", "without": ["site_visit"], "for": "10d", "reset": True}],
}


def visit(day: float) -> dict[str, Any]:
    return {"type": "site_visit", "at": at(day).isoformat(), "url": f"https://x/{day}"}


def history(store: Store, cfg: Settings, since: datetime, until: datetime) -> list[dict[str, object]]:
    who = Contact(1, "7", "a@example.com", None)
    return contact_history(store.conn, cfg.ruleset(), cfg.ruleset().scores[0], who, since, until).rows


def test_an_award_a_reset_ended_before_its_expiry_was_wiped_at_every_later_instant(store: Store) -> None:
    """The open of day 5 would expire on day 35; the reset of day 10 ended it first. The reason
    names whichever came first, and does not change once the expiry has passed too."""
    cfg = settings(RESETS)
    load(store, cfg, [visit(0), {"type": "open", "at": at(5).isoformat(), "campaign": "1"}], at(40))
    wiped = [("reset", "wiped by the reset of Quiet on 2026-01-11 00:00 UTC")]
    assert by_rule(explained(store, cfg, at(20)), "Open") == wiped  # after the reset, before the expiry
    assert by_rule(explained(store, cfg, at(40)), "Open") == wiped  # after both
    assert by_rule(explained(store, cfg, at(8)), "Open") == [("counts", "counts, until 2026-02-05 00:00 UTC")]


def test_an_award_that_expired_at_the_instant_of_the_reset_expired(store: Store) -> None:
    """Expiry and reset at the same instant: it had stopped counting, the reset wiped nothing of it."""
    rules = [{**RESETS["rules"][1], "expires_after": "10d"}]
    cfg = settings({**RESETS, "rules": rules})  # the reset comes on day 10: first known + 10d
    load(store, cfg, [{"type": "open", "at": at(0).isoformat(), "campaign": "1"}, visit(20)], at(40))
    assert by_rule(explained(store, cfg, at(40)), "Open") == [("expired", "expired on 2026-01-11 00:00 UTC")]


def test_explain_names_the_first_reset_after_the_award(store: Store) -> None:
    """Two resets (day 10 and day 30): the signup of day 0 was wiped on day 10, not day 30."""
    cfg = settings(RESETS)
    load(
        store, cfg, [{"type": "subscribe", "at": at(0).isoformat(), "list": "1"}, visit(0), visit(20)], at(40)
    )
    data = explained(store, cfg, at(40))
    assert [e["awarded_at"] for e in data["entries"] if e["kind"] == "reset"] == [
        "2026-01-11T00:00:00Z",
        "2026-01-31T00:00:00Z",
    ]
    assert by_rule(data, "Signup") == [("reset", "wiped by the reset of Quiet on 2026-01-11 00:00 UTC")]


def test_history_says_a_dynamic_reset_wipes_only_the_dynamic_points(store: Store) -> None:
    cfg = settings(
        {
            "scores": [{"name": "lead_score"}],
            "rules": [
                {"name": "Purchase", "on": "order", "points": 50, "once": True},
                {"name": "Open", "on": "open", "points": 5, "expires_after": "90d"},
            ],
            "inactivity": [{"name": "Quiet", "without": ["open"], "for": "10d", "reset": "dynamic"}],
        }
    )
    load(
        store,
        cfg,
        [
            {"type": "open", "at": at(0).isoformat(), "campaign": "1"},
            {"type": "order", "at": at(1).isoformat(), "name": "o1", "value": 1},
        ],
        at(20),
    )
    row = next(r for r in history(store, cfg, at(-1), at(20)) if r["at"] == "2026-01-11T00:00:00Z")
    assert (row["score"], row["change"]) == (50, -5)  # the purchase stays
    assert row["cause"] == (
        "Quiet: inactivity reset, earlier points that expire or decay wiped (static points stay)"
    )


def test_history_json_tags_are_a_list_as_in_every_other_json(store: Store) -> None:
    cfg = settings(
        {
            "scores": [{"name": "lead_score"}],
            "rules": [{"name": "Open", "on": "open", "points": 5}],
            "inactivity": [{"name": "Quiet", "without": ["open"], "for": "10d", "tag": "Inaktiv"}],
        }
    )
    load(store, cfg, [{"type": "open", "at": at(0).isoformat(), "campaign": "1"}], at(20))
    rows = history(store, cfg, at(-1), at(20))
    assert [r["tags"] for r in rows] == [[], [], ["Inaktiv"]]
    assert json.loads(Report("h", ["tags"], rows).render("json"))[-1]["tags"] == ["Inaktiv"]


def test_history_names_the_rule_of_a_tag_only_episode(store: Store) -> None:
    cfg = settings(
        {
            "scores": [{"name": "lead_score"}],
            "rules": [{"name": "Open", "on": "open", "points": 5}],
            "inactivity": [{"name": "Sleepy rule", "without": ["open"], "for": "10d", "tag": "Sleepy"}],
        }
    )
    opens = [{"type": "open", "at": at(d).isoformat(), "campaign": str(d)} for d in (0, 15)]
    load(store, cfg, opens, at(20))
    got = [(r["at"], r["change"], r["cause"]) for r in history(store, cfg, at(-1), at(20))[1:]]
    assert got == [
        ("2026-01-01T00:00:00Z", 5, "Open +5 (campaign 0)"),
        ("2026-01-11T00:00:00Z", 0, "Sleepy rule: inactivity episode began (tag only); Sleepy added"),
        (
            "2026-01-16T00:00:00Z",
            5,
            "Open +5 (campaign 15); Sleepy rule: episode ended by new activity; Sleepy removed",
        ),
    ]


def test_history_says_when_the_floor_or_the_cap_shaped_a_step(store: Store) -> None:
    cfg = settings(
        {
            "scores": [{"name": "lead_score", "floor": 0, "cap": 100}],
            "rules": [
                {"name": "Open", "on": "open", "points": 25},
                {"name": "Purchase", "on": "order", "points": 50},
            ],
            "inactivity": [{"name": "Quiet", "without": ["open"], "for": "10d", "points": -50}],
        }
    )
    order = [{"type": "order", "at": at(d).isoformat(), "name": f"o{d}", "value": 1} for d in (12, 13, 14)]
    load(store, cfg, [{"type": "open", "at": at(0).isoformat(), "campaign": "1"}, *order], at(20))
    got = [(r["score"], r["change"], r["cause"]) for r in history(store, cfg, at(-1), at(20))[1:]]
    assert got == [
        (25, 25, "Open +25 (campaign 1)"),
        (0, -25, "Quiet: inactivity episode began, -50, floored at 0"),  # 25 − 50 = −25
        (25, 25, "Purchase +50 (o12 1), from the floor 0 (the points had added up to -25)"),
        (75, 50, "Purchase +50 (o13 1)"),
        (100, 25, "Purchase +50 (o14 1), capped at 100"),  # 125
    ]


def test_history_does_not_give_the_expiry_of_an_award_a_reset_wiped_as_a_cause(store: Store) -> None:
    """The open of day 5 (expiring on day 35) was wiped on day 10: its expiry is not a cause on day 35."""
    cfg = settings(RESETS)
    load(
        store, cfg, [visit(0), {"type": "open", "at": at(5).isoformat(), "campaign": "1"}, visit(35)], at(40)
    )
    row = next(r for r in history(store, cfg, at(-1), at(40)) if r["at"] == "2026-02-05T00:00:00Z")
    assert (row["change"], row["cause"]) == (
        10,
        "Visit +10 (https://x/35); Quiet: episode ended by new activity",
    )


def test_history_names_a_penalty_the_floor_swallowed_whole(store: Store) -> None:
    """At the floor already, a penalty changes no point, yet its episode's tag comes: the row says
    why (the penalty, floored) rather than only the tag."""
    cfg = settings(
        {
            "scores": [{"name": "lead_score", "floor": 0}],
            "rules": [{"name": "Open", "on": "open", "points": 5, "expires_after": "5d"}],
            "inactivity": [
                {"name": "Quiet", "without": ["open"], "for": "10d", "points": -50, "tag": "Inaktiv"}
            ],
        }
    )
    load(store, cfg, [{"type": "open", "at": at(0).isoformat(), "campaign": "1"}], at(20))
    got = [(r["score"], r["change"], r["cause"]) for r in history(store, cfg, at(-1), at(20))[1:]]
    assert got == [
        (5, 5, "Open +5 (campaign 1)"),
        (0, -5, "Open +5 of 2026-01-01 expired (campaign 1)"),
        (0, 0, "Quiet: inactivity episode began, -50, floored at 0; Inaktiv added"),
    ]
