"""The receiver as a WSGI app.

``POST /webhooks/activecampaign/<token>``: the token (``ACSYNC_WEBHOOK__TOKEN``) is compared in
constant time; a wrong or missing one is a 404 and nothing is stored. The raw body is committed
to the inbox before the 200, so a crash after the answer loses nothing; parsing happens later
(``acsync ingest --inbox``). AC disables a webhook answered with 410, so this app never sends it:
other methods get 405, bodies over ``max_body`` 413, other content types 415, a failed write 503.
``GET /healthz`` and ``GET /metrics`` serve operations.
"""

from __future__ import annotations

import hmac
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from acsync.clock import utcnow
from acsync.core.timefmt import from_iso, iso
from acsync.errors import StoreError
from acsync.store import Store
from acsync.webhook.metrics import WebhookMetrics

PREFIX = "/webhooks/activecampaign/"
ACCEPTED = ("application/x-www-form-urlencoded", "application/json")
StartResponse = Callable[..., Any]


class WebhookApp:
    def __init__(
        self,
        db_path: Path,
        token: str,
        *,
        max_body: int = 65536,
        busy_timeout: float = 5.0,
        stale_after: float = 900.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if not token:
            raise ValueError("the receiver needs a token")
        self.db_path = db_path
        self._token = token.encode()
        self.max_body = max_body
        self.busy_timeout = busy_timeout
        self.stale_after = stale_after
        self.clock = clock
        self._local = threading.local()
        Store.open(db_path, busy_timeout).close()  # create and migrate before the first request
        self.metrics = WebhookMetrics(self._conn)

    def _conn(self) -> sqlite3.Connection:
        """One connection per server thread."""
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store.open(self.db_path, self.busy_timeout)
        return store.conn

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        if path.startswith(PREFIX):
            status, body, headers = self._webhook(method, path.removeprefix(PREFIX), environ)
        elif path == "/healthz" and method in ("GET", "HEAD"):
            status, body, headers = self._health()
        elif path == "/metrics" and method in ("GET", "HEAD") and self.metrics.exposed is not None:
            status, body, headers = (
                200,
                generate_latest(self.metrics.exposed),
                [("Content-Type", CONTENT_TYPE_LATEST)],
            )
        else:
            status, body, headers = 404, b"not found\n", [("Content-Type", "text/plain")]
        if path.startswith(PREFIX):
            self.metrics.requests.labels(str(status)).inc()
        start_response(
            f"{status} {_REASONS.get(status, 'Status')}", [*headers, ("Content-Length", str(len(body)))]
        )
        return [] if method == "HEAD" else [body]

    def _reject(
        self, status: int, reason: str, extra: list[tuple[str, str]] | None = None
    ) -> tuple[int, bytes, list[tuple[str, str]]]:
        self.metrics.rejections.labels(reason).inc()
        return (
            status,
            f"{_REASONS[status].lower()}\n".encode(),
            [("Content-Type", "text/plain"), *(extra or [])],
        )

    def _webhook(
        self, method: str, token: str, environ: dict[str, Any]
    ) -> tuple[int, bytes, list[tuple[str, str]]]:
        if not hmac.compare_digest(token.encode(), self._token):
            return self._reject(404, "token")
        if method != "POST":
            return self._reject(405, "method", [("Allow", "POST")])
        try:
            declared = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > self.max_body:
            return self._reject(413, "size")
        content_type = environ.get("CONTENT_TYPE", "")
        if content_type.split(";")[0].strip().lower() not in ACCEPTED:
            return self._reject(415, "content_type")
        body = (
            environ["wsgi.input"].read(declared)
            if declared
            else environ["wsgi.input"].read(self.max_body + 1)
        )
        if len(body) > self.max_body:
            return self._reject(413, "size")
        try:
            self._conn().execute(
                "INSERT INTO inbox (received_at, content_type, body) VALUES (?, ?, ?)",
                [iso(self.clock()), content_type[:200], body],
            )
        except (sqlite3.Error, StoreError, OSError):  # unusable or unreachable: AC may try again later
            return self._reject(503, "storage", [("Retry-After", "5")])
        return 200, b"ok\n", [("Content-Type", "text/plain")]

    def _health(self) -> tuple[int, bytes, list[tuple[str, str]]]:
        now = self.clock()
        report: dict[str, Any] = {"database": "ok"}
        healthy = True
        try:
            conn = self._conn()
            backlog, oldest = conn.execute(
                "SELECT count(*), min(received_at) FROM inbox WHERE status = 'new'"
            ).fetchone()
            last = conn.execute("SELECT value FROM meta WHERE key = 'last_job_ok_at'").fetchone()
        except (sqlite3.Error, StoreError, OSError) as e:
            report["database"] = f"unreachable: {type(e).__name__}"
            healthy = False
        else:
            waiting = (now - from_iso(oldest)).total_seconds() if oldest else 0.0
            report["inbox_backlog"] = backlog
            report["oldest_waiting_seconds"] = round(waiting)
            report["last_job_age_seconds"] = (
                None if last is None else round((now - from_iso(last[0])).total_seconds())
            )
            if waiting > self.stale_after:
                healthy = False
                report["problem"] = (
                    "webhooks are waiting to be ingested: is `acsync run` (or `ingest --inbox`) running?"
                )
        report["status"] = "ok" if healthy else "unhealthy"
        return (
            (200 if healthy else 503),
            (json.dumps(report) + "\n").encode(),
            [("Content-Type", "application/json")],
        )


_REASONS = {
    200: "OK",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    503: "Service Unavailable",
}
