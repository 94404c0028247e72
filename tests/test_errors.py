"""Every error is one line that names the fix: never a traceback, never a secret, never half a write.

The table drives the commands through bad inputs in-process (click's CliRunner); a few run as
real processes, where a traceback would really reach the terminal.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from acsync import masking
from acsync.cli import cli
from acsync.errors import StoreError
from acsync.store import Store
from tests.conftest import ROOT, acsync_command

EXAMPLE = ROOT / "config.example.toml"
EVENTS = ROOT / "examples" / "events.jsonl"
AT = "2026-11-21T00:00:00Z"


def invoke(db: Path, *args: str, env: dict[str, str] | None = None, config: Path = EXAMPLE) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), "--db", str(db), *args], env=env)


def assert_one_line(result: Result, exit_codes: tuple[int, ...] = (1, 2)) -> str:
    """Exit 1 or 2, exactly one line on standard error, no traceback; returns that line."""
    lines = result.stderr.splitlines()
    assert result.exit_code in exit_codes, (result.exit_code, result.output, result.exception)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), (
        result.exception
    )
    assert "Traceback" not in result.output
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    return lines[0]


def state(db: Path) -> dict[str, Any]:
    """What a command may have committed: row counts of every table, and the stored scores."""
    if not db.exists():
        return {}
    with sqlite3.connect(db) as conn:
        tables = [r for (r,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        scores = conn.execute("SELECT contact, score, rounded FROM scores ORDER BY 1, 2").fetchall()
    conn.close()
    return {**counts, "scores": scores}


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the example events, scored."""
    db = tmp_path_factory.mktemp("scored") / "a.db"
    assert invoke(db, "ingest", str(EVENTS)).exit_code == 0
    assert invoke(db, "score").exit_code == 0
    return db


def _copy(db: Path, to: Path) -> Path:
    with sqlite3.connect(db) as src, sqlite3.connect(to) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    return to


def _newer(db: Path) -> Path:
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES ('acsync', '9999_from_the_future', '2099-01-01')"
        )
    conn.close()
    return db


def _config(tmp: Path, text: str) -> Path:
    path = tmp / "bad.toml"
    path.write_bytes(text.encode("latin-1"))
    return path


