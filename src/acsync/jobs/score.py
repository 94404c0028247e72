"""``acsync score``: rebuild the ledgers that need it and re-evaluate the scores that changed.

Work is chosen from the store, not from the clock: a contact is rebuilt when it is dirty (new
events, or the rules changed) and re-evaluated when it is rebuilt or its ``next_change_at`` has
come. Contacts are processed in chunks, one transaction each, so a killed run keeps what it
finished and the next run picks up the rest. Running it twice changes nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from acsync.core.ledger import Entry, build_ledger
from acsync.core.rules import Fingerprints, Ruleset
from acsync.core.scoring import ContactScore, evaluate
from acsync.core.timefmt import from_iso, iso
from acsync.iters import batched
from acsync.store import Store
from acsync.store.events import events_by_contact, ledger_by_contact, ledger_rows, write_ledgers

CHUNK = 2000


@dataclass
class ScoreReport:
    at: datetime
    rebuilt: int = 0  # ledgers rebuilt from events
    evaluated: int = 0  # contacts whose scores were evaluated
    changed: int = 0  # contacts whose rounded score, segment or wanted tags changed


def score(
    store: Store, ruleset: Ruleset, fingerprints: Fingerprints, now: datetime, *, full: bool = False
) -> ScoreReport:
    conn = store.conn
    report = ScoreReport(now)
    at = iso(now)
    rebuild_all = full or store.get_meta("ledger_rules") != fingerprints.ledger
    last = store.get_meta("scored_at")
    evaluate_all = (
        rebuild_all or store.get_meta("score_rules") != fingerprints.scores or last is None or at < last
    )
    with store.db.atomic():
        if rebuild_all:
            conn.execute("UPDATE contacts SET dirty = 1 WHERE dirty = 0")
        if evaluate_all:
            names = json.dumps([s.name for s in ruleset.scores])
            conn.execute("DELETE FROM scores WHERE score NOT IN (SELECT value FROM json_each(?))", [names])
    todo = conn.execute(
        "SELECT id, dirty, created_at FROM contacts WHERE ? OR dirty = 1 OR next_change_at <= ? ORDER BY id",
        [evaluate_all, at],
    ).fetchall()
    for chunk in batched(todo, CHUNK):
        with store.db.atomic():
            _chunk(conn, chunk, ruleset, now, report)
    with store.db.atomic():
        store.set_meta("ledger_rules", fingerprints.ledger)
        store.set_meta("score_rules", fingerprints.scores)
        store.set_meta("scored_at", at)
    return report


def _chunk(
    conn: sqlite3.Connection,
    chunk: Sequence[tuple[int, int, str | None]],
    ruleset: Ruleset,
    now: datetime,
    report: ScoreReport,
) -> None:
    ids = [c for c, _, _ in chunk]
    dirty = [c for c, d, _ in chunk if d]
    created = {c: ca for c, _, ca in chunk}
    entries: dict[int, list[Entry]] = {}
    if dirty:
        events = dict(events_by_contact(conn, dirty))
        rows: list[tuple[object, ...]] = []
        for c in dirty:
            ca = created[c]
            entries[c] = build_ledger(events.get(c, []), ruleset, None if ca is None else from_iso(ca))
            rows.extend(ledger_rows(c, entries[c]))
        conn.execute(
            "DELETE FROM ledger WHERE contact IN (SELECT value FROM json_each(?))",
            [json.dumps(dirty)],
        )
        write_ledgers(conn, rows)
        report.rebuilt += len(dirty)
    clean = [c for c, d, _ in chunk if not d]
    if clean:
        entries.update(ledger_by_contact(conn, clean))
    previous = _previous(conn, ids)
    at = iso(now)
    for c in ids:
        state = evaluate(entries.get(c, []), ruleset, now)
        if _store_state(conn, c, state, previous.get(c), at):
            report.changed += 1
        nxt = state.next_change
        conn.execute(
            "UPDATE contacts SET dirty = 0, next_change_at = ? WHERE id = ?",
            [None if nxt is None else iso(nxt), c],
        )
    report.evaluated += len(ids)


@dataclass
class _Previous:
    scores: dict[str, tuple[float, int, str | None, str]]  # name → value, rounded, segment, changed_at
    tags: dict[str, tuple[str, str]]  # tag → since, reasons


def _previous(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, _Previous]:
    arg = [json.dumps(list(ids))]
    out: dict[int, _Previous] = {}
    for c, name, value, rounded, segment, changed_at in conn.execute(
        "SELECT contact, score, value, rounded, segment, changed_at FROM scores "
        "WHERE contact IN (SELECT value FROM json_each(?))",
        arg,
    ):
        out.setdefault(c, _Previous({}, {})).scores[name] = (value, rounded, segment, changed_at)
    for c, tag, since, reasons in conn.execute(
        "SELECT contact, tag, since, reasons FROM tag_state "
        "WHERE contact IN (SELECT value FROM json_each(?))",
        arg,
    ):
        out.setdefault(c, _Previous({}, {})).tags[tag] = (since, reasons)
    return out


def _store_state(
    conn: sqlite3.Connection, c: int, state: ContactScore, prev: _Previous | None, at: str
) -> bool:
    """Write what differs from the stored state; True when something users see changed."""
    prev = prev or _Previous({}, {})
    visible = False
    for name, value in state.values.items():
        rounded, segment = state.rounded[name], state.segments[name]
        old = prev.scores.get(name)
        if old is not None and old[:3] == (value, rounded, segment):
            continue
        changed_at = at if old is None or old[1] != rounded else old[3]
        if old is None or old[1] != rounded:
            conn.execute(
                "INSERT INTO score_history (contact, score, at, value) VALUES (?, ?, ?, ?)",
                [c, name, at, rounded],
            )
        visible = visible or old is None or old[1:3] != (rounded, segment)
        conn.execute(
            "INSERT OR REPLACE INTO scores (contact, score, value, rounded, segment, changed_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [c, name, value, rounded, segment, changed_at],
        )
    wanted = {tag: (iso(w.since), ",".join(w.reasons)) for tag, w in state.tags.items()}
    for tag in prev.tags.keys() - wanted.keys():
        conn.execute("DELETE FROM tag_state WHERE contact = ? AND tag = ?", [c, tag])
        visible = True
    for tag, (since, reasons) in wanted.items():
        if prev.tags.get(tag) != (since, reasons):
            visible = visible or tag not in prev.tags
            conn.execute(
                "INSERT OR REPLACE INTO tag_state (contact, tag, since, reasons) VALUES (?, ?, ?, ?)",
                [c, tag, since, reasons],
            )
    return visible
