"""`acsync run` for real on loopback against the sandbox: webhooks in, scores out, clean stops."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from acsync.config import validate
from acsync.jobs.setup import setup
from acsync.sandbox import Sandbox, seed_account
from acsync.sandbox.server import serve_sandbox
from acsync.serving import Server
from acsync.store import Store
from tests.conftest import acsync_command
from tests.sandbox_helpers import NOW
from tests.test_push import World

TOKEN = "daemon-test-token-0123456789"


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, Server]]:
    sb = Sandbox(seed_account(60, 4, NOW), rate_limit=None, bulk_seconds=0.2)
    with serve_sandbox(sb) as server:
        yield sb, server


class Running:
    """``acsync run`` in a child process; its JSON log lines collected as they come."""

    def __init__(self, db: Path, sandbox_url: str, **extra_env: str) -> None:
        self.db = db
        env = {k: v for k, v in os.environ.items() if not k.startswith("ACSYNC_")}
        env.update(
            {
                "ACSYNC_ACTIVECAMPAIGN__URL": sandbox_url,
                "ACSYNC_ACTIVECAMPAIGN__API_TOKEN": "sandbox",
                "ACSYNC_ACTIVECAMPAIGN__REQUESTS_PER_SECOND": "100",
                "ACSYNC_WEBHOOK__TOKEN": TOKEN,
                "ACSYNC_WEBHOOK__PORT": "0",
                "ACSYNC_SCHEDULE__INGEST": "0.2",
                "ACSYNC_SCHEDULE__SCORE": "0.2",
                "ACSYNC_SCHEDULE__PUSH": "0.5",
                "ACSYNC_SCHEDULE__SYNC": "30",
                "ACSYNC_PUSH__POLL_INTERVAL": "0.2",
                "ACSYNC_PUSH__RETRY_AFTER": "1s",  # a write that failed under load is due again soon
                **extra_env,
            }
        )
        self.proc = subprocess.Popen(
            acsync_command(db, "run"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        started = self.wait_for(lambda line: line.get("msg") == "acsync is running")
        self.hook_url = started["webhooks"].replace("<token>", TOKEN)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for text in self.proc.stderr:
            try:
                self.lines.put(json.loads(text))
            except ValueError:
                self.lines.put({"msg": text.rstrip(), "level": "raw"})

    def wait_for(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for line in self.seen:
            if pred(line):
                return line
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                assert self.proc.poll() is None, f"acsync run exited: {self.seen[-5:]}"
                continue
            self.seen.append(line)
            if pred(line):
                return line
        raise AssertionError(f"not logged in {timeout}s; last lines: {self.seen[-8:]}")

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, float]:
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=15)
        took = time.monotonic() - t0
        self.close()
        return code, took

    def close(self) -> None:
        self.reader.join(timeout=5)
        assert self.proc.stderr is not None
        self.proc.stderr.close()


def _prepare(db: Path, sb: Sandbox, server: Server) -> None:
    settings = validate({**_example(), "activecampaign": {"url": server.url}}, {})
    from acsync.ac import AcClient

    with Store.open(db) as store:
        setup(store, AcClient(server.url, "sandbox"), settings, dry_run=False)


def _example() -> dict[str, Any]:
    import tomllib

    from tests.conftest import ROOT

    return tomllib.loads((ROOT / "config.example.toml").read_text())


def _in_step(db: Path, sb: Sandbox) -> bool:
    """Does the sandbox hold exactly the local desired state (and is nothing left to push)?"""
    with Store.open(db) as store:
        w = World.__new__(World)
        w.store, w.sb = store, sb
        w.settings = validate(_example(), {})
        with sb.account.lock:
            return w.pending() == 0 and w.actual_in_ac() == w.desired_in_ac()


def _inbox_done(db: Path) -> bool:
    with Store.open(db) as store:
        return bool(store.conn.execute("SELECT count(*) FROM inbox WHERE status = 'new'").fetchone()[0] == 0)


def _outbox(db: Path) -> list[tuple[object, ...]]:
    """What is left to write, and why (for a time-out's message)."""
    with Store.open(db) as store:
        return store.conn.execute(
            "SELECT kind, name, value, attempts, next_attempt_at, dead, last_error FROM outbox LIMIT 12"
        ).fetchall()


def _wait(pred: Callable[[], bool], timeout: float = 60, daemon: Running | None = None) -> None:
    """Until ``pred`` holds; on a time-out, the daemon's last log lines say why."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() >= deadline:
            lines = [] if daemon is None else daemon.seen[-12:] + list(daemon.lines.queue)[-12:]
            raise AssertionError(
                f"condition not reached in {timeout:g}s; the daemon logged: {lines}; "
                f"the outbox holds: {_outbox(daemon.db) if daemon is not None else '?'}"
            )
        time.sleep(0.1)


def test_the_daemon_pulls_receives_scores_and_pushes_then_stops_cleanly(
    served: tuple[Sandbox, Server], tmp_path: Path
) -> None:
    sb, server = served
    db = tmp_path / "run.db"
    _prepare(db, sb, server)
    daemon = Running(db, server.url)
    try:
        daemon.wait_for(lambda line: line.get("job") == "push" and line.get("fields", 0) > 0)
        _wait(lambda: _in_step(db, sb), daemon=daemon)
        posted = requests.post(
            f"{server.url}/__sandbox/webhooks",
            json={"url": daemon.hook_url, "count": 40, "seed": 3},
            timeout=30,
        ).json()
        assert posted["statuses"] == {"200": 40}
        daemon.wait_for(lambda line: line.get("job") == "ingest" and line.get("webhooks", 0) > 0)
        _wait(lambda: _in_step(db, sb), daemon=daemon)
        metrics = requests.get(daemon.hook_url.split("/webhooks")[0] + "/metrics", timeout=5).text
        assert 'acsync_job_runs_total{job="push",outcome="ok"}' in metrics
    finally:
        code, took = daemon.stop()
    assert code == 0
    assert took < 10
    assert any(line.get("msg") == "stopped" for line in daemon.seen + list(daemon.lines.queue))
    assert TOKEN not in json.dumps(daemon.seen)  # never a secret in a log


def test_kill_9_and_restart_loses_nothing_and_doubles_nothing(
    served: tuple[Sandbox, Server], tmp_path: Path
) -> None:
    sb, server = served
    db = tmp_path / "k.db"
    _prepare(db, sb, server)
    first = Running(db, server.url)
    first.wait_for(lambda line: line.get("job") == "push")
    requests.post(
        f"{server.url}/__sandbox/webhooks", json={"url": first.hook_url, "count": 60, "seed": 9}, timeout=30
    )
    first.proc.kill()  # kill -9, whatever it was doing
    first.proc.wait(timeout=10)
    first.close()
    second = Running(db, server.url)
    try:
        _wait(
            lambda: _inbox_done(db) and _in_step(db, sb), daemon=second
        )  # AC may be in step before the restart ingests
    finally:
        assert second.stop()[0] == 0
    with Store.open(db) as store:
        assert store.conn.execute("SELECT count(*) FROM inbox").fetchone()[0] == 60  # every 200 kept
        assert store.conn.execute("SELECT count(*) FROM inbox WHERE status = 'new'").fetchone()[0] == 0
        twice = store.conn.execute(
            "SELECT count(*) FROM (SELECT contact, ref, score, rule, count(*) AS n FROM ledger "
            "WHERE kind = 'award' GROUP BY contact, ref, score, rule HAVING n > 1)"
        ).fetchone()[0]
        assert twice == 0  # no event awarded twice


def test_without_setup_the_daemon_says_so_once_and_pushes_once_it_is_done(
    served: tuple[Sandbox, Server], tmp_path: Path
) -> None:
    sb, server = served
    db = tmp_path / "nosetup.db"
    daemon = Running(db, server.url)
    try:
        told = daemon.wait_for(lambda line: str(line.get("msg", "")).startswith("not pushing"))
        assert "acsync setup" in told["msg"]
        daemon.wait_for(lambda line: line.get("job") == "score" and line.get("queued", 0) > 0)
        metrics = daemon.hook_url.split("/webhooks")[0] + "/metrics"

        def pushes() -> float:
            text = requests.get(metrics, timeout=5).text
            found = re.search(r'acsync_job_runs_total\{job="push",outcome="ok"\} (\S+)', text)
            return float(found.group(1)) if found else 0.0

        runs = pushes()
        _wait(lambda: pushes() >= runs + 3)  # three more push runs: said once, not each time
        while not daemon.lines.empty():
            daemon.seen.append(daemon.lines.get())
        assert sum(1 for line in daemon.seen if str(line.get("msg", "")).startswith("not pushing")) == 1
        assert not any(line.get("level") == "error" for line in daemon.seen)
        _prepare(db, sb, server)  # the user runs `acsync setup`
        daemon.wait_for(lambda line: line.get("job") == "push" and line.get("fields", 0) > 0)
        _wait(lambda: _in_step(db, sb), daemon=daemon)
    finally:
        assert daemon.stop()[0] == 0


def test_webhooks_are_ingested_scored_and_pushed_while_a_long_sync_runs(tmp_path: Path) -> None:
    """The first sync of 400 contacts at 5 requests/s takes minutes (one trackingLogs call per
    contact); meanwhile webhooks go in, and SIGTERM still stops the daemon within seconds."""
    sb = Sandbox(seed_account(400, 4, NOW), rate_limit=None, bulk_seconds=0.2)
    with serve_sandbox(sb) as server:
        db = tmp_path / "busy.db"
        _prepare(db, sb, server)
        from tests.test_webhook_kill import free_port

        metrics_port = free_port()
        daemon = Running(
            db,
            server.url,
            ACSYNC_ACTIVECAMPAIGN__REQUESTS_PER_SECOND="5",
            ACSYNC_METRICS__PORT=str(metrics_port),
            ACSYNC_METRICS__ACCOUNT="acme",
        )
        try:
            posted = requests.post(
                f"{server.url}/__sandbox/webhooks",
                json={"url": daemon.hook_url, "count": 10, "seed": 5},
                timeout=30,
            ).json()
            assert posted["statuses"] == {"200": 10}

            def waiting() -> int:
                with Store.open(db) as store:
                    return int(
                        store.conn.execute("SELECT count(*) FROM inbox WHERE status = 'new'").fetchone()[0]
                    )

            _wait(lambda: waiting() == 0, timeout=15)
            daemon.wait_for(lambda line: line.get("job") == "score" and line.get("evaluated", 0) > 0)
            assert not any(line.get("job") == "sync" for line in daemon.seen)  # still syncing
            base = daemon.hook_url.split("/webhooks")[0]
            assert requests.get(f"{base}/metrics", timeout=5).status_code == 404  # not beside the webhooks
            text = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
            for sample in (
                'acsync_job_duration_seconds_bucket{account="acme",job="ingest",le="+Inf"}',
                'acsync_job_last_success_timestamp_seconds{account="acme",job="score"}',
                'acsync_ac_requests_total{account="acme",endpoint="GET contacts",status="200"}',
                'acsync_outbox_writes{account="acme",state="dead"} 0.0',
                'acsync_ac_rate_budget_requests_per_second{account="acme"} 5.0',
                'process_cpu_seconds_total{account="acme"}',
            ):
                assert sample in text
            in_use = re.search(r"^acsync_ac_rate_budget_in_use_ratio\S* (\S+)", text, re.M)
            assert in_use is not None
            assert 0 < float(in_use.group(1)) <= 1.05  # the sync uses the budget (a 10 s mean: rising)
        finally:
            code, took = daemon.stop()
    assert code == 0
    assert took < 10
    logged = daemon.seen + list(daemon.lines.queue)
    assert any(line.get("job") == "sync" and line.get("msg") == "sync stopped" for line in logged)


def test_an_expiry_is_applied_at_its_instant_not_at_the_next_check(
    served: tuple[Sandbox, Server], tmp_path: Path
) -> None:
    from acsync.ac import AcClient
    from acsync.core.timefmt import iso
    from acsync.daemon import Daemon
    from acsync.jobs.ingest import ingest_lines

    _, server = served
    db = tmp_path / "expiry.db"
    hourly = dict.fromkeys(("ingest", "sync", "score", "score_at_least", "push"), "1h")
    settings = validate(
        {
            "activecampaign": {"url": server.url},
            "webhook": {"port": 0},
            "rules": [{"name": "Visit", "on": "site_visit", "points": 10, "expires_after": "1h"}],
            "schedule": hourly,  # the interval jobs run once, at start
        },
        {},
    )
    now = datetime.now(UTC).replace(microsecond=0)  # events are stored to the second
    expires = now + timedelta(seconds=3)
    event = {"type": "site_visit", "email": "soon@example.com", "at": iso(expires - timedelta(hours=1))}
    with Store.open(db) as store:
        ingest_lines(store, [json.dumps(event)], "test", now)
    daemon = Daemon(settings, db, TOKEN, lambda sleep: AcClient(server.url, "sandbox", sleep=sleep))
    runner = threading.Thread(target=daemon.run)
    runner.start()

    def score() -> int | None:
        with Store.open(db) as store:
            row = store.conn.execute(
                "SELECT s.rounded FROM scores s JOIN contacts c ON c.id = s.contact "
                "WHERE c.email = 'soon@example.com'"
            ).fetchone()
        return None if row is None else int(row[0])

    try:
        _wait(lambda: score() == 10, timeout=10)
        _wait(lambda: score() == 0, timeout=10)
        changed = datetime.now(UTC)
    finally:
        daemon.stop()
        runner.join(timeout=15)
    assert not runner.is_alive()
    assert expires <= changed < expires + timedelta(seconds=3)  # the hourly check did not do it
