"""The exception root of acsync.

    AcsyncError
    ├── ConfigError        the config (file or environment) is unusable: exit status 2
    └── StoreError         the database cannot be opened or is from a newer acsync

Errors carry data, never secrets; the command line turns them into words and exit codes.
"""

from __future__ import annotations


class AcsyncError(Exception):
    """Root of every error acsync raises on purpose."""

    exit_code = 1


class ConfigError(AcsyncError):
    """Unusable configuration. ``problems`` lists each problem, one line each."""

    exit_code = 2

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class StoreError(AcsyncError):
    """The SQLite database cannot be used."""
