"""The command line, one module per group of commands; ``common`` holds what they share (the
context, options, output) and the one place where exceptions become words and exit codes.

    pipeline     ingest, backfill, sync, score
    writeback    setup, push, outbox
    reports      explain, report contacts|top|segments|content|inactive|history|html
    quality      report quality, tune, simulate
    operations   check-config, doctor, run, serve, healthcheck
    demo         sandbox, demo

Exit status: 0 success, 1 runtime failure, 2 usage or config error.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import click

from acsync import __version__
from acsync.cli import demo, operations, pipeline, quality, reports, writeback
from acsync.cli.common import Context, Group
from acsync.cli.demo import _example_config, this_command

__all__ = ["_example_config", "cli", "main", "this_command"]


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


for _module in (pipeline, writeback, reports, quality, operations, demo):
    for _command in _module.COMMANDS:
        cli.add_command(_command)
reports.report.add_command(quality.report_quality)


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="acsync")
