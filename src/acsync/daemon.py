"""``acsync run``: the webhook receiver and the scheduled jobs in one process.

The receiver serves from its own waitress threads; the jobs run on an APScheduler
``BackgroundScheduler``, each in its own thread with its own database connection, so none waits
behind another (ingest, scoring and push go on while a long sync runs); each job has at most one
run at a time (``max_instances=1``) and a run that is due while the previous still goes is
skipped (counted), not queued (``coalesce``):

    ingest    every [schedule] ingest   the webhook inbox → events (new events: score soon)
    sync      every [schedule] sync     what changed in AC (run once at start too)
    score     every [schedule] score    only when there is work: new events, a score that changes
                                        by itself by now, or nothing scored for score_at_least
    score-at  once, at the next change  an expiry or inactivity episode applied at its instant:
                                        the ledger knows each contact's ``next_change_at``
    push      every [schedule] push     the outbox → AC

Every job is guarded: a failure is logged and counted, and the next run still happens. One
client, so one rate budget, serves sync and push (and, through the file beside the database,
``acsync setup`` or ``backfill`` run beside the daemon). ``stop()`` (SIGTERM, SIGINT): every job
in hand ends at its next checkpoint (a page, a chunk, a contact), every wait ends at once, the
receiver stops accepting and finishes its requests.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from acsync.ac.client import AcClient
from acsync.clock import utcnow
from acsync.config import Settings
from acsync.core.timefmt import iso
from acsync.jobs.score import Stopped, failure_lines
from acsync.logs import fields
from acsync.metrics import Labelled, register_daemon_metrics
from acsync.progress import Silent
from acsync.serving import Server
from acsync.store import Store
from acsync.webhook.app import WebhookApp

log = logging.getLogger("acsync.daemon")
JOBS = ("ingest", "sync", "score", "push")
SOON = timedelta(seconds=1)  # a change already due is scored this soon (never a busy loop)
# APScheduler says "Running job …" at INFO and "skipped: maximum number of running instances" at
# WARNING for every overlap: the daemon logs its own job lines and counts the skips.
logging.getLogger("apscheduler").setLevel(logging.ERROR)


class Stopping(Exception):
    """The daemon is shutting down: the job in hand ends at its next checkpoint."""


class _StopAtCheckpoint(Silent):
    """Progress for the daemon's jobs: nobody watches bars, but every advance is a checkpoint."""

    def __init__(self, stopping: threading.Event) -> None:
        self.stopping = stopping

    def advance(self, phase: str, n: int = 1) -> None:
        if self.stopping.is_set():
            raise Stopping


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
        self.db_path = db_path
        self.clock = clock
        self.stopping = threading.Event()
        hook = settings.webhook
        self.app = WebhookApp(  # creates and migrates the database
            db_path,
            webhook_token,
            max_body=hook.max_body,
            busy_timeout=settings.store.busy_timeout,
            stale_after=hook.stale_after,
            clock=clock,
        )
        self.server = Server(self.app, hook.port, hook.threads, host=hook.host)
        self.client = client(self._sleep)
        registry = self.app.metrics.registry
        self.metrics = register_daemon_metrics(registry, self.client, self.app._conn)
        account = settings.metrics.account
        exposed = Labelled(registry, {"account": account}) if account else registry
        self.metrics_server: Server | None = None
        if settings.metrics.port is not None:  # /metrics on its own port, not beside the webhooks
            self.app.metrics.exposed = None
            self.metrics_server = Server(_metrics_app(exposed), settings.metrics.port, 2, host=hook.host)
        else:
            self.app.metrics.exposed = exposed
        self.progress = _StopAtCheckpoint(self.stopping)
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(len(JOBS) + 1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        self.scheduler.add_listener(self._skipped, EVENT_JOB_MAX_INSTANCES)
        self._scoring = threading.Lock()  # the interval's and the one-shot's runs never overlap
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
        jobs: dict[str, Callable[[], dict[str, Any] | None]] = {
            "ingest": self.ingest,
            "sync": self.sync,
            "score": self.score,
            "push": self.push,
        }
        first = datetime.now(UTC)  # a first cycle at once
        for name in JOBS:
            self.scheduler.add_job(
                self.guarded,
                "interval",
                args=[name, jobs[name]],
                seconds=getattr(every, name),
                id=name,
                name=name,
                next_run_time=first,
            )
        self.server.start()
        if self.metrics_server is not None:
            self.metrics_server.start()
        self.scheduler.start()
        log.info(
            "acsync is running",
            extra=fields(
                {
                    "webhooks": f"{self.server.url}/webhooks/activecampaign/<token>",
                    "metrics": f"{(self.metrics_server or self.server).url}/metrics",
                    "jobs": list(JOBS),
                }
            ),
        )
        try:
            while not self.stopping.wait(1.0):
                pass
        finally:
            log.info("stopping: the jobs in hand end at their next checkpoint")
            self.scheduler.shutdown(wait=True)
            log.info("stopping: the receiver finishes the requests in hand")
            self.server.close()
            if self.metrics_server is not None:
                self.metrics_server.close()
            log.info("stopped")

    def _skipped(self, event: JobSubmissionEvent) -> None:
        self.metrics.skipped.labels(event.job_id.removesuffix("-at")).inc()

    def _open(self) -> Store:
        """Each job run has its own connection (SQLite connections stay in their thread)."""
        return Store.open(self.db_path, self.settings.store.busy_timeout)

    def guarded(self, name: str, job: Callable[[], dict[str, Any] | None]) -> None:
        """Run one job: its outcome logged and counted, never raised."""
        if self.stopping.is_set():
            return
        t0 = time.perf_counter()
        outcome = "ok"
        counts: dict[str, Any] | None = {}
        try:
            counts = job()
        except Stopping:
            outcome = "stopped"
        except Stopped as e:
            outcome, counts = "stopped", _plain(e.report)
        except Exception as e:
            outcome = "error"
            log.error("%s failed: %s", name, e, exc_info=not _expected(e), extra=fields({"job": name}))
        if counts is None:  # not run: another run of the same job was in hand
            return
        seconds = time.perf_counter() - t0
        try:  # the report too: nothing a job returns may end the process
            self.metrics.runs.labels(name, outcome).inc()
            self.metrics.duration.labels(name).observe(seconds)
            if outcome == "ok":
                self.metrics.last_ok.labels(name).set_to_current_time()
            if outcome != "error" and (counts or outcome != "ok" or seconds >= 1):
                report = {**counts, "job": name, "seconds": round(seconds, 3)}
                log.info("%s %s", name, outcome, extra=fields(report))
        except Exception as e:
            log.error("%s %s, but its report failed: %r", name, outcome, e)

    def _score_at(self, at: datetime) -> None:
        """Score once at ``at`` (on the daemon's clock), whatever the interval says."""
        if self.stopping.is_set():
            return
        delay = max(timedelta(0), at - self.clock())
        self.scheduler.add_job(
            self.guarded,
            "date",
            args=["score", self.score],
            run_date=datetime.now(UTC) + delay,
            id="score-at",
            name="score-at",
            replace_existing=True,
        )

    # --- the jobs ----------------------------------------------------------------------------------
    def ingest(self) -> dict[str, Any]:
        from acsync.jobs.inbox import ingest_inbox

        with self._open() as store:
            report = ingest_inbox(store, self.clock(), zone=self.settings.activecampaign.zone)
        if report.new:
            self._score_at(self.clock())
        return (
            {"webhooks": report.rows, "new": report.new, "duplicate": report.duplicate} if report.rows else {}
        )

    def sync(self) -> dict[str, Any]:
        from acsync.jobs.pull import sweep_budget, sync

        sweep = sweep_budget(self.settings.activecampaign, self.settings.schedule.sync)
        with self._open() as store:
            report = sync(store, self.client, self.clock(), progress=self.progress, sweep=sweep)
        return {"contacts": report.contacts, "new": report.new, "requests": sum(report.requests.values())}

    def score(self) -> dict[str, Any] | None:
        from acsync.jobs.score import score

        if not self._scoring.acquire(blocking=False):
            return None  # the run in hand plans the next one when it ends
        try:
            with self._open() as store:
                try:
                    return self._score(store, score)
                finally:
                    self._plan_next_change(store)
        finally:
            self._scoring.release()

    def _score(self, store: Store, score: Callable[..., Any]) -> dict[str, Any]:
        now = self.clock()
        at_least = self.settings.schedule.score_at_least
        if not _work_by(store, now) and time.monotonic() - self._last_scored < at_least:
            return {}
        settings = self.settings
        report = score(store, settings.ruleset(), settings.fingerprints(), now, stop=self.stopping.is_set)
        self._last_scored = time.monotonic()
        if report.failed.keys() - self._told_failed:  # one contact's failure is not the job's: say who
            lines = failure_lines(store.conn, report.failed, limit=5)
            log.warning("%s", "; ".join(lines), extra=fields({"job": "score", "failed": len(report.failed)}))
        self._told_failed = set(report.failed)
        return _plain(report) if report.evaluated or report.failed else {}

    def _plan_next_change(self, store: Store) -> None:
        """The one-shot scoring at the ledger's next change (soon if work is already due)."""
        now = self.clock()
        dirty, next_change = store.conn.execute(
            "SELECT EXISTS (SELECT 1 FROM contacts WHERE dirty > 0), min(next_change_at) FROM contacts"
        ).fetchone()
        if dirty:
            self._score_at(now + SOON)
        elif next_change is not None:
            self._score_at(max(datetime.fromisoformat(next_change), now + SOON))

    def push(self) -> dict[str, Any]:
        from acsync.jobs.push import PushBusy, SetupNeeded, push

        try:
            with self._open() as store:
                report = push(
                    store,
                    self.client,
                    self.settings.push,
                    self.clock(),
                    sleep=self._sleep,
                    progress=self.progress,
                )
        except PushBusy as e:  # `acsync push` or another daemon on this database: its turn now
            log.info("not pushing: %s", e, extra=fields({"job": "push"}))
            return {}
        except SetupNeeded as e:  # not a failure to log every minute: a step the user has not taken
            if not self._told_setup:
                log.warning("not pushing: %s (%s)", e, "; ".join(e.problems), extra=fields({"job": "push"}))
                self._told_setup = True
            return {}
        self._told_setup = False
        counts = {k: v for k, v in _plain(report).items() if v}
        return counts if report.requests else {}


def _metrics_app(registry: Any) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """A WSGI app serving GET /metrics alone (the metrics port)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/metrics" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            body, status, kind = generate_latest(registry), "200 OK", CONTENT_TYPE_LATEST
        else:
            body, status, kind = b"not found\n", "404 Not Found", "text/plain"
        start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body)))])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    return app


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
