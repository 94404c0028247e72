"""Getting activity in and scoring it: ingest, backfill, sync, score."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from acsync.cli.common import AT_OPTION, Context, emit, parse_at, parse_since
from acsync.cli.writeback import push_if_set_up
from acsync.clock import utcnow
from acsync.core.timefmt import human
from acsync.output import render_table
from acsync.store import Store


@click.command()
@click.argument("source", metavar="[FILE|-]", required=False, type=click.File("rb"))
@click.option("--inbox", is_flag=True, help="Turn the stored webhooks into events instead.")
@click.pass_obj
def ingest(obj: Context, source: Any, inbox: bool) -> None:
    """Load normalized events from a JSON Lines file (or - for standard input), or with --inbox
    turn the webhooks the receiver stored into events.

    Each line is one event: {"type", "contact_id" or "email", "at", ...}. A bad line is reported
    with its line number and reason and never stops the good ones; the exit status is 1 if any
    line was rejected. Events already stored (same identity) are counted as duplicates.
    """
    if inbox == (source is not None):
        raise click.UsageError("give a FILE (or -) or --inbox, not both")
    if inbox:
        _ingest_inbox(obj)
        return
    from acsync.jobs.ingest import ingest_lines

    given = getattr(source, "name", "<stdin>")
    name = "stdin" if given == "<stdin>" else Path(given).name
    with obj.store() as store:
        report = ingest_lines(store, source, f"file:{name}", utcnow())
    for r in report.rejected[:50]:
        click.echo(f"line {r.line}: {r.reason}", err=True)
    if len(report.rejected) > 50:
        click.echo(f"... and {len(report.rejected) - 50:,} more rejected lines", err=True)
    click.echo(
        f"read {report.read:,}, new {report.new:,}, duplicate {report.duplicate:,}, "
        f"rejected {len(report.rejected):,}"
    )
    if report.rejected:
        sys.exit(1)


def _pull_summary(report: Any, title: str) -> None:
    events = ", ".join(f"{k} {v:,}" for k, v in sorted(report.events.items())) or "none"
    click.echo(
        f"{title}: contacts {report.contacts:,}; new events {report.new:,} ({events}); "
        f"already known {report.duplicate:,}"
    )
    if report.deleted:
        click.echo(f"contacts gone from ActiveCampaign (404), marked deleted: {report.deleted:,}")
    if report.own_writes or report.swept:
        click.echo(
            f"changed only by acsync's own push (not re-read): {report.own_writes:,}; "
            f"trackingLogs re-read by the sweep: {report.swept:,}"
        )
    rows = [[endpoint, n] for endpoint, n in sorted(report.requests.items())]
    if rows:
        emit(
            render_table(
                f"requests to ActiveCampaign: {sum(report.requests.values()):,}",
                ["endpoint", "requests"],
                rows,
            )
        )


def _score_failures(store: Store, report: Any) -> None:
    from acsync.jobs.score import failure_lines

    for line in failure_lines(store.conn, report.failed):
        click.echo(line, err=True)


def score_now(obj: Context, store: Store) -> None:
    from acsync.jobs.score import score as run_score

    settings = obj.settings
    report = run_score(store, settings.ruleset(), settings.fingerprints(), utcnow())
    _score_failures(store, report)
    click.echo(
        f"scored: ledgers rebuilt {report.rebuilt:,}, contacts evaluated {report.evaluated:,}, "
        f"changed {report.changed:,}"
    )


NO_PUSH = click.option("--no-push", is_flag=True, help="Score, but leave the changes in the outbox.")


@click.command()
@click.option("--since", metavar="DATE", help="Only activity from this date on (YYYY-MM-DD or ISO 8601).")
@click.option("--quiet", is_flag=True, help="No progress output.")
@NO_PUSH
@click.pass_obj
def backfill(obj: Context, since: str | None, quiet: bool, no_push: bool) -> None:
    """Pull all history from ActiveCampaign, score, and push the results.

    Phases: contacts, campaign opens and clicks, site visits and tracked events (one request per
    contact), orders, tags. Every page is checkpointed: a killed backfill resumes where it
    stopped, and a re-run adds nothing twice. Progress bars on a terminal, periodic lines
    otherwise; at the end, the requests used per endpoint.
    """
    from acsync.ac.client import client_from_config
    from acsync.jobs.pull import backfill as run_backfill
    from acsync.progress import reporter

    settings = obj.settings
    start = parse_since(since)
    client = client_from_config(settings.activecampaign, db_path=obj.db_path)
    with obj.store() as store:
        report = run_backfill(store, client, utcnow(), since=start, progress=reporter(quiet))
        _pull_summary(report, "backfill")
        score_now(obj, store)
        if not no_push:
            push_if_set_up(obj, store, quiet)


@click.command()
@click.option("--quiet", is_flag=True, help="No progress output.")
@NO_PUSH
@click.pass_obj
def sync(obj: Context, quiet: bool, no_push: bool) -> None:
    """One incremental cycle: pull what changed in ActiveCampaign, ingest the webhook inbox, score,
    push.

    Contacts changed since the last cycle (overlapping a day), the opens and clicks of recent
    campaigns whose counters moved, the site visits of contacts that changed (not by acsync's own
    writes) plus a sweep of activecampaign.sweep_share of the rate limit, and orders updated since.
    """
    from acsync.ac.client import client_from_config
    from acsync.jobs.inbox import ingest_inbox
    from acsync.jobs.pull import sweep_budget
    from acsync.jobs.pull import sync as run_sync
    from acsync.progress import reporter

    settings = obj.settings
    client = client_from_config(settings.activecampaign, db_path=obj.db_path)
    sweep = sweep_budget(settings.activecampaign, settings.schedule.sync)
    with obj.store() as store:
        report = run_sync(store, client, utcnow(), progress=reporter(quiet), sweep=sweep)
        _pull_summary(report, "sync")
        inbox = ingest_inbox(store, utcnow(), zone=settings.activecampaign.zone)
        click.echo(f"inbox: {inbox.rows:,} webhooks; events new {inbox.new:,}, duplicate {inbox.duplicate:,}")
        score_now(obj, store)
        if not no_push:
            push_if_set_up(obj, store, quiet)


def _ingest_inbox(obj: Context) -> None:
    from acsync.jobs.inbox import ingest_inbox

    with obj.store() as store:
        report = ingest_inbox(store, utcnow(), zone=obj.settings.activecampaign.zone)
    statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(report.statuses.items())) or "nothing waiting"
    click.echo(
        f"inbox: {report.rows:,} webhooks ({statuses}); events new {report.new:,}, "
        f"duplicate {report.duplicate:,}"
    )
    if report.statuses["unknown"]:
        unknown = sorted(t for t in report.types if t not in _known_webhook_types())
        click.echo(f"  unknown webhook types, kept in the inbox: {', '.join(unknown)}", err=True)


def _known_webhook_types() -> set[str]:
    from acsync.core.webhook_decode import AUTOMATION, KNOWN_UNSCORED, SCORED

    return {*SCORED, *KNOWN_UNSCORED, AUTOMATION}


@click.command()
@AT_OPTION
@click.option("--full", is_flag=True, help="Rebuild every ledger, not only the contacts that changed.")
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Worker processes for large runs (default: one per core from 20,000 contacts; 0: none).",
)
@click.pass_obj
def score(obj: Context, at_text: str | None, full: bool, workers: int | None) -> None:
    """Recompute ledgers, scores and wanted tags.

    Only contacts with new events, or whose score changes by itself by now (an expiry, an
    inactivity episode), are recomputed; a changed ruleset rebuilds everything. Running it
    twice changes nothing.
    """
    from acsync.jobs.score import score as run_score

    settings = obj.settings
    now = parse_at(at_text) or utcnow()
    with obj.store() as store:
        report = run_score(
            store, settings.ruleset(), settings.fingerprints(), now, full=full, workers=workers
        )
        _score_failures(store, report)
    used = f" ({report.workers:,} worker processes)" if report.workers else ""
    click.echo(
        f"scored at {human(report.at)}: ledgers rebuilt {report.rebuilt:,}, "
        f"contacts evaluated {report.evaluated:,}, changed {report.changed:,}{used}"
    )
    if report.failed:
        click.echo(
            f"error: {len(report.failed):,} contact(s) not scored (reasons above; the rest were scored): "
            "remove or correct their events, then run acsync score again",
            err=True,
        )
        sys.exit(1)


COMMANDS = [ingest, backfill, sync, score]
