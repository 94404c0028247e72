"""The sandbox's front door: auth, the rate limit, fault switches, the journal, and routing.

One ``handle`` serves both ways in: the WSGI app (``__call__``, served by waitress on 127.0.0.1)
and an in-process ``requests`` adapter (``session()``), so tests need no socket and a timeout
fault needs no real waiting in-process.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.adapters import BaseAdapter

from acsync.sandbox import api
from acsync.sandbox.faults import LOST_ANSWER, Faults, lost_answer
from acsync.sandbox.state import Account

IN_PROCESS_URL = "http://sandbox.invalid"
LOGIN_PAGE = (
    "<!DOCTYPE html><html><head><title>ActiveCampaign login</title></head>"
    "<body><form method=post action=/admin/index.php><input name=user><input name=pass type=password>"
    "</form></body></html>"
)
GATEWAY_TIMEOUT = (
    "<!DOCTYPE html><html><head><title>sandbox | 504: Gateway time-out</title></head>"
    "<body><h1>Gateway time-out</h1><span class=code-label>Error code 504</span></body></html>"
)
JSON = "application/json; charset=utf-8"
REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    timeout: bool = False  # the fault: no answer in time
    lost: str | None = None  # a lost-answer fault (``faults.LOST_ANSWER``): AC acted, the answer is lost


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(data).encode(), JSON, headers or {})


class Journal:
    """Every API request: counts per "METHOD endpoint" and per status, for tests and benchmarks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()

    def record(self, endpoint: str, status: int) -> None:
        with self._lock:
            self.counts[endpoint] += 1
            self.statuses[status] += 1

    def as_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": sum(self.counts.values()),
                "counts": dict(sorted(self.counts.items())),
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            }

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.statuses.clear()


