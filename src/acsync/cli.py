"""The command line: the only place that turns exceptions into words and exit codes.

Exit status: 0 success, 1 runtime failure, 2 usage or config error.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import signal
import socket
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from acsync import __version__, masking
from acsync.clock import utcnow
from acsync.config import Settings, config_path, load_config
from acsync.core.timefmt import parse_when
from acsync.errors import AcsyncError, ConfigError
from acsync.failures import Failure, describe
from acsync.output import render_csv, render_json, render_table, render_toml
from acsync.store import Store

FORMATS = click.Choice(["table", "csv", "json"])


@dataclass
class Context:
    config_option: str | None
    db_option: str | None
    verbose: bool = False
    _settings: Settings | None = field(default=None, init=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_config(config_path(self.config_option))
        return self._settings

    @property
    def db_path(self) -> Path:
        return Path(self.db_option or self.settings.store.path)

    def store(self, readonly: bool = False) -> Store:
        return Store.open(self.db_path, self.settings.store.busy_timeout, readonly=readonly)


def fail(error: AcsyncError) -> NoReturn:
    _say(describe(error))


def _say(failure: Failure) -> NoReturn:
    """Print a failure's lines on standard error (the first in red) and exit with its code."""
    for i, line in enumerate(failure.lines):
        click.secho(line, fg="red" if i == 0 else None, err=True)
    sys.exit(failure.exit_code)


class _Said(click.ClickException):
    """An exception from a command, already put into words (``acsync.failures``)."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.lines[0])
        self.failure = failure


def _usage(error: click.ClickException) -> Failure:
    """Click's own errors (a bad option, a missing file) in one line, not its four."""
    text = " ".join(error.format_message().split())
    ctx = getattr(error, "ctx", None)
    if isinstance(error, click.UsageError) and ctx is not None:
        text += f" (see `{ctx.command_path} --help`)"
    return Failure.of(text, error.exit_code)


# Click ≥ 8.2 raises it for a group called without a command (it prints the help, not an error).
_NO_ARGS_IS_HELP: type[click.ClickException] = getattr(click.exceptions, "NoArgsIsHelpError", _Said)


class Group(click.Group):
    """The one place where every exception becomes words and an exit code (``acsync.failures``):
    one line on standard error that names the fix, never a traceback (``-v`` logs it), never a
    secret."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as e:
            obj = ctx.find_object(Context)
            if obj is not None and obj.verbose:  # asked for: the traceback, before the one line
                click.echo(masking.mask(traceback.format_exc()), err=True, nl=False)
            settings = obj._settings if obj is not None else None  # None: the config failed
            db = (obj.db_option if obj is not None else None) or (settings.store.path if settings else None)
            timeout = settings.store.busy_timeout if settings else None
            raise _Said(describe(e, Path(db) if db else None, timeout)) from e

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _Said as e:
            _say(e.failure)
        except _NO_ARGS_IS_HELP as e:  # `acsync` alone: the help, as asked
            e.show()
            sys.exit(e.exit_code)
        except click.ClickException as e:
            _say(_usage(e))
        except click.Abort:
            _say(Failure.of("interrupted"))
        except OSError as e:
            if e.errno == errno.EPIPE:  # the reader went away (`| head`): nothing to say
                with suppress(OSError, ValueError):  # no flush of the rest into the closed pipe
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                sys.exit(1)
            _say(describe(e))
        except Exception as e:
            _say(describe(e))
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)


def parse_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_when(value)
    except ValueError as e:
        raise click.BadParameter(f"{e} (or a date, 2026-01-31)", param_hint="--at") from None


AT_OPTION = click.option(
    "--at",
    "at_text",
    metavar="ISO",
    help="Evaluate at this instant (ISO 8601 with offset, or a date: midnight UTC) instead of now.",
)


def _output(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An -o FILE that cannot be written is said before any work, naming the fix."""
    if value is None or value == "-" or value.startswith("/dev/"):
        return value
    path = Path(value)
    if path.is_dir():
        raise click.BadParameter(f"{value} is a directory: name a file inside it, e.g. {path / 'report.txt'}")
    if not path.parent.is_dir():
        raise click.BadParameter(f"no directory {path.parent}: create it first (mkdir -p {path.parent})")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise click.BadParameter(f"{value} cannot be written by this user: choose another path")
    return value


def emit(text: str, output: str | None = None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_option",
    metavar="PATH",
    help="Config file (default: $ACSYNC_CONFIG or ./acsync.toml).",
)
@click.option(
    "--db", "db_option", metavar="PATH", envvar="ACSYNC_DB", help="SQLite database (default: store.path)."
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Log more (debug level); an error also prints its traceback."
)
@click.version_option(__version__, prog_name="acsync")
@click.pass_context
def cli(ctx: click.Context, config_option: str | None, db_option: str | None, verbose: bool) -> None:
    """acsync: lead scoring for ActiveCampaign, kept in a local SQLite ledger.

    Static and expiring points, inactivity rules, thresholds and segments, computed locally
    from your contacts' activity and explainable entry by entry.
    """
    from acsync.logs import TextFormatter

    handler = logging.StreamHandler()
    handler.setFormatter(TextFormatter(()))  # masks every known secret, as `run` and `serve` do
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, handlers=[handler])
    ctx.obj = Context(config_option, db_option, verbose)


