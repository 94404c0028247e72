"""Opening the database: WAL, busy timeout, foreign keys, migrations; read-only for reports."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from acsync.errors import StoreError
from acsync.store.migrations import migrations


class Store:
    """One SQLite file. Writers open it read-write (and migrate); reports open it read-only."""

    def __init__(self, db: Database, path: Path, readonly: bool, busy_timeout: float) -> None:
        self.db = db
        self.conn: sqlite3.Connection = db.conn
        self.path = path
        self.readonly = readonly
        self.busy_timeout = busy_timeout

    @classmethod
    def open(cls, path: Path | str, busy_timeout: float = 30.0, readonly: bool = False) -> Store:
        path = Path(path)
        try:
            if readonly:
                if not path.is_file():
                    raise StoreError(
                        f"no database at {path}: run `acsync ingest`, `acsync backfill` or "
                        "`acsync score` first, or pass --db PATH"
                    )
                conn = sqlite3.connect(
                    f"{path.resolve().as_uri()}?mode=ro",
                    uri=True,
                    timeout=busy_timeout,
                    isolation_level=None,
                )
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA cache_size = -65536")  # 64 MiB: fewer spills, fewer syscalls
            db = Database(conn)
            if readonly:
                pending = migrations.pending(db)
                if pending:
                    raise StoreError(
                        f"{path} needs migrations ({', '.join(m.name for m in pending)}): "
                        "run any writing command, e.g. `acsync score`, to apply them"
                    )
            else:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                migrations.apply(db)
        except sqlite3.DatabaseError as e:
            raise StoreError(f"cannot use {path} as an acsync database: {e}") from e
        return cls(db, path, readonly, busy_timeout)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taking the write lock up front (BEGIN IMMEDIATE).

        A deferred transaction that reads first and writes later can fail outright when another
        process wrote in between; an immediate one waits (busy timeout) and then cannot.
        """
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )
