"""Poison input never stops the good input (issue 14): a corpus of bad webhooks and bad lines,
fuzzed bodies, and a contact whose scoring fails among contacts that score."""

from __future__ import annotations

import io
import itertools
import json
import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from acsync.cli import cli
from acsync.config import validate
from acsync.core.ac_mapping import tracking_log
from acsync.core.event import parse_event
from acsync.core.webhook_decode import to_events
from acsync.daemon import Daemon
from acsync.jobs.inbox import ingest_inbox
from acsync.jobs.ingest import ingest_lines
from acsync.jobs.score import score
from acsync.logs import JsonFormatter
from acsync.store import Store
from acsync.store.events import DUPLICATE, NEW, insert_event
from acsync.store.migrations import event_identity_by_name
from tests.conftest import settings as config
from tests.test_webhook_decode import FORM, flatten, form

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
JSON = "application/json"
DONE = {"ingested", "ignored", "unknown", "rejected"}
DEEP = "[" * 2000 + "]" * 2000


def good(contact: str) -> tuple[str, bytes]:
    body = {"type": "open", "date_time": "2026-11-02T09:30:00-05:00", "contact": {"id": contact}}
    return FORM, form({**body, "campaign": {"id": "7"}})


def hook(**data: Any) -> tuple[str, bytes]:
    return FORM, form({"type": "open", "contact": {"id": "9"}, "campaign": {"id": "1"}, **data})


# (content type, body, the status it must end with, a word of the reason when rejected)
CORPUS: list[tuple[str, bytes, str, str]] = [
    (*hook(date_time="9999-12-31T23:59:59-05:00"), "rejected", "supported range"),
    (*hook(date_time="0001-01-01T00:00:00+01:00"), "rejected", "supported range"),
    (*hook(date_time="2200-01-01T00:00:00Z"), "rejected", "supported range"),
    (*hook(date_time="1969-12-31T23:59:59Z"), "rejected", "supported range"),
    (*hook(date_time="yesterday"), "rejected", "not an ISO 8601 time"),
    (JSON, b'{"type": "open", "contact": {"id": "1"}, "x": ' + DEEP.encode() + b"}", "rejected", "nested"),
    (JSON, b'{"type": "open", "contact": {"id": "5", "email": "\\ud800@x.com"}}', "rejected", "surrogate"),
    (
        JSON,
        b'{"type": "contact_tag_added", "contact": {"id": "5"}, "tag": "a\\udfff"}',
        "rejected",
        "surrogate",
    ),
    (JSON, b'{"type": "\\ud800", "contact": {"id": "5"}}', "unknown", ""),
    (JSON, b'{"type": "open", "contact": {"id": "' + b"1" * 5000 + b'"}}', "ingested", ""),
    (JSON, b'{"type": "open", "contact": {"id": ' + b"1" * 5000 + b"}}", "rejected", "JSON"),
    (JSON, b'{"type": "open", "contact": [1, 2]}', "rejected", "without contact"),
    (JSON, b'{"type": "open", "contact": {"id": {"id": "1"}}}', "rejected", "without contact"),
    (JSON, b'{"type": "open", "contact": {"id": 1e999}, "campaign": {"id": "2"}}', "ingested", ""),
    (JSON, b"[" * 100_000, "rejected", ""),
    (FORM, b"a" + b"[x]" * 3000 + b"=1&type=open&contact[id]=4", "ingested", ""),
    (FORM, b"\xff\xfe\x00", "rejected", "not UTF-8"),
    (FORM, b"type=sent&campaign[id]=3", "ignored", ""),
    (FORM, b"type=open&contact[id]=3&date_time=2013-07-18+08%3A46%3A33", "ingested", ""),
    (FORM, b"type=open&contact[id]=3&date_time=2013-07-18T8%3A46%3A33-05%3A00", "ingested", ""),
    ("text/plain", b"type=open", "rejected", "content type"),
]