# (name, prepare(tmp, db) -> (args, env, config), expected words in the line, exit code)
Case = tuple[str, Callable[[Path, Path], tuple[list[str], dict[str, str], Path]], str, int]
CASES: list[Case] = [
    (
        "html into a missing directory",
        lambda t, d: (["report", "html", "-o", str(t / "no/such/r.html")], {}, EXAMPLE),
        "create it first",
        2,
    ),
    (
        "csv onto a directory",
        lambda t, d: (["report", "contacts", "-o", str(t)], {}, EXAMPLE),
        "is a directory",
        2,
    ),
    (
        "json onto a directory",
        lambda t, d: (["report", "top", "--format", "json", "-o", str(t)], {}, EXAMPLE),
        "is a directory",
        2,
    ),
    (
        "a duration from the environment",
        lambda t, d: (["check-config"], {"ACSYNC_PUSH__RETRY_AFTER": "soon"}, EXAMPLE),
        "ACSYNC_PUSH__RETRY_AFTER (push.retry_after) = 'soon'",
        2,
    ),
    (
        "a typo in an environment variable",
        lambda t, d: (["score"], {"ACSYNC_STROE__PATH": "x"}, EXAMPLE),
        "ACSYNC_STROE__PATH",
        2,
    ),
    (
        "a list from the environment",
        lambda t, d: (["check-config"], {"ACSYNC_WEBHOOK__EVENTS": "open"}, EXAMPLE),
        "webhook.events",
        2,
    ),
    ("no config file", lambda t, d: (["score"], {}, t / "missing.toml"), "copy config.example.toml", 2),
    (
        "a config that is not UTF-8",
        lambda t, d: (["report", "top"], {}, _config(t, 'store.path = "\u00e9"\n')),
        "UTF-8",
        2,
    ),
    (
        "a config that is not TOML",
        lambda t, d: (["ingest", "--inbox"], {}, _config(t, "[store\n")),
        "not valid TOML",
        2,
    ),
    (
        "a database from a newer acsync: score",
        lambda t, d: (["--db", str(_newer(_copy(d, t / "n.db"))), "score"], {}, EXAMPLE),
        "newer acsync (migration 9999_from_the_future): upgrade acsync",
        1,
    ),
    (
        "a database from a newer acsync: report",
        lambda t, d: (["--db", str(_newer(_copy(d, t / "n.db"))), "report", "top"], {}, EXAMPLE),
        "upgrade acsync",
        1,
    ),
    (
        "not a database",
        lambda t, d: (["--db", str(_junk(t)), "ingest", str(EVENTS)], {}, EXAMPLE),
        "cannot use",
        1,
    ),
    (
        "a database path that is a directory",
        lambda t, d: (["--db", str(t), "score"], {}, EXAMPLE),
        "cannot",
        1,
    ),
    (
        "an event file that does not exist",
        lambda t, d: (["ingest", str(t / "nope.jsonl")], {}, EXAMPLE),
        "nope.jsonl",
        2,
    ),
    ("an unknown option", lambda t, d: (["report", "top", "--bogus"], {}, EXAMPLE), "--bogus", 2),
    (
        "an unknown contact",
        lambda t, d: (["explain", "nobody@example.com", "--at", AT], {}, EXAMPLE),
        "no contact",
        1,
    ),
    ("a receiver without a token", lambda t, d: (["serve"], {}, EXAMPLE), "ACSYNC_WEBHOOK__TOKEN", 2),
    (
        "a pull without an API token",
        lambda t, d: (["sync", "--quiet"], {}, EXAMPLE),
        "ACSYNC_ACTIVECAMPAIGN__API_TOKEN",
        2,
    ),
    (
        "a sandbox port out of range",
        lambda t, d: (["sandbox", "--port", "70000"], {}, EXAMPLE),
        "70000",
        2,
    ),
    (
        "a receiver on an address of another machine",
        lambda t, d: (
            ["serve"],
            {"ACSYNC_WEBHOOK__TOKEN": "t" * 20, "ACSYNC_WEBHOOK__HOST": "192.0.2.1"},
            EXAMPLE,
        ),
        "not an address of this machine",
        1,
    ),
    (
        "a ruleset file that does not exist",
        lambda t, d: (["simulate", "--rules", str(t / "r.toml")], {}, EXAMPLE),
        "r.toml",
        2,
    ),
]


def _junk(tmp: Path) -> Path:
    junk = tmp / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 200)
    return junk


