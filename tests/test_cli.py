from __future__ import annotations

import csv
import io
import json
import tomllib
from datetime import timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from acsync.cli import cli
from acsync.config import validate
from acsync.core.timefmt import parse_instant
from acsync.store import Store
from acsync.store.read import staleness
from tests.conftest import ROOT, acsync_command

AT = "2026-11-21T00:00:00Z"


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    def invoke(*args: str, input: str | None = None, config: Path | None = None) -> Result:
        base = ["--config", str(config or ROOT / "config.example.toml"), "--db", str(tmp_path / "a.db")]
        return CliRunner().invoke(cli, [*base, *args], input=input, catch_exceptions=False)

    return invoke


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, cmd in group.commands.items():
        out.append((*prefix, name))
        if isinstance(cmd, click.Group):
            out.extend(all_commands(cmd, (*prefix, name)))
    return out


@pytest.mark.parametrize("command", all_commands(cli))
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    assert len(result.output.splitlines()) > 4


def test_ingest_score_report_explain(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    events = (ROOT / "examples" / "events.jsonl").read_text(encoding="utf-8")
    result = run("ingest", "-", input=events)
    assert result.exit_code == 0, result.output
    assert "read 1,000, new 825, duplicate 175, rejected 0" in result.output

    result = run("score", "--at", AT)
    assert "ledgers rebuilt 50, contacts evaluated 50" in result.output
    assert "ledgers rebuilt 0, contacts evaluated 0, changed 0" in run("score", "--at", AT).output

    rows = json.loads(run("report", "contacts", "--format", "json").stdout)
    assert len(rows) == 50
    assert set(rows[0]) == {"contact_id", "email", "scores", "tags", "segment"}
    by_id = {r["contact_id"]: r for r in rows}
    at_rows = json.loads(run("report", "contacts", "--format", "json", "--at", AT).stdout)
    assert {r["contact_id"]: r for r in at_rows} == by_id  # the stored state is the state at AT

    explained = json.loads(run("explain", "1024", "--at", AT, "--format", "json").stdout)
    assert set(explained) >= {"contact_id", "email", "at", "scores", "entries"}
    assert explained["scores"] == by_id["1024"]["scores"]
    entry = explained["entries"][0]
    assert set(entry) == {
        "score",
        "rule",
        "kind",
        "event",
        "points",
        "value",
        "awarded_at",
        "expires_at",
        "counts",
        "about",
        "status",
        "reason",
        "used_up_by",
    }  # fmt: skip  (DESIGN §7's keys, what the event was about, and why it counts or not)
    assert explained["tags"] == by_id["1024"]["tags"]  # one shape: a list of names
    orders = [e for e in explained["entries"] if e["rule"] == "Purchase"]
    assert orders
    assert orders[0]["about"].startswith("order-")
    counted = sum(e["value"] for e in explained["entries"] if e["counts"])
    assert max(0, round(counted)) == explained["scores"]["lead_score"]

    table = run("explain", "contact1024@EXAMPLE.com", "--at", AT).output
    assert "contact1024@example.com at 2026-11-21 00:00 UTC" in table

    out = tmp_path / "contacts.csv"
    assert run("report", "contacts", "--format", "csv", "-o", str(out)).exit_code == 0
    parsed = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert parsed[0].keys() == {"contact_id", "email", "lead_score", "segment", "tags"}
    assert len(parsed) == 50


def test_ingest_reports_bad_lines_and_exits_1(run) -> None:  # type: ignore[no-untyped-def]
    good = json.dumps({"type": "open", "contact_id": "1", "at": AT, "campaign": "1"})
    result = run("ingest", "-", input=f"{good}\nnope\n{json.dumps({'type': 'open'})}\n")
    assert result.exit_code == 1
    assert "line 2: not JSON" in result.output
    assert "line 3: at is required" in result.output
    assert "read 3, new 1, duplicate 0, rejected 2" in result.output


def test_explain_unknown_contact(run) -> None:  # type: ignore[no-untyped-def]
    run("score")
    result = run("explain", "nobody@example.com")
    assert result.exit_code == 1
    assert "no contact with e-mail or AC id 'nobody@example.com'" in result.output


def test_reports_on_a_missing_database_name_the_fix(run) -> None:  # type: ignore[no-untyped-def]
    result = run("report", "contacts")
    assert result.exit_code == 1
    assert "no database at" in result.output
    assert "acsync ingest" in result.output


def test_stale_scores_are_warned_about(run) -> None:  # type: ignore[no-untyped-def]
    run("ingest", str(ROOT / "examples" / "events.jsonl"))
    result = run("report", "contacts")
    assert "50 contact(s) have changes not yet scored; run `acsync score` first" in result.output


def test_the_readme_flow_warns_of_nothing_and_names_a_past_scoring(run) -> None:  # type: ignore[no-untyped-def]
    run("ingest", str(ROOT / "examples" / "events.jsonl"))
    run("score", "--at", AT)
    assert "warning" not in run("report", "top", "--at", AT).output
    assert "warning" not in run("explain", "1002", "--at", AT).output
    later = run("report", "top").output  # the stored state, read after AT
    assert "not yet scored" not in later
    assert "the stored scores are as of the last `acsync score` (2026-11-21 00:00 UTC)" in later


def test_at_takes_a_plain_date_like_since(run) -> None:  # type: ignore[no-untyped-def]
    run("ingest", str(ROOT / "examples" / "events.jsonl"))
    run("score", "--at", AT)
    assert run("report", "top", "--at", "2026-11-21").stdout == run("report", "top", "--at", AT).stdout
    assert run("report", "top", "--at", "20261121").stdout == run("report", "top", "--at", AT).stdout
    week_date = run("report", "top", "--at", "2026-W47-6")  # an ISO week date: Saturday 21 November
    assert week_date.stdout == run("report", "top", "--at", AT).stdout, week_date.output
    bad = run("report", "top", "--at", "2026-13-01")
    assert bad.exit_code == 2
    assert "'2026-13-01' is not a date of the calendar; expected an ISO 8601 time" in bad.output


def test_decaying_scores_are_not_stale_right_after_scoring(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    decaying = tmp_path / "decay.toml"
    decaying.write_text(text.replace('expires_after = "90d"\n', 'half_life = "7d"\n'), encoding="utf-8")
    assert 'half_life = "7d"' in decaying.read_text(encoding="utf-8")
    run("ingest", str(ROOT / "examples" / "events.jsonl"), config=decaying)
    run("score", "--at", AT, config=decaying)
    with Store.open(tmp_path / "a.db") as store:  # due neither at that instant nor a second later
        assert staleness(store.conn, parse_instant(AT)) == (0, 0)
        assert staleness(store.conn, parse_instant(AT) + timedelta(seconds=1)) == (0, 0)


def test_simulate_lists_who_would_change_and_writes_nothing(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("ingest", str(ROOT / "examples" / "events.jsonl"))
    run("score", "--at", AT)
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    other = tmp_path / "other.toml"
    other.write_text(text.replace("points = 50\n", "points = 200\n"), encoding="utf-8")
    before = run("report", "contacts", "--format", "json").stdout
    data = json.loads(run("simulate", "--rules", str(other), "--at", AT, "--format", "json").stdout)
    buyers = data["score_changes"]
    assert buyers > 0
    assert data["contacts"] == 50
    for change in data["changes"]:
        assert change["scores"]["lead_score"]["simulated"] > change["scores"]["lead_score"]["current"]
    assert run("report", "contacts", "--format", "json").stdout == before
    same = json.loads(
        run("simulate", "--rules", str(ROOT / "config.example.toml"), "--at", AT, "--format", "json").stdout
    )
    assert same["changes"] == []
    table = run("simulate", "--rules", str(other), "--at", AT).output
    assert f"50 contacts: {len(data['changes'])} would change (score {buyers}" in table
    ignored = run("simulate", "--rules", str(other), "--within", "30d")  # once accepted, then ignored
    assert ignored.exit_code == 2
    assert "--within is an option of --quality" in ignored.output


def test_check_config_prints_a_config_that_validates_to_the_same(run) -> None:  # type: ignore[no-untyped-def]
    result = run("check-config")
    assert result.exit_code == 0
    first = result.stdout.splitlines()[0]
    assert first.startswith("# ok: the config is valid ("), first
    assert "1 score, 7 rules" in first, first
    printed = validate(tomllib.loads(result.stdout), {})
    original = validate(tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8")), {})
    assert printed.fingerprints() == original.fingerprints()


def test_check_config_lists_problems_and_exits_2(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rules]]\nname = "R"\non = "opn"\npoints = 1\n[store]\npaht = "x"\n', encoding="utf-8")
    result = run("check-config", config=bad)
    assert result.exit_code == 2
    assert "has 2 problem(s)" in result.output
    assert "rules[0] ('R').on = 'opn'" in result.output
    assert "store.paht: unknown key" in result.output


@pytest.mark.parametrize(
    ("at", "says"),
    [
        ("2026-11-21T10:00:00", "UTC offset"),
        ("9999-12-31T23:59:59-05:00", "supported range, from 1970-01-01 to 2199-12-31"),
        ("0001-01-01T00:00:00+01:00", "supported range"),
        ("2200-01-01", "supported range"),
        ("yesterday", "'yesterday' is not a time; expected an ISO 8601 time with an offset"),
        ("20260305T10:00", "has no UTC offset: add Z or +01:00, or give a date"),
    ],
)
def test_bad_at_is_a_one_line_usage_error(run, at: str, says: str) -> None:  # type: ignore[no-untyped-def]
    for command in (["score"], ["report", "top"]):
        result = run(*command, "--at", at)
        assert result.exit_code == 2, result.output
        assert says in result.output
        assert result.output.count("a date") <= 1, result.output  # said once, not twice
        assert "+00:00" not in result.output
        assert "Traceback" not in result.output
        assert [line for line in result.output.splitlines() if line.startswith("error:")] != []


def test_at_accepts_a_plain_date(run) -> None:  # type: ignore[no-untyped-def]
    result = run("score", "--at", "2026-11-21")
    assert result.exit_code == 0, result.output
    assert "scored at 2026-11-21 00:00 UTC" in result.output


def test_worker_processes_under_python_dash_m(tmp_path: Path) -> None:
    """Spawned scoring workers import the main module again; `python -m acsync` must survive it."""
    import subprocess

    base = acsync_command(tmp_path / "m.db")
    subprocess.run(
        [*base, "ingest", str(ROOT / "examples" / "events.jsonl")], check=True, capture_output=True
    )
    out = subprocess.run(
        [*base, "score", "--at", AT, "--workers", "2"], check=True, capture_output=True, text=True
    )
    assert "contacts evaluated 50, changed 50 (2 worker processes)" in out.stdout


def test_the_demo_runs_the_whole_pipeline_against_the_sandbox(tmp_path: Path) -> None:
    from acsync.config import load_config

    directory = tmp_path / "demo"
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(ROOT / "config.example.toml"),
            "demo",
            "--contacts",
            "100",
            "--dir",
            str(directory),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        "checked: the sandbox now holds exactly the local scores, segments and tags of 100 contacts"
        in result.output
    )
    for title in ("segments of lead_score", "top 10 by lead_score", "content performance"):
        assert title in result.output
    assert (directory / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    written = directory / "acsync.toml"
    assert tomllib.loads(written.read_text(encoding="utf-8"))["activecampaign"]["url"].startswith(
        "http://127.0.0.1:"
    )
    assert load_config(written, {}).scores[0].segment_field == "Lead Segment"  # the config it wrote is valid
    again = CliRunner().invoke(
        cli, ["--config", str(written), "report", "top", "--limit", "3", "--format", "json"]
    )
    assert again.exit_code == 0, again.output


def test_the_demo_names_a_command_that_runs_from_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from acsync.cli import this_command

    script = tmp_path / ".venv" / "bin" / "acsync"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    monkeypatch.chdir(tmp_path)
    assert this_command(str(script), which="") == ".venv/bin/acsync"  # not on PATH: its path
    assert this_command(str(script), which=str(script)) == "acsync"  # PATH finds this very one
    assert this_command(str(script), which="/usr/local/bin/acsync") == ".venv/bin/acsync"  # another one
    assert this_command(str(tmp_path / "__main__.py")).endswith(" -m acsync")


def test_a_reader_that_goes_away_gets_no_error_line(tmp_path: Path) -> None:
    """`acsync check-config | head -1`: the pipe closes before acsync writes; nothing is said."""
    import subprocess
    import sys

    args = [sys.executable, "-m", "acsync", "--config", str(ROOT / "config.example.toml"), "check-config"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before the first line
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err.decode() == ""


def test_reports_at_a_past_instant_count_the_same_contacts(run) -> None:  # type: ignore[no-untyped-def]
    """`report contacts --at T` lists the contacts there at T, as `segments --at T` counts them:
    not contacts whose first activity (or creation in AC) comes later, at score 0."""
    run("ingest", str(ROOT / "examples" / "events.jsonl"))
    run("score", "--at", AT)
    firsts = sorted(
        min(json.loads(line)["at"] for line in lines)
        for lines in _by_contact(ROOT / "examples" / "events.jsonl").values()
    )
    middle = firsts[len(firsts) // 2]  # half the contacts are there by then
    listed = json.loads(run("report", "contacts", "--at", middle, "--format", "json").stdout)
    segments = json.loads(run("report", "segments", "--at", middle, "--format", "json").stdout)
    assert 0 < len(listed) < len(firsts)
    assert len(listed) == sum(s["contacts"] for s in segments)
    top = json.loads(run("report", "top", "--at", middle, "--limit", "1000", "--format", "json").stdout)
    assert len(top) == len(listed)


def _by_contact(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            event = json.loads(line)
            out.setdefault(str(event.get("contact_id") or event.get("email")), []).append(line)
    return out
