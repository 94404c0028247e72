"""``acsync score``: rebuild the ledgers that need it and re-evaluate the scores that changed.

Work is chosen from the store, not from the clock: a contact is rebuilt when it is dirty (new
events, or the rules changed) and re-evaluated when it is rebuilt or its ``next_change_at`` has
come. Contacts are processed in chunks, one transaction each, so a killed run keeps what it
finished and the next run picks up the rest. Running it twice changes nothing.

A chunk is first *computed* from what is committed (events or stored ledgers in, ledger rows
and contact states out), then *applied* in one write transaction. ``dirty`` is a generation
counter: a contact that gained events while its chunk was computed stays dirty for the next
run. Large runs process chunks in worker processes, one per core, each with its own
connection; SQLite serializes their write transactions while the others compute.

One contact's failure never stops the others: a contact whose ledger or scores cannot be
computed (say, an event stored before instants were bounded, whose expiry overflows) is left as
it was, stays dirty, and is named in ``ScoreReport.failed`` with the reason; the rest are scored.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing import get_context
from typing import NamedTuple

from acsync.core.desired import Target, desired
from acsync.core.ledger import Entry, build_ledger
from acsync.core.reasons import fields_of
from acsync.core.rules import Fingerprints, Ruleset
from acsync.core.scoring import evaluate, steps
from acsync.core.timefmt import from_iso, iso
from acsync.iters import batched
from acsync.store import Store
from acsync.store.events import events_by_contact, ledger_by_contact, ledger_rows, write_ledgers
from acsync.store.outbox import queue

CHUNK = 2000
PARALLEL_FROM = 20_000  # contacts: below this, starting workers costs more than it saves

Todo = tuple[int, int, str | None]  # contact id, dirty generation (0: clean), created_at


@dataclass
class ScoreReport:
    at: datetime
    rebuilt: int = 0  # ledgers rebuilt from events
    evaluated: int = 0  # contacts whose scores were evaluated
    changed: int = 0  # contacts whose rounded score, segment or wanted tags changed
    queued: int = 0  # writes to ActiveCampaign queued or changed in the outbox
    workers: int = 0  # worker processes used (0: this process alone)
    failed: dict[int, str] = field(default_factory=dict)  # contact → why it could not be scored

    def add(self, other: ScoreReport) -> None:
        self.rebuilt += other.rebuilt
        self.evaluated += other.evaluated
        self.changed += other.changed
        self.queued += other.queued
        self.failed.update(other.failed)


class Stopped(Exception):
    """Scoring stopped between chunks (the daemon is shutting down); ``report``: what was done."""

    def __init__(self, report: ScoreReport) -> None:
        super().__init__("scoring stopped")
        self.report = report


class State(NamedTuple):
    """A contact's evaluated state, in the stored forms."""

    contact: int
    values: dict[str, float]
    rounded: dict[str, int]
    segments: dict[str, str | None]
    tags: dict[str, tuple[str, str]]  # tag → since, reasons
    next_change: str | None
    texts: dict[str, str] | None = None  # reason and next-segment fields by title (when configured)


@dataclass
class Computed:
    rebuilt: list[int]
    ledger: list[tuple[object, ...]]
    states: list[State]
    steps: list[tuple[object, ...]] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # contact → reason: left as it was


def score(
    store: Store,
    ruleset: Ruleset,
    fingerprints: Fingerprints,
    now: datetime,
    *,
    full: bool = False,
    workers: int | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> ScoreReport:
    """``workers``: processes that share the chunks (default: one per core on large runs).

    ``stop`` is asked between chunks; when it says yes, the run ends with ``Stopped`` and what
    it finished is kept: the next run does the rest."""
    conn = store.conn
    report = ScoreReport(now)
    at = iso(now)
    rebuild_all = full or store.get_meta("ledger_rules") != fingerprints.ledger
    last = store.get_meta("scored_at")
    evaluate_all = (
        rebuild_all or store.get_meta("score_rules") != fingerprints.scores or last is None or at < last
    )
    with store.write():
        if rebuild_all:
            conn.execute("UPDATE contacts SET dirty = 1 WHERE dirty = 0")
        if evaluate_all:
            names = json.dumps([s.name for s in ruleset.scores])
            conn.execute("DELETE FROM scores WHERE score NOT IN (SELECT value FROM json_each(?))", [names])
    if evaluate_all:
        todo: list[Todo] = conn.execute("SELECT id, dirty, created_at FROM contacts ORDER BY id").fetchall()
    else:  # two indexed lookups, not a scan of every contact
        rows = conn.execute("SELECT id, dirty, created_at FROM contacts WHERE dirty > 0").fetchall()
        rows += conn.execute(
            "SELECT id, dirty, created_at FROM contacts WHERE next_change_at <= ?", [at]
        ).fetchall()
        todo = sorted(set(rows))
    chunks = list(batched(todo, CHUNK))
    if workers is None:
        workers = min(len(chunks), os.cpu_count() or 1) if len(todo) >= PARALLEL_FROM else 0
    if workers > 1:
        report.workers = workers
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=get_context("spawn"),  # no fork: the daemon runs threads
            initializer=_init_worker,
            initargs=(str(store.path), store.busy_timeout, ruleset, now),
        ) as pool:
            futures = [pool.submit(_process_in_worker, chunk) for chunk in chunks]
            for future in futures:
                report.add(future.result())
                if stop():
                    pool.shutdown(cancel_futures=True)
                    raise Stopped(report)
    else:
        for chunk in chunks:
            if stop():
                raise Stopped(report)
            report.add(process(store, chunk, ruleset, now))
    with store.write():
        store.set_meta("ledger_rules", fingerprints.ledger)
        store.set_meta("score_rules", fingerprints.scores)
        store.set_meta("scored_at", at)
    return report


