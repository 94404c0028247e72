"""The store and the ingest/score jobs against real SQLite files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import acsync.jobs.score as score_job
from acsync.config import Settings
from acsync.errors import StoreError
from acsync.jobs.ingest import ingest_lines
from acsync.jobs.score import score
from acsync.store import Store
from tests.conftest import at, settings

CONF = settings(
    {
        "scores": [{"name": "lead_score"}],
        "rules": [{"name": "Open", "on": "open", "points": 5, "expires_after": "90d"}],
        "inactivity": [{"name": "Quiet", "without": ["open"], "for": "60d", "tag": "Inaktiv", "points": -50}],
    }
)


def lines(*events: dict[str, Any]) -> list[str]:
    return [json.dumps(e) for e in events]


def open_(contact: str | None, days: float, campaign: str = "1", email: str | None = None) -> dict[str, Any]:
    e: dict[str, Any] = {"type": "open", "at": at(days).isoformat(), "campaign": campaign}
    if contact:
        e["contact_id"] = contact
    if email:
        e["email"] = email
    return e


def run_score(store: Store, days: float, conf: Settings = CONF) -> score_job.ScoreReport:
    return score(store, conf.ruleset(), conf.fingerprints(), at(days))


def scores(store: Store) -> dict[str, int]:
    rows = store.conn.execute(
        "SELECT coalesce(c.ac_id, c.email), s.rounded FROM scores s JOIN contacts c ON c.id = s.contact"
    )
    return dict(rows.fetchall())


def tags(store: Store) -> set[tuple[str, str]]:
    rows = store.conn.execute("SELECT c.ac_id, t.tag FROM tag_state t JOIN contacts c ON c.id = t.contact")
    return set(rows.fetchall())


def test_ingest_counts_and_deduplicates(store: Store) -> None:
    report = ingest_lines(store, lines(open_("1", 0), open_("1", 1), open_("2", 0)), "t", at(0))
    assert (report.read, report.new, report.duplicate, report.rejected) == (3, 2, 1, [])
    again = ingest_lines(store, lines(open_("1", 0)), "t", at(0))
    assert (again.new, again.duplicate) == (0, 1)


def test_an_earlier_sighting_moves_the_event_back(store: Store) -> None:
    ingest_lines(store, lines(open_("1", 5)), "t", at(5))
    run_score(store, 6)
    ingest_lines(store, lines(open_("1", 2)), "t", at(6))
    assert store.conn.execute("SELECT at FROM events").fetchall() == [("2026-01-03T00:00:00Z",)]
    assert store.conn.execute("SELECT dirty FROM contacts").fetchall() == [(1,)]
    run_score(store, 63)  # 2 + 60: the episode started at day 62
    assert tags(store) == {("1", "Inaktiv")}


def test_bad_lines_are_reported_and_never_stop_the_good_ones(store: Store) -> None:
    raw = ["{not json", json.dumps({"type": "open"}), *lines(open_("1", 0)), "", "[]"]
    report = ingest_lines(store, raw, "t", at(0))
    assert report.new == 1
    assert [r.line for r in report.rejected] == [1, 2, 5]
    assert "not JSON" in report.rejected[0].reason


def test_email_only_contact_merges_when_ac_reveals_the_id(store: Store) -> None:
    ingest_lines(store, lines(open_(None, 0, "1", "Ann@Example.com")), "t", at(0))
    ingest_lines(store, lines(open_("42", 1, "2")), "t", at(1))
    assert store.conn.execute("SELECT count(*) FROM contacts").fetchone() == (2,)
    ingest_lines(store, lines(open_("42", 2, "3", "ann@example.com")), "t", at(2))
    assert store.conn.execute("SELECT ac_id, email FROM contacts").fetchall() == [("42", "ann@example.com")]
    assert store.conn.execute("SELECT count(*) FROM events").fetchone() == (3,)
    run_score(store, 3)
    assert scores(store) == {"42": 15}


def test_an_email_that_moved_to_another_contact(store: Store) -> None:
    ingest_lines(store, lines(open_("1", 0, email="x@example.com")), "t", at(0))
    ingest_lines(store, lines(open_("2", 1, email="x@example.com")), "t", at(1))
    rows = store.conn.execute("SELECT ac_id, email FROM contacts ORDER BY ac_id").fetchall()
    assert rows == [("1", None), ("2", "x@example.com")]


def test_a_contact_goes_inactive_between_runs_without_new_events(store: Store) -> None:
    ingest_lines(store, lines(open_("1", 0), open_("2", 0)), "t", at(0))
    run_score(store, 1)
    ingest_lines(store, lines(open_("2", 50, "2")), "t", at(50))
    report = run_score(store, 61)
    assert (report.rebuilt, report.evaluated) == (1, 2)  # 2 has news; 1's episode came due
    assert tags(store) == {("1", "Inaktiv")}
    assert scores(store) == {"1": -45, "2": 10}
    assert run_score(store, 62).evaluated == 0


def test_changed_rules_rebuild_everything(store: Store) -> None:
    ingest_lines(store, lines(open_("1", 0), open_("2", 0)), "t", at(0))
    run_score(store, 1)
    louder = settings(
        {"scores": [{"name": "lead_score"}], "rules": [{"name": "Open", "on": "open", "points": 7}]}
    )
    report = run_score(store, 1, louder)
    assert (report.rebuilt, report.changed) == (2, 2)
    assert scores(store) == {"1": 7, "2": 7}
    assert tags(store) == set()


def test_scoring_at_an_earlier_instant_re_evaluates_everyone(store: Store) -> None:
    ingest_lines(store, lines(open_("1", 0)), "t", at(0))
    run_score(store, 70)
    assert scores(store) == {"1": -45}
    run_score(store, 10)
    assert scores(store) == {"1": 5}
    history = store.conn.execute("SELECT at, value FROM score_history ORDER BY id").fetchall()
    assert [v for _, v in history] == [-45, 5]


def test_a_killed_scoring_run_resumes_to_the_same_state(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [open_(str(c), c % 30, str(c % 3)) for c in range(25)]
    ingest_lines(store, lines(*events), "t", at(0))
    monkeypatch.setattr(score_job, "CHUNK", 4)
    real = score_job.evaluate
    calls = {"n": 0}

    def dying(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt  # a kill in the middle of the second chunk
        return real(*args)

    monkeypatch.setattr(score_job, "evaluate", dying)
    with pytest.raises(KeyboardInterrupt):
        run_score(store, 40)
    done = store.conn.execute("SELECT count(*) FROM contacts WHERE dirty = 0").fetchone()
    assert done == (4,)  # the first chunk committed, the second rolled back
    monkeypatch.setattr(score_job, "evaluate", real)
    run_score(store, 40)
    resumed = (scores(store), tags(store))
    assert len(resumed[0]) == 25
    score(store, CONF.ruleset(), CONF.fingerprints(), at(40), full=True)
    assert (scores(store), tags(store)) == resumed


def test_readonly_open_of_a_missing_database(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no database"):
        Store.open(tmp_path / "missing.db", readonly=True)


def test_not_a_database(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot use"):
        Store.open(junk)


def test_readers_work_while_a_writer_holds_a_transaction(store: Store) -> None:
    ingest_lines(store, lines(open_("1", 0)), "t", at(0))
    run_score(store, 1)
    store.conn.execute("BEGIN IMMEDIATE")
    store.conn.execute("UPDATE scores SET rounded = 99")
    with Store.open(store.path, busy_timeout=0.1, readonly=True) as reader:
        assert reader.conn.execute("SELECT rounded FROM scores").fetchall() == [(5,)]
        with pytest.raises(sqlite3.OperationalError):
            reader.conn.execute("UPDATE scores SET rounded = 1")
    store.conn.execute("ROLLBACK")


def test_worker_processes_give_the_same_state_as_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(score_job, "CHUNK", 7)
    events = lines(*(open_(str(c % 40), (c * 7) % 90, str(c % 5)) for c in range(200)))
    results = []
    for workers in (0, 2):
        with Store.open(tmp_path / f"w{workers}.db") as s:
            ingest_lines(s, events, "t", at(0))
            report = score(s, CONF.ruleset(), CONF.fingerprints(), at(100), workers=workers)
            assert (report.rebuilt, report.evaluated) == (40, 40)
            results.append((scores(s), tags(s), s.conn.execute("SELECT count(*) FROM ledger").fetchone()))
    assert results[0] == results[1]


def test_events_arriving_while_a_chunk_is_computed_keep_the_contact_dirty(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_lines(store, lines(open_("1", 0)), "t", at(0))
    real = score_job.compute

    def racing(*args: Any) -> Any:
        computed = real(*args)
        ingest_lines(store, lines(open_("1", 1, "2")), "t", at(1))  # lands before the write
        return computed

    monkeypatch.setattr(score_job, "compute", racing)
    run_score(store, 2)
    assert store.conn.execute("SELECT dirty FROM contacts").fetchone()[0] > 0
    monkeypatch.setattr(score_job, "compute", real)
    run_score(store, 2)
    assert scores(store) == {"1": 10}
    assert store.conn.execute("SELECT dirty FROM contacts").fetchone() == (0,)
