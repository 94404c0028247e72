"""Running acsync: check-config, doctor, the daemon (run), the receiver (serve), healthcheck."""

from __future__ import annotations

import errno
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from acsync.cli.common import Context, emit
from acsync.clock import utcnow
from acsync.config import Settings, config_path
from acsync.errors import AcsyncError, ConfigError
from acsync.output import render_table, render_toml


@click.command("check-config")
@click.option("--online", is_flag=True, help="Also check the API URL and token against ActiveCampaign.")
@click.pass_obj
def check_config(obj: Context, online: bool) -> None:
    """Validate the config and print the verdict, then the effective config (secrets masked).

    Every problem is listed at once, each with its key, its value and what is allowed;
    the exit status is then 2. With --online, one request (users/me) checks the URL and the key
    before anything is printed. The output is valid TOML: the verdict lines are comments.
    """
    from acsync.ac.client import client_from_config

    settings = obj.settings
    source = f"{config_path(obj.config_option)} and ACSYNC_* environment"
    verdict = [f"# ok: the config is valid ({source}; {_counts(settings)})"]
    if online:
        client = client_from_config(settings.activecampaign)
        user = client.me()
        verdict += [
            f"# ok: {client.root} accepts the API token "
            f"(user {user.get('username') or '?'}, {user.get('email') or 'no e-mail'})",
            f"# webhook times without an offset are read in {settings.activecampaign.timezone} "
            "(activecampaign.timezone; AC's API does not tell the account's time zone: "
            "compare AC → Settings → Account → Timezone)",
        ]
    else:
        verdict.append("# not checked against ActiveCampaign: add --online for that (one request)")
    click.echo("\n".join([*verdict, "", "# the effective config (secrets masked):"]))
    click.echo(render_toml(settings.model_dump(mode="json", by_alias=True)), nl=False)


def _counts(settings: Settings) -> str:
    ruleset = settings.ruleset()
    parts = [
        (len(ruleset.scores), "score"),
        (len(ruleset.rules), "rule"),
        (len(ruleset.inactivity), "inactivity rule"),
        (len(ruleset.segments), "segment"),
    ]
    return ", ".join(f"{n} {word}{'' if n == 1 else 's'}" for n, word in parts)


@click.command()
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


def webhook_token(settings: Settings) -> str:
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
def listening(host: str, port: int, hint: str) -> Iterator[None]:
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


@click.command()
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
    token = webhook_token(settings)
    client_from_config(settings.activecampaign)  # a missing URL or token stops us before serving
    with listening(settings.webhook.host, settings.webhook.port, WEBHOOK_PORT):
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


@click.command()
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
        webhook_token(settings),
        max_body=hook.max_body,
        busy_timeout=settings.store.busy_timeout,
        stale_after=hook.stale_after,
    )
    with listening(hook.host, hook.port, WEBHOOK_PORT):
        server = Server(app, hook.port, hook.threads, host=hook.host)
    click.echo(f"receiving webhooks on {server.url}{PREFIX}<token> ({hook.threads} threads); Ctrl-C stops")
    serve_until_stopped(server)


@click.command()
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


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve_until_stopped(server: Any) -> None:
    """Serve in the foreground until Ctrl-C or SIGTERM (a container's stop), then close."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


COMMANDS = [check_config, doctor, run, serve, healthcheck]
