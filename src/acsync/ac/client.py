"""The ActiveCampaign API v3 client.

One ``requests.Session`` (``Api-Token`` header, connect/read timeouts, redirects never
followed); every answer goes through ``classify``; tenacity retries only retriable errors, with
jittered exponential backoff or AC's ``Retry-After``, and only for calls that are safe to
repeat. An unsafe call (a POST) is repeated only when AC certainly did not act: no connection
was made (refused, DNS, connect timeout: ``unsent``) or AC said 429; any other failure after the
request may have left (a read timeout, a dropped connection, a 5xx) is ``AcMaybeSent``, and the
caller checks AC before writing again. One token bucket paces every thread (paused as a whole
on a 429), and bulk import has its own (100 requests a minute). The token never appears in a
message or a log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential
from urllib3.exceptions import MaxRetryError, NewConnectionError

from acsync import masking
from acsync.ac.classify import Forbidden, classify
from acsync.ac.errors import AcFatalError, AcMaybeSent, AcRetriableError
from acsync.ac.ratelimit import TokenBucket, bucket_path, shared_bucket
from acsync.config import ActiveCampaignConfig
from acsync.core.ac_values import as_id
from acsync.errors import ConfigError

log = logging.getLogger(__name__)

PAGE = 100
MAX_FORBIDDEN_RETRIES = 2
REPORT_PAGE = 1000  # AC's campaign reports answer up to 1,000 rows a page
# AC's reference documents "List the opens of a campaign" and "List the link clicks of a
# campaign" without a path our sources show: these are the candidates, probed in this order (see
# ``acsync doctor`` and docs/ac-api-notes.md); the one that answers is recorded per account.
OPEN_REPORT_PATHS = ("campaigns/{id}/opens",)
CLICK_REPORT_PATHS = ("campaigns/{id}/linkClicks",)
Page = list[dict[str, Any]]


def api_root(url: str) -> str:
    """``https://acct.api-us1.com`` (or ``…/api/3``) → ``https://acct.api-us1.com/api/3/``."""
    base = url.strip().rstrip("/")
    base = base.removesuffix("/api/3")
    return f"{base}/api/3/"


