"""The SQLite store: schema by named migrations, one transaction per logical change."""

from acsync.store.db import Store

__all__ = ["Store"]
