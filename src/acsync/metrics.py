"""The daemon's Prometheus metrics, by Prometheus convention (units in names, ``_total`` counters).

    acsync_job_runs_total{job, outcome}              runs by outcome (ok, error, stopped)
    acsync_job_duration_seconds{job}                 histogram of run durations
    acsync_job_last_success_timestamp_seconds{job}   Unix time of the last successful run
    acsync_job_skipped_total{job}                    runs not started: the previous one still ran
    acsync_ac_requests_total{endpoint, status}       AC requests by answer (429s visible; none:
                                                     sent, never answered)
    acsync_ac_rate_budget_requests_per_second        the account's budget
    acsync_ac_rate_budget_in_use_ratio               share of it used, by every process (10 s mean)
    acsync_outbox_writes{state}                      pending and dead writes to AC
    process_*                                        the process collector (CPU, memory, fds)

With ``[metrics] account`` set, every sample carries an ``account`` label (many accounts, one
Prometheus).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from acsync.ac.client import AcClient

# Jobs last from milliseconds (an empty ingest) to an hour (a first sync of a large account).
DURATION_BUCKETS = (0.005, 0.025, 0.1, 0.5, 1, 2.5, 10, 30, 60, 300, 900, 3600, float("inf"))


class JobMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.runs = Counter("acsync_job_runs", "Job runs by outcome", ["job", "outcome"], registry=registry)
        self.duration = Histogram(
            "acsync_job_duration_seconds",
            "Time spent in each job run",
            ["job"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.last_ok = Gauge(
            "acsync_job_last_success_timestamp_seconds",
            "When each job last succeeded (Unix time)",
            ["job"],
            registry=registry,
        )
        self.skipped = Counter(
            "acsync_job_skipped",
            "Scheduled runs not started because the job's previous run was still going",
            ["job"],
            registry=registry,
        )


class _AcCollector(Collector):
    """AC requests by endpoint and answer, and the rate budget, read from the client at scrape."""

    def __init__(self, client: AcClient) -> None:
        self.client = client

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "acsync_ac_requests",
            "Requests to ActiveCampaign by endpoint and answer",
            labels=["endpoint", "status"],
        )
        with self.client._count_lock:
            sent, answered = dict(self.client.requests), dict(self.client.statuses)
        for (endpoint, status), n in sorted(answered.items()):
            requests.add_metric([endpoint, str(status)], n)
        for endpoint, n in sorted(sent.items()):  # sent, never answered: a timeout or a lost connection
            unanswered = n - sum(v for (e, _), v in answered.items() if e == endpoint)
            if unanswered > 0:
                requests.add_metric([endpoint, "none"], unanswered)
        yield requests
        limiter = self.client.limiter
        yield GaugeMetricFamily(
            "acsync_ac_rate_budget_requests_per_second",
            "The account's AC request budget (shared by every acsync process on this database)",
            value=limiter.rate,
        )
        yield GaugeMetricFamily(
            "acsync_ac_rate_budget_in_use_ratio",
            "Share of the request budget in use by every process (mean of the last 10 s)",
            value=limiter.in_use(),
        )


class _OutboxCollector(Collector):
    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self.connect = connect

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "acsync_outbox_writes", "Writes to AC waiting or given up", labels=["state"]
        )
        try:
            pending, dead = (
                self.connect()
                .execute(
                    "SELECT count(*) FILTER (WHERE dead = 0), count(*) FILTER (WHERE dead != 0) FROM outbox"
                )
                .fetchone()
            )
        except sqlite3.Error:
            return
        gauge.add_metric(["pending"], pending or 0)
        gauge.add_metric(["dead"], dead or 0)
        yield gauge


def register_daemon_metrics(
    registry: CollectorRegistry, client: AcClient, connect: Callable[[], sqlite3.Connection]
) -> JobMetrics:
    """The job metrics, AC's requests and budget, the outbox, and the process collector."""
    registry.register(_AcCollector(client))
    registry.register(_OutboxCollector(connect))
    ProcessCollector(registry=registry)
    return JobMetrics(registry)


class Labelled(CollectorRegistry):
    """A registry seen through a constant label (``account``) on every sample."""

    def __init__(self, registry: CollectorRegistry, labels: dict[str, str]) -> None:
        super().__init__(auto_describe=False)
        self.registry = registry
        self.labels = labels

    def collect(self) -> Iterator[Metric]:
        for metric in self.registry.collect():
            samples = [s._replace(labels={**self.labels, **s.labels}) for s in metric.samples]
            metric.samples = samples
            yield metric