@cli.command("check-config")
@click.option("--online", is_flag=True, help="Also check the API URL and token against ActiveCampaign.")
@click.pass_obj
def check_config(obj: Context, online: bool) -> None:
    """Validate the config and print the effective config (secrets masked).

    Every problem is listed at once, each with its key, its value and what is allowed;
    the exit status is then 2. With --online, one request (users/me) checks the URL and the key.
    """
    from acsync.ac.client import client_from_config

    settings = obj.settings
    click.echo(f"# effective config: {config_path(obj.config_option)} and ACSYNC_* environment")
    click.echo(render_toml(settings.model_dump(mode="json", by_alias=True)), nl=False)
    if online:
        client = client_from_config(settings.activecampaign)
        user = client.me()
        click.echo(
            f"# online: {client.root} accepts the API token "
            f"(user {user.get('username') or '?'}, {user.get('email') or 'no e-mail'})"
        )
        click.echo(
            f"# webhook times without an offset are read in {settings.activecampaign.timezone} "
            "(activecampaign.timezone; AC's API does not tell the account's time zone: "
            "compare AC → Settings → Account → Timezone)"
        )


@cli.command()
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
        click.echo(f"... and {len(report.rejected) - 50} more rejected lines", err=True)
    click.echo(
        f"read {report.read}, new {report.new}, duplicate {report.duplicate}, rejected {len(report.rejected)}"
    )
    if report.rejected:
        sys.exit(1)


def _pull_summary(report: Any, title: str) -> None:
    events = ", ".join(f"{k} {v}" for k, v in sorted(report.events.items())) or "none"
    click.echo(
        f"{title}: contacts {report.contacts}; new events {report.new} ({events}); "
        f"already known {report.duplicate}"
    )
    if report.deleted:
        click.echo(f"contacts gone from ActiveCampaign (404), marked deleted: {report.deleted}")
    if report.own_writes or report.swept:
        click.echo(
            f"changed only by acsync's own push (not re-read): {report.own_writes}; "
            f"trackingLogs re-read by the sweep: {report.swept}"
        )
    rows = [[endpoint, n] for endpoint, n in sorted(report.requests.items())]
    if rows:
        emit(
            render_table(
                f"requests to ActiveCampaign: {sum(report.requests.values())}", ["endpoint", "requests"], rows
            )
        )


def _score_failures(store: Store, report: Any) -> None:
    from acsync.jobs.score import failure_lines

    for line in failure_lines(store.conn, report.failed):
        click.echo(line, err=True)


def _score_now(obj: Context, store: Store) -> None:
    from acsync.jobs.score import score as run_score

    settings = obj.settings
    report = run_score(store, settings.ruleset(), settings.fingerprints(), utcnow())
    _score_failures(store, report)
    click.echo(
        f"scored: ledgers rebuilt {report.rebuilt}, contacts evaluated {report.evaluated}, "
        f"changed {report.changed}"
    )


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_when(value)
    except ValueError as e:
        raise click.BadParameter(f"{e} (or a date, 2026-01-31)", param_hint="--since") from None


NO_PUSH = click.option("--no-push", is_flag=True, help="Score, but leave the changes in the outbox.")


@cli.command()
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
    start = _since(since)
    client = client_from_config(settings.activecampaign, db_path=obj.db_path)
    with obj.store() as store:
        report = run_backfill(store, client, utcnow(), since=start, progress=reporter(quiet))
        _pull_summary(report, "backfill")
        _score_now(obj, store)
        if not no_push:
            _push_if_set_up(obj, store, quiet)


@cli.command()
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
        click.echo(f"inbox: {inbox.rows} webhooks; events new {inbox.new}, duplicate {inbox.duplicate}")
        _score_now(obj, store)
        if not no_push:
            _push_if_set_up(obj, store, quiet)


@cli.command()
@click.option(
    "--record",
    "record_dir",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also save every answer to DIR (e-mails, names, IPs and the token redacted), for a bug report.",
)
@click.pass_obj
def doctor(obj: Context, record_dir: Path | None) -> None:
    """Probe each endpoint pull and push use with one small request; say which source each pull
    phase will use and why (the choice is stored for backfill and sync), and estimate backfill
    time and idle sync cost from the account's own counts."""
    from rich.markup import escape  # AC's parameter names have brackets: no table markup

    from acsync.ac.client import client_from_config
    from acsync.jobs.doctor import diagnose, save

    settings = obj.settings
    client = client_from_config(settings.activecampaign)
    with obj.store() as store:
        d = diagnose(store, client, utcnow(), settings.activecampaign, settings.schedule.sync)
    probes = [[p.name, escape(p.path), escape(p.status)] for p in d.probes]
    emit(render_table("probes", ["what", "endpoint", "answer"], probes))
    rows = [[c.phase, c.source, escape(c.detail), escape(c.reason)] for c in d.choices.values()]
    emit(
        render_table(
            "sources (stored; backfill and sync use them)", ["phase", "source", "reads", "why"], rows
        )
    )
    counts = ", ".join(f"{k} {v:,}" for k, v in d.counts.items())
    emit(render_table(f"estimates ({counts})", ["what", "estimate"], [list(e) for e in d.estimates]))
    if record_dir is not None:
        token = settings.activecampaign.api_token
        files = save(d, record_dir, token.get_secret_value() if token else "")
        click.echo(f"saved {len(files)} answers to {record_dir} (e-mails, names, IPs and the token redacted)")