class AcClient:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        requests_per_second: float = 5.0,
        bulk_requests_per_minute: float = 100.0,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 6,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        limiter: TokenBucket | None = None,
        bulk_limiter: TokenBucket | None = None,
    ) -> None:
        self.root = api_root(url)
        masking.register(token)  # AC may echo it in an error body: no message may print it
        self.session = session or requests.Session()
        self.session.headers.update({"Api-Token": token, "Accept": "application/json"})
        self.timeouts = (connect_timeout, read_timeout)
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.limiter = limiter or TokenBucket(requests_per_second, 1.0, clock, sleep)
        self.bulk_limiter = bulk_limiter or TokenBucket(bulk_requests_per_minute / 60.0, 1.0, clock, sleep)
        self.requests: Counter[str] = Counter()  # per "METHOD endpoint", retries included
        self.statuses: Counter[tuple[str, int]] = Counter()  # answers per ("METHOD endpoint", status)
        self._count_lock = threading.Lock()

    # --- the one way out -------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        endpoint: str | None = None,
        idempotent: bool | None = None,
        bulk: bool = False,
    ) -> Any:
        """One logical call: paced, retried when safe, classified. Returns the decoded JSON."""
        safe = method in ("GET", "PUT", "DELETE") if idempotent is None else idempotent
        label = f"{method} {endpoint or path}"
        forbidden = 0

        def should_retry(exc: BaseException) -> bool:
            nonlocal forbidden
            if isinstance(exc, Forbidden):
                forbidden += 1
                return forbidden <= MAX_FORBIDDEN_RETRIES
            if not isinstance(exc, AcRetriableError):
                return False
            # Unsafe calls are repeated only when AC certainly did not act: the request never left,
            # or AC said 429 / rate limit. Never after an answer was lost (AcMaybeSent).
            if isinstance(exc, AcMaybeSent):
                return safe
            return safe or exc.status in (429, 400) or exc.not_sent

        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(should_retry),
            sleep=self.sleep,
            reraise=True,
            before_sleep=lambda state: log.info(
                "retrying %s after %s", label, state.outcome.exception() if state.outcome else "?"
            ),
        )
        try:
            return retrying(self._once, method, path, params, body, label, bulk)
        except Forbidden as e:
            raise AcFatalError(
                f"ActiveCampaign kept answering 403 Forbidden: the API user may lack permission ({e})",
                method=method,
                path=path,
                status=403,
            ) from None

    _jitter = wait_random_exponential(multiplier=0.5, max=30)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, AcRetriableError) and exc.retry_after is not None:
            return 0.0 if exc.status == 429 else exc.retry_after  # a 429 pauses the bucket instead
        return float(self._jitter(state))

    def _once(self, method: str, path: str, params: Any, body: Any, label: str, bulk: bool) -> Any:
        (self.bulk_limiter if bulk else self.limiter).acquire()
        if bulk:
            self.limiter.acquire()
        with self._count_lock:
            self.requests[label] += 1
        try:
            response = self.session.request(
                method,
                self.root + path,
                params=params,
                json=body,
                timeout=self.timeouts,
                allow_redirects=False,
            )
        except requests.RequestException as e:
            if unsent(e):
                raise _unsent(f"could not reach ActiveCampaign: {_reason(e)}", method, path) from None
            if isinstance(e, requests.Timeout):
                raise AcMaybeSent(
                    "ActiveCampaign did not answer in time; it may have acted", method=method, path=path
                ) from None
            raise AcMaybeSent(
                f"the connection to ActiveCampaign failed after the request was sent ({_reason(e)}); "
                "it may have acted",
                method=method,
                path=path,
            ) from None
        with self._count_lock:
            self.statuses[(label, response.status_code)] += 1
        try:
            return classify(method, path, response.status_code, response.headers, response.text)
        except AcRetriableError as e:
            if e.status == 429:
                self.limiter.pause(e.retry_after if e.retry_after is not None else 1.0)
            raise

    # --- paging ------------------------------------------------------------------------------------
    def offset_pages(
        self,
        path: str,
        key: str,
        params: dict[str, Any] | None = None,
        *,
        limit: int = PAGE,
        endpoint: str | None = None,
        start: int = 0,
    ) -> Iterator[Page]:
        """Pages from offset ``start`` until a short one (a resumed pull starts mid-way).

        Refuses to loop: a page that repeats the previous one stops it.
        """
        offset, previous = start, None
        while True:
            body = self.request(
                "GET", path, params={**(params or {}), "limit": limit, "offset": offset}, endpoint=endpoint
            )
            items = _items(body, key, path)
            ids = [as_id(i.get("id")) for i in items]
            if items and ids == previous:
                raise AcFatalError(
                    f"paging {path} did not advance (offset {offset})", method="GET", path=path
                )
            previous = ids
            if items:
                yield items
            if len(items) < limit:
                return
            offset += limit

    def contact_pages(self, after_id: int = 0, *, updated_after: str | None = None) -> Iterator[Page]:
        """Contacts by keyset: ``orders[id]=ASC&id_greater=<last id>`` (fast on large accounts)."""
        last = after_id
        while True:
            params: dict[str, Any] = {"orders[id]": "ASC", "id_greater": last, "limit": PAGE}
            if updated_after:
                params["filters[updated_after]"] = updated_after
            items = _items(self.request("GET", "contacts", params=params), "contacts", "contacts")
            ids = [int(i["id"]) for i in items if as_id(i.get("id"))]
            if items and (not ids or max(ids) <= last):
                raise AcFatalError(
                    f"contact paging did not advance past id {last}", method="GET", path="contacts"
                )
            if items:
                yield items
                last = max(ids)
            if len(items) < PAGE:
                return

    # --- typed calls ---------------------------------------------------------------------------------
    def me(self) -> dict[str, Any]:
        """The user behind the key: the cheapest credential check."""
        body = self.request("GET", "users/me")
        user = body.get("user") if isinstance(body, dict) else None
        if not isinstance(user, dict):
            raise AcFatalError("users/me answered without a user", method="GET", path="users/me")
        return user

    def contact(self, contact_id: str) -> dict[str, Any]:
        """``{"contact": …, "fieldValues": […], …}``; AcNotFound when AC deleted it."""
        return dict(self.request("GET", f"contacts/{contact_id}", endpoint="contacts/{id}"))

    def contact_by_email(self, email: str) -> dict[str, Any] | None:
        """The contact with exactly this e-mail, or None (AC matches e-mails case-insensitively)."""
        found = _items(self.request("GET", "contacts", params={"email": email}), "contacts", "contacts")
        return next((c for c in found if str(c.get("email", "")).lower() == email.lower()), None)

    def update_contact_fields(self, contact_id: str, values: dict[str, str]) -> dict[str, Any]:
        """Not repeated after a lost answer (a write twice all the same): push reads it back first."""
        body = {"contact": {"fieldValues": [{"field": f, "value": v} for f, v in values.items()]}}
        return dict(
            self.request(
                "PUT", f"contacts/{contact_id}", body=body, endpoint="contacts/{id}", idempotent=False
            )
        )

    def campaign_pages(self) -> Iterator[Page]:
        return self.offset_pages("campaigns", "campaigns", {"orders[sdate]": "ASC"})

    def campaign_links(self, campaign_id: str) -> list[dict[str, Any]]:
        """The campaign's tracked links; the one with ``link == "open"`` is the open pixel."""
        path = f"campaigns/{campaign_id}/links"
        return _items(self.request("GET", path, endpoint="campaigns/{id}/links"), "links", path)

    def link_data_pages(self, link_id: str, start: int = 0) -> Iterator[Page]:
        """Who hit a link and when (opens, for the open pixel): ``{contact, tstamp, …}``."""
        return self.offset_pages(
            f"links/{link_id}/linkData", "linkData", endpoint="links/{id}/linkData", start=start
        )

    def recent_campaign_pages(self) -> Iterator[Page]:
        """Campaigns, the last sent first (``orders[sdate]=DESC``): a sync stops at the old ones."""
        return self.offset_pages("campaigns", "campaigns", {"orders[sdate]": "DESC"})

    def report_pages(
        self, template: str, campaign_id: str, params: dict[str, Any] | None = None, start: int = 0
    ) -> Iterator[Page]:
        """One of AC's campaign reports (``template`` one of ``*_REPORT_PATHS``): up to 1,000 rows a
        page and no ``meta.total``, so pages until a short one. The rows' key is not documented:
        the first list of objects in the answer is taken."""
        path = template.format(id=campaign_id)
        offset, previous = start, None
        while True:
            body = self.request(
                "GET",
                path,
                params={**(params or {}), "limit": REPORT_PAGE, "offset": offset},
                endpoint=template,
            )
            rows = report_rows(body)
            if rows and rows == previous:
                raise AcFatalError(
                    f"paging {path} did not advance (offset {offset})", method="GET", path=path
                )
            previous = rows
            if rows:
                yield rows
            if len(rows) < REPORT_PAGE:
                return
            offset += REPORT_PAGE

    def ecom_orders_by_update(self) -> Iterator[Page]:
        """Orders, the last updated first (``orders[updated_date]=DESC``, as connectors poll them);
        whether AC honoured the order is for the caller to check."""
        return self.offset_pages("ecomOrders", "ecomOrders", {"orders[updated_date]": "DESC"})

    def tracking_log_pages(self, contact_id: str) -> Iterator[Page]:
        """Site visits and tracked events of one contact."""
        return self.offset_pages(
            f"contacts/{contact_id}/trackingLogs", "trackingLogs", endpoint="contacts/{id}/trackingLogs"
        )

    def ecom_order_pages(self, start: int = 0) -> Iterator[Page]:
        return self.offset_pages("ecomOrders", "ecomOrders", start=start)

    def contact_tag_pages(self, start: int = 0) -> Iterator[Page]:
        """Every contact–tag link of the account."""
        return self.offset_pages("contactTags", "contactTags", start=start)

    def contact_tags(self, contact_id: str) -> list[dict[str, Any]]:
        path = f"contacts/{contact_id}/contactTags"
        return _items(self.request("GET", path, endpoint="contacts/{id}/contactTags"), "contactTags", path)

    def add_contact_tag(self, contact_id: str, tag_id: str) -> dict[str, Any]:
        body = {"contactTag": {"contact": contact_id, "tag": tag_id}}
        return _one(self.request("POST", "contactTags", body=body), "contactTag", "contactTags")

    def remove_contact_tag(self, contact_tag_id: str) -> None:
        self.request("DELETE", f"contactTags/{contact_tag_id}", endpoint="contactTags/{id}")

    def find_tag(self, name: str) -> dict[str, Any] | None:
        """The contact tag named exactly ``name`` (AC's search is a "contains" match)."""
        for page in self.offset_pages("tags", "tags", {"search": name}):
            for tag in page:
                if tag.get("tag") == name and tag.get("tagType", "contact") == "contact":
                    return tag
        return None

    def create_tag(self, name: str, description: str = "") -> dict[str, Any]:
        body = {"tag": {"tag": name, "tagType": "contact", "description": description}}
        return _one(self.request("POST", "tags", body=body), "tag", "tags")

    def field_pages(self) -> Iterator[Page]:
        return self.offset_pages("fields", "fields")

    def create_field(self, title: str, type_: str = "text", description: str = "") -> dict[str, Any]:
        """A contact custom field, related to all lists (``relid`` 0)."""
        body = {"field": {"title": title, "type": type_, "descript": description, "visible": 1}}
        field = _one(self.request("POST", "fields", body=body), "field", "fields")
        self.request(
            "POST", "fieldRels", body={"fieldRel": {"field": field["id"], "relid": 0}}, idempotent=False
        )
        return field

    def bulk_import(self, contacts: list[dict[str, Any]]) -> str:
        """Queue a bulk import (≤ 250 contacts); returns the batch id to poll with ``import_info``."""
        body = self.request(
            "POST", "import/bulk_import", body={"contacts": contacts}, bulk=True, idempotent=False
        )
        batch = as_id(body.get("batchId")) if isinstance(body, dict) else None
        if batch is None:
            raise AcFatalError(
                "bulk import answered without a batchId", method="POST", path="import/bulk_import"
            )
        return batch

    def import_info(self, batch_id: str) -> dict[str, Any]:
        """``{"status": waiting|claimed|active|completed|failed|interrupted|false, "success", "failure"}``."""
        return dict(self.request("GET", "import/info", params={"batchId": batch_id}))

    def import_overview(self) -> dict[str, Any]:
        """``{"outstanding": [{forDate, batches, contacts}], "recentlyCompleted": […]}``: the
        account's imports still queued or running, per day (no batch ids)."""
        return dict(self.request("GET", "import/bulk_import"))

    def contacts_by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        """The contacts among ``ids`` that AC still holds (deleted ones are left out), ≤ 100 at a
        time: ``GET /contacts?ids[]=1&ids[]=2`` (AC's form: the parameter repeated)."""
        if not 1 <= len(ids) <= PAGE:
            raise ValueError(f"between 1 and {PAGE} contact ids at a time")
        params = {"ids[]": list(ids), "limit": PAGE}
        return _items(
            self.request("GET", "contacts", params=params, endpoint="contacts?ids"), "contacts", "contacts"
        )

    def contact_field_values(self, contact_id: str) -> list[dict[str, Any]]:
        path = f"contacts/{contact_id}/fieldValues"
        return _items(self.request("GET", path, endpoint="contacts/{id}/fieldValues"), "fieldValues", path)

    def delete_contact(self, contact_id: str) -> None:
        """Delete a contact (one a bulk import created by mistake); AcNotFound when already gone."""
        self.request("DELETE", f"contacts/{contact_id}", endpoint="contacts/{id}")

    def webhooks(self) -> list[dict[str, Any]]:
        return [w for page in self.offset_pages("webhooks", "webhooks") for w in page]

    def create_webhook(self, name: str, url: str, events: list[str], sources: list[str]) -> dict[str, Any]:
        body = {"webhook": {"name": name, "url": url, "events": events, "sources": sources}}
        return _one(self.request("POST", "webhooks", body=body), "webhook", "webhooks")