class _Bucket:
    """The account's limit as AC enforces it: ``rate`` per second, a second's worth of burst."""

    def __init__(self, rate: float, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.clock = clock
        self.tokens = rate
        self.stamp = clock()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = self.clock()
            self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


class Sandbox:
    def __init__(
        self,
        account: Account,
        *,
        token: str = "sandbox",
        rate_limit: float | None = 5.0,
        bulk_per_minute: int = 100,
        bulk_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        timeout_seconds: float = 35.0,
        faults: Faults | None = None,
    ) -> None:
        self.account = account
        self.token = token
        self.clock = clock
        self.faults = faults or Faults()
        self.journal = Journal()
        self.timeout_seconds = timeout_seconds
        self.bulk_per_minute = bulk_per_minute
        self.bulk_seconds = bulk_seconds  # how long a bulk import takes to complete
        self._bulk_times: list[float] = []
        self.set_rate_limit(rate_limit)

    def set_rate_limit(self, rate: float | None) -> None:
        self.rate_limit = rate
        self._bucket = _Bucket(rate, self.clock) if rate else None

    # --- the one entry point -------------------------------------------------------------------
    def handle(
        self, method: str, raw_path: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> Response:
        if raw_path.startswith("/__sandbox/"):
            return self._control(method, raw_path.removeprefix("/__sandbox/"), body)
        if not raw_path.startswith("/api/3/"):
            return Response(404, b"<html><body>Not Found</body></html>", "text/html")
        path = raw_path.removeprefix("/api/3/").rstrip("/")
        route = next(
            ((p, h, args) for m, rx, p, h in api.COMPILED if m == method and (args := rx.match(path))), None
        )
        endpoint = f"{method} {route[0] if route else path}"
        response = self._answer(method, path, route, query, headers, body)
        self.journal.record(endpoint, 504 if response.timeout else response.status)
        return response

    def _answer(
        self,
        method: str,
        path: str,
        route: tuple[str, api.Handler, Any] | None,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Response:
        if self._bucket is not None and not self._bucket.take():
            return _json(429, {"message": "Too Many Requests"}, {"Retry-After": "1"})
        fault = self.faults.draw()
        if fault == "timeout":
            return Response(504, GATEWAY_TIMEOUT.encode(), "text/html", timeout=True)
        if fault in ("429", "503", "500"):
            extra = {"Retry-After": "1"} if fault == "429" else {}
            return _json(
                int(fault),
                {
                    "message": {"429": "Too Many Requests", "503": "Service Unavailable"}.get(
                        fault, "Internal Server Error"
                    )
                },
                extra,
            )
        if fault == "403":
            return _json(403, {"message": "Forbidden"})
        if fault == "html" or headers.get("api-token") != self.token:
            return Response(200, LOGIN_PAGE.encode(), "text/html; charset=utf-8")
        if route is None:
            return _json(404, {"message": "No Result found for route " + path})
        _, handler, args = route
        if handler is api.bulk_import and not self._bulk_allowed():
            return _json(
                400,
                {
                    "success": 0,
                    "message": "Rate limit exceeded.",
                    "failureReasons": [
                        f"Up to {self.bulk_per_minute} imports may be requested per minute.Please batch "
                        "contacts into larger requests, or retry this request in a minute."
                    ],
                },
            )
        now = self.clock()
        with self.account.lock:
            self._settle_due(now)
            request = api.Request(method, path, dict(query), body, args.groups(), now)
            status, data = handler(self.account, request)
        response = _json(status, data)
        if fault in LOST_ANSWER:
            response.lost = fault
        return response

    def _settle_due(self, now: float) -> None:
        """AC applies bulk imports in the background: here, on the first request after they are due."""
        waiting = self.account.waiting
        while waiting and now - waiting[0].queued >= self.bulk_seconds:
            api.settle(self.account, waiting.pop(0), lambda: self.faults.draw(("bulk_item",)) is not None)

    def _bulk_allowed(self) -> bool:
        now = self.clock()
        self._bulk_times = [t for t in self._bulk_times if now - t < 60]
        if len(self._bulk_times) >= self.bulk_per_minute:
            return False
        self._bulk_times.append(now)
        return True

    def _control(self, method: str, what: str, body: bytes) -> Response:
        if what == "journal" and method == "GET":
            return _json(200, self.journal.as_json())
        if what == "journal" and method == "DELETE":
            self.journal.reset()
            return _json(200, self.journal.as_json())
        if what == "webhooks" and method == "POST":
            return self._post_webhooks(body)
        if what == "stats" and method == "GET":
            return _json(200, self.stats())
        if what == "faults" and method == "GET":
            return _json(200, self.faults.as_json())
        if what == "faults" and method == "POST":
            try:
                spec = json.loads(body or b"{}")
                if spec.get("clear"):
                    self.faults.clear()
                else:
                    self.faults.set(str(spec["kind"]), rate=spec.get("rate"), next=spec.get("next"))
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                return _json(400, {"message": f"expected {{kind, rate?, next?}} or {{clear: true}}: {e}"})
            return _json(200, self.faults.as_json())
        return _json(
            404,
            {
                "message": "sandbox control endpoints: GET/DELETE journal, GET/POST faults, GET stats, "
                "POST webhooks"
            },
        )

    def _post_webhooks(self, body: bytes) -> Response:
        """``{"url", "count"?, "seed"?}``: post a burst of AC-format webhooks to ``url``."""
        from acsync.sandbox.webhooks import post_webhooks, webhook_bodies

        try:
            spec = json.loads(body or b"{}")
            url, count, seed = str(spec["url"]), int(spec.get("count", 10)), int(spec.get("seed", 0))
            naive = float(spec.get("naive_share", 0.0))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            return _json(400, {"message": f"expected {{url, count?, seed?, naive_share?}}: {e}"})
        if not 1 <= count <= 10_000:
            return _json(400, {"message": "count is between 1 and 10000"})
        with self.account.lock:
            bodies = webhook_bodies(self.account, count, seed, naive_share=naive)
        try:
            statuses = post_webhooks(url, bodies)
        except requests.RequestException as e:
            return _json(502, {"message": f"could not post to {url}: {type(e).__name__}"})
        return _json(
            200, {"posted": len(statuses), "statuses": {str(s): statuses.count(s) for s in set(statuses)}}
        )

    def stats(self) -> dict[str, Any]:
        """What the account holds: enough to compute the fewest requests a full pull needs."""
        acct = self.account
        with acct.lock:
            return {
                "contacts": len(acct.contacts) - len(acct.deleted),
                "campaigns": len(acct.campaigns),
                "links": len(acct.links),
                "hits_per_link": [len(acct.link_data[i]) for i in sorted(acct.links)],
                "tracking_logs_per_contact": [
                    len(acct.tracking_logs.get(c, [])) for c in sorted(acct.contacts)
                ],
                "orders": len(acct.orders),
                "customers": len(acct.customers),
                "contact_lists": len(acct.contact_lists),
                "tags": len(acct.tags),
                "contact_tags": len(acct.contact_tags),
            }

    # --- WSGI ---------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        query = _query(environ.get("QUERY_STRING", ""))
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length else b""
        response = self.handle(method, environ.get("PATH_INFO", "/"), query, headers, body)
        if response.timeout or response.lost == "late":
            time.sleep(self.timeout_seconds)  # the client gives up first
        if response.lost == "drop":  # the answer breaks off: headers, then the connection closes
            start_response(
                "200 OK", [("Content-Type", JSON), ("Content-Length", str(len(response.body) + 1))]
            )
            return [b""]
        start_response(
            f"{response.status} {REASONS.get(response.status, 'Status')}",
            [
                ("Content-Type", response.content_type),
                ("Content-Length", str(len(response.body))),
                *response.headers.items(),
            ],
        )
        return [response.body]

    # --- in-process ---------------------------------------------------------------------------
    def session(self) -> requests.Session:
        """A ``requests.Session`` whose requests to ``IN_PROCESS_URL`` reach this sandbox directly."""
        s = requests.Session()
        s.mount(IN_PROCESS_URL, _Adapter(self))
        return s


def _query(text: str) -> dict[str, str]:
    """The query as a dict; a repeated ``name[]`` (AC's list form, ``ids[]=1&ids[]=2``) joined by commas."""
    query: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key.endswith("[]") and key in query else value
    return query


class _Adapter(BaseAdapter):
    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__()
        self.sandbox = sandbox

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        url = urlsplit(request.url or "")
        query = _query(url.query)
        headers = {k.lower(): v for k, v in request.headers.items()}
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        answer = self.sandbox.handle(request.method or "GET", url.path, query, headers, body)
        if answer.timeout:
            raise requests.ReadTimeout("sandbox fault: no answer in time", request=request)
        if answer.lost:
            raise lost_answer(answer.lost, request)
        response = requests.Response()
        response.status_code = answer.status
        response.headers.update({"Content-Type": answer.content_type, **answer.headers})
        response.raw = io.BytesIO(answer.body)
        response._content = answer.body
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass
