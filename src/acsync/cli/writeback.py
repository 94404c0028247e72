"""Writing to ActiveCampaign: setup, push, outbox."""

from __future__ import annotations

import click

from acsync import masking
from acsync.cli.common import FORMATS, Context, emit, format_rows
from acsync.cli.operations import webhook_token
from acsync.clock import utcnow
from acsync.store import Store


@click.command()
@click.option("--dry-run", is_flag=True, help="Say what would be created; change nothing.")
@click.pass_obj
def setup(obj: Context, dry_run: bool) -> None:
    """Prepare ActiveCampaign for acsync: find or create the custom fields (each score's field and
    segment_field) and the tags (inactivity and threshold tags) the config names, and register the
    webhook when webhook.public_url is set.

    Idempotent: what exists (same title, name or URL) is reused, never duplicated.
    """
    from acsync.ac.client import client_from_config
    from acsync.jobs.setup import setup as run_setup
    from acsync.webhook.app import PREFIX

    settings = obj.settings
    hook = settings.webhook
    token = webhook_token(settings) if hook.public_url else ""  # a bad token stops us before AC
    client = client_from_config(settings.activecampaign, db_path=obj.db_path)
    if dry_run:
        lines = run_setup(None, client, settings, dry_run=True)
    else:
        with obj.store() as store:
            lines = run_setup(store, client, settings, dry_run=False)
    for line in lines:
        click.echo(line)
    if not hook.public_url:
        click.echo("webhook: webhook.public_url is not set; skipped (acsync then learns activity by polling)")
        return
    url = f"{hook.public_url}{PREFIX}{token}"
    shown = f"{hook.public_url}{PREFIX}<token>"
    existing = next((w for w in client.webhooks() if w.get("url") == url), None)
    if existing is not None:
        click.echo(f"webhook: found #{existing.get('id')} posting to {shown}")
    elif dry_run:
        click.echo(f"webhook: would create one posting {', '.join(hook.events)} to {shown}")
    else:
        created = client.create_webhook("acsync", url, list(hook.events), list(hook.sources))
        click.echo(f"webhook: created #{created.get('id')} posting {', '.join(hook.events)} to {shown}")


@click.command()
@click.option("--dry-run", is_flag=True, help="Print what would be written, and how; send nothing.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True, help="For --dry-run.")
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.pass_obj
def push(obj: Context, dry_run: bool, fmt: str, quiet: bool) -> None:
    """Write pending score, segment and tag changes to ActiveCampaign.

    Only what changed since the last push is written (the outbox, filled by `acsync score`).
    Many contacts go through bulk import, a few one by one; tags are added and removed one by
    one. Failed writes are retried by later pushes; refused ones are dead letters (`acsync
    outbox --dead`). Run `acsync setup` once before the first push.
    """
    from acsync.jobs.push import plan

    settings = obj.settings
    if dry_run:
        with obj.store(readonly=True) as store:
            rows = plan(store, settings.push, utcnow())
        keys = ["contact", "email", "kind", "name", "in_ac", "will", "route"]
        headers = ["contact", "email", "kind", "name", "in AC now", "push will", "route"]
        table = [[r[k] for k in keys] for r in rows]
        emit(format_rows(fmt, f"push would write {len(rows):,} change(s)", headers, table, rows))
        return
    with obj.store() as store:
        push_now(obj, store, quiet)


def push_if_set_up(obj: Context, store: Store, quiet: bool) -> None:
    from acsync.jobs.push import PushBusy, SetupNeeded

    try:
        push_now(obj, store, quiet)
    except (SetupNeeded, PushBusy) as e:
        click.secho(f"not pushed: {e}", fg="yellow", err=True)


def push_now(obj: Context, store: Store, quiet: bool) -> None:
    from acsync.ac.client import client_from_config
    from acsync.jobs.push import push as run_push
    from acsync.progress import reporter

    client = client_from_config(obj.settings.activecampaign, db_path=obj.db_path)
    report = run_push(store, client, obj.settings.push, utcnow(), progress=reporter(quiet))
    click.echo(
        f"pushed: fields of {report.fields:,} contacts, tags added {report.tags_added:,}, removed "
        f"{report.tags_removed:,}; bulk imports {report.batches:,}; "
        f"requests {sum(report.requests.values()):,}"
    )
    if report.retry or report.waiting:
        click.echo(
            f"left for the next push: {report.retry:,} failed writes, {report.waiting:,} in running imports"
        )
    if report.deleted:
        click.secho(
            f"{report.deleted:,} contact(s) were deleted in ActiveCampaign: not written again", fg="yellow"
        )
    if report.dead:
        click.secho(f"{report.dead:,} write(s) refused: see `acsync outbox --dead`", fg="yellow", err=True)
    if report.undone:
        click.secho(
            f"bulk import created contact(s) {', '.join(report.undone)} in ActiveCampaign (an e-mail "
            "changed or a contact deleted there): acsync deleted them again at once",
            fg="yellow",
            err=True,
        )
    if left := [c for c in report.created if c not in report.undone]:
        click.secho(
            f"bulk import CREATED contact(s) {', '.join(left)} in ActiveCampaign that acsync could not "
            "delete again: check them in AC",
            fg="red",
            err=True,
        )


@click.command()
@click.option("--dead", is_flag=True, help="The refused writes (dead letters) instead of the pending ones.")
@click.option("--retry", is_flag=True, help="Make dead and waiting writes due again for the next push.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_obj
def outbox(obj: Context, dead: bool, retry: bool, fmt: str) -> None:
    """The writes waiting for ActiveCampaign, or (--dead) those it refused, with the last error.

    Fix the cause (AC's message says it), then `acsync outbox --retry` and `acsync push`.
    """
    from acsync.store import outbox as box

    if retry:
        with obj.store() as store, store.write() as conn:
            n = box.retry_dead(conn)
        click.echo(f"{n:,} write(s) are due again: run `acsync push`")
        return
    with obj.store(readonly=True) as store:
        rows = box.listing(store.conn, dead=dead)
    headers = ["contact", "email", "kind", "name", "value", "attempts", "next_attempt", "last_error"]
    data = [
        {
            "contact": r.ac_id or "",
            "email": r.email or "",
            "kind": r.kind,
            "name": r.name,
            "value": r.value,
            "attempts": r.attempts,
            "next_attempt": r.next_attempt_at or "",
            "last_error": masking.mask(r.last_error or ""),  # written before a secret was known
        }
        for r in rows
    ]
    title = f"{len(rows):,} {'dead' if dead else 'pending'} write(s)"
    emit(format_rows(fmt, title, headers, [[d[h] for h in headers] for d in data], data))


COMMANDS = [setup, push, outbox]
