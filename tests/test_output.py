"""The output conventions, asserted on every report command in every format of a seeded
database: shares ``16.0 %``, whole numbers as integers, ``1 day`` not ``1 days``, times
``2026-03-01 09:30 UTC`` for people and ISO 8601 with ``Z`` for machines, plain numbers in CSV
and JSON, and a table that shows its first rows with a note."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from acsync.cli import cli
from acsync.config import load_config
from acsync.core.timefmt import human
from acsync.jobs.ingest import ingest_lines
from acsync.jobs.score import score
from acsync.output import count, duration, fixed, number, percent, render_csv, render_table, share
from acsync.reports.table import Report
from acsync.store import Store
from tests.conftest import ROOT

AT = "2026-11-21T00:00:00Z"
SETTINGS = load_config(ROOT / "config.example.toml", {})


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example events, scored at AT (the outbox holds the writes for AC), and a second
    ruleset for simulate."""
    path = tmp_path_factory.mktemp("output") / "o.db"
    with Store.open(path) as store:
        lines = (ROOT / "examples" / "events.jsonl").read_text(encoding="utf-8").splitlines()
        ingest_lines(store, lines, "file", datetime(2026, 11, 21, tzinfo=UTC))
        score(store, SETTINGS.ruleset(), SETTINGS.fingerprints(), datetime(2026, 11, 21, tzinfo=UTC))
    other = path.parent / "other.toml"
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    other.write_text(text.replace("points = 50\n", "points = 200\n"), encoding="utf-8")
    return path


AT_ = ["--at", AT]
QUALITY = ["--at", AT, "--within", "30d"]
COMMANDS: list[tuple[list[str], tuple[str, ...]]] = [
    (["report", "contacts"], ("table", "csv", "json")),
    (["report", "contacts", *AT_], ("table", "csv", "json")),
    (["report", "top", *AT_], ("table", "csv", "json")),
    (["report", "top"], ("table", "csv", "json")),
    (["report", "segments", "--days", "1"], ("table", "csv", "json")),
    (["report", "segments", *AT_], ("table", "csv", "json")),
    (["report", "content", "--days", "1", *AT_], ("table", "csv", "json")),
    (["report", "inactive", *AT_], ("table", "csv", "json")),
    (["report", "history", *AT_], ("table", "csv", "json")),
    (["report", "history", "contact1024@example.com", *AT_], ("table", "csv", "json")),
    (["report", "quality", *QUALITY], ("table", "csv", "json")),
    (["explain", "1024", *AT_], ("table", "json")),
    (["outbox"], ("table", "csv", "json")),
    (["push", "--dry-run"], ("table", "csv", "json")),
    (["simulate", "--rules", "{other}", *AT_], ("table", "csv", "json")),
    (["simulate", "--rules", "{other}", "--quality", *QUALITY], ("table", "csv", "json")),
]
CASES = [(args, fmt) for args, fmts in COMMANDS for fmt in fmts]
ISO_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def run(db: Path, args: list[str], fmt: str) -> tuple[str, str]:
    base = ["--config", str(ROOT / "config.example.toml"), "--db", str(db)]
    args = [a.replace("{other}", str(db.parent / "other.toml")) for a in args]
    result = CliRunner().invoke(cli, [*base, *args, "--format", fmt])
    assert result.exit_code == 0, result.output
    return result.stdout, result.output  # what the command printed; with its warnings


def strings(data: Any) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for k, v in data.items() for s in [k, *strings(v)]]
    if isinstance(data, list):
        return [s for v in data for s in strings(v)]
    return []


@pytest.mark.parametrize(("args", "fmt"), CASES, ids=[f"{' '.join(a)} {f}" for a, f in CASES])
def test_every_output_follows_the_conventions(seeded: Path, args: list[str], fmt: str) -> None:
    out, everything = run(seeded, args, fmt)
    assert out.strip()
    assert "+00:00" not in everything  # an instant is ...Z for machines, ... UTC for people
    assert "now (stored)" not in everything  # the stored state says when: "as last scored, …"
    singular = r"(?<![\d.,])1 (day|hour|minute|second|row|contact|sample|snapshot|episode)s\b"
    assert not re.search(singular, everything), re.search(singular, everything)
    if fmt == "table":
        rest = re.sub(r"\d+\.\d %", "", out).replace("95 % interval", "")
        assert "%" not in rest, rest  # every share is 16.0 %
        assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", out)  # times for people
        assert not re.search(r"(?<![\d.])\d+\.0(?![\d %])", out), re.search(r"\d+\.0\b.{0,20}", out)
    elif fmt == "csv":
        for row in csv.reader(io.StringIO(out)):
            for c in row:
                assert not re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", c), c  # no thousands separators
                assert not re.search(r"\d ?%", c), c  # a share is a plain number
                if re.match(r"\d{4}-\d{2}-\d{2}T", c):
                    assert ISO_Z.fullmatch(c), c
    else:
        data = json.loads(out)
        for s in strings(data):
            if re.match(r"\d{4}-\d{2}-\d{2}T", s):
                assert ISO_Z.fullmatch(s), s
            assert not re.search(r"\d ?%", s) or "interval" in s, s  # shares are numbers
            assert not re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", s), s