def process(store: Store, chunk: Sequence[Todo], ruleset: Ruleset, now: datetime) -> ScoreReport:
    """Compute one chunk from what is committed, then apply it in one write transaction."""
    computed = compute(store.conn, chunk, ruleset, now)
    report = ScoreReport(now)
    with store.write() as conn:
        _apply(conn, chunk, computed, iso(now), report, Target.of(ruleset))
    return report


def compute(conn: sqlite3.Connection, chunk: Sequence[Todo], ruleset: Ruleset, now: datetime) -> Computed:
    """Ledgers for the dirty contacts of a chunk, and every contact's state at ``now``. Reads only."""
    dirty = [c for c, d, _ in chunk if d]
    created = {c: ca for c, _, ca in chunk}
    entries: dict[int, list[Entry]] = {}
    rows: list[tuple[object, ...]] = []
    stepped: list[tuple[object, ...]] = []
    failed: dict[int, str] = {}
    if dirty:
        texts: dict[datetime, str] = {}
        events = dict(events_by_contact(conn, dirty, texts))
        for c in dirty:
            ca = created[c]
            try:
                mine = build_ledger(events.get(c, []), ruleset, None if ca is None else from_iso(ca))
                mine_rows = ledger_rows(c, mine, texts)
                mine_steps = [(c, name, texts.get(t) or iso(t), v) for name, t, v in steps(mine, ruleset)]
            except Exception as e:  # the core is pure: what fails is this contact's data
                failed[c] = _why(e)
                continue
            entries[c] = mine
            rows.extend(mine_rows)
            stepped.extend(mine_steps)
    clean = [c for c, d, _ in chunk if not d]
    if clean:
        entries.update(ledger_by_contact(conn, clean))
    states = []
    explained = any(s.reason_field or s.next_segment_field for s in ruleset.scores)
    for c, _, _ in chunk:
        if c in failed:
            continue
        try:
            s = evaluate(entries.get(c, []), ruleset, now)
            tags = {tag: (iso(w.since), ",".join(w.reasons)) for tag, w in s.tags.items()}
            nxt = None if s.next_change is None else iso(s.next_change)
            words = fields_of(ruleset, entries.get(c, []), now, s.rounded) if explained else None
        except Exception as e:
            failed[c] = _why(e)
            continue
        states.append(State(c, s.values, s.rounded, s.segments, tags, nxt, words))
    if failed:  # a contact whose ledger was built but whose scores failed keeps its old ledger
        dirty = [c for c in dirty if c not in failed]
        rows = [r for r in rows if r[0] not in failed]
        stepped = [r for r in stepped if r[0] not in failed]
    return Computed(dirty, rows, states, stepped, failed)


def _why(e: Exception) -> str:
    return f"{type(e).__name__}: {e}"[:300]


# --- worker processes ---------------------------------------------------------------------------
_worker: tuple[Store, Ruleset, datetime] | None = None


def _init_worker(path: str, busy_timeout: float, ruleset: Ruleset, now: datetime) -> None:
    global _worker
    _worker = (Store.open(path, busy_timeout), ruleset, now)


def _process_in_worker(chunk: Sequence[Todo]) -> ScoreReport:
    assert _worker is not None
    store, ruleset, now = _worker
    return process(store, chunk, ruleset, now)


# --- the writer ---------------------------------------------------------------------------------
class _Previous(NamedTuple):
    scores: dict[str, tuple[float, int, str | None, str]]  # name → value, rounded, segment, changed_at
    tags: dict[str, tuple[str, str]]  # tag → since, reasons


def _apply(
    conn: sqlite3.Connection,
    chunk: Sequence[Todo],
    computed: Computed,
    at: str,
    report: ScoreReport,
    target: Target,
) -> None:
    if computed.rebuilt:
        conn.execute(
            "DELETE FROM ledger WHERE contact IN (SELECT value FROM json_each(?))",
            [json.dumps(computed.rebuilt)],
        )
        write_ledgers(conn, computed.ledger)
        _write_steps(conn, computed.rebuilt, computed.steps)
        report.rebuilt += len(computed.rebuilt)
    if computed.failed:
        report.failed.update(computed.failed)
        chunk = [todo for todo in chunk if todo[0] not in computed.failed]
    previous = _previous(conn, [c for c, _, _ in chunk])
    writes = _Writes(at)
    for state, (_, seen, _) in zip(computed.states, chunk, strict=True):
        if writes.add(state, previous.get(state.contact), seen):
            report.changed += 1
    writes.flush(conn)
    report.evaluated += len(computed.states)
    wanted = {s.contact: desired(target, s.rounded, s.segments, s.tags, s.texts) for s in computed.states}
    report.queued += queue(conn, target, wanted, at)