@pytest.mark.parametrize(("name", "prepare", "words", "code"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_input_is_one_line_that_names_the_fix(
    name: str,
    prepare: Callable[[Path, Path], tuple[list[str], dict[str, str], Path]],
    words: str,
    code: int,
    scored: Path,
    tmp_path: Path,
) -> None:
    db = _copy(scored, tmp_path / "db.sqlite")
    before = state(db)
    args, env, config = prepare(tmp_path, db)
    result = invoke(db, *args, env=env, config=config)
    line = assert_one_line(result)
    assert words in line
    assert result.exit_code == code, line
    assert state(db) == before  # nothing committed, half or whole


@pytest.fixture
def disk_full(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Writers get a database that cannot grow more than ``pages`` pages (SQLite: "database or
    disk is full"), as on a full disk."""
    original = Store.open.__func__  # type: ignore[attr-defined]

    def arm(pages: int) -> None:
        def open_(
            cls: type[Store], path: Path | str, busy_timeout: float = 30.0, readonly: bool = False
        ) -> Store:
            store: Store = original(cls, path, busy_timeout, readonly)
            if not readonly:
                used = store.conn.execute("PRAGMA page_count").fetchone()[0]
                store.conn.execute(f"PRAGMA max_page_count = {used + pages}")
            return store

        monkeypatch.setattr(Store, "open", classmethod(open_))

    return arm


def test_a_full_disk_during_ingest_keeps_whole_batches_and_a_rerun_completes(
    tmp_path: Path, disk_full: Callable[[int], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    import acsync.jobs.ingest as ingest

    monkeypatch.setattr(ingest, "BATCH", 200)  # several batches: the disk fills after some of them
    db = tmp_path / "a.db"
    invoke(db, "check-config")
    assert invoke(db, "score", "--at", AT).exit_code == 0  # creates the database
    disk_full(40)
    line = assert_one_line(invoke(db, "ingest", str(EVENTS)), (1,))
    assert "is full: free space there" in line
    assert "nothing twice" in line
    kept = state(db)["events"]
    lines_ok = [json.loads(x) for x in EVENTS.read_text(encoding="utf-8").splitlines()]
    assert 0 < kept < 825  # some batches made it, each one whole
    monkeypatch.undo()
    monkeypatch.setattr(ingest, "BATCH", 200)
    result = invoke(db, "ingest", str(EVENTS))
    assert result.exit_code == 0, result.output
    assert state(db)["events"] == 825
    assert len(lines_ok) == 1000


def test_a_full_disk_during_full_scoring_is_one_line_and_a_rerun_gives_the_same_scores(
    scored: Path, tmp_path: Path, disk_full: Callable[[int], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _copy(scored, tmp_path / "a.db")
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM ledger")
        conn.execute("DELETE FROM scores")
        conn.execute("UPDATE contacts SET dirty = 1")
    conn.execute("VACUUM")  # no free pages left: scoring must grow the file
    conn.close()
    disk_full(3)
    line = assert_one_line(invoke(db, "score", "--full", "--at", AT), (1,))
    assert "is full" in line
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone() == ("ok",)
    monkeypatch.undo()
    assert invoke(db, "score", "--full", "--at", AT).exit_code == 0
    clean = _copy(scored, tmp_path / "clean.db")
    assert invoke(clean, "score", "--full", "--at", AT).exit_code == 0
    assert state(db)["scores"] == state(clean)["scores"]


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = assert_one_line(CliRunner().invoke(cli, ["sandbox", "--port", str(port)]), (1,))
        assert f"port {port} on 127.0.0.1 is in use" in line
        assert "--port" in line
        env = {"ACSYNC_WEBHOOK__TOKEN": "t" * 20, "ACSYNC_WEBHOOK__PORT": str(port)}
        for command in ("serve", "run"):
            env["ACSYNC_ACTIVECAMPAIGN__API_TOKEN"] = "k" * 20
            env["ACSYNC_ACTIVECAMPAIGN__URL"] = "http://127.0.0.1:9"
            line = assert_one_line(invoke(tmp_path / "a.db", command, env=env), (1,))
            assert f"port {port} on 127.0.0.1 is in use" in line
            assert "webhook.port" in line


def _read_only(directory: Path, command: list[str]) -> list[str] | None:
    """``command`` run where ``directory`` cannot be written: as is for a user other than root
    (after a chmod), or for root inside a private mount namespace where it is a read-only bind
    mount (root writes anywhere else); None when neither is possible here."""
    if os.geteuid() != 0:
        return command
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        return None
    d = str(directory)
    script = f'mount --bind "{d}" "{d}" && mount -o remount,ro,bind "{d}" && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, "sh", *command]


def test_reports_work_on_a_read_only_database_in_a_read_only_directory(scored: Path, tmp_path: Path) -> None:
    directory = tmp_path / "ro"
    directory.mkdir()
    db = _copy(scored, directory / "a.db")
    Store.open(db).close()  # closed cleanly: no -wal, no -shm left
    assert {p.name for p in directory.iterdir()} <= {"a.db", "a.db-lock"}
    db.chmod(0o444)
    directory.chmod(0o555)
    try:
        for report in (["report", "top", "--format", "json"], ["report", "html", "-o", "/dev/stdout"]):
            command = _read_only(directory, acsync_command(db, *report))
            if command is None:
                pytest.skip("running as root without mount namespaces: no directory is read-only to root")
            out = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
            assert out.returncode == 0, out.stderr
            assert "Traceback" not in out.stderr
            assert out.stdout.strip()
        assert {p.name for p in directory.iterdir()} <= {"a.db", "a.db-lock"}  # nothing written there
    finally:
        directory.chmod(0o755)


def test_real_processes_print_one_line_not_a_traceback(scored: Path, tmp_path: Path) -> None:
    for args in (
        ["report", "html", "-o", str(tmp_path / "no" / "such" / "r.html")],
        ["--db", str(_newer(_copy(scored, tmp_path / "n.db"))), "ingest", str(EVENTS)],
    ):
        out = subprocess.run(acsync_command(scored, *args), capture_output=True, text=True, timeout=120)
        assert out.returncode in (1, 2)
        assert "Traceback" not in out.stderr
        assert len(out.stderr.splitlines()) == 1, out.stderr
        assert out.stderr.startswith("error: ")


def test_an_unexpected_error_is_one_line_and_v_logs_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import acsync.jobs.score as score

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(score, "score", broken)
    line = assert_one_line(invoke(tmp_path / "a.db", "score"), (1,))
    assert line.startswith("error: unexpected ZeroDivisionError: division by zero; this is a bug")
    verbose = invoke(tmp_path / "a.db", "-v", "score")
    assert verbose.exit_code == 1
    assert "Traceback" in verbose.stderr  # asked for with -v, through the log


# --- secrets -----------------------------------------------------------------------------------

TOKEN = "s3cret/API+token=abc123def456"
AC = "https://youraccount.api-us1.com"


@pytest.fixture
def echoing_ac() -> Iterator[responses.RequestsMock]:
    """An AC that answers 400 and echoes the request's token back, in every form."""
    import re
    from urllib.parse import quote, quote_plus

    def echo(request: Any) -> tuple[int, dict[str, str], str]:
        token = request.headers.get("Api-Token", "")
        said = f"header Api-Token={token} (url-encoded {quote(token, safe='')}, form {quote_plus(token)})"
        return 400, {"Content-Type": "application/json"}, json.dumps({"message": said})

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST", "PUT", "DELETE"):
            mock.add_callback(method, re.compile(f"{re.escape(AC)}/.*"), callback=echo)
        yield mock


@pytest.mark.parametrize(
    "args",
    [
        ["check-config", "--online"],
        ["setup", "--dry-run"],
        ["setup"],
        ["backfill", "--quiet"],
        ["sync", "--quiet"],
    ],
)
def test_an_ac_error_echoing_the_token_never_prints_it(
    args: list[str], echoing_ac: responses.RequestsMock, tmp_path: Path
) -> None:
    env = {"ACSYNC_ACTIVECAMPAIGN__API_TOKEN": f"  {TOKEN}\n", "ACSYNC_WEBHOOK__TOKEN": " w" * 12}
    result = invoke(tmp_path / "a.db", *args, env=env)
    line = assert_one_line(result) if args[0] != "check-config" else result.stderr.strip()
    assert "400" in line or "unexpected answer" in line, line
    assert "header Api-Token=***" in line
    for form in masking.forms(TOKEN):
        assert form not in result.output
    assert "abc123def456" not in result.output


def test_the_webhook_token_with_spaces_is_masked_in_logs_as_the_receiver_uses_it(tmp_path: Path) -> None:
    import logging

    from acsync.config import validate
    from acsync.logs import JsonFormatter

    raw = "   w3bhook-token-with-spaces   "
    settings = validate({}, {"ACSYNC_WEBHOOK__TOKEN": raw})
    used = settings.webhook.token.get_secret_value() if settings.webhook.token else ""
    assert used == raw.strip()  # the receiver, the URL and the mask all use the trimmed value
    formatter = JsonFormatter([used])
    record = logging.makeLogRecord({"msg": f"POST /webhooks/activecampaign/{used}?x={used}", "levelno": 20})
    assert raw.strip() not in formatter.format(record)
    assert "/webhooks/activecampaign/***" in formatter.format(record)


def test_masking_knows_every_form_of_a_secret() -> None:
    masking.register("  a b/c+d=e&f-secret  ")
    text = "raw a b/c+d=e&f-secret, path a%20b%2Fc%2Bd%3De%26f-secret, form a+b%2Fc%2Bd%3De%26f-secret"
    assert masking.mask(text) == "raw ***, path ***, form ***"
    masking.register("short")  # too short to be told from a word: not masked
    assert masking.mask("a short word") == "a short word"


# --- concurrency -------------------------------------------------------------------------------


def test_two_processes_creating_a_new_database_at_once_both_succeed(tmp_path: Path) -> None:
    for attempt in range(8):
        path = tmp_path / f"new{attempt}.db"
        barrier = threading.Barrier(3)
        errors: list[BaseException] = []

        def open_it(
            path: Path = path, barrier: threading.Barrier = barrier, errors: list[BaseException] = errors
        ) -> None:
            barrier.wait()
            try:
                Store.open(path, busy_timeout=10).close()
            except BaseException as e:  # collected, then asserted
                errors.append(e)

        threads = [threading.Thread(target=open_it) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert errors == []
        with Store.open(path, readonly=True) as store:
            applied = store.conn.execute(
                "SELECT count(*), count(DISTINCT name) FROM _sqlite_migrations"
            ).fetchone()
        assert applied[0] == applied[1] > 0  # every migration applied exactly once


def test_two_processes_loading_into_a_new_database_at_once(tmp_path: Path) -> None:
    """As two backfills starting together: both create, migrate and write the same new database."""
    db = tmp_path / "new.db"
    procs = [
        subprocess.Popen(
            acsync_command(db, "ingest", str(EVENTS)), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(3)
    ]
    outcomes = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outcomes, strict=True):
        assert p.returncode == 0, err.decode()
        assert b"read 1,000" in out
    new = [int(out.decode().split("new ")[1].split(",")[0]) for out, _ in outcomes]
    assert sum(new) == 825  # every event stored once, whoever stored it
    assert state(db)["events"] == 825


def test_a_newer_database_is_refused_read_write_and_read_only(store: Store) -> None:
    _newer(store.path)
    for readonly in (False, True):
        with pytest.raises(
            StoreError, match=r"newer acsync \(migration 9999_from_the_future\): upgrade acsync"
        ):
            Store.open(store.path, readonly=readonly)


# --- every command -----------------------------------------------------------------------------


def _commands() -> list[tuple[str, ...]]:
    import click

    def walk(group: click.Group, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
        out: list[tuple[str, ...]] = []
        for name, cmd in sorted(group.commands.items()):
            out.extend(walk(cmd, (*prefix, name)) if isinstance(cmd, click.Group) else [(*prefix, name)])
        return out

    return walk(cli, ())


# What each command needs to get as far as its config and its database; a command not named here
# (a new one) runs without arguments, which must fail in one line too.
ARGS: dict[tuple[str, ...], list[str]] = {
    ("ingest",): [str(EVENTS)],
    ("backfill",): ["--quiet"],
    ("sync",): ["--quiet"],
    ("explain",): ["1024"],
    ("report", "html"): ["-o", "{tmp}/r.html"],
    ("simulate",): ["--rules", str(EXAMPLE)],
}
ENV = {
    "ACSYNC_ACTIVECAMPAIGN__API_TOKEN": "token-of-the-sweep-0123456789",
    "ACSYNC_ACTIVECAMPAIGN__URL": "http://127.0.0.1:9",  # nothing listens: no request may be needed
    "ACSYNC_WEBHOOK__TOKEN": "webhook-token-of-the-sweep",
    "ACSYNC_WEBHOOK__PORT": "0",
}
WITHOUT_CONFIG = {("sandbox",), ("demo",)}  # they bring their own


def _args(command: tuple[str, ...], tmp: Path) -> list[str]:
    return [*command, *(a.replace("{tmp}", str(tmp)) for a in ARGS.get(command, []))]


@pytest.mark.parametrize("command", [c for c in _commands() if c not in WITHOUT_CONFIG], ids=" ".join)
def test_every_command_says_a_config_problem_in_one_line(command: tuple[str, ...], tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    result = invoke(db, *_args(command, tmp_path), env={**ENV, "ACSYNC_STROE__PATH": "x"})
    line = assert_one_line(result, (2,))
    assert "ACSYNC_STROE__PATH: no config section 'stroe'" in line
    assert not db.exists()  # nothing done before the config was known to be good


# check-config reads no database; healthcheck asks the running daemon over HTTP.
USES_THE_DATABASE = [
    c for c in _commands() if c not in WITHOUT_CONFIG and c not in {("check-config",), ("healthcheck",)}
]


@pytest.mark.parametrize("command", USES_THE_DATABASE, ids=" ".join)
def test_every_command_refuses_a_database_from_a_newer_acsync_in_one_line(
    command: tuple[str, ...], scored: Path, tmp_path: Path
) -> None:
    db = _newer(_copy(scored, tmp_path / "n.db"))
    before = state(db)
    result = invoke(db, *_args(command, tmp_path), env=ENV)
    line = assert_one_line(result, (1, 2))
    if command in ARGS or result.exit_code == 1:  # a new command without its arguments: exit 2
        assert "written by a newer acsync (migration 9999_from_the_future): upgrade acsync" in line
    assert state(db) == before


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["sandbox", "--port", "70000"], "70000"),
        (["sandbox", "--host", "192.0.2.1", "--port", "8025"], "not an address of this machine"),
        (
            ["demo", "--dir", "{tmp}/a-file", "--contacts", "10", "--quiet"],
            "a-file: a part of that path is a file",
        ),
    ],
)
def test_the_commands_without_a_config_say_bad_input_in_one_line(
    args: list[str], words: str, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("keep me", encoding="utf-8")
    line = assert_one_line(CliRunner().invoke(cli, [a.replace("{tmp}", str(tmp_path)) for a in args]))
    assert words in line
    assert (tmp_path / "a-file").read_text(encoding="utf-8") == "keep me"


def test_a_group_without_a_command_prints_its_help_not_an_error() -> None:
    for args in ([], ["report"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code in (0, 2)  # click < 8.2: 0
        assert result.output.startswith("Usage: ")
        assert "error:" not in result.output


def test_a_failed_commit_leaves_no_transaction_open(tmp_path: Path) -> None:
    """A long-lived writer (the daemon) must be able to write again once space is free."""
    with Store.open(tmp_path / "a.db") as store:
        used = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {used}")
        with pytest.raises(sqlite3.OperationalError, match="full"), store.write() as conn:
            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)", [(str(i), "x" * 500) for i in range(200)]
            )
        assert not store.conn.in_transaction
        store.conn.execute(f"PRAGMA max_page_count = {used + 1000}")
        with store.write():
            store.set_meta("after", "space was freed")
        assert store.get_meta("after") == "space was freed"


@given(
    secret=st.text(
        st.characters(blacklist_characters="*", blacklist_categories=("Cs",)), min_size=8, max_size=40
    ),
    before=st.text(max_size=30),
    after=st.text(max_size=30),
)
def test_no_form_of_a_known_secret_survives_masking(secret: str, before: str, after: str) -> None:
    masking.forget()
    masking.register(secret)
    for form in masking.forms(secret):
        masked = masking.mask(f"{before}{form}{after}")
        assert form not in masked
    if len(secret.strip()) >= masking.MIN_LENGTH:
        assert secret.strip() not in masking.mask(f"{before}{secret}{after}")


def test_a_duration_from_the_environment_is_checked_like_one_in_the_file(tmp_path: Path) -> None:
    result = invoke(tmp_path / "a.db", "check-config", env={"ACSYNC_PUSH__RETRY_AFTER": "1s"})
    assert result.exit_code == 0, result.output
    assert 'retry_after = "1s"' in result.stdout