def test_the_numbers_that_are_numbers_stay_numbers_in_json(seeded: Path) -> None:
    segments = json.loads(run(seeded, ["report", "segments", *AT_], "json")[0])
    assert all(isinstance(r["share"], float) for r in segments)
    table = run(seeded, ["report", "segments", *AT_], "table")[0]
    for r in segments:  # the same share, for people
        assert f" {r['share']:.1f} %" in table
    contacts = json.loads(run(seeded, ["report", "contacts"], "json")[0])
    assert all(isinstance(v, int) for r in contacts for v in r["scores"].values())
    quality = json.loads(run(seeded, ["report", "quality", *QUALITY], "json")[0])
    assert [g["top"] for g in quality["gains"]] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


def test_one_day_is_one_day(seeded: Path) -> None:
    assert "against 1 day earlier" in run(seeded, ["report", "segments", "--days", "1"], "table")[0]
    assert "against 30 days earlier" in run(seeded, ["report", "segments"], "table")[0]


def test_a_long_table_shows_its_first_rows_and_says_how_to_get_all(seeded: Path) -> None:
    rows = json.loads(run(seeded, ["report", "inactive", *AT_], "json")[0])
    assert len(rows) > 50
    table = run(seeded, ["report", "inactive", *AT_], "table")[0]
    assert table.count(" UTC │") == 50  # one time a row
    assert table.endswith(f"… {len(rows) - 50} more rows (--format csv or --format json lists them all)\n")
    assert len(run(seeded, ["report", "inactive", *AT_], "csv")[0].splitlines()) == len(rows) + 1
    changes = run(seeded, ["push", "--dry-run"], "table")[0]
    assert "more rows (--format csv or --format json lists them all)" in changes


def test_the_table_limit_is_the_commands_own_limit_where_it_has_one() -> None:
    rows = [{"n": i} for i in range(70)]
    assert (
        Report("t", ["n"], rows, limit=60)
        .render("table")
        .endswith("… 10 more rows (--format csv or --format json lists them all)\n")
    )
    assert "more row" not in Report("t", ["n"], rows[:50]).render("table")
    assert Report("t", ["n"], rows).render("csv").count("\n") == 71
    assert "… 1 more row (" in render_table(None, ["n"], [[i] for i in range(51)])


def test_the_formatters() -> None:
    assert [number(45.0), number(45), number(1000), number(17.5), number(-3.256), number(-0.001)] == [
        "45",
        "45",
        "1,000",
        "17.5",
        "-3.26",
        "0",
    ]
    assert [percent(16), percent(17.5), percent(33.333), share(0.16), share(None)] == [
        "16.0 %",
        "17.5 %",
        "33.3 %",
        "16.0 %",
        "-",
    ]
    assert [fixed(0.7), fixed(None)] == ["0.70", "-"]
    assert [count(1, "day"), count(2, "day"), count(1000, "contact")] == ["1 day", "2 days", "1,000 contacts"]
    assert [duration(86400), duration(2 * 86400), duration(3.5 * 86400), duration(3600), duration(7200)] == [
        "1 day",
        "2 days",
        "3.5 days",
        "1 hour",
        "2 hours",
    ]
    assert [duration(300), duration(1)] == ["5 minutes", "1 second"]
    assert human(datetime(2026, 3, 1, 9, 30, 59, tzinfo=UTC)) == "2026-03-01 09:30 UTC"
    assert human("2026-03-01T09:30:00Z") == human("2026-03-01T10:30:00+01:00") == "2026-03-01 09:30 UTC"


def test_csv_and_json_hold_plain_values() -> None:
    when = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert render_csv(["n", "share", "at", "tags"], [[1000, 16.0, when, ["Hot Lead", "b"]]]) == (
        'n,share,at,tags\n1000,16.0,2026-03-01T09:30:00Z,"Hot Lead, b"\n'  # a tag may hold a space
    )
    assert "Hot Lead, Inaktiv" in render_table(None, ["tags"], [[["Hot Lead", "Inaktiv"]]])
    table = render_table(None, ["n", "at"], [[1000, "2026-03-01T09:30:00Z"]])
    assert "1,000" in table
    assert "2026-03-01 09:30 UTC" in table
