"""Opening the database: WAL, busy timeout, foreign keys, migrations; read-only for reports."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
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
                conn = connect_readonly(path, busy_timeout)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA cache_size = -65536")  # 64 MiB: fewer spills, fewer syscalls
            db = Database(conn)
            _refuse_newer(db, path)
            if readonly:
                pending = migrations.pending(db)
                if pending:
                    raise StoreError(
                        f"{path} needs migrations ({', '.join(m.name for m in pending)}): "
                        "run any writing command, e.g. `acsync score`, to apply them"
                    )
            else:
                if _needs_setup(db):
                    with _setup_lock(path, busy_timeout):  # one process creates or upgrades it
                        conn.execute("PRAGMA journal_mode = WAL")
                        _refuse_newer(db, path)
                        migrations.apply(db)
                conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as e:
            if "database or disk is full" in str(e):
                raise StoreError(f"the disk holding {path} is full: free space there and run it again") from e
            raise StoreError(f"cannot use {path} as an acsync database: {e}") from e
        except OSError as e:
            raise StoreError(
                f"cannot open {path}: {e.strerror or e}: check the path and its permissions"
            ) from e
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
            self._rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error:  # a full disk at commit: never leave the connection inside a transaction
            self._rollback()
            raise

    def _rollback(self) -> None:
        if self.conn.in_transaction:  # SQLite may have rolled back already (a full disk)
            self.conn.execute("ROLLBACK")

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )


def connect_readonly(path: Path, busy_timeout: float = 30.0) -> sqlite3.Connection:
    """A read-only connection, also in a directory this process cannot write.

    In WAL mode a reader needs the ``-shm`` file: when it is missing and cannot be created (a
    read-only directory, a read-only mount), the database was closed cleanly and nobody writes it,
    so it is opened ``immutable`` (no locks, no WAL). A WAL in use there cannot be read safely:
    that is said, with the fix.
    """
    uri = path.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=busy_timeout, isolation_level=None)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
        if os.access(path.parent, os.W_OK):
            raise
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise StoreError(
            f"cannot read {path} read-only: its directory is not writable and another process is writing "
            f"the database (its -wal file is in use): run this as the user acsync runs as, or read a copy "
            f'(sqlite3 {path} ".backup copy.db")'
        )
    conn = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=busy_timeout, isolation_level=None)
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return conn


def known_migrations() -> set[str]:
    """The names of the migrations this acsync knows (all of them are pending on an empty database)."""
    return {m.name for m in migrations.pending(Database(memory=True))}


def _refuse_newer(db: Database, path: Path) -> None:
    """A database a newer acsync wrote (a migration this one does not know) is refused, not misread."""
    known = known_migrations()
    unknown = [m.name for m in migrations.applied(db) if m.name not in known]
    if unknown:
        raise StoreError(
            f"{path} was written by a newer acsync (migration {unknown[-1]}): upgrade acsync "
            "(pip install -U acsync, or pull the new image), or pass --db PATH"
        )


def _needs_setup(db: Database) -> bool:
    mode = db.conn.execute("PRAGMA journal_mode").fetchone()[0]
    return str(mode).lower() != "wal" or bool(migrations.pending(db))


@contextmanager
def _setup_lock(path: Path, timeout: float) -> Iterator[None]:
    """An exclusive lock on ``<db>-lock`` beside the database while it is created or migrated, so two
    processes starting on a new database (two backfills) neither fail on the lock nor migrate twice.

    SQLite's own locks cannot do it: a migration's script commits as it goes. The lock file stays
    (removing it would race a process about to lock it); it holds no data."""
    fd = os.open(path.with_name(path.name + "-lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreError(
                        f"another acsync process has been creating or upgrading {path} for over "
                        f"{timeout:g}s: wait for it, or raise store.busy_timeout"
                    ) from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # releases the lock
