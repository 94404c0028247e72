"""The sandbox over real HTTP on 127.0.0.1: the client, the control endpoints, webhooks, the CLI."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import pytest
import requests
from click.testing import CliRunner

from acsync.ac import AcClient
from acsync.cli import cli
from acsync.sandbox import Sandbox, seed_account
from acsync.sandbox.server import serve_sandbox
from acsync.sandbox.webhooks import FORM, post_webhooks, webhook_bodies
from acsync.serving import Server
from acsync.store import Store
from tests.conftest import ROOT
from tests.sandbox_helpers import NOW


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, Server]]:
    sb = Sandbox(seed_account(150, 2, NOW), rate_limit=None, timeout_seconds=0.6)
    with serve_sandbox(sb) as server:
        yield sb, server


def test_client_over_http(served: tuple[Sandbox, Server]) -> None:
    sb, server = served
    assert server.url.startswith("http://127.0.0.1:")
    client = AcClient(server.url, "sandbox", read_timeout=0.3, requests_per_second=100)
    sb.faults.set("timeout", next=1)
    sb.faults.set("503", next=1)
    assert sum(len(p) for p in client.contact_pages()) == 150
    journal = requests.get(f"{server.url}/__sandbox/journal", timeout=5).json()
    assert journal["counts"]["GET contacts"] == 4  # 2 pages + 2 faults
    assert journal["statuses"]["503"] == 1


def test_faults_over_http(served: tuple[Sandbox, Server]) -> None:
    _, server = served
    r = requests.post(f"{server.url}/__sandbox/faults", json={"kind": "429", "next": 2}, timeout=5)
    assert r.json()["429"]["next"] == 2
    statuses = [
        requests.get(f"{server.url}/api/3/users/me", headers={"Api-Token": "sandbox"}, timeout=5).status_code
        for _ in range(3)
    ]
    assert statuses == [429, 429, 200]
    bad = requests.post(f"{server.url}/__sandbox/faults", json={"kind": "teapot"}, timeout=5)
    assert bad.status_code == 400


def test_rate_limit_over_http(served: tuple[Sandbox, Server]) -> None:
    sb, server = served
    sb.set_rate_limit(5.0)
    statuses = [
        requests.get(f"{server.url}/api/3/users/me", headers={"Api-Token": "sandbox"}, timeout=5)
        for _ in range(8)
    ]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited
    assert limited[0].headers["Retry-After"] == "1"


def test_webhooks_are_posted_as_ac_does() -> None:
    received: list[tuple[str, str]] = []

    def receiver(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        received.append((environ.get("CONTENT_TYPE", ""), environ["wsgi.input"].read(length).decode()))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    acct = seed_account(30, 4, NOW)
    bodies = webhook_bodies(acct, 12, seed=1)
    with Server(receiver) as server:
        assert post_webhooks(f"{server.url}/hook", bodies) == [200] * 12
    assert len(received) == 12
    content_type, body = received[0]
    assert content_type == FORM
    fields = dict(parse_qsl(body, keep_blank_values=True))
    assert {"type", "date_time", "contact[id]", "contact[email]", "contact[tags]"} <= fields.keys()
    assert fields["date_time"].endswith("-05:00")
    kinds = {dict(parse_qsl(b))["type"] for _, b in received}
    assert "open" in kinds
    clicks = [dict(parse_qsl(b)) for _, b in received if dict(parse_qsl(b))["type"] == "click"]
    assert all("campaign[id]" in c for c in clicks)


def test_check_config_online(served: tuple[Sandbox, Server], tmp_path: Any) -> None:
    _, server = served
    env = {"ACSYNC_ACTIVECAMPAIGN__URL": server.url, "ACSYNC_ACTIVECAMPAIGN__API_TOKEN": "sandbox"}
    args = ["--config", str(ROOT / "config.example.toml"), "check-config", "--online"]
    ok = CliRunner(env=env).invoke(cli, args)
    assert ok.exit_code == 0, ok.output
    lines = ok.output.splitlines()
    assert lines[0].startswith("# ok: the config is valid (")  # the verdict first, not after the dump
    assert lines[1].startswith(f"# ok: {server.url}")
    assert "accepts the API token (user admin" in lines[1]
    assert lines[2].startswith("# webhook times without an offset are read in UTC (activecampaign.timezone")
    assert 'api_token = "**********"' in ok.output
    assert "sandbox" not in ok.output.replace("acsync", "")  # the token itself is never printed
    wrong = CliRunner(env={**env, "ACSYNC_ACTIVECAMPAIGN__API_TOKEN": "nope"}).invoke(cli, args)
    assert wrong.exit_code == 2
    assert "login page" in wrong.output
    missing = CliRunner(env={"ACSYNC_ACTIVECAMPAIGN__API_TOKEN": ""}).invoke(cli, args)
    assert missing.exit_code == 2
    assert "ACSYNC_ACTIVECAMPAIGN__API_TOKEN" in missing.output


def test_server_closes_cleanly() -> None:
    sb = Sandbox(seed_account(5, 1, NOW))
    server = serve_sandbox(sb).start()
    assert requests.get(f"{server.url}/__sandbox/journal", timeout=5).status_code == 200
    server.close()
    assert not any(t.name == "acsync-http" and t.is_alive() for t in threading.enumerate())


def test_setup_registers_the_webhook_once(served: tuple[Sandbox, Server], tmp_path: Path) -> None:
    sb, server = served
    env = {
        "ACSYNC_ACTIVECAMPAIGN__URL": server.url,
        "ACSYNC_ACTIVECAMPAIGN__API_TOKEN": "sandbox",
        "ACSYNC_WEBHOOK__TOKEN": "a-webhook-token-long-enough",
        "ACSYNC_WEBHOOK__PUBLIC_URL": "https://acsync.example.com",
    }
    args = ["--config", str(ROOT / "config.example.toml"), "--db", str(tmp_path / "a.db"), "setup"]
    dry = CliRunner(env=env).invoke(cli, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would create one posting" in dry.output
    assert sb.account.webhooks == {}
    first = CliRunner(env=env).invoke(cli, args)
    assert "webhook: created #1" in first.output
    again = CliRunner(env=env).invoke(cli, args)
    assert "webhook: found #1" in again.output
    (hook,) = sb.account.webhooks.values()
    assert hook["url"] == "https://acsync.example.com/webhooks/activecampaign/a-webhook-token-long-enough"
    assert "open" in hook["events"]
    assert "a-webhook-token-long-enough" not in first.output + again.output
    short = CliRunner(env={**env, "ACSYNC_WEBHOOK__TOKEN": "short"}).invoke(cli, args)
    assert short.exit_code == 2
    assert "at least 16" in short.output


def test_backfill_and_sync_commands(served: tuple[Sandbox, Server], tmp_path: Any) -> None:
    _, server = served
    env = {"ACSYNC_ACTIVECAMPAIGN__URL": server.url, "ACSYNC_ACTIVECAMPAIGN__API_TOKEN": "sandbox"}
    base = ["--config", str(ROOT / "config.example.toml"), "--db", str(tmp_path / "cli.db")]
    env["ACSYNC_ACTIVECAMPAIGN__REQUESTS_PER_SECOND"] = "100"
    first = CliRunner(env=env).invoke(cli, [*base, "backfill", "--quiet"])
    assert first.exit_code == 0, first.output
    assert "backfill: contacts 150; new events" in first.output
    assert "GET contacts/{id}/trackingLogs" in first.output
    assert "scored: ledgers rebuilt 150" in first.output
    again = CliRunner(env=env).invoke(cli, [*base, "sync", "--quiet"])
    assert again.exit_code == 0, again.output
    assert "inbox: 0 webhooks" in again.output
    bad = CliRunner(env=env).invoke(cli, [*base, "backfill", "--since", "last week"])
    assert bad.exit_code == 2
    assert "--since" in bad.output


def test_the_sandbox_posts_a_burst_of_webhooks_to_a_receiver(
    served: tuple[Sandbox, Server], tmp_path: Any
) -> None:
    from acsync.webhook.app import WebhookApp

    _, sandbox_server = served
    token = "burst-token-0123456789"
    receiver = WebhookApp(tmp_path / "hooks.db", token)
    with Server(receiver) as hook_server:
        url = f"{hook_server.url}/webhooks/activecampaign/{token}"
        r = requests.post(
            f"{sandbox_server.url}/__sandbox/webhooks", json={"url": url, "count": 25}, timeout=30
        )
    assert r.json() == {"posted": 25, "statuses": {"200": 25}}
    bad = requests.post(f"{sandbox_server.url}/__sandbox/webhooks", json={"count": 2}, timeout=5)
    assert bad.status_code == 400


def test_setup_finds_or_creates_fields_and_tags(served: tuple[Sandbox, Server], tmp_path: Any) -> None:
    sb, server = served
    env = {"ACSYNC_ACTIVECAMPAIGN__URL": server.url, "ACSYNC_ACTIVECAMPAIGN__API_TOKEN": "sandbox"}
    config = tmp_path / "acsync.toml"
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    with_segment = text.replace(
        'field = "Lead Score"', 'field = "Lead Score"\nsegment_field = "Lead Segment"'
    )
    config.write_text(with_segment, encoding="utf-8")
    base = ["--config", str(config), "--db", str(tmp_path / "s.db")]
    dry = CliRunner(env=env).invoke(cli, [*base, "setup", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "field: would create 'Lead Score' (number)" in dry.output
    assert "tag: would create 'Inaktiv'" in dry.output
    titles = {f["title"] for f in sb.account.fields.values()}
    assert "Lead Score" not in titles
    first = CliRunner(env=env).invoke(cli, [*base, "setup"])
    assert first.exit_code == 0, first.output
    assert "field: created 'Lead Score'" in first.output
    assert "field: created 'Lead Segment'" in first.output
    assert "tag: created 'Hot Lead'" in first.output
    again = CliRunner(env=env).invoke(cli, [*base, "setup"])
    assert "created" not in again.output
    assert "tag: found 'Inaktiv'" in again.output
    assert sorted(f["title"] for f in sb.account.fields.values()).count("Lead Score") == 1
    with Store.open(tmp_path / "s.db") as store:
        ids = {(k, n): i for k, n, i in store.conn.execute("SELECT kind, name, ac_id FROM ac_ids")}
    assert set(ids) == {
        ("field", "Lead Score"),
        ("field", "Lead Segment"),
        ("tag", "Inaktiv"),
        ("tag", "Hot Lead"),
    }


def test_setup_backfill_push_and_outbox_commands(served: tuple[Sandbox, Server], tmp_path: Any) -> None:
    sb, server = served
    sb.bulk_seconds = 0.2
    env = {
        "ACSYNC_ACTIVECAMPAIGN__URL": server.url,
        "ACSYNC_ACTIVECAMPAIGN__API_TOKEN": "sandbox",
        "ACSYNC_ACTIVECAMPAIGN__REQUESTS_PER_SECOND": "100",
        "ACSYNC_PUSH__POLL_INTERVAL": "0.1",
    }
    base = ["--config", str(ROOT / "config.example.toml"), "--db", str(tmp_path / "p.db")]
    run = CliRunner(env=env).invoke
    early = run(cli, [*base, "backfill", "--quiet"])
    assert early.exit_code == 0, early.output
    assert "not pushed: acsync does not know the AC ids" in early.output
    assert "run `acsync setup` first" in early.output
    dry = run(cli, [*base, "push", "--dry-run", "--format", "json"])
    planned = json.loads(dry.output)
    assert {p["route"] for p in planned} == {"bulk import"}
    assert run(cli, [*base, "setup"]).exit_code == 0
    before = sb.journal.as_json()["total"]
    pushed = run(cli, [*base, "push", "--quiet"])
    assert pushed.exit_code == 0, pushed.output
    assert "pushed: fields of 150 contacts" in pushed.output
    assert sb.journal.as_json()["counts"]["POST import/bulk_import"] == 1
    assert (
        sb.journal.as_json()["total"] - before <= 6
    )  # its contacts confirmed (2 pages of ids), one import, its polls
    scores = {c.ac_id: c for c in _stored_scores(tmp_path / "p.db")}
    field = next(int(f["id"]) for f in sb.account.fields.values() if f["title"] == "Lead Score")
    assert {str(c): fv[field]["value"] for c, fv in sb.account.field_values.items() if field in fv} == {
        k: str(v.rounded) for k, v in scores.items()
    }
    empty = run(cli, [*base, "outbox"])
    assert "0 pending write(s)" in empty.output
    again = run(cli, [*base, "push"])
    assert "requests 0" in again.output
    assert run(cli, [*base, "outbox", "--dead", "--format", "json"]).output.strip() == "[]"
    assert "0 write(s) are due again" in run(cli, [*base, "outbox", "--retry"]).output


class _Scored(NamedTuple):
    ac_id: str
    rounded: int


def _stored_scores(db: Any) -> list[_Scored]:
    with Store.open(db) as store:
        return [
            _Scored(*r)
            for r in store.conn.execute(
                "SELECT c.ac_id, s.rounded FROM scores s JOIN contacts c ON c.id = s.contact"
            )
        ]


def test_server_closes_even_when_its_wakeup_pipe_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seen once in CI: the wake-up pipe already closed when close() pulled it."""
    server = serve_sandbox(Sandbox(seed_account(3, 1, NOW))).start()
    trigger: Any = server._wake

    def gone() -> None:
        raise OSError(9, "Bad file descriptor")

    monkeypatch.setattr(trigger, "_physical_pull", gone)
    server.close()
    assert not any(t.name == "acsync-http" and t.is_alive() for t in threading.enumerate())
    assert trigger._closed  # every dispatcher closed, the pipe too
    server.close()  # twice is harmless


