"""Prometheus metrics of the receiver: its own counters, and gauges read from the store at scrape."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from acsync.errors import AcsyncError


class _InboxCollector(Collector):
    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self.connect = connect

    def collect(self) -> Iterator[GaugeMetricFamily]:
        backlog = GaugeMetricFamily("acsync_inbox_backlog", "Webhooks stored but not yet turned into events")
        by_type = GaugeMetricFamily(
            "acsync_inbox_webhooks", "Stored webhooks by AC type and status", labels=["type", "status"]
        )
        try:
            conn = self.connect()
            backlog.add_metric(
                [], conn.execute("SELECT count(*) FROM inbox WHERE status = 'new'").fetchone()[0]
            )
            for type_, status, n in conn.execute(
                "SELECT coalesce(type, ''), status, count(*) FROM inbox GROUP BY 1, 2"
            ):
                by_type.add_metric([type_, status], n)
        except (sqlite3.Error, AcsyncError, OSError):
            return  # /healthz reports the database; a scrape still gets the counters
        yield backlog
        yield by_type


class WebhookMetrics:
    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "acsync_webhook_requests",
            "Requests to the receiver by answer",
            ["status"],
            registry=self.registry,
        )
        self.rejections = Counter(
            "acsync_webhook_rejections", "Requests turned away, by reason", ["reason"], registry=self.registry
        )
        self.registry.register(_InboxCollector(connect))
        self.exposed: CollectorRegistry | None = self.registry  # what GET /metrics serves; None: 404
