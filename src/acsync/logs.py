"""Logging for the long-running commands: JSON lines (one object a line) or plain text.

A JSON line holds ``ts`` (UTC), ``level``, ``logger``, ``msg`` and whatever the caller passed
in ``extra`` (``job``, ``seconds``, counts…). Known secrets are masked in every line, whatever
its format: a token can reach a message by accident (an exception naming a URL, a path).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from acsync import masking

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
MASK = masking.MASK


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
        data.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return self.mask(json.dumps(data, default=str, ensure_ascii=False))


class TextFormatter(_Masking):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__(secrets, "%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD}
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
