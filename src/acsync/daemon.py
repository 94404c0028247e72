"""``acsync run``: the webhook receiver and a scheduler loop in one process.

The receiver serves from its own waitress threads; the loop (this thread) runs the jobs, one
at a time, on a ``schedule.Scheduler``:

    ingest  every [schedule] ingest   the webhook inbox → events
    sync    every [schedule] sync     what changed in AC (run once at start too)
    score   every [schedule] score    only when there is work: new events, a score that changes
                                      by itself by now (an expiry, an inactivity episode: the
                                      ledger knows when), or nothing scored for score_at_least
    push    every [schedule] push     the outbox → AC

Every job is guarded: a failure is logged and counted, and the next run still happens. One
client, so one rate limiter, serves sync and push. ``stop()`` (SIGTERM, SIGINT) stops the
loop: the job in hand ends at its next checkpoint (a page, a chunk, a contact), every wait
ends at once, the receiver stops accepting and finishes its requests.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import schedule
from prometheus_client import CollectorRegistry, Counter, Gauge, Summary

from acsync.ac.client import AcClient
from acsync.clock import utcnow
from acsync.config import Settings
from acsync.core.timefmt import iso
from acsync.jobs.score import Stopped
from acsync.logs import fields
from acsync.progress import Silent
from acsync.serving import Server
from acsync.store import Store
from acsync.webhook.app import WebhookApp

log = logging.getLogger("acsync.daemon")
JOBS = ("ingest", "sync", "score", "push")


class Stopping(Exception):
    """The daemon is shutting down: the job in hand ends at its next checkpoint."""


class _StopAtCheckpoint(Silent):
    """Progress for the daemon's jobs: nobody watches bars, but every advance is a checkpoint."""

    def __init__(self, stopping: threading.Event) -> None:
        self.stopping = stopping

    def advance(self, phase: str, n: int = 1) -> None:
        if self.stopping.is_set():
            raise Stopping


class JobMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.runs = Counter("acsync_job_runs", "Job runs by outcome", ["job", "outcome"], registry=registry)
        self.seconds = Summary("acsync_job_seconds", "Time spent in each job", ["job"], registry=registry)
        self.last_ok = Gauge(
            "acsync_job_last_success_timestamp",
            "When each job last succeeded (Unix time)",
            ["job"],
            registry=registry,
        )