def put(store: Store, rows: list[tuple[str, bytes]]) -> list[int]:
    ids = []
    with store.write() as conn:
        for content_type, body in rows:
            cur = conn.execute(
                "INSERT INTO inbox (received_at, content_type, body) VALUES (?, ?, ?)",
                ["2026-11-20T12:00:00Z", content_type, body],
            )
            assert cur.lastrowid is not None
            ids.append(cur.lastrowid)
    return ids


def statuses(store: Store, ids: list[int]) -> list[tuple[str, str | None]]:
    rows = {
        i: (s, r)
        for i, s, r in store.conn.execute(
            "SELECT id, status, reason FROM inbox WHERE id IN (SELECT value FROM json_each(?))",
            [json.dumps(ids)],
        )
    }
    return [rows[i] for i in ids]


def contacts_with_events(store: Store) -> set[str]:
    return {
        r[0] for r in store.conn.execute("SELECT c.ac_id FROM events e JOIN contacts c ON c.id = e.contact")
    }


def test_every_poison_webhook_is_one_rejected_row_and_the_rest_go_in(store: Store) -> None:
    rows: list[tuple[str, bytes]] = []
    for n, (content_type, body, _, _) in enumerate(CORPUS):
        rows += [good(f"g{n}"), (content_type, body)]
    rows.append(good("last"))
    ids = put(store, rows)
    report = ingest_inbox(store, NOW, batch=7)  # batches cut through the corpus
    got = statuses(store, ids)
    assert all(status in DONE for status, _ in got)
    assert store.conn.execute("SELECT count(*) FROM inbox WHERE status = 'new'").fetchone() == (0,)
    for (_, _, want, word), (status, reason) in zip(CORPUS, got[1::2], strict=False):
        assert status == want, (want, word, reason)
        if want == "rejected":
            assert reason
            assert word in reason
            assert "\n" not in reason
            assert len(reason) <= 400
    assert {f"g{n}" for n in range(len(CORPUS))} | {"last"} <= contacts_with_events(store)
    assert report.rows == len(rows)
    # the run is over: nothing is retried, and nothing new comes of a second run
    assert ingest_inbox(store, NOW).rows == 0


def test_an_offset_less_date_time_is_read_in_the_account_time_zone(store: Store) -> None:
    body = b"type=open&contact[id]=3&campaign[id]=8&date_time=2013-07-18+08%3A46%3A33"
    put(store, [(FORM, body)])
    ingest_inbox(store, NOW, zone=ZoneInfo("America/Chicago"))
    (at,) = store.conn.execute("SELECT at FROM events").fetchone()
    assert at == "2013-07-18T13:46:33Z"  # CDT, UTC-5 in July


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        ("2026-03-08 02:30:00", "2026-03-08T08:30:00Z"),  # in the spring-forward gap: not an error
        ("2026-11-01 01:30:00", "2026-11-01T06:30:00Z"),  # the repeated hour: its first reading
        ("2026-01-15 08:00:00", "2026-01-15T14:00:00Z"),
    ],
)
def test_daylight_saving_gaps_and_overlaps_are_read_never_rejected(local: str, utc: str) -> None:
    data = {"type": "open", "contact": {"id": "1"}, "campaign": {"id": "2"}, "date_time": local}
    (event,) = to_events(data, NOW, ZoneInfo("America/Chicago")).events
    assert event.at.isoformat().replace("+00:00", "Z") == utc


def test_a_sent_webhook_without_a_contact_is_ignored_and_with_one_is_an_event() -> None:
    assert to_events({"type": "sent", "campaign": {"id": "3"}}, NOW).status == "ignored"
    with_contact = to_events({"type": "sent", "contact": {"id": "4"}, "campaign": {"id": "3"}}, NOW)
    assert (with_contact.status, len(with_contact.events)) == ("ingested", 1)