def _ingest_inbox(obj: Context) -> None:
    from acsync.jobs.inbox import ingest_inbox

    with obj.store() as store:
        report = ingest_inbox(store, utcnow(), zone=obj.settings.activecampaign.zone)
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(report.statuses.items())) or "nothing waiting"
    click.echo(
        f"inbox: {report.rows} webhooks ({statuses}); events new {report.new}, duplicate {report.duplicate}"
    )
    if report.statuses["unknown"]:
        unknown = sorted(t for t in report.types if t not in _known_webhook_types())
        click.echo(f"  unknown webhook types, kept in the inbox: {', '.join(unknown)}", err=True)


def _known_webhook_types() -> set[str]:
    from acsync.core.webhook_decode import AUTOMATION, KNOWN_UNSCORED, SCORED

    return {*SCORED, *KNOWN_UNSCORED, AUTOMATION}


def _webhook_token(settings: Settings) -> str:
    token = settings.webhook.token.get_secret_value().strip() if settings.webhook.token else ""
    if len(token) < 16:
        raise ConfigError(
            "the webhook receiver needs a secret token",
            [
                "export ACSYNC_WEBHOOK__TOKEN=<at least 16 random characters>, e.g. the output of "
                "`python3 -c 'import secrets; print(secrets.token_urlsafe(24))'`"
            ],
        )
    return token


@contextmanager
def _listening(host: str, port: int, hint: str) -> Iterator[None]:
    """A port that cannot be listened on is one line naming the option that picks another.

    The port is tried first with a socket of our own (waitress leaks its sockets when the bind
    fails); a port taken in between is still caught from the server."""
    try:
        if port:
            with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress binds
                probe.bind((host, port))
        yield
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise AcsyncError(
                f"port {port} on {host} is in use (another acsync, sandbox or program listens there): "
                f"pick another with {hint}"
            ) from None
        if e.errno == errno.EACCES:
            raise AcsyncError(
                f"not allowed to listen on port {port} on {host}: pick one above 1023 with {hint}"
            ) from None
        if e.errno == errno.EADDRNOTAVAIL:
            raise AcsyncError(
                f"cannot listen on {host}: not an address of this machine (e.g. 127.0.0.1 or 0.0.0.0)"
            ) from None
        raise


WEBHOOK_PORT = "webhook.port (ACSYNC_WEBHOOK__PORT)"


LOG_FORMAT = click.option(
    "--log-format",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    help="Log lines as JSON objects (for log collectors) or plain text.",
)


def _configure_logs(obj: Context, fmt: str) -> None:
    from acsync.logs import configure

    settings = obj.settings
    secrets = [s.get_secret_value() for s in (settings.activecampaign.api_token, settings.webhook.token) if s]
    configure(fmt, verbose=obj.verbose, secrets=secrets)


@cli.command()
@LOG_FORMAT
@click.pass_obj
def run(obj: Context, log_format: str) -> None:
    """The daemon: the webhook receiver plus scheduled ingest, sync, scoring and push.

    Intervals come from [schedule]. Every job is guarded: a failure is logged and counted, and
    the next run still happens. SIGTERM or Ctrl-C: the receiver stops accepting, the job in
    hand stops at its next checkpoint, and acsync exits 0 (within seconds). Logs go to standard
    error; metrics to GET /metrics beside the webhooks.
    """
    from acsync.ac.client import client_from_config
    from acsync.daemon import Daemon

    settings = obj.settings
    _configure_logs(obj, log_format)
    token = _webhook_token(settings)
    client_from_config(settings.activecampaign)  # a missing URL or token stops us before serving
    with _listening(settings.webhook.host, settings.webhook.port, WEBHOOK_PORT):
        daemon = Daemon(
            settings,
            obj.db_path,
            token,
            lambda sleep: client_from_config(settings.activecampaign, sleep, db_path=obj.db_path),
        )

    def _stop(signum: int, frame: object) -> None:
        daemon.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    daemon.run()


