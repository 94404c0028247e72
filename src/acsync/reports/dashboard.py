"""The HTML page's content: every report it shows, each computed on its own read-only
connection in its own thread (SQLite works without Python's interpreter lock, so the reports
share the cores), then rendered by ``html.render``."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from acsync.core.durations import parse_duration
from acsync.core.rules import Ruleset, ScoreDef
from acsync.core.timefmt import iso
from acsync.reports.content import content
from acsync.reports.history import distribution
from acsync.reports.html import render
from acsync.reports.leads import inactive, segments, top
from acsync.reports.past import values_at
from acsync.reports.quality import Options, quality
from acsync.store import Store


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
    """The page at ``at`` (None: the stored state, as of ``now``)."""
    when = at or now

    def scores(conn: sqlite3.Connection) -> list[int]:
        if at is None:
            return [r for (r,) in conn.execute("SELECT rounded FROM scores WHERE score = ?", [sdef.name])]
        return list(values_at(conn, sdef, iso(at)).values())

    parts: dict[str, Callable[[sqlite3.Connection], Any]] = {
        "content": lambda c: content(c, ruleset, sdef, when, 30),
        "history": lambda c: distribution(
            c, ruleset, sdef, when.replace(year=when.year - 1), when, parse_duration("1mo")
        ),
        "segments": lambda c: segments(c, ruleset, sdef, when, at is None, 30),
        "inactive": lambda c: inactive(c, when),
        "top": lambda c: top(c, ruleset, sdef, at, limit),
        "scores": scores,
        "quality": lambda c: quality(c, ruleset, sdef, Options(when)),
    }

    def run(job: Callable[[sqlite3.Connection], Any]) -> Any:
        with Store.open(db, busy_timeout, readonly=True) as store:
            return job(store.conn)

    with ThreadPoolExecutor(max_workers=3) as pool:
        done = {name: pool.submit(run, job) for name, job in parts.items()}
        results = {name: future.result() for name, future in done.items()}
    return render(title=title, generated=iso(when), **results)
