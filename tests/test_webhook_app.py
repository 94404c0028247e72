"""The receiver as a WSGI app: statuses, durability, health, metrics, and fuzzed input."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acsync.core.timefmt import iso
from acsync.jobs.inbox import ingest_inbox
from acsync.jobs.ingest import ingest_lines
from acsync.store import Store
from acsync.webhook.app import WebhookApp
from tests.test_webhook_decode import FORM, form

TOKEN = "t0ken-of-at-least-16-chars"
URL = f"/webhooks/activecampaign/{TOKEN}"
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def call(
    app: WebhookApp, method: str, path: str, body: bytes = b"", content_type: str = FORM, **env: Any
) -> tuple[int, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = int(status.split()[0]), dict(headers)

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        **env,
    }
    out = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], out


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(tmp_path: Path, clock: Clock) -> WebhookApp:
    return WebhookApp(tmp_path / "a.db", TOKEN, max_body=4096, clock=clock)


def inbox(app: WebhookApp) -> list[tuple[Any, ...]]:
    with Store.open(app.db_path) as s:
        return s.conn.execute("SELECT content_type, body, status FROM inbox ORDER BY id").fetchall()


OPEN = form(
    {
        "type": "open",
        "date_time": "2026-11-20T06:00:00-05:00",
        "contact": {"id": "42", "email": "ann@example.com"},
        "campaign": {"id": "7"},
    }
)


def test_a_webhook_is_stored_raw_before_the_answer(app: WebhookApp) -> None:
    status, _, body = call(app, "POST", URL, OPEN)
    assert (status, body) == (200, b"ok\n")
    assert inbox(app) == [(FORM, OPEN, "new")]


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type", "status"),
    [
        ("POST", "/webhooks/activecampaign/wrong", OPEN, FORM, 404),
        ("POST", "/webhooks/activecampaign/", OPEN, FORM, 404),
        ("POST", URL + "x", OPEN, FORM, 404),
        ("GET", URL, b"", FORM, 405),
        ("PUT", URL, OPEN, FORM, 405),
        ("POST", URL, b"x" * 5000, FORM, 413),
        ("POST", URL, OPEN, "text/plain", 415),
        ("POST", URL, OPEN, "", 415),
        ("POST", URL, b'{"type": "open"}', "application/json; charset=utf-8", 200),
        ("GET", "/elsewhere", b"", FORM, 404),
    ],
)
def test_statuses(
    app: WebhookApp, method: str, path: str, body: bytes, content_type: str, status: int
) -> None:
    assert call(app, method, path, body, content_type)[0] == status
    assert len(inbox(app)) == (1 if status == 200 else 0)


def test_a_failed_write_is_a_503_never_a_410(app: WebhookApp, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> sqlite3.Connection:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(app, "_conn", broken)
    status, headers, _ = call(app, "POST", URL, OPEN)
    assert status == 503
    assert headers["Retry-After"] == "5"


def test_metrics_count_requests_and_rejections(app: WebhookApp) -> None:
    call(app, "POST", URL, OPEN)
    call(app, "POST", "/webhooks/activecampaign/nope", OPEN)
    call(app, "POST", URL, OPEN, "text/plain")
    status, headers, text = call(app, "GET", "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    metrics = text.decode()
    assert 'acsync_webhook_requests_total{status="200"} 1.0' in metrics
    assert 'acsync_webhook_rejections_total{reason="token"} 1.0' in metrics
    assert 'acsync_webhook_rejections_total{reason="content_type"} 1.0' in metrics
    assert "acsync_inbox_backlog 1.0" in metrics


def test_health(app: WebhookApp, clock: Clock) -> None:
    status, _, body = call(app, "GET", "/healthz")
    assert status == 200
    assert json.loads(body)["status"] == "ok"
    call(app, "POST", URL, OPEN)
    clock.now += timedelta(hours=1)  # nobody ingests: the inbox grows stale
    status, _, body = call(app, "GET", "/healthz")
    report = json.loads(body)
    assert status == 503
    assert (report["inbox_backlog"], report["oldest_waiting_seconds"]) == (1, 3600)
    assert "ingest --inbox" in report["problem"]
    with Store.open(app.db_path) as s:
        ingest_inbox(s, clock.now)
    report = json.loads(call(app, "GET", "/healthz")[2])
    assert (report["status"], report["inbox_backlog"], report["last_job_age_seconds"]) == ("ok", 0, 0)


def test_inbox_becomes_events_once_and_nothing_is_deleted(app: WebhookApp, clock: Clock) -> None:
    click = form(
        {
            "type": "click",
            "date_time": "2026-11-20T06:05:00-05:00",
            "contact": {"id": "42"},
            "campaign": {"id": "7"},
            "link": {"url": "https://x/a"},
        }
    )
    for body in (
        OPEN,
        OPEN,
        click,
        b"type=deal_add&contact[id]=42",
        b"type=hologram&contact[id]=42",
        b"contact[id]=42",
    ):
        assert call(app, "POST", URL, body)[0] == 200
    with Store.open(app.db_path) as s:
        report = ingest_inbox(s, clock.now)
        assert (report.rows, report.new, report.duplicate) == (6, 2, 1)
        assert dict(report.statuses) == {"ingested": 3, "ignored": 1, "unknown": 1, "rejected": 1}
        assert s.conn.execute("SELECT count(*) FROM inbox").fetchone() == (6,)
        assert s.conn.execute("SELECT reason FROM inbox WHERE status = 'rejected'").fetchone() == (
            "neither type nor seriesid: not an ActiveCampaign webhook",
        )
        assert s.conn.execute("SELECT ac_id, email FROM contacts").fetchall() == [("42", "ann@example.com")]
        # AC posted about contact 42, so it existed then: push may bulk-import it
        (seen,) = s.conn.execute("SELECT seen_in_ac_at FROM contacts").fetchone()
        assert seen is not None
        assert seen <= iso(clock.now)
        # the poll path sees the same open: a duplicate, not a second award
        polled = json.dumps(
            {"type": "open", "contact_id": "42", "campaign": "7", "at": "2026-11-21T00:00:00Z"}
        )
        assert ingest_lines(s, [polled], "api", clock.now).duplicate == 1
        assert ingest_inbox(s, clock.now).rows == 0


headers_st = st.dictionaries(
    st.sampled_from(["CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_X_FORWARDED_FOR", "HTTP_TRANSFER_ENCODING"]),
    st.text(max_size=40),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "BREW"]),
    path=st.one_of(
        st.just(URL), st.text(max_size=60).map(lambda p: "/" + p), st.just("/healthz"), st.just("/metrics")
    ),
    body=st.one_of(st.binary(max_size=6000), st.text(max_size=300).map(str.encode)),
    content_type=st.one_of(st.just(FORM), st.just("application/json"), st.text(max_size=30)),
    headers=headers_st,
)
def test_fuzzed_requests_never_get_a_5xx(
    app: WebhookApp, method: str, path: str, body: bytes, content_type: str, headers: dict[str, str]
) -> None:
    env = {k: v for k, v in headers.items() if k != "CONTENT_TYPE"}
    status, _, _ = call(app, method, path, body, content_type, **env)
    assert status < 500
    with Store.open(app.db_path) as s:
        ingest_inbox(s, NOW)  # and whatever was stored, ingest survives too


def test_an_unusable_database_is_a_503_and_unhealthy(app: WebhookApp) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{app.db_path}{suffix}").unlink(missing_ok=True)
    app.db_path.write_bytes(b"not a database at all" * 100)  # the receiver opens it per thread
    status, headers, _ = call(app, "POST", URL, OPEN)
    assert status == 503
    assert headers["Retry-After"] == "5"
    status, _, body = call(app, "GET", "/healthz")
    assert status == 503
    assert json.loads(body)["database"] == "unreachable: StoreError"
    assert call(app, "GET", "/metrics")[0] == 200  # the counters still scrape