@cli.command()
@LOG_FORMAT
@click.pass_obj
def serve(obj: Context, log_format: str) -> None:
    """Run the webhook receiver alone, on [webhook] host and port.

    AC posts to /webhooks/activecampaign/<ACSYNC_WEBHOOK__TOKEN>; each body is committed to the
    inbox before the answer. GET /healthz and GET /metrics serve operations. Turn the inbox into
    events with `acsync ingest --inbox` (the daemon does it on its schedule).
    """
    from acsync.serving import Server
    from acsync.webhook.app import PREFIX, WebhookApp

    settings = obj.settings
    hook = settings.webhook
    _configure_logs(obj, log_format)
    app = WebhookApp(
        obj.db_path,
        _webhook_token(settings),
        max_body=hook.max_body,
        busy_timeout=settings.store.busy_timeout,
        stale_after=hook.stale_after,
    )
    with _listening(hook.host, hook.port, WEBHOOK_PORT):
        server = Server(app, hook.port, hook.threads, host=hook.host)
    click.echo(f"receiving webhooks on {server.url}{PREFIX}<token> ({hook.threads} threads); Ctrl-C stops")
    _serve_until_stopped(server)


@cli.command()
@click.option("--timeout", type=click.FloatRange(0.1, 60), default=4.0, show_default=True, help="Seconds.")
@click.pass_obj
def healthcheck(obj: Context, timeout: float) -> None:
    """Probe GET /healthz of the running daemon on the configured [webhook] port: exit 0 when it
    answers 200, else 1 with the reason (the image's HEALTHCHECK; it follows ACSYNC_WEBHOOK__PORT).
    """
    from acsync.serving import probe_health

    problem = probe_health(obj.settings.webhook.host, obj.settings.webhook.port, timeout)
    if problem:
        raise AcsyncError(problem)
    click.echo("healthy")


@cli.command()
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
    token = _webhook_token(settings) if hook.public_url else ""  # a bad token stops us before AC
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


@cli.command()
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
    used = f" ({report.workers} worker processes)" if report.workers else ""
    click.echo(
        f"scored at {report.at.isoformat()}: ledgers rebuilt {report.rebuilt}, "
        f"contacts evaluated {report.evaluated}, changed {report.changed}{used}"
    )
    if report.failed:
        click.echo(
            f"error: {len(report.failed)} contact(s) not scored (reasons above; the rest were scored): "
            "remove or correct their events, then run acsync score again",
            err=True,
        )
        sys.exit(1)


@cli.command()
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
        headers = ["contact", "email", "kind", "name", "from", "to", "route"]
        table = [[r[h] for h in headers] for r in rows]
        emit(_format_rows(fmt, f"push would write {len(rows)} change(s)", headers, table, rows))
        return
    with obj.store() as store:
        _push_now(obj, store, quiet)


def _push_if_set_up(obj: Context, store: Store, quiet: bool) -> None:
    from acsync.jobs.push import PushBusy, SetupNeeded

    try:
        _push_now(obj, store, quiet)
    except (SetupNeeded, PushBusy) as e:
        click.secho(f"not pushed: {e}", fg="yellow", err=True)


def _push_now(obj: Context, store: Store, quiet: bool) -> None:
    from acsync.ac.client import client_from_config
    from acsync.jobs.push import push as run_push
    from acsync.progress import reporter

    client = client_from_config(obj.settings.activecampaign, db_path=obj.db_path)
    report = run_push(store, client, obj.settings.push, utcnow(), progress=reporter(quiet))
    click.echo(
        f"pushed: fields of {report.fields} contacts, tags added {report.tags_added}, removed "
        f"{report.tags_removed}; bulk imports {report.batches}; requests {sum(report.requests.values())}"
    )
    if report.retry or report.waiting:
        click.echo(
            f"left for the next push: {report.retry} failed writes, {report.waiting} in running imports"
        )
    if report.deleted:
        click.secho(
            f"{report.deleted} contact(s) were deleted in ActiveCampaign: not written again", fg="yellow"
        )
    if report.dead:
        click.secho(f"{report.dead} write(s) refused: see `acsync outbox --dead`", fg="yellow", err=True)
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


@cli.command()
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
        click.echo(f"{n} write(s) are due again: run `acsync push`")
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
    title = f"{len(rows)} {'dead' if dead else 'pending'} write(s)"
    emit(_format_rows(fmt, title, headers, [[d[h] for h in headers] for d in data], data))


def _warn_stale(store: Store, now: datetime, *, ledger_only: bool = False) -> None:
    """Warn when what is read is behind: events not yet scored (ledgers), or, for the stored
    state (``ledger_only`` False), scores that have changed since the last `acsync score`."""
    from acsync.store.read import staleness

    dirty, due = staleness(store.conn, now)
    if dirty:
        click.secho(
            f"warning: {dirty} contact(s) have changes not yet scored; run `acsync score` first",
            fg="yellow",
            err=True,
        )
    if due and not ledger_only:
        scored = store.get_meta("scored_at") or "?"
        click.secho(
            f"note: the stored scores are as of the last `acsync score` ({scored}); {due} contact(s) "
            "have changed since: run `acsync score` again, or pass --at",
            fg="yellow",
            err=True,
        )


