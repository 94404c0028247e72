"""Logging never ends the process: any field name, any value, in every format (issue 14)."""

from __future__ import annotations

import ast
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from acsync.config import validate
from acsync.daemon import Daemon
from acsync.logs import JsonFormatter, TextFormatter, fields

# Every attribute a LogRecord has, and the two names makeRecord refuses besides.
RESERVED = sorted(set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"})
SRC = Path(__file__).resolve().parent.parent / "src" / "acsync"


@pytest.fixture(params=["json", "text"])
def captured(request: pytest.FixtureRequest) -> Iterator[tuple[logging.Logger, io.StringIO, str]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    fmt = request.param
    handler.setFormatter(
        JsonFormatter(["s3cret-token"]) if fmt == "json" else TextFormatter(["s3cret-token"])
    )
    logger = logging.getLogger(f"acsync.test_logs.{fmt}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, out, fmt
    finally:
        logger.removeHandler(handler)


@pytest.mark.parametrize("name", RESERVED)
def test_a_field_named_like_any_log_record_attribute_is_logged(
    captured: tuple[logging.Logger, io.StringIO, str], name: str
) -> None:
    logger, out, fmt = captured
    logger.info("push ok", extra=fields({name: "v-7", "job": "push"}))
    line = out.getvalue().strip()
    assert line.count("\n") == 0
    if fmt == "json":
        data = json.loads(line)
        assert data["msg"] == "push ok"  # the line's own keys are never overwritten
        assert data["job"] == "push"
        if name not in data or data[name] != "v-7":
            assert name in ("msg",), data  # only a clash with the line's own keys drops a field
    else:
        assert f"{name}=v-7" in line
        assert line.split(" ", 4)[2:4] == ["INFO", f"acsync.test_logs.{fmt}:"]


def test_values_json_cannot_encode_still_give_one_line(
    captured: tuple[logging.Logger, io.StringIO, str],
) -> None:
    logger, out, fmt = captured
    cyclic: list[object] = []
    cyclic.append(cyclic)
    logger.info("odd", extra=fields({"tuple_keys": {(1, 2): 3}, "cycle": cyclic, "secret": "x s3cret-token"}))
    line = out.getvalue().strip()
    assert "\n" not in line
    assert "s3cret-token" not in line
    assert "***" in line
    if fmt == "json":
        data = json.loads(line)
        assert data["msg"] == "odd"
        assert "(1, 2)" in data["tuple_keys"]


def test_every_extra_in_the_source_goes_through_fields() -> None:
    """The class, not the instance: a plain ``extra={...}`` dict can crash on a reserved name."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            for kw in node.keywords:
                if kw.arg != "extra":
                    continue
                value = kw.value
                ok = isinstance(value, ast.Call) and getattr(value.func, "id", None) == "fields"
                if not ok and not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                    offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == []


def test_the_daemon_guard_logs_a_report_with_reserved_names_and_counts_it(tmp_path: Path) -> None:
    settings = validate({}, {})
    daemon = Daemon(settings, tmp_path / "a.db", "t" * 24, client=lambda sleep: None)  # type: ignore[arg-type,return-value]
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter([]))
    logger = logging.getLogger("acsync.daemon")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        report = dict.fromkeys(RESERVED, 1) | {"created": [1, 10, 11]}
        daemon.guarded("push", lambda: report)

        def broken() -> dict[str, object]:
            raise RuntimeError("AC went away")

        daemon.guarded("push", broken)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        daemon.server.close()
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    ok = next(x for x in lines if x["msg"] == "push ok")
    assert ok["created"] == [1, 10, 11]
    assert ok["job"] == "push"
    failed = next(x for x in lines if x["msg"].startswith("push failed"))
    assert "AC went away" in failed["msg"]
    runs = daemon.metrics.runs
    assert runs.labels("push", "ok")._value.get() == 1
    assert runs.labels("push", "error")._value.get() == 1