def client_from_config(
    cfg: ActiveCampaignConfig, sleep: Callable[[float], None] | None = None, *, db_path: Path | None = None
) -> AcClient:
    """The client for ``[activecampaign]``; ConfigError naming the fix when URL or token is missing.

    ``sleep``: how the client and its rate limit wait (default: ``time.sleep``). ``db_path``:
    the database whose processes share one rate budget (a file beside it)."""
    problems = []
    if not cfg.url:
        problems.append(
            "activecampaign.url is not set: use the API URL from AC → Settings → Developer, "
            "e.g. https://youraccount.api-us1.com"
        )
    if cfg.api_token is None or not cfg.api_token.get_secret_value().strip():
        problems.append(
            "the API token is not set: export ACSYNC_ACTIVECAMPAIGN__API_TOKEN=<the key from AC → Settings → "
            "Developer>"
        )
    if problems or cfg.url is None or cfg.api_token is None:
        raise ConfigError("cannot talk to ActiveCampaign", problems)
    root = api_root(cfg.url)
    return AcClient(
        cfg.url,
        cfg.api_token.get_secret_value().strip(),
        limiter=shared_bucket(root, "api", cfg.requests_per_second, sleep, _beside(db_path, "api")),
        bulk_limiter=shared_bucket(root, "bulk", 100 / 60, sleep, _beside(db_path, "bulk")),
        connect_timeout=cfg.connect_timeout,
        read_timeout=cfg.read_timeout,
        max_attempts=cfg.max_attempts,
        sleep=sleep or time.sleep,
    )