@cli.command()
@click.argument("contact", metavar="CONTACT")
@AT_OPTION
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def explain(obj: Context, contact: str, at_text: str | None, fmt: str) -> None:
    """Every ledger entry behind a contact's scores. CONTACT is an e-mail or an AC contact id."""
    from acsync.reports.explain import explain as build
    from acsync.store.read import find_contact

    settings = obj.settings
    now = parse_at(at_text) or utcnow()
    with obj.store(readonly=True) as store:
        info = find_contact(store.conn, contact)
        if info is None:
            raise AcsyncError(f"no contact with e-mail or AC id {contact!r} in {store.path}")
        _warn_stale(store, now, ledger_only=True)  # explain evaluates the ledger itself
        data = build(store.conn, settings.ruleset(), info, now)
    if fmt == "json":
        emit(render_json(data))
        return
    scores = ", ".join(f"{k} {v}" for k, v in data["scores"].items())
    tags = ", ".join(data["tags"]) or "none"
    title = f"{info.label} at {data['at']}: {scores}; segment {data['segment'] or '-'}; tags {tags}"
    several = len(data["scores"]) > 1
    headers = [*(["score"] if several else []), "awarded", "rule", "kind", "points", "value", "why", "about"]
    rows = [
        [
            *([e["score"]] if several else []),
            _short(e["awarded_at"]),
            e["rule"],
            e["kind"],
            f"{e['points']:g}",
            f"{e['value']:g}" if e["counts"] else "-",
            e["reason"],
            e["about"],
        ]
        for e in data["entries"]
    ]
    emit(render_table(title, headers, rows))
    for name, total in data["totals"].items():
        for key, word in (("floor", "floor"), ("cap", "cap")):
            if total[f"{key}_applied"]:
                click.echo(
                    f"{name}: the counting entries add up to {total['entries']:g}; "
                    f"its {word} {total[key]:g} applies: {name} is {total['score']}"
                )
    for t in data["tag_details"]:
        click.echo(f"tag {t['tag']}: wanted since {_short(t['since'])} UTC ({', '.join(t['rules'])})")
    click.echo("value '-': the entry does not count at this instant (why says so)")


def _short(instant: str | None) -> str:
    """``2026-03-01T09:30:00Z`` → ``2026-03-01 09:30`` (all times in tables are UTC)."""
    return "" if instant is None else f"{instant[:10]} {instant[11:16]}"


@cli.group(cls=Group)
def report() -> None:
    """Read-only reports from the local database (it is opened read-only)."""


def _format_rows(
    fmt: str, title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], data: Any
) -> str:
    if fmt == "json":
        return render_json(data)
    if fmt == "csv":
        return render_csv(headers, rows)
    return render_table(title, headers, rows)


@report.command("contacts")
@AT_OPTION
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option(
    "-o", "--output", metavar="FILE", callback=_output, help="Write to FILE instead of standard output."
)
@click.pass_obj
def report_contacts(obj: Context, at_text: str | None, fmt: str, output: str | None) -> None:
    """Every contact with its scores, wanted tags and segment.

    Without --at: the stored state, as last computed by `acsync score`. With --at: every ledger
    evaluated at that instant.
    """
    from acsync.reports.contacts import contacts_report

    settings = obj.settings
    at = parse_at(at_text)
    ruleset = settings.ruleset()
    with _reading(obj, at) as store:
        rows = contacts_report(store.conn, ruleset, at)
    names = [s.name for s in ruleset.scores]
    rows.sort(key=lambda r: (-r.scores.get(names[0], 0), r.email or "", r.contact_id or ""))
    headers = ["contact_id", "email", *names, "segment", "tags"]
    table = [
        [r.contact_id, r.email, *(r.scores.get(n) for n in names), r.segment, " ".join(r.tags)] for r in rows
    ]
    when = "now (stored)" if at is None else at.isoformat()
    emit(
        _format_rows(fmt, f"{len(rows)} contacts, {when}", headers, table, [r.as_json() for r in rows]),
        output,
    )


FORMAT_OPTION = click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
OUTPUT_OPTION = click.option(
    "-o", "--output", metavar="FILE", callback=_output, help="Write to FILE instead of standard output."
)
SCORE_OPTION = click.option("--score", "score_name", metavar="NAME", help="Which score (default: the first).")
DAYS_OPTION = click.option(
    "--days", type=click.IntRange(min=1), default=30, show_default=True, help="The comparison window in days."
)


def _score_def(ruleset: Any, name: str | None) -> Any:
    from acsync.reports.past import score_def

    try:
        return score_def(ruleset, name)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--score") from None


@contextmanager
def _reading(obj: Context, at: datetime | None) -> Iterator[Store]:
    """The database, read-only; a warning first when a stored-state report may be behind."""
    with obj.store(readonly=True) as store:
        if at is None:
            _warn_stale(store, utcnow())
        yield store


def _emit_report(report: Any, fmt: str, output: str | None) -> None:
    emit(_format_rows(fmt, report.title, report.headers, report.cells(), report.rows), output)


