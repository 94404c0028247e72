"""The one place that keeps secrets out of words: every error line and every log line goes through
``mask``.

A secret becomes known when it is loaded (the config: the API token and the webhook token, from
the environment or a secrets file) or used (the AC client registers its token). Each is known in
every form it may take in a message: as given (with surrounding spaces, if it had them), trimmed,
and URL-encoded (a token in a URL path or query string), so an AC error body that echoes the
request, an exception naming a URL, or a path cannot print it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_LENGTH = 8  # shorter values would mask ordinary words (the sandbox's token is "sandbox")

_lock = threading.Lock()
_known: set[str] = set()
_ordered: tuple[str, ...] = ()  # longest first, so a secret containing another is masked whole


def forms(secret: str) -> set[str]:
    """Every way ``secret`` may be spelled in a message."""
    out = set()
    for value in (secret, secret.strip()):
        out.update({value, quote(value, safe=""), quote_plus(value), quote(value)})
        out.add(json.dumps(value, ensure_ascii=False)[1:-1])  # inside a JSON log line
    return {f for f in out if len(f.strip()) >= MIN_LENGTH}


def register(*secrets: str | None) -> None:
    """Make these secrets known (in all their forms) to every later ``mask``."""
    global _ordered
    new = set().union(*(forms(s) for s in secrets if s))
    with _lock:
        if new <= _known:
            return
        _known.update(new)
        _ordered = tuple(sorted(_known, key=len, reverse=True))


def mask(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every known secret (and those in ``extra``) replaced by ``***``."""
    secrets = _ordered
    more = set().union(*(forms(s) for s in extra if s)) if extra else set()
    if more:
        secrets = tuple(sorted({*secrets, *more}, key=len, reverse=True))
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def forget() -> None:
    """Forget every secret (tests)."""
    global _ordered
    with _lock:
        _known.clear()
        _ordered = ()
