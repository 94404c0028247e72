"""The HTML page's content: every report it shows, each computed on its own read-only
connection in its own thread (SQLite works without Python's interpreter lock, so the reports
share the cores), then rendered by ``html.render``.

The stored state is the one of the last ``acsync score`` (meta ``scored_at``): the page says
so with that instant, and explains its top leads at it, so each lead's explanation adds up to
the score the top-leads table shows."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from acsync.core.durations import add_months, parse_duration
from acsync.core.rules import Ruleset, ScoreDef
from acsync.core.timefmt import from_iso, human, iso
from acsync.reports.content import content
from acsync.reports.explain import explain
from acsync.reports.history import contact_history, distribution
from acsync.reports.html import Lead, render
from acsync.reports.leads import inactive, segments, top
from acsync.reports.past import Contact, as_of, values_at
from acsync.reports.quality import Options, quality
from acsync.reports.table import Report
from acsync.store import Store
from acsync.store.read import find_contact


def page(
    db: Path,
    ruleset: Ruleset,
    sdef: ScoreDef,
    at: datetime | None,
    now: datetime,
    *,
    title: str,
    limit: int = 20,
    busy_timeout: float = 30.0,
) -> str:
    """The page at ``at`` (None: the stored state, as of the last scoring; the other reports
    at ``now``), with a section for each of the ``limit`` top leads."""
    when = at or now
    with Store.open(db, busy_timeout, readonly=True) as store:
        scored = store.get_meta("scored_at")
        caption = as_of(store.conn, at)
    explain_at = at or (from_iso(scored) if scored is not None else now)

    def scores(conn: sqlite3.Connection) -> list[int]:
        if at is None:
            return [r for (r,) in conn.execute("SELECT rounded FROM scores WHERE score = ?", [sdef.name])]
        return list(values_at(conn, sdef, iso(at)).values())

    parts: dict[str, Callable[[sqlite3.Connection], Any]] = {
        "top": lambda c: top(c, ruleset, sdef, at, limit),  # first: the leads wait for it
        "content": lambda c: content(c, ruleset, sdef, when, 30),
        "history": lambda c: distribution(
            c, ruleset, sdef, when.replace(year=when.year - 1), when, parse_duration("1mo")
        ),
        "segments": lambda c: segments(c, ruleset, sdef, when, at is None, 30),
        "inactive": lambda c: inactive(c, when),
        "scores": scores,
        "quality": lambda c: quality(c, ruleset, sdef, Options(when)),
    }

    def run(job: Callable[[sqlite3.Connection], Any]) -> Any:
        with Store.open(db, busy_timeout, readonly=True) as store:
            return job(store.conn)

    with ThreadPoolExecutor(max_workers=3) as pool:
        done = {name: pool.submit(run, job) for name, job in parts.items()}
        best = done["top"]  # queued before the leads: waiting for it never holds up the pool
        done["leads"] = pool.submit(run, lambda c: leads(c, ruleset, sdef, best.result(), explain_at))
        results = {name: future.result() for name, future in done.items()}
    bands = [
        s.name for s in sorted((s for s in ruleset.segments if s.score == sdef.name), key=lambda s: -s.min)
    ]
    return render(
        title=title,
        score=sdef.name,
        as_of=caption,
        when=human(when),
        generated=human(now),
        bands=bands,
        explain_at="" if at is None and scored is None else iso(explain_at),
        **results,
    )


def leads(
    conn: sqlite3.Connection, ruleset: Ruleset, sdef: ScoreDef, best: Report, at: datetime
) -> list[Lead]:
    """Each top lead's explanation (``acsync explain``) and its history over the year before
    ``at`` (``report history CONTACT``), as those commands compute them."""
    out = []
    for row in best.rows:
        ref = str(row["email"] or row["contact_id"])
        info = find_contact(conn, ref)
        if info is None:  # deleted between the two reads
            continue
        who = Contact(info.id, info.ac_id, info.email, None)
        history = contact_history(conn, ruleset, sdef, who, add_months(at, -12), at)
        out.append(Lead(int(row["rank"]), ref, explain(conn, ruleset, info, at), history))
    return out