def _beside(db_path: Path | None, kind: str) -> Path | None:
    return None if db_path is None else bucket_path(db_path, kind)


def unsent(exc: requests.RequestException) -> bool:
    """Proof that the request never left this machine: no connection was made.

    requests raises ``ConnectTimeout`` when the TCP connection was not set up in time, and a
    ``ConnectionError`` around urllib3's ``MaxRetryError(reason=NewConnectionError)`` when it
    could not be made at all (refused, unreachable; ``NameResolutionError`` for DNS is a
    ``NewConnectionError`` too). A ``ConnectionError`` around a ``ProtocolError`` (reset,
    dropped, remote closed), a read timeout, a TLS or proxy error may come after the request
    was sent: those are not proof.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ProxyError | requests.exceptions.SSLError) or not isinstance(
        exc, requests.ConnectionError
    ):
        return False
    reason = exc.args[0] if exc.args else None
    return isinstance(reason, MaxRetryError) and isinstance(reason.reason, NewConnectionError)


def _reason(exc: requests.RequestException) -> str:
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError) and reason.reason is not None:
        return type(reason.reason).__name__
    inner: tuple[object, ...] = tuple(getattr(reason, "args", ()))
    if len(inner) > 1 and isinstance(inner[1], BaseException):  # ProtocolError("…", RemoteDisconnected())
        return type(inner[1]).__name__
    return type(reason).__name__ if isinstance(reason, BaseException) else type(exc).__name__


def _unsent(message: str, method: str, path: str) -> AcRetriableError:
    return AcRetriableError(message, not_sent=True, method=method, path=path)


def _items(body: Any, key: str, path: str) -> list[dict[str, Any]]:
    items = body.get(key) if isinstance(body, dict) else None
    if items is None:
        return []
    if not isinstance(items, list):
        raise AcFatalError(f"{path} answered {key} that is not a list", method="GET", path=path)
    return [i for i in items if isinstance(i, dict)]


def report_rows(body: Any) -> list[dict[str, Any]]:
    """The rows of a campaign report: the first list of objects in the answer (``[]`` if none)."""
    if not isinstance(body, dict):
        return []
    for value in body.values():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            return list(value)
    return []


def _one(body: Any, key: str, path: str) -> dict[str, Any]:
    item = body.get(key) if isinstance(body, dict) else None
    if not isinstance(item, dict):
        raise AcFatalError(f"{path} answered without {key}", method="POST", path=path)
    return item