@report.command("top")
@AT_OPTION
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many contacts.")
@SCORE_OPTION
@FORMAT_OPTION
@OUTPUT_OPTION
@click.pass_obj
def report_top(
    obj: Context, at_text: str | None, limit: int, score_name: str | None, fmt: str, output: str | None
) -> None:
    """The best contacts by score, with segment, wanted tags and last activity."""
    from acsync.reports.leads import top

    ruleset = obj.settings.ruleset()
    sdef = _score_def(ruleset, score_name)
    at = parse_at(at_text)
    with _reading(obj, at) as store:
        _emit_report(top(store.conn, ruleset, sdef, at, limit), fmt, output)


@report.command("segments")
@AT_OPTION
@DAYS_OPTION
@SCORE_OPTION
@FORMAT_OPTION
@OUTPUT_OPTION
@click.pass_obj
def report_segments(
    obj: Context, at_text: str | None, days: int, score_name: str | None, fmt: str, output: str | None
) -> None:
    """Contacts and share per segment, and the change against --days earlier."""
    from acsync.reports.leads import segments

    ruleset = obj.settings.ruleset()
    sdef = _score_def(ruleset, score_name)
    at = parse_at(at_text)
    with _reading(obj, at) as store:
        report = segments(store.conn, ruleset, sdef, at or utcnow(), at is None, days)
    _emit_report(report, fmt, output)


@report.command("content")
@AT_OPTION
@DAYS_OPTION
@SCORE_OPTION
@FORMAT_OPTION
@OUTPUT_OPTION
@click.pass_obj
def report_content(
    obj: Context, at_text: str | None, days: int, score_name: str | None, fmt: str, output: str | None
) -> None:
    """Per content type ([[content]]): events, contacts, points per event, and the mean change of
    those contacts' score over the --days after their first engagement with it."""
    from acsync.reports.content import content

    ruleset = obj.settings.ruleset()
    if not ruleset.content:
        raise click.UsageError(
            "no content types in the config: add [[content]] sections (see config.example.toml)"
        )
    sdef = _score_def(ruleset, score_name)
    with obj.store(readonly=True) as store:
        report = content(store.conn, ruleset, sdef, parse_at(at_text) or utcnow(), days)
    _emit_report(report, fmt, output)


@report.command("inactive")
@AT_OPTION
@FORMAT_OPTION
@OUTPUT_OPTION
@click.pass_obj
def report_inactive(obj: Context, at_text: str | None, fmt: str, output: str | None) -> None:
    """Contacts in an inactivity episode: since when, which rule, its effect, whether AC has the tag."""
    from acsync.reports.leads import inactive

    with obj.store(readonly=True) as store:
        _emit_report(inactive(store.conn, parse_at(at_text) or utcnow()), fmt, output)


@report.command("history")
@click.argument("contact", metavar="[CONTACT]", required=False)
@AT_OPTION
@click.option("--since", metavar="DATE", help="Start (default: 12 months before --at).")
@click.option("--every", default="1mo", show_default=True, help="Sample interval for the distribution.")
@SCORE_OPTION
@FORMAT_OPTION
@OUTPUT_OPTION
@click.pass_obj
def report_history(
    obj: Context,
    contact: str | None,
    at_text: str | None,
    since: str | None,
    every: str,
    score_name: str | None,
    fmt: str,
    output: str | None,
) -> None:
    """One contact's score over time (every change), or without CONTACT the score distribution
    over time: contacts, mean score and contacts per segment at each sample."""
    from acsync.core.durations import add_months, parse_duration
    from acsync.reports.history import contact_history, distribution
    from acsync.reports.past import Contact

    ruleset = obj.settings.ruleset()
    sdef = _score_def(ruleset, score_name)
    at = parse_at(at_text) or utcnow()
    start = _since(since) or add_months(at, -12)
    try:
        step = parse_duration(every)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--every") from None
    with obj.store(readonly=True) as store:
        if contact is None:
            report = distribution(store.conn, ruleset, sdef, start, at, step)
        else:
            from acsync.store.read import find_contact

            found = find_contact(store.conn, contact)
            if found is None:
                raise click.UsageError(f"no contact {contact!r} (an e-mail or an AC contact id)")
            who = Contact(found.id, found.ac_id, found.email, None)
            report = contact_history(store.conn, ruleset, sdef, who, start, at)
    _emit_report(report, fmt, output)


@report.command("html")
@click.option(
    "-o", "--output", metavar="FILE", required=True, callback=_output, help="The HTML file to write."
)
@AT_OPTION
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Top leads shown.")
@SCORE_OPTION
@click.pass_obj
def report_html(obj: Context, output: str, at_text: str | None, limit: int, score_name: str | None) -> None:
    """One self-contained HTML page (no network): score distribution, segments and their sizes
    over time, content performance, top leads, inactivity. Without --at: the stored state."""
    from acsync.reports.dashboard import page

    ruleset = obj.settings.ruleset()
    sdef = _score_def(ruleset, score_name)
    at = parse_at(at_text)
    now = utcnow()
    if at is None:  # the page opens its own connections: only the warning here
        with obj.store(readonly=True) as store:
            _warn_stale(store, now)
    html = page(
        obj.db_path,
        ruleset,
        sdef,
        at,
        now,
        title=f"acsync: {sdef.name}",
        limit=limit,
        busy_timeout=obj.settings.store.busy_timeout,
    )
    Path(output).write_text(html, encoding="utf-8")
    click.echo(f"wrote {output}")