# --- fuzzed bodies --------------------------------------------------------------------------------
# every code point, lone surrogates too (Hypothesis leaves them out unless asked)
texts = st.text(st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=30)
edge_times = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda t: t.isoformat()),
    st.datetimes().map(lambda t: t.isoformat(sep=" ")),
    st.sampled_from(["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+01:00", "0000-00-00 00:00:00"]),
    texts,
)
leaves = st.one_of(texts, st.integers(), st.floats(), st.booleans(), st.none(), edge_times)
json_values = st.recursive(
    leaves, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(texts, kids, max_size=4)
)
webhook_dicts = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["open", "click", "subscribe", "sent", "contact_tag_added", "deal_add"])
        | texts,
        "date_time": edge_times,
        "contact": st.fixed_dictionaries({}, optional={"id": leaves, "email": leaves}) | json_values,
        "campaign": st.fixed_dictionaries({}, optional={"id": leaves, "name": leaves}),
        "link": st.fixed_dictionaries({}, optional={"url": leaves}),
        "tag": leaves,
        "list": leaves,
        "seriesid": leaves,
        "extra": json_values,
    },
)
bodies = st.one_of(
    webhook_dicts.map(lambda d: (JSON, json.dumps(d).encode())),
    webhook_dicts.map(lambda d: (FORM, as_form({k: v for k, v in d.items() if isinstance(v, str | dict)}))),
    st.tuples(st.sampled_from([FORM, JSON, "text/plain"]), st.binary(max_size=300)),
)
counter = itertools.count()


def as_form(data: dict[str, Any]) -> bytes:
    """Form-encoded, a lone surrogate written as the bytes UTF-8 would give it (invalid UTF-8)."""
    return urlencode(flatten(data), errors="surrogatepass").encode()


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = Store.open(tmp_path_factory.mktemp("fuzz") / "acsync.db")
    yield s
    s.close()


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(poison=st.lists(bodies, min_size=1, max_size=4))
def test_fuzzed_bodies_end_done_and_never_stop_the_good_rows(
    fuzz_store: Store, poison: list[tuple[str, bytes]]
) -> None:
    n = next(counter)
    rows = [good(f"before{n}"), *poison, good(f"after{n}")]
    ids = put(fuzz_store, rows)
    ingest_inbox(fuzz_store, NOW, batch=3)
    got = statuses(fuzz_store, ids)
    assert all(status in DONE for status, _ in got)
    assert all(reason is None or reason.isprintable() for _, reason in got)  # one readable line
    assert {f"before{n}", f"after{n}"} <= contacts_with_events(fuzz_store)


# --- acsync ingest: bad lines ----------------------------------------------------------------------
CONFIG = """
[[scores]]
name = "lead_score"

[[rules]]
name = "Visit"
on = "site_visit"
points = 10
expires_after = "{expiry}"
"""


def write_config(tmp_path: Path, expiry: str = "90d") -> Path:
    path = tmp_path / "acsync.toml"
    path.write_text(CONFIG.format(expiry=expiry), encoding="utf-8")
    return path


def invoke(tmp_path: Path, *args: str, expiry: str = "90d") -> Any:
    base = ["--config", str(write_config(tmp_path, expiry)), "--db", str(tmp_path / "a.db")]
    return CliRunner().invoke(cli, [*base, *args], catch_exceptions=False)


def visit(contact: str, at: str = "2026-11-02T09:30:00Z") -> str:
    return json.dumps({"type": "site_visit", "contact_id": contact, "at": at, "url": "https://x/"})


def test_ingest_rejects_each_bad_line_with_its_number_and_the_good_lines_go_in(tmp_path: Path) -> None:
    lines = [
        visit("1").encode(),
        '{"type": "site_visit", "contact_id": "2", "at": "2026-11-02T09:30:00Z", "url": "https://x/café"}'.encode(
            "latin-1"
        ),
        visit("3").encode(),
        visit("4", "0001-01-01T00:00:00+01:00").encode(),
        visit("5", "9999-12-31T00:00:00Z").encode(),
        b'{"type": "open", "contact_id": "6", "at": "2026-11-02T09:30:00Z", "campaign": '
        + DEEP.encode()
        + b"}",
        b'{"type": "open", "email": "\\ud800@x.com", "at": "2026-11-02T09:30:00Z"}',
        b'{"type": "open", "contact_id": "8", "at": "2026-11-02T09:30:00Z", "value": 1e999}',
        visit("9").encode(),
    ]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = invoke(tmp_path, "ingest", str(path))
    assert result.exit_code == 1
    assert "read 9, new 3, duplicate 0, rejected 6" in result.stdout
    err = result.stderr.splitlines()
    assert err[0].startswith("line 2: not UTF-8 text (byte 0xe9 at column")
    assert err[1].startswith("line 4: at: ")
    assert "supported range, from 1970-01-01 to 2199-12-31" in err[1]
    assert err[2].startswith("line 5: at: ")
    assert "supported range" in err[2]
    assert err[3] == "line 6: not JSON this acsync can read: nested too deeply"
    assert err[4].startswith("line 7: email: ")
    assert "lone surrogate" in err[4]
    assert err[5] == "line 8: value must be a finite number"
    assert "Traceback" not in result.output
    with Store.open(tmp_path / "a.db") as s:
        assert contacts_with_events(s) == {"1", "3", "9"}


