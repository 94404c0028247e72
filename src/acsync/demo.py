"""``acsync demo``: the whole pipeline against the sandbox, on this machine, in a minute or two.

It starts the sandbox (a seeded fake ActiveCampaign) and the webhook receiver on free loopback
ports, writes a config from ``config.example.toml``'s rules into the demo directory, and runs
what a real deployment runs: setup, backfill, a burst of webhooks, sync, score, push. Then it
reads the sandbox back and checks it holds exactly the local scores and tags, and prints the
reports. Nothing leaves the machine.
"""

from __future__ import annotations

import shutil
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from acsync.ac import AcClient
from acsync.config import Settings, validate
from acsync.jobs.inbox import ingest_inbox
from acsync.jobs.pull import backfill, sync
from acsync.jobs.push import push
from acsync.jobs.score import score
from acsync.jobs.setup import setup
from acsync.output import count, render_toml
from acsync.progress import Reporter
from acsync.sandbox import Sandbox, seed_account
from acsync.sandbox.readback import acsync_wants, mismatches
from acsync.sandbox.server import serve_sandbox
from acsync.sandbox.state import ZONE
from acsync.sandbox.webhooks import post_webhooks, webhook_bodies
from acsync.serving import Server
from acsync.store import Store
from acsync.webhook.app import PREFIX, WebhookApp

RATE = 100.0  # requests/s the demo's sandbox allows: AC allows 5, which would make this a long demo
TOKEN = "demo-webhook-token-not-secret"


@dataclass
class DemoResult:
    directory: Path
    config: Path
    db: Path
    settings: Settings
    checked: int = 0  # contacts whose AC state was compared
    mismatches: list[str] = field(default_factory=list)


def config_for(example: Path, sandbox_url: str, db: Path) -> dict[str, object]:
    """The example's rules, pointed at the sandbox."""
    data = tomllib.loads(example.read_text(encoding="utf-8"))
    data["activecampaign"] = {
        **data.get("activecampaign", {}),
        "url": sandbox_url,
        "requests_per_second": RATE,
        "timezone": ZONE,  # the sandbox account's: some of its webhooks carry times without an offset
    }
    data["store"] = {**data.get("store", {}), "path": str(db)}
    data["push"] = {**data.get("push", {}), "poll_interval": 0.5}
    for score_cfg in data.get("scores", []):
        if isinstance(score_cfg, dict) and score_cfg.get("name") == "lead_score":
            score_cfg.setdefault("segment_field", "Lead Segment")
    return data


def run_demo(
    directory: Path,
    example: Path,
    now: datetime,
    *,
    contacts: int,
    seed: int,
    say: Callable[[str], None],
    progress: Reporter,
) -> DemoResult:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    db = directory / "acsync.db"
    sandbox = Sandbox(seed_account(contacts, seed, now), rate_limit=RATE, bulk_seconds=1.0)
    # Time moves on from ``now`` for the sandbox (AC stamps a write with the time it happens) and
    # for each step alike, as the wall clock does for AC and acsync.
    sandbox.account.start_clock(time.monotonic, now)

    def at() -> datetime:
        return sandbox.account.now

    with serve_sandbox(sandbox) as sb_server:
        data = config_for(example, sb_server.url, db)
        settings = validate(
            data, {"ACSYNC_ACTIVECAMPAIGN__API_TOKEN": "sandbox", "ACSYNC_WEBHOOK__TOKEN": TOKEN}
        )
        config = directory / "acsync.toml"
        config.write_text(render_toml(data), encoding="utf-8")
        say(f"sandbox: a fake ActiveCampaign with {count(contacts, 'contact')} at {sb_server.url}")
        say(f"  its rate limit is raised to {RATE:g} requests/s for the demo (AC allows 5)")
        say(f"config: {config} (the rules of config.example.toml)")
        client = AcClient(sb_server.url, "sandbox", requests_per_second=RATE)
        with Store.open(db) as store:
            say("\n== setup: the score fields and the tags in AC")
            for line in setup(store, client, settings, dry_run=False):
                say(f"  {line}")
            say("\n== backfill: all history from AC")
            pulled = backfill(store, client, at(), progress=progress)
            say(
                f"  {count(pulled.contacts, 'contact')}, {count(pulled.new, 'event')}, "
                f"{count(sum(pulled.requests.values()), 'request')}"
            )
            receiver = WebhookApp(db, TOKEN, busy_timeout=settings.store.busy_timeout)
            with Server(receiver) as hook_server:
                url = f"{hook_server.url}{PREFIX}{TOKEN}"
                say(f"\n== webhooks: the receiver listens at {hook_server.url}{PREFIX}<token>")
                with sandbox.account.lock:
                    bodies = webhook_bodies(sandbox.account, max(20, contacts // 10), seed, naive_share=0.2)
                statuses = post_webhooks(url, bodies)
                say(
                    f"  the sandbox posted {count(len(bodies), 'webhook')} as AC does; "
                    f"answered 200: {statuses.count(200):,}"
                )
            inbox = ingest_inbox(store, at())
            say(f"  turned into events: {inbox.new:,} new, {inbox.duplicate:,} already known")
            say("\n== sync, score, push")
            again = sync(store, client, at())
            say(f"  sync: {count(again.contacts, 'changed contact')}, {count(again.new, 'new event')}")
            scored = score(store, settings.ruleset(), settings.fingerprints(), at())
            say(
                f"  score: {count(scored.evaluated, 'contact')} evaluated, "
                f"{count(scored.queued, 'write')} for AC queued"
            )
            pushed = push(store, client, settings.push, at(), progress=progress)
            say(
                f"  push: fields of {count(pushed.fields, 'contact')}, "
                f"{count(pushed.tags_added, 'tag')} added, "
                f"{count(pushed.batches, 'bulk import')}, {count(sum(pushed.requests.values()), 'request')}"
            )
            for problem in pushed.problems():  # never a silent "done" when something was not written
                say(f"  push: not all written: {problem}")
            result = DemoResult(directory, config, db, settings)
            _check(store, sandbox, settings, result)
    return result


def _check(store: Store, sandbox: Sandbox, settings: Settings, result: DemoResult) -> None:
    """Read the sandbox back: every contact's owned fields and tags equal the local state."""
    result.mismatches = mismatches(store.conn, sandbox.account, settings)
    result.checked = len(acsync_wants(store.conn, settings))