def quality_options(fn: Any) -> Any:
    """The options of ``report quality``, shared by ``simulate --quality`` and ``tune``."""
    for option in reversed(
        [
            click.option(
                "--outcome",
                default="order",
                show_default=True,
                metavar="TYPE",
                help="The event type that counts as converting (order, deal_won, tag_added, …).",
            ),
            click.option(
                "--match",
                "match",
                multiple=True,
                metavar="KEY=GLOB",
                help="Filter on the outcome event (repeatable), e.g. tag=Customer.",
            ),
            click.option(
                "--within",
                default="90d",
                show_default=True,
                metavar="DURATION",
                help="Horizon: converting within this long after a snapshot.",
            ),
            click.option(
                "--every",
                "every_q",
                default="1mo",
                show_default=True,
                metavar="DURATION",
                help="Time between snapshots.",
            ),
            click.option(
                "--since",
                "since_q",
                metavar="DATE",
                help="First snapshot (default: a year before the last one, leaving room for the horizon).",
            ),
        ]
    ):
        fn = option(fn)
    return fn


def _quality_options(
    at: datetime, outcome: str, match: Sequence[str], within: str, every: str, since: str | None
) -> Any:
    from acsync.core.durations import parse_duration
    from acsync.core.event import EVENT_TYPES
    from acsync.reports.quality import MAX_SNAPSHOTS, Options, Outcome

    if outcome not in EVENT_TYPES:
        raise click.BadParameter(f"expected one of {', '.join(sorted(EVENT_TYPES))}", param_hint="--outcome")
    try:
        parsed = Outcome.parse(outcome, match)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--match") from None
    durations = {}
    for hint, text in (("--within", within), ("--every", every)):
        try:
            durations[hint] = parse_duration(text)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint=hint) from None
    opts = Options(at, parsed, durations["--within"], durations["--every"], _since(since))
    if not opts.snapshots():
        raise click.UsageError(
            "no snapshot leaves room for the horizon before --at: move --since earlier or shorten --within"
        )
    if opts.too_many():
        raise click.UsageError(
            f"--every {every} from --since gives more than {MAX_SNAPSHOTS} snapshots: "
            "take a longer --every or a later --since"
        )
    return opts


def _warn_rules(obj: Context, store: Store) -> None:
    """The score steps cover all time: only unscored events or other rules make them stale."""
    dirty = store.conn.execute("SELECT count(*) FROM contacts WHERE dirty > 0").fetchone()[0]
    if dirty:
        click.secho(
            f"warning: {dirty} contact(s) have events not yet scored; run `acsync score` first",
            fg="yellow",
            err=True,
        )
    elif store.get_meta("ledger_rules") != obj.settings.fingerprints().ledger:
        click.secho(
            "warning: the stored ledgers were built with other rules; run `acsync score` first",
            fg="yellow",
            err=True,
        )


@report.command("quality")
@quality_options
@AT_OPTION
@SCORE_OPTION
@FORMAT_OPTION
@OUTPUT_OPTION
@click.pass_obj
def report_quality(
    obj: Context,
    outcome: str,
    match: tuple[str, ...],
    within: str,
    every_q: str,
    since_q: str | None,
    at_text: str | None,
    score_name: str | None,
    fmt: str,
    output: str | None,
) -> None:
    """Does the score predict conversion? At each snapshot every contact not yet converted is one
    sample: its score just before the snapshot and whether the outcome follows within the horizon.
    Prints AUC and PR-AUC with bootstrap intervals, conversion per decile and segment with lift,
    gains, a threshold table and the same per snapshot."""
    from acsync.reports.quality import quality, render

    ruleset = obj.settings.ruleset()
    sdef = _score_def(ruleset, score_name)
    opts = _quality_options(parse_at(at_text) or utcnow(), outcome, match, within, every_q, since_q)
    with obj.store(readonly=True) as store:
        _warn_rules(obj, store)
        emit(render(quality(store.conn, ruleset, sdef, opts), fmt), output)