def test_a_utf8_file_with_a_byte_order_mark_reads_its_first_line(store: Store) -> None:
    report = ingest_lines(store, [b"\xef\xbb\xbf" + visit("1").encode() + b"\n"], "t", NOW)
    assert (report.new, report.rejected) == (1, [])


def test_a_line_the_store_refuses_is_rolled_back_alone(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import acsync.jobs.ingest as ingest_job

    real = ingest_job.insert_event

    def refuse_contact_2(conn: sqlite3.Connection, contact: int, e: Any, source: str, received: str) -> str:
        outcome = real(conn, contact, e, source, received)
        if e.contact_id == "2":
            raise sqlite3.IntegrityError("refused")
        return outcome

    monkeypatch.setattr(ingest_job, "insert_event", refuse_contact_2)
    report = ingest_lines(store, [visit("1"), visit("2"), visit("3")], "t", NOW)
    assert [(r.line, r.reason) for r in report.rejected] == [(2, "cannot be stored: IntegrityError: refused")]
    assert contacts_with_events(store) == {"1", "3"}
    # the rolled-back contact row is gone too, and the cache did not keep it
    assert store.conn.execute("SELECT count(*) FROM contacts WHERE ac_id = '2'").fetchone() == (0,)


# --- scoring: one contact's failure -----------------------------------------------------------------
def plant_far_future_visit(db: Path, ac_id: str) -> None:
    """An event stored before instants were bounded: ingest would refuse it today."""
    with Store.open(db) as s, s.write() as conn:
        conn.execute("INSERT INTO contacts (ac_id) VALUES (?)", [ac_id])
        contact = conn.execute("SELECT id FROM contacts WHERE ac_id = ?", [ac_id]).fetchone()[0]
        conn.execute(
            "INSERT INTO events (contact, at, key, type, url, source, received_at) "
            "VALUES (?, '9999-12-31T00:00:00Z', ?, 'site_visit', 'x', 'file', '2026-11-20T12:00:00Z')",
            [contact, f"site_visit|{ac_id}|x|9999-12-31T00:00:00Z"],
        )


@pytest.mark.parametrize(("expiry", "error"), [("90d", "OverflowError"), ("1mo", "ValueError")])
def test_one_contact_that_cannot_be_scored_never_stops_the_others(
    tmp_path: Path, expiry: str, error: str
) -> None:
    db = tmp_path / "a.db"
    with Store.open(db) as s:
        ingest_lines(s, [visit("1"), visit("2"), visit("4")], "t", NOW)
    plant_far_future_visit(db, "3")
    result = invoke(tmp_path, "score", "--at", "2026-11-20T12:00:00Z", expiry=expiry)
    assert result.exit_code == 1
    (line, summary) = result.stderr.splitlines()
    assert line.startswith(f"contact 3: not scored: {error}")
    assert summary.startswith("error: 1 contact(s) not scored (reasons above; the rest were scored)")
    assert "contacts evaluated 3" in result.stdout
    with Store.open(db) as s:
        scored = dict(
            s.conn.execute("SELECT c.ac_id, rounded FROM scores JOIN contacts c ON c.id = scores.contact")
        )
        assert scored == {"1": 10, "2": 10, "4": 10}
        # the failed contact is left as it was, and tried again next time
        assert s.conn.execute("SELECT dirty > 0 FROM contacts WHERE ac_id = '3'").fetchone() == (1,)
        again = score(s, config(_conf(expiry)).ruleset(), config(_conf(expiry)).fingerprints(), NOW)
        assert next(iter(again.failed.values())).startswith(error)
        assert again.evaluated == 0


def _conf(expiry: str) -> dict[str, Any]:
    return {
        "scores": [{"name": "lead_score"}],
        "rules": [{"name": "Visit", "on": "site_visit", "points": 10, "expires_after": expiry}],
    }


def test_scoring_in_worker_processes_reports_failures_too(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    with Store.open(db) as s:
        ingest_lines(s, [visit(str(n)) for n in range(1, 6)], "t", NOW)
    plant_far_future_visit(db, "99")
    conf = config(_conf("90d"))
    with Store.open(db) as s:
        report = score(s, conf.ruleset(), conf.fingerprints(), NOW, workers=2)
        assert report.evaluated == 5
        assert len(report.failed) == 1


# --- tracked events' identity ------------------------------------------------------------------------
def test_two_tracked_events_in_one_second_are_two_on_every_path(store: Store) -> None:
    logs = [
        {"contact": "112", "type": "Another event", "tstamp": "2022-09-27T12:39:59-05:00", "id": "12"},
        {"contact": "112", "type": "Yet Another Event", "tstamp": "2022-09-27T12:39:59-05:00", "id": "15"},
    ]
    polled = [tracking_log(x) for x in logs]
    assert polled[0] is not None
    assert polled[1] is not None
    assert polled[0].key != polled[1].key
    lines = [
        parse_event({"type": "event", "contact_id": "112", "at": "2022-09-27T17:39:59Z", "name": x["type"]})
        for x in logs
    ]
    assert [e.key for e in lines] == [e.key for e in polled if e is not None]
    contact = store.conn.execute("INSERT INTO contacts (ac_id) VALUES ('112') RETURNING id").fetchone()[0]
    assert [insert_event(store.conn, contact, e, "api", "2026-11-20T12:00:00Z") for e in polled] == [NEW, NEW]


def test_the_upgrade_rekeys_stored_tracked_events_so_a_re_pull_adds_nothing(store: Store) -> None:
    conn = store.conn
    contact = conn.execute("INSERT INTO contacts (ac_id, dirty) VALUES ('112', 0) RETURNING id").fetchone()[0]
    at = "2022-09-27T17:39:59Z"
    old_keys = [f"event|112|{at}", "event|email:a@x.io|2022-09-27T17:40:00Z", "my-own-id"]
    for key, when in zip(old_keys, [at, "2022-09-27T17:40:00Z", at], strict=True):
        conn.execute(
            "INSERT INTO events (contact, at, key, type, name, source, received_at) "
            "VALUES (?, ?, ?, 'event', 'Another event', 'api', ?)",
            [contact, when, key, "2026-01-01T00:00:00Z"],
        )
    event_identity_by_name(Database(conn))
    keys = sorted(r[0] for r in conn.execute("SELECT key FROM events"))
    assert keys == [
        "event|112|Another event|2022-09-27T17:39:59Z",
        "event|email:a@x.io|Another event|2022-09-27T17:40:00Z",
        "my-own-id",
    ]
    assert conn.execute("SELECT dirty FROM contacts WHERE id = ?", [contact]).fetchone() == (1,)
    polled = tracking_log({"contact": "112", "type": "Another event", "tstamp": "2022-09-27T12:39:59-05:00"})
    assert polled is not None
    assert insert_event(conn, contact, polled, "api", "2026-11-20T12:00:00Z") == DUPLICATE


# --- config at the edges ------------------------------------------------------------------------
def test_check_config_names_a_duration_past_the_limit_and_a_bad_time_zone(tmp_path: Path) -> None:
    path = write_config(tmp_path, "99999y")
    path.write_text(path.read_text() + '\n[activecampaign]\ntimezone = "Mars/Olympus"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "check-config"])
    assert result.exit_code == 2
    assert (
        "rules[0] ('Visit').expires_after = '99999y': 99999y is too long: a duration is at most 100 years"
        in (result.output)
    )
    assert "activecampaign.timezone = 'Mars/Olympus': expected an IANA time zone name" in result.output
    assert "Traceback" not in result.output


def test_the_time_zone_from_the_environment_reaches_ingest(tmp_path: Path) -> None:
    conf = validate({}, {"ACSYNC_ACTIVECAMPAIGN__TIMEZONE": " Europe/Berlin "})
    assert conf.activecampaign.timezone == "Europe/Berlin"
    assert conf.activecampaign.zone == ZoneInfo("Europe/Berlin")
    assert validate({}, {}).activecampaign.zone == ZoneInfo("UTC")


def test_report_history_a_year_back_from_29_february(tmp_path: Path) -> None:
    with Store.open(tmp_path / "a.db") as s:
        ingest_lines(s, [visit("1", "2024-01-10T00:00:00Z")], "t", NOW)
    invoke(tmp_path, "score", "--at", "2024-02-29")
    result = invoke(tmp_path, "report", "history", "--at", "2024-02-29", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows[0]["at"] == "2023-02-28T00:00:00Z"
    assert rows[-1]["at"] == "2024-02-29T00:00:00Z"


event_objects = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["site_visit", "open", "event", "order"]) | texts,
        "contact_id": leaves,
        "email": leaves,
        "at": edge_times,
        "url": leaves,
        "name": leaves,
        "value": leaves,
        "id": leaves,
        "extra": json_values,
    },
)
lines_st = st.one_of(
    event_objects.map(lambda d: json.dumps(d).encode()),
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(poison=st.lists(lines_st, min_size=1, max_size=5))
def test_fuzzed_ingest_lines_are_each_taken_or_rejected_and_the_good_ones_go_in(
    fuzz_store: Store, poison: list[bytes]
) -> None:
    n = next(counter)
    lines = [
        visit(f"first{n}").encode(),
        *(p.replace(b"\n", b" ") for p in poison),
        visit(f"end{n}").encode(),
    ]
    report = ingest_lines(fuzz_store, lines, "fuzz", NOW)
    numbered = [i for i, line in enumerate(lines, start=1) if line.strip()]
    assert report.read == len(numbered)
    assert report.new + report.duplicate + len(report.rejected) == report.read
    assert {r.line for r in report.rejected} <= set(numbered) - {1, len(lines)}
    for r in report.rejected:
        r.reason.encode("utf-8")  # printable: no lone surrogate reaches a terminal
        assert "\n" not in r.reason
    assert {f"first{n}", f"end{n}"} <= contacts_with_events(fuzz_store)


def test_the_daemon_names_contacts_it_could_not_score_and_scores_the_rest(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    with Store.open(db) as s:
        ingest_lines(s, [visit("1"), visit("2")], "t", NOW)
    plant_far_future_visit(db, "3")
    settings = validate(
        {
            "scores": [{"name": "lead_score"}],
            "rules": [{"name": "Visit", "on": "site_visit", "points": 10, "expires_after": "90d"}],
        },
        {},
    )
    daemon = Daemon(settings, db, "t" * 24, client=lambda sleep: None, clock=lambda: NOW)  # type: ignore[arg-type,return-value]
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter([]))
    logger = logging.getLogger("acsync.daemon")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        daemon.guarded("score", daemon.score)
        daemon._last_scored = 0.0
        daemon.guarded("score", daemon.score)  # retried: counted again, not warned again
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        daemon.server.close()
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    (warning,) = [x for x in lines if x["level"] == "warning"]
    assert warning["msg"].startswith("contact 3: not scored: OverflowError")
    assert warning["failed"] == 1
    ok = next(x for x in lines if x["msg"] == "score ok")
    assert (ok["evaluated"], ok["failed"]) == (2, 1)
    assert [x["failed"] for x in lines if x["msg"] == "score ok"] == [1, 1]
    assert daemon.metrics.runs.labels("score", "ok")._value.get() == 2
