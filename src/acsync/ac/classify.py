"""One function turns an HTTP answer from ActiveCampaign into data or the right error.

Pure: it sees a status, headers and a body, never a session. ``classify`` returns the decoded
JSON body of a success and raises otherwise; the retry policy (``client``) only retries
``AcRetriableError``, and a 403 only twice (AC raises intermittent 403s, per singer-io). A 5xx
is ``AcMaybeSent``: AC, or a gateway in front of it, may have acted before failing, so an
unsafe call is not repeated blindly; a 429 is AC refusing before it acts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from acsync.ac.errors import (
    AcConfigError,
    AcFatalError,
    AcMaybeSent,
    AcNotFound,
    AcRetriableError,
    AcValidationError,
)

RETRIABLE = {429, 500, 502, 503, 504}
UNKNOWN_EFFECT = {500, 502, 503, 504}  # AC (or a gateway before it) may have acted all the same
WRONG_URL_OR_KEY = (
    "check activecampaign.url (the API URL from AC → Settings → Developer, e.g. "
    "https://youraccount.api-us1.com) and ACSYNC_ACTIVECAMPAIGN__API_TOKEN"
)


class Forbidden(AcRetriableError):
    """A 403: retried at most twice, then fatal (see ``client``)."""


def retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def messages(body: Any) -> list[str]:
    """AC's error words from either error shape: {"errors": [{title, detail}]} or {"message"}."""
    if not isinstance(body, dict):
        return []
    out = []
    for err in body.get("errors") or []:
        if isinstance(err, dict):
            text = " — ".join(str(err[k]) for k in ("title", "detail") if err.get(k))
            out.append(text or json.dumps(err))
        elif isinstance(err, str):
            out.append(err)
    if isinstance(body.get("message"), str):
        out.append(body["message"])
    for reason in body.get("failureReasons") or []:
        out.append(reason if isinstance(reason, str) else json.dumps(reason, ensure_ascii=False))
    return out


def _decode(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else {}
    except ValueError:
        return None


def classify(method: str, path: str, status: int, headers: Mapping[str, str], text: str) -> Any:
    where: dict[str, Any] = {"method": method, "path": path, "status": status}
    body = _decode(text)
    content_type = headers.get("Content-Type", "")
    if 300 <= status < 400:
        raise AcConfigError(f"ActiveCampaign answered with a redirect; {WRONG_URL_OR_KEY}", **where)
    if 200 <= status < 300:
        if "html" in content_type or text.lstrip().startswith("<"):
            raise AcConfigError(
                "ActiveCampaign answered with a web page (a login page?) instead of JSON; "
                + WRONG_URL_OR_KEY,
                **where,
            )
        if body is None:
            raise AcFatalError(
                f"ActiveCampaign answered with something that is not JSON: {text[:80]!r}", **where
            )
        return body
    said = "; ".join(messages(body)) or text.strip()[:200]
    if status in UNKNOWN_EFFECT:
        raise AcMaybeSent(
            f"ActiveCampaign is busy or failing ({said or status})", retry_after=retry_after(headers), **where
        )
    if status in RETRIABLE:  # 429: AC refused the request before acting on it
        raise AcRetriableError(
            f"ActiveCampaign is busy or failing ({said or status})", retry_after=retry_after(headers), **where
        )
    if status == 400 and "rate limit" in said.lower():  # bulk import's own limit comes as a 400
        raise AcRetriableError(f"bulk import rate limit: {said}", retry_after=60.0, **where)
    if status == 401:
        raise AcConfigError(f"ActiveCampaign refused the API token; {WRONG_URL_OR_KEY}", **where)
    if status == 403:
        raise Forbidden(f"ActiveCampaign answered 403 Forbidden ({said})", **where)
    if status == 404:
        raise AcNotFound(said or "not found", **where)
    if status == 422:
        raise AcValidationError(f"ActiveCampaign refused it: {said}", messages=messages(body), **where)
    if status == 402:
        raise AcFatalError(
            f"ActiveCampaign answered 402 Payment Required: check the account's plan ({said})", **where
        )
    raise AcFatalError(f"unexpected answer from ActiveCampaign: {said or status}", **where)
