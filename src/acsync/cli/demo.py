"""Trying acsync without an account: the sandbox and the demo."""

from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from acsync.cli.common import Context, emit
from acsync.cli.operations import listening, serve_until_stopped
from acsync.clock import utcnow
from acsync.errors import AcsyncError, ConfigError
from acsync.output import render_table
from acsync.store import Store


@click.command()
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8025, show_default=True, help="0: any free port."
)
@click.option(
    "--contacts", type=click.IntRange(min=1), default=1000, show_default=True, help="Contacts to seed."
)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same account.")
@click.option("--token", default="sandbox", show_default=True, help="The API token it accepts.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on (0.0.0.0 only inside a container network).",
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Requests per second before it answers 429, as AC does (0: no limit).",
)
def sandbox(port: int, contacts: int, seed: int, token: str, host: str, rate_limit: float) -> None:
    """Run the fake ActiveCampaign (the sandbox) on 127.0.0.1 (or --host) until interrupted.

    A seeded account (contacts over 12 months, campaigns with opens and clicks, site visits,
    orders, tags) behind AC's v3 endpoints, with AC's quirks and its rate limit. Prints the API
    URL and token to put in the config. Fault switches and the request journal live under
    /__sandbox/ (GET journal, GET/POST faults).
    """
    from acsync.sandbox import Sandbox, seed_account
    from acsync.sandbox.server import serve_sandbox

    account = seed_account(contacts, seed, utcnow())
    account.start_clock(time.monotonic, utcnow())  # AC stamps a write with the time it happens
    with listening(host, port, "--port"):
        server = serve_sandbox(Sandbox(account, token=token, rate_limit=rate_limit or None), port, host=host)
    click.echo(f"ActiveCampaign sandbox: {len(account.contacts):,} contacts (seed {seed})")
    click.echo(f"  API URL   {server.url}        (activecampaign.url)")
    click.echo(f"  API token {token}             (ACSYNC_ACTIVECAMPAIGN__API_TOKEN)")
    click.echo(f"  journal   {server.url}/__sandbox/journal")
    click.echo(f"  limit     {f'{rate_limit:g} requests/s' if rate_limit else 'none'}; Ctrl-C stops it")
    serve_until_stopped(server)


@click.command()
@click.option(
    "--contacts",
    type=click.IntRange(min=10),
    default=1000,
    show_default=True,
    help="Contacts in the sandbox.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same account.")
@click.option(
    "--dir",
    "directory",
    default="acsync-demo",
    show_default=True,
    help="Where the demo's config, database and HTML report go (emptied first).",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.pass_obj
def demo(obj: Context, contacts: int, seed: int, directory: str, quiet: bool) -> None:
    """The whole pipeline against the sandbox (a fake ActiveCampaign on this machine): setup,
    backfill, a burst of webhooks, sync, score and push; then it checks that AC holds exactly
    the local scores and tags, prints the reports and writes the HTML report.

    It uses the rules of --config if given, else of config.example.toml. No AC account needed.
    """
    from acsync.demo import run_demo
    from acsync.progress import reporter
    from acsync.reports.content import content
    from acsync.reports.dashboard import page
    from acsync.reports.leads import segments, top

    example = Path(obj.config_option) if obj.config_option else _example_config()
    now = utcnow()
    result = run_demo(
        Path(directory), example, now, contacts=contacts, seed=seed, say=click.echo, progress=reporter(quiet)
    )
    if result.mismatches:
        for line in result.mismatches[:10]:
            click.secho(f"  {line}", fg="red", err=True)
        raise AcsyncError(f"AC does not hold the local state for {len(result.mismatches):,} contact(s)")
    click.secho(
        f"\nchecked: the sandbox now holds exactly the local scores, segments and tags of {result.checked:,} "
        "contacts",
        fg="green",
    )
    ruleset = result.settings.ruleset()
    sdef = ruleset.scores[0]
    with Store.open(result.db, readonly=True) as store:
        conn = store.conn
        reports = {
            "segments": segments(conn, ruleset, sdef, now, True, 30),
            "top": top(conn, ruleset, sdef, None, 10),
            "content": content(conn, ruleset, sdef, now, 30),
        }
        for report_ in reports.values():
            click.echo()
            emit(report_.render("table"))
        _demo_quality(conn, ruleset, sdef, now)
    html = result.directory / "report.html"
    html.write_text(
        page(result.db, ruleset, sdef, None, now, title=f"acsync demo: {sdef.name}"), encoding="utf-8"
    )
    click.echo(f"HTML report: {html.resolve()}")
    click.echo(
        f"Explore: {this_command()} --config {result.config} report inactive (or explain <e-mail>, "
        "report history, report quality, tune)"
    )


def this_command(argv0: str | None = None, which: str | None = None) -> str:
    """How to run this acsync again from here: ``acsync`` when that is what PATH finds, else the
    script's path (``.venv/bin/acsync`` after `make demo`), else ``python -m acsync``."""
    exe = Path(argv0 if argv0 is not None else sys.argv[0])
    if exe.name != "acsync":
        return f"{_shown(Path(sys.executable))} -m acsync"
    found = which if which is not None else shutil.which("acsync")
    if found is not None and Path(found).resolve() == exe.resolve():
        return "acsync"
    return _shown(exe)


def _shown(path: Path) -> str:
    rel = os.path.relpath(path.absolute())
    return rel if not rel.startswith("..") else str(path.absolute())


def _demo_quality(conn: Any, ruleset: Any, sdef: Any, now: datetime) -> None:
    """Does the demo's score predict its orders? The summary and conversion by segment."""
    from acsync.reports.quality import Options, quality, summary_lines, tables

    result = quality(conn, ruleset, sdef, Options(now))
    click.echo("\nDoes the score predict sales? (acsync report quality)")
    for line in summary_lines(result):
        click.echo(f"  {line}")
    title, headers, rows = next(t for t in tables(result) if t[0] == "by segment")
    emit(render_table(f"orders within {result['within']}, {title}", headers, rows))


def _example_config() -> Path:
    here = Path(__file__).resolve().parent.parent / "config.example.toml"  # shipped in the package
    if here.is_file():
        return here
    cwd = Path("config.example.toml")
    if cwd.is_file():
        return cwd
    raise ConfigError(
        "the demo needs rules: pass --config PATH (a copy of config.example.toml from the acsync repository)"
    )


COMMANDS = [sandbox, demo]
