"""The words for every exception that reaches the command line: one line that names the fix.

``describe`` turns any exception into ``Failure(lines, exit_code)``: acsync's own errors
(``AcsyncError``: their message, a config error's problems), SQLite's (a full disk, a lock held
too long, a damaged file), the operating system's (a path that cannot be written, a port in use)
and anything else (an unexpected error: a bug, said so in one line; ``-v`` logs the traceback).
Every line is masked (``acsync.masking``): no secret reaches the terminal. The CLI prints the
lines on standard error and exits with the code: 1 runtime failure, 2 usage or config error.
"""

from __future__ import annotations

import errno
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from acsync import masking
from acsync.errors import AcsyncError, ConfigError

WHOLE = "what was committed is whole (nothing half-written), and running it again adds nothing twice"


@dataclass(frozen=True)
class Failure:
    lines: list[str]
    exit_code: int

    @classmethod
    def of(cls, message: str, exit_code: int = 1, problems: list[str] | None = None) -> Failure:
        problems = [masking.mask(" ".join(p.split())) for p in problems or []]
        message = masking.mask(" ".join(message.split()))
        if len(problems) == 1:  # one problem: one line
            return cls([f"error: {message}: {problems[0]}"], exit_code)
        return cls([f"error: {message}", *(f"  - {p}" for p in problems)], exit_code)


def describe(error: BaseException, db: Path | None = None, busy_timeout: float | None = None) -> Failure:
    """The words and exit code for ``error``; ``db``: the database the command was using, if known."""
    if isinstance(error, ConfigError):
        return Failure.of(str(error), error.exit_code, error.problems)
    if isinstance(error, AcsyncError):
        return Failure.of(str(error), error.exit_code)
    if isinstance(error, sqlite3.Error):
        return Failure.of(_sqlite(error, db, busy_timeout))
    if isinstance(error, OSError):
        return Failure.of(_os(error, db))
    if isinstance(error, RecursionError | MemoryError):
        return Failure.of(
            f"out of memory or stack ({type(error).__name__}): the input is too large or too deep"
        )
    return Failure.of(
        f"unexpected {type(error).__name__}: {error}; this is a bug in acsync: run the command again "
        "with -v for the details and report them"
    )


def _sqlite(error: sqlite3.Error, db: Path | None, busy_timeout: float | None) -> str:
    name = getattr(error, "sqlite_errorname", "") or ""
    text = str(error)
    where = f" {db}" if db else ""
    if name.startswith("SQLITE_FULL") or "database or disk is full" in text:
        return (
            f"the disk holding the database{where} is full: free space there (or move store.path) "
            f"and run it again; {WHOLE}"
        )
    if name.startswith("SQLITE_BUSY") or "database is locked" in text:
        waited = f" for store.busy_timeout = {busy_timeout:g}s" if busy_timeout else ""
        return (
            f"the database{where} stayed locked by another process{waited}: run it again when that one "
            "is done, or raise store.busy_timeout"
        )
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        return f"the database{where} is read-only: run this as the user that owns it, or pass --db PATH"
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text:
        return (
            f"the database{where} is damaged ({text}): restore it from a backup; `acsync backfill` "
            "rebuilds it from AC"
        )
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_PERM")):
        return f"cannot read or write the database{where} ({text}): check the disk and the permissions there"
    return f"database error on{where or ' the database'}: {text}"


def _os(error: OSError, db: Path | None) -> str:
    code = error.errno
    reason = error.strerror or str(error)
    name = error.filename
    if code == errno.EADDRINUSE:
        return (
            "the port is in use (another acsync, sandbox or program listens there): pick another with "
            "--port or webhook.port"
        )
    if code == errno.ENOSPC:
        where = f" writing {name}" if name else ""
        return f"the disk is full{where}: free space there and run it again; {WHOLE}"
    if name is None:
        return f"{reason}"
    if isinstance(error, IsADirectoryError):
        return f"{name} is a directory: name a file inside it, e.g. {Path(name) / 'out.txt'}"
    if isinstance(error, NotADirectoryError):
        return f"cannot use {name}: a part of that path is a file, not a directory"
    if isinstance(error, FileNotFoundError):
        parent = Path(name).parent
        return (
            f"cannot open {name}: no such file or directory (create {parent} first, or choose another path)"
        )
    if isinstance(error, PermissionError):
        return (
            f"cannot open {name}: permission denied (let acsync's user read or write it, or choose "
            "another path)"
        )
    return f"cannot use {name}: {reason}"