def _write_steps(
    conn: sqlite3.Connection, rebuilt: Sequence[int], rows: Sequence[tuple[object, ...]]
) -> None:
    """Replace the rebuilt contacts' steps, writing only from the first one that differs: new
    events usually change a score from their own instant on, not its whole past."""

    def grouped(
        items: Iterable[Sequence[object]],
    ) -> dict[tuple[object, object], list[tuple[object, object]]]:
        out: dict[tuple[object, object], list[tuple[object, object]]] = {}
        for c, score, t, value in items:
            out.setdefault((c, score), []).append((t, value))
        return out

    old = grouped(
        conn.execute(
            "SELECT contact, score, at, value FROM score_steps "
            "WHERE contact IN (SELECT value FROM json_each(?)) ORDER BY contact, score, at",
            [json.dumps(list(rebuilt))],
        )
    )
    new = grouped(rows)
    deletes: list[tuple[object, ...]] = []
    inserts: list[tuple[object, ...]] = []
    for key in old.keys() | new.keys():
        before, after = old.get(key, []), new.get(key, [])
        i = 0
        while i < min(len(before), len(after)) and before[i] == after[i]:
            i += 1
        if i < len(before):
            deletes.append((*key, before[i][0]))
        inserts += [(*key, t, value) for t, value in after[i:]]
    conn.executemany("DELETE FROM score_steps WHERE contact = ? AND score = ? AND at >= ?", deletes)
    conn.executemany("INSERT INTO score_steps (contact, score, at, value) VALUES (?, ?, ?, ?)", inserts)


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


@dataclass
class _Writes:
    """What a chunk changes, written with one statement per table."""

    at: str
    scores: list[tuple[object, ...]] = field(default_factory=list)
    history: list[tuple[object, ...]] = field(default_factory=list)
    tags: list[tuple[object, ...]] = field(default_factory=list)
    untags: list[tuple[object, ...]] = field(default_factory=list)
    contacts: list[tuple[object, ...]] = field(default_factory=list)

    def add(self, state: State, prev: _Previous | None, seen: int) -> bool:
        """Record what differs from the stored state; True when something users see changed.

        ``seen`` is the dirty generation the state was computed from."""
        c = state.contact
        prev = prev or _Previous({}, {})
        visible = False
        for name, value in state.values.items():
            rounded, segment = state.rounded[name], state.segments[name]
            old = prev.scores.get(name)
            if old is not None and old[:3] == (value, rounded, segment):
                continue
            moved = old is None or old[1] != rounded
            if moved:
                self.history.append((c, name, self.at, rounded))
            visible = visible or moved or old is None or old[2] != segment
            changed_at = self.at if moved or old is None else old[3]
            self.scores.append((c, name, value, rounded, segment, changed_at))
        for tag in prev.tags.keys() - state.tags.keys():
            self.untags.append((c, tag))
            visible = True
        for tag, (since, reasons) in state.tags.items():
            if prev.tags.get(tag) != (since, reasons):
                visible = visible or tag not in prev.tags
                self.tags.append((c, tag, since, reasons))
        self.contacts.append((state.next_change, c, seen))
        return visible

    def flush(self, conn: sqlite3.Connection) -> None:
        conn.executemany(
            "INSERT OR REPLACE INTO scores (contact, score, value, rounded, segment, changed_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            self.scores,
        )
        conn.executemany(
            "INSERT INTO score_history (contact, score, at, value) VALUES (?, ?, ?, ?)", self.history
        )
        conn.executemany("DELETE FROM tag_state WHERE contact = ? AND tag = ?", self.untags)
        conn.executemany(
            "INSERT OR REPLACE INTO tag_state (contact, tag, since, reasons) VALUES (?, ?, ?, ?)", self.tags
        )
        # Clean only if no new events arrived since the chunk was read (the generation still matches).
        conn.executemany(
            "UPDATE contacts SET dirty = CASE dirty WHEN ?3 THEN 0 ELSE dirty END, next_change_at = ?1 "
            "WHERE id = ?2",
            self.contacts,
        )


def failure_lines(conn: sqlite3.Connection, failed: dict[int, str], limit: int = 20) -> list[str]:
    """One line per contact that could not be scored (its AC id or e-mail, and why), at most
    ``limit``, then how many more."""
    shown = sorted(failed)[:limit]
    names = {
        c: ac_id or email or f"#{c}"
        for c, ac_id, email in conn.execute(
            "SELECT id, ac_id, email FROM contacts WHERE id IN (SELECT value FROM json_each(?))",
            [json.dumps(shown)],
        )
    }
    lines = [f"contact {names.get(c, f'#{c}')}: not scored: {failed[c]}" for c in shown]
    if len(failed) > limit:
        lines.append(f"... and {len(failed) - limit} more contacts not scored")
    return lines
