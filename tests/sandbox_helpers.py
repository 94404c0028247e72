"""A fake clock shared by the client and the sandbox, so rate limits run without real waiting."""

from __future__ import annotations

from datetime import UTC, datetime

from acsync.ac import AcClient
from acsync.sandbox import Sandbox, seed_account
from acsync.sandbox.app import IN_PROCESS_URL

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)


def sandbox_and_client(
    contacts: int = 120, *, rate: float | None = 5.0, token: str = "sandbox", **client_kw: object
) -> tuple[Sandbox, AcClient, FakeClock]:
    clock = FakeClock()
    sb = Sandbox(seed_account(contacts, 1, NOW), rate_limit=rate, clock=clock)
    client = AcClient(
        IN_PROCESS_URL, token, session=sb.session(), clock=clock, sleep=clock.sleep, **client_kw
    )  # type: ignore[arg-type]
    return sb, client, clock
