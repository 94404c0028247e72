from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from acsync.config import Settings, validate
from acsync.core.event import Event, parse_event
from acsync.core.rules import Ruleset
from acsync.store import Store

# Shared machines are noisy: no per-example deadline (a slow example is not a wrong one).
hypothesis_settings.register_profile("acsync", deadline=None)
hypothesis_settings.load_profile("acsync")

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


def acsync_command(db: Path, *args: str) -> list[str]:
    """``python -m acsync`` with the example config and ``db``, as a process would run it."""
    return [
        sys.executable,
        "-m",
        "acsync",
        "--config",
        str(ROOT / "config.example.toml"),
        "--db",
        str(db),
        *args,
    ]


def at(days: float = 0, **kw: float) -> datetime:
    return T0 + timedelta(days=days, **kw)


def settings(data: dict[str, Any]) -> Settings:
    return validate(data, {})


def ruleset(**sections: Any) -> Ruleset:
    return settings(sections).ruleset()


def ev(type_: str, when: datetime, contact: str = "1", **attrs: Any) -> Event:
    return parse_event({"type": type_, "contact_id": contact, "at": when.isoformat(), **attrs})


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    """Known secrets are process-wide (acsync.masking): each test starts with none."""
    from acsync import masking

    masking.forget()
    yield
    masking.forget()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "acsync.db")
    yield s
    s.close()