class Daemon:
    def __init__(
        self,
        settings: Settings,
        db_path: Path,
        webhook_token: str,
        client: Callable[[Callable[[float], None]], AcClient],
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """``client`` builds the AC client from the sleep it must use (one that ends on stop)."""
        self.settings = settings
        self.clock = clock
        self.stopping = threading.Event()
        self.store = Store.open(db_path, settings.store.busy_timeout)
        hook = settings.webhook
        self.app = WebhookApp(
            db_path,
            webhook_token,
            max_body=hook.max_body,
            busy_timeout=settings.store.busy_timeout,
            stale_after=hook.stale_after,
            clock=clock,
        )
        self.server = Server(self.app, hook.port, hook.threads, host=hook.host)
        self.client = client(self._sleep)
        self.metrics = JobMetrics(self.app.metrics.registry)
        self.progress = _StopAtCheckpoint(self.stopping)
        self._last_scored = 0.0  # monotonic
        self._told_setup = False  # said once that push waits for `acsync setup`
        self._told_failed: set[int] = set()  # contacts named as not scored (said once)

    # --- lifecycle ---------------------------------------------------------------------------------
    def stop(self) -> None:
        self.stopping.set()

    def _sleep(self, seconds: float) -> None:
        if self.stopping.wait(seconds):
            raise Stopping

    def run(self) -> None:
        """Serve and run the jobs until ``stop()``."""
        every = self.settings.schedule
        scheduler = schedule.Scheduler()
        jobs: dict[str, Callable[[], dict[str, Any]]] = {
            "ingest": self.ingest,
            "sync": self.sync,
            "score": self.score,
            "push": self.push,
        }
        for name in JOBS:
            scheduler.every(getattr(every, name)).seconds.do(self.guarded, name, jobs[name])
        self.server.start()
        log.info(
            "acsync is running",
            extra=fields(
                {"webhooks": f"{self.server.url}/webhooks/activecampaign/<token>", "jobs": list(JOBS)}
            ),
        )
        try:
            for name in ("ingest", "sync", "score", "push"):  # a first cycle at once
                self.guarded(name, jobs[name])
            while not self.stopping.is_set():
                scheduler.run_pending()
                idle = scheduler.idle_seconds
                self.stopping.wait(min(1.0, max(0.05, idle if idle is not None else 1.0)))
        finally:
            log.info("stopping: the receiver finishes the requests in hand")
            self.server.close()
            self.store.close()
            log.info("stopped")

    def guarded(self, name: str, job: Callable[[], dict[str, Any]]) -> None:
        """Run one job: its outcome logged and counted, never raised."""
        if self.stopping.is_set():
            return
        t0 = time.perf_counter()
        outcome = "ok"
        counts: dict[str, Any] = {}
        try:
            counts = job()
        except Stopping:
            outcome = "stopped"
        except Stopped as e:
            outcome, counts = "stopped", _plain(e.report)
        except Exception as e:
            outcome = "error"
            log.error("%s failed: %s", name, e, exc_info=not _expected(e), extra=fields({"job": name}))
        seconds = time.perf_counter() - t0
        try:  # the report too: nothing a job returns may end the process
            self.metrics.runs.labels(name, outcome).inc()
            self.metrics.seconds.labels(name).observe(seconds)
            if outcome == "ok":
                self.metrics.last_ok.labels(name).set_to_current_time()
            if outcome != "error" and (counts or outcome != "ok" or seconds >= 1):
                report = {**counts, "job": name, "seconds": round(seconds, 3)}
                log.info("%s %s", name, outcome, extra=fields(report))
        except Exception as e:
            log.error("%s %s, but its report failed: %r", name, outcome, e)

    # --- the jobs ----------------------------------------------------------------------------------
    def ingest(self) -> dict[str, Any]:
        from acsync.jobs.inbox import ingest_inbox

        report = ingest_inbox(self.store, self.clock(), zone=self.settings.activecampaign.zone)
        return (
            {"webhooks": report.rows, "new": report.new, "duplicate": report.duplicate} if report.rows else {}
        )

    def sync(self) -> dict[str, Any]:
        from acsync.jobs.pull import sync

        report = sync(self.store, self.client, self.clock(), progress=self.progress)
        return {"contacts": report.contacts, "new": report.new, "requests": sum(report.requests.values())}

    def score(self) -> dict[str, Any]:
        from acsync.jobs.score import failure_lines, score

        now = self.clock()
        at_least = self.settings.schedule.score_at_least
        if not _work_by(self.store, now) and time.monotonic() - self._last_scored < at_least:
            return {}
        settings = self.settings
        report = score(
            self.store, settings.ruleset(), settings.fingerprints(), now, stop=self.stopping.is_set
        )
        self._last_scored = time.monotonic()
        if report.failed.keys() - self._told_failed:  # one contact's failure is not the job's: say who
            lines = failure_lines(self.store.conn, report.failed, limit=5)
            log.warning("%s", "; ".join(lines), extra=fields({"job": "score", "failed": len(report.failed)}))
        self._told_failed = set(report.failed)
        return _plain(report) if report.evaluated or report.failed else {}

    def push(self) -> dict[str, Any]:
        from acsync.jobs.push import SetupNeeded, push

        try:
            report = push(
                self.store,
                self.client,
                self.settings.push,
                self.clock(),
                sleep=self._sleep,
                progress=self.progress,
            )
        except SetupNeeded as e:  # not a failure to log every minute: a step the user has not taken
            if not self._told_setup:
                log.warning("not pushing: %s (%s)", e, "; ".join(e.problems), extra=fields({"job": "push"}))
                self._told_setup = True
            return {}
        self._told_setup = False
        counts = {k: v for k, v in _plain(report).items() if v}
        return counts if report.requests else {}


def _work_by(store: Store, now: datetime) -> bool:
    """New events to score, or a score that changes by itself by ``now``? Two index lookups."""
    row = store.conn.execute(
        "SELECT EXISTS (SELECT 1 FROM contacts WHERE dirty > 0) "
        "OR EXISTS (SELECT 1 FROM contacts WHERE next_change_at <= ?)",
        [iso(now)],
    ).fetchone()
    return bool(row[0])


def _plain(report: object) -> dict[str, Any]:
    """A job report as log fields: numbers and counts, no datetimes."""
    data = asdict(report) if is_dataclass(report) and not isinstance(report, type) else {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            value = sum(value.values()) if all(isinstance(v, int) for v in value.values()) else len(value)
        if isinstance(value, int | float | str | list) and not isinstance(value, bool):
            out[key] = value
    return out


def _expected(e: Exception) -> bool:
    """Errors with a message that says it all: no traceback in the log."""
    from acsync.errors import AcsyncError

    return isinstance(e, AcsyncError)
