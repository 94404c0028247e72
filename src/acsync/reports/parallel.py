"""Additive aggregate queries split by contact range over the machine's cores.

SQLite runs a statement on one core, but Python's ``sqlite3`` lets go of the interpreter while
SQLite works: one read-only connection per range, each in its own thread, and the column sums
add up to the whole. Only for queries whose every column is a sum or a count.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from acsync.store.db import connect_readonly


def summed(
    conn: sqlite3.Connection,
    sql: str,
    params: Mapping[str, object],
    parts: int | None = None,
    min_span: int = 10_000,
) -> list[Any]:
    """``sql`` (a one-row aggregate with ``:lo`` / ``:hi`` bounding ``contact``) over every contact;
    split in ``parts`` (default: the cores) when it spans more than ``min_span`` contact ids."""
    lo, hi = conn.execute("SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM contacts").fetchone()
    path = _file(conn)
    parts = parts or min(2 * (os.cpu_count() or 1), 8)
    if path is None or parts <= 1 or hi - lo < min_span:
        return list(conn.execute(sql, {**params, "lo": lo, "hi": hi}).fetchone())
    step = (hi - lo) // parts + 1
    ranges = [(lo + k * step, min(hi, lo + (k + 1) * step - 1)) for k in range(parts)]

    def one(bounds: tuple[int, int]) -> Sequence[Any]:
        part = connect_readonly(Path(path))
        try:
            part.execute("PRAGMA busy_timeout = 30000")
            return tuple(part.execute(sql, {**params, "lo": bounds[0], "hi": bounds[1]}).fetchone())
        finally:
            part.close()

    with ThreadPoolExecutor(max_workers=parts) as pool:
        rows = list(pool.map(one, ranges))
    return [
        None if all(r[i] is None for r in rows) else sum(r[i] or 0 for r in rows) for i in range(len(rows[0]))
    ]


def _file(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("PRAGMA database_list").fetchone()
    return row[2] if row and row[2] else None