def test_a_sync_after_a_push_to_the_served_sandbox_rereads_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`acsync sandbox` stamps writes with the time they happen, as AC does: the backfill's push
    ten minutes after the sandbox started finds its writes inside its own window, and the next sync reads
    no trackingLogs for the pushed contacts (the sandbox once stamped its start time: a sync
    after a backfill and push re-read every contact). Ten minutes pass on a fake clock, shared
    by the served sandbox and the CLI's time."""
    from acsync.cli import demo, pipeline, writeback
    from tests.sandbox_helpers import FakeClock

    clock = FakeClock()
    start = NOW.replace(microsecond=0)
    for module in (demo, pipeline, writeback):  # the commands this test runs
        monkeypatch.setattr(module, "utcnow", lambda: start + timedelta(seconds=clock.now - 1000.0))
    monkeypatch.setattr(demo, "time", SimpleNamespace(monotonic=clock))
    outputs: dict[str, str] = {}

    def flow(server: Server) -> None:
        server.start()
        try:
            env = {
                "ACSYNC_ACTIVECAMPAIGN__URL": server.url,
                "ACSYNC_ACTIVECAMPAIGN__API_TOKEN": "sandbox",
                "ACSYNC_ACTIVECAMPAIGN__REQUESTS_PER_SECOND": "100",
                "ACSYNC_ACTIVECAMPAIGN__SWEEP_SHARE": "0",
                "ACSYNC_PUSH__POLL_INTERVAL": "0.05",
            }
            base = ["--config", str(ROOT / "config.example.toml"), "--db", str(tmp_path / "c.db")]
            run = CliRunner(env=env).invoke
            assert run(cli, [*base, "setup"]).exit_code == 0
            clock.sleep(600)  # beyond the slack a sync allows between acsync's clock and AC's
            journal = f"{server.url}/__sandbox/journal"
            for step in ("backfill", "sync"):  # the backfill scores and pushes
                requests.delete(journal, timeout=5)
                done = run(cli, [*base, step, "--quiet"])
                assert done.exit_code == 0, done.output
                outputs[step] = done.output
                outputs[f"{step} journal"] = json.dumps(requests.get(journal, timeout=5).json())
        finally:
            server.close()

    monkeypatch.setattr(demo, "serve_until_stopped", flow)
    served = CliRunner().invoke(cli, ["sandbox", "--port", "0", "--contacts", "40", "--rate-limit", "0"])
    assert served.exit_code == 0, served.output
    assert "pushed: fields of 40 contacts" in outputs["backfill"], outputs["backfill"]
    assert "changed only by acsync's own push (not re-read): 40" in outputs["sync"], outputs["sync"]
    counts = json.loads(outputs["sync journal"])["counts"]
    assert not [k for k in counts if "trackingLogs" in k], counts
    assert sum(counts.values()) <= 8, counts
