"""What every command shares: the context, options, output, and the one place where
exceptions become words and exit codes (``Group``).

Exit status: 0 success, 1 runtime failure, 2 usage or config error.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from acsync import masking
from acsync.clock import utcnow
from acsync.config import Settings, config_path, load_config
from acsync.core.timefmt import human, parse_when
from acsync.failures import Failure, describe
from acsync.output import TABLE_ROWS, render_csv, render_json, render_table
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
        except (click.ClickException, click.exceptions.Exit, click.Abort, BrokenPipeError):
            raise  # words already, or (a closed pipe: `| head`) nothing to say: see main
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


def parse_at(value: str | None, hint: str = "--at") -> datetime | None:
    """An instant the user typed (ISO 8601 or a date), or a one-line error naming its option."""
    if value is None:
        return None
    try:
        return parse_when(value)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint=hint) from None


AT_OPTION = click.option(
    "--at",
    "at_text",
    metavar="ISO",
    help="Evaluate at this instant (ISO 8601 with offset, or a date: midnight UTC) instead of now.",
)


def check_output(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
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


def parse_since(value: str | None) -> datetime | None:
    return parse_at(value, "--since")


def warn_stale(store: Store, now: datetime, *, ledger_only: bool = False) -> None:
    """Warn when what is read is behind: events not yet scored (ledgers), or, for the stored
    state (``ledger_only`` False), scores that have changed since the last `acsync score`."""
    from acsync.store.read import staleness

    dirty, due = staleness(store.conn, now)
    if dirty:
        click.secho(
            f"warning: {dirty:,} contact(s) have changes not yet scored; run `acsync score` first",
            fg="yellow",
            err=True,
        )
    if due and not ledger_only:
        scored = store.get_meta("scored_at")
        click.secho(
            "note: the stored scores are as of the last `acsync score` "
            f"({human(scored) if scored else '?'}); "
            f"{due:,} contact(s) "
            "have changed since: run `acsync score` again, or pass --at",
            fg="yellow",
            err=True,
        )


def format_rows(
    fmt: str,
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    data: Any,
    *,
    total: int | None = None,
) -> str:
    """``json``: ``data``; ``csv``: every row, plain; ``table``: the first ``TABLE_ROWS`` rows
    for people, then a note with how many more (of ``total``, by default ``len(rows)``)."""
    if fmt == "json":
        return render_json(data)
    if fmt == "csv":
        return render_csv(headers, rows)
    return render_table(title, headers, rows, limit=TABLE_ROWS, total=total)


FORMAT_OPTION = click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
OUTPUT_OPTION = click.option(
    "-o", "--output", metavar="FILE", callback=check_output, help="Write to FILE instead of standard output."
)
SCORE_OPTION = click.option("--score", "score_name", metavar="NAME", help="Which score (default: the first).")
DAYS_OPTION = click.option(
    "--days", type=click.IntRange(min=1), default=30, show_default=True, help="The comparison window in days."
)


def score_def(ruleset: Any, name: str | None) -> Any:
    from acsync.reports.past import score_def

    try:
        return score_def(ruleset, name)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--score") from None


@contextmanager
def reading(obj: Context, at: datetime | None) -> Iterator[Store]:
    """The database, read-only; a warning first when a stored-state report may be behind."""
    with obj.store(readonly=True) as store:
        if at is None:
            warn_stale(store, utcnow())
        yield store


def emit_report(report: Any, fmt: str, output: str | None) -> None:
    emit(report.render(fmt), output)


def contact_or_fail(store: Store, ref: str) -> Any:
    """The contact CONTACT names (an e-mail or an AC contact id), or the one error `explain` and
    `report history` both give (exit 1: the database lacks it, the command line is fine)."""
    from acsync.errors import AcsyncError
    from acsync.store.read import find_contact

    found = find_contact(store.conn, ref)
    if found is None:
        raise AcsyncError(f"no contact with e-mail or AC id {ref!r} in {store.path}")
    return found
