"""Logging for the long-running commands: JSON lines (one object a line) or plain text.

A JSON line holds ``ts`` (UTC), ``level``, ``logger``, ``msg`` and the caller's fields
(``job``, ``seconds``, counts…). Fields travel namespaced, ``extra=fields({...})``: a
LogRecord refuses an ``extra`` key that names one of its own attributes (``created``, ``name``,
``msg``, ``args``…, and ``KeyError`` ends the process), so a job report's keys must never become
record attributes. Under one key, ``fields``, any name is safe; the formatters spread them back
out. Known secrets are masked in every line, whatever its format: a token can reach a message by
accident (an exception naming a URL, a path). Formatting never raises: a value JSON cannot
encode is written as its ``repr``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from acsync import masking

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
FIELDS = "acsync_fields"  # the one record attribute the fields travel under
MASK = masking.MASK


def fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The ``extra`` of a log call carrying ``data`` as fields, whatever their names."""
    return {FIELDS: dict(data)}


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """A record's fields: the namespaced ones, and any plain ``extra`` keys a library passed."""
    out = {k: v for k, v in vars(record).items() if k not in _STANDARD and k != FIELDS}
    namespaced = getattr(record, FIELDS, None)
    if isinstance(namespaced, Mapping):
        out.update({str(k): v for k, v in namespaced.items()})
    return out


class _Masking(logging.Formatter):
    def __init__(self, secrets: Iterable[str], fmt: str | None = None) -> None:
        super().__init__(fmt)
        masking.register(*secrets)

    def mask(self, text: str) -> str:
        return masking.mask(text)  # every secret acsync knows, in all its forms (acsync.masking)


class JsonFormatter(_Masking):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        # the line's own keys win: a field named "msg" or "ts" cannot hide them
        data.update({k: v for k, v in record_fields(record).items() if k not in data})
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        try:
            text = json.dumps(data, default=str, ensure_ascii=False)
        except (TypeError, ValueError, RecursionError):  # non-string keys, cycles, too deep
            text = json.dumps({k: v if isinstance(v, str) else repr(v) for k, v in data.items()})
        return self.mask(text)


class TextFormatter(_Masking):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__(secrets, "%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        extra = record_fields(record)
        text = super().format(record)
        if extra:
            text += " " + " ".join(f"{k}={v}" for k, v in extra.items())
        return self.mask(text)


def configure(fmt: str, *, verbose: bool = False, secrets: Iterable[str] = ()) -> None:
    """Send every log record to standard error in ``fmt`` (json or text), at info level."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(secrets) if fmt == "json" else TextFormatter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