@cli.command()
@quality_options
@AT_OPTION
@SCORE_OPTION
@click.option(
    "--format", "fmt", type=click.Choice(["table", "toml", "json"]), default="table", show_default=True
)
@OUTPUT_OPTION
@click.pass_obj
def tune(
    obj: Context,
    outcome: str,
    match: tuple[str, ...],
    within: str,
    every_q: str,
    since_q: str | None,
    at_text: str | None,
    score_name: str | None,
    fmt: str,
    output: str | None,
) -> None:
    """Suggest points from how much each rule predicts the outcome: a regularized logistic
    regression on each rule's contribution at each snapshot of `report quality`, validated on
    the later snapshots it was not fitted on. Prints suggested points beside the current ones
    (scaled to the current score's range) and the validated AUC of both. Changes nothing.
    Needs scikit-learn: pip install 'acsync[tune]'."""
    from acsync.jobs.tune import render
    from acsync.jobs.tune import tune as run

    settings = obj.settings
    ruleset = settings.ruleset()
    sdef = _score_def(ruleset, score_name)
    opts = _quality_options(parse_at(at_text) or utcnow(), outcome, match, within, every_q, since_q)
    with obj.store(readonly=True) as store:
        emit(render(run(store.conn, settings, ruleset, sdef, opts), fmt), output)


@cli.command()
@click.option(
    "--rules",
    "rules_path",
    required=True,
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A config file whose ruleset to try (its scores, rules, inactivity, thresholds, segments).",
)
@AT_OPTION
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option(
    "--quality", is_flag=True, help="Compare how well each ruleset's score predicts the outcome instead."
)
@quality_options
@SCORE_OPTION
@click.pass_obj
def simulate(
    obj: Context,
    rules_path: Path,
    at_text: str | None,
    fmt: str,
    quality: bool,
    outcome: str,
    match: tuple[str, ...],
    within: str,
    every_q: str,
    since_q: str | None,
    score_name: str | None,
) -> None:
    """Replay the stored events under another ruleset and list who would change.

    Lists counts (score, segment, tag changes), then one row per changed contact. With
    --quality: the figures of `report quality` for both rulesets side by side on the same
    samples, and the AUC difference with its paired bootstrap interval. Writes nothing.
    """
    from acsync.jobs.simulate import simulate as run

    current = obj.settings
    other = load_config(rules_path)
    now = parse_at(at_text) or utcnow()
    if quality:
        from acsync.jobs.simulate import compare_quality, render_comparison

        mine, theirs = current.ruleset(), other.ruleset()
        sdefs = (_score_def(mine, score_name), _score_def(theirs, score_name))
        opts = _quality_options(now, outcome, match, within, every_q, since_q)
        with obj.store(readonly=True) as store:
            emit(render_comparison(compare_quality(store.conn, mine, theirs, sdefs, opts), fmt))
        return
    with obj.store(readonly=True) as store:
        sim = run(store.conn, current.ruleset(), other.ruleset(), now)
    if fmt == "json":
        emit(
            render_json(
                {
                    "contacts": sim.contacts,
                    "score_changes": sim.score_changes,
                    "segment_changes": sim.segment_changes,
                    "tag_changes": sim.tag_changes,
                    "changes": [c.as_json() for c in sim.changes],
                }
            )
        )
        return
    summary = (
        f"{sim.contacts} contacts: {len(sim.changes)} would change "
        f"(score {sim.score_changes}, segment {sim.segment_changes}, tags {sim.tag_changes})"
    )
    headers = ["contact_id", "email", "scores", "segment", "tags +", "tags -"]
    rows = [
        [
            c.contact_id,
            c.email,
            "; ".join(f"{n} {a} → {b}" for n, (a, b) in c.scores.items()),
            "" if c.segment is None else f"{c.segment[0] or '-'} → {c.segment[1] or '-'}",
            " ".join(c.tags_added),
            " ".join(c.tags_removed),
        ]
        for c in sim.changes
    ]
    if fmt == "csv":
        emit(render_csv(headers, rows))
    else:
        click.echo(summary)
        if rows:
            emit(render_table(None, headers, rows))


@cli.command()
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
    with _listening(host, port, "--port"):
        server = serve_sandbox(Sandbox(account, token=token, rate_limit=rate_limit or None), port, host=host)
    click.echo(f"ActiveCampaign sandbox: {len(account.contacts)} contacts (seed {seed})")
    click.echo(f"  API URL   {server.url}        (activecampaign.url)")
    click.echo(f"  API token {token}             (ACSYNC_ACTIVECAMPAIGN__API_TOKEN)")
    click.echo(f"  journal   {server.url}/__sandbox/journal")
    click.echo(f"  limit     {f'{rate_limit:g} requests/s' if rate_limit else 'none'}; Ctrl-C stops it")
    _serve_until_stopped(server)


@cli.command()
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
        raise AcsyncError(f"AC does not hold the local state for {len(result.mismatches)} contact(s)")
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
            emit(render_table(report_.title, report_.headers, report_.cells()))
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
    here = Path(__file__).resolve().parent / "config.example.toml"  # shipped in the package
    if here.is_file():
        return here
    cwd = Path("config.example.toml")
    if cwd.is_file():
        return cwd
    raise ConfigError(
        "the demo needs rules: pass --config PATH (a copy of config.example.toml from the acsync repository)"
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _serve_until_stopped(server: Any) -> None:
    """Serve in the foreground until Ctrl-C or SIGTERM (a container's stop), then close."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="acsync")
