"""Is the score any good: report quality, tune, simulate."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from acsync.cli.common import (
    AT_OPTION,
    FORMAT_OPTION,
    FORMATS,
    OUTPUT_OPTION,
    SCORE_OPTION,
    Context,
    emit,
    parse_at,
    parse_since,
    score_def,
)
from acsync.clock import utcnow
from acsync.config import load_config
from acsync.store import Store

_QUALITY_OPTIONS = [
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
_NAMES = ("outcome", "match", "within", "every_q", "since_q")


@dataclass(frozen=True)
class Wanted:
    """The options of ``report quality`` as typed, gathered into one argument ``wanted``;
    ``given`` is the first of them the user typed, for a command where they may not apply."""

    outcome: str
    match: tuple[str, ...]
    within: str
    every_q: str
    since_q: str | None
    given: str | None

    def options(self, at: datetime) -> Any:
        """The snapshots, horizon and outcome at ``at``, or a one-line error naming the option."""
        from acsync.core.durations import parse_duration
        from acsync.core.event import EVENT_TYPES
        from acsync.reports.quality import MAX_SNAPSHOTS, Options, Outcome

        if self.outcome not in EVENT_TYPES:
            raise click.BadParameter(
                f"expected one of {', '.join(sorted(EVENT_TYPES))}", param_hint="--outcome"
            )
        try:
            parsed = Outcome.parse(self.outcome, self.match)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--match") from None
        durations = {}
        for hint, text in (("--within", self.within), ("--every", self.every_q)):
            try:
                durations[hint] = parse_duration(text)
            except ValueError as e:
                raise click.BadParameter(str(e), param_hint=hint) from None
        opts = Options(at, parsed, durations["--within"], durations["--every"], parse_since(self.since_q))
        if not opts.snapshots():
            raise click.UsageError(
                "no snapshot leaves room for the horizon before --at: "
                "move --since earlier or shorten --within"
            )
        if opts.too_many():
            raise click.UsageError(
                f"--every {self.every_q} from --since gives more than {MAX_SNAPSHOTS} snapshots: "
                "take a longer --every or a later --since"
            )
        return opts


def quality_options(fn: Callable[..., None]) -> Callable[..., None]:
    """The options of ``report quality``, shared by ``simulate --quality`` and ``tune``: the
    command receives them as one argument, ``wanted`` (a ``Wanted``)."""

    @functools.wraps(fn)
    def gathered(*args: Any, **kwargs: Any) -> None:
        ctx = click.get_current_context()
        typed = [
            p.opts[0]
            for p in ctx.command.params
            if p.name in _NAMES and ctx.get_parameter_source(p.name) is not ParameterSource.DEFAULT
        ]
        values = {name: kwargs.pop(name) for name in _NAMES}
        fn(*args, wanted=Wanted(**values, given=typed[0] if typed else None), **kwargs)

    command: Callable[..., None] = gathered
    for option in reversed(_QUALITY_OPTIONS):
        command = option(command)
    return command


def _warn_rules(obj: Context, store: Store) -> None:
    """The score steps cover all time: only unscored events or other rules make them stale."""
    dirty = store.conn.execute("SELECT count(*) FROM contacts WHERE dirty > 0").fetchone()[0]
    if dirty:
        click.secho(
            f"warning: {dirty:,} contact(s) have events not yet scored; run `acsync score` first",
            fg="yellow",
            err=True,
        )
    elif store.get_meta("ledger_rules") != obj.settings.fingerprints().ledger:
        click.secho(
            "warning: the stored ledgers were built with other rules; run `acsync score` first",
            fg="yellow",
            err=True,
        )


@click.command("quality")
@quality_options
@AT_OPTION
@SCORE_OPTION
@FORMAT_OPTION
@OUTPUT_OPTION
@click.pass_obj
def report_quality(
    obj: Context,
    wanted: Wanted,
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
    sdef = score_def(ruleset, score_name)
    opts = wanted.options(parse_at(at_text) or utcnow())
    with obj.store(readonly=True) as store:
        _warn_rules(obj, store)
        emit(render(quality(store.conn, ruleset, sdef, opts), fmt), output)


@click.command()
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
    wanted: Wanted,
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
    sdef = score_def(ruleset, score_name)
    opts = wanted.options(parse_at(at_text) or utcnow())
    with obj.store(readonly=True) as store:
        emit(render(run(store.conn, settings, ruleset, sdef, opts), fmt), output)


@click.command()
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
    wanted: Wanted,
    score_name: str | None,
) -> None:
    """Replay the stored events under another ruleset and list who would change.

    Lists counts (score, segment, tag changes), then one row per changed contact. With
    --quality: the figures of `report quality` for both rulesets side by side on the same
    samples, and the AUC difference with its paired bootstrap interval. Writes nothing.
    """
    from acsync.jobs.simulate import render
    from acsync.jobs.simulate import simulate as run

    if not quality and wanted.given:
        raise click.UsageError(f"{wanted.given} is an option of --quality: add --quality, or leave it out")
    current = obj.settings
    other = load_config(rules_path)
    now = parse_at(at_text) or utcnow()
    if quality:
        from acsync.jobs.simulate import compare_quality, render_comparison

        mine, theirs = current.ruleset(), other.ruleset()
        sdefs = (score_def(mine, score_name), score_def(theirs, score_name))
        opts = wanted.options(now)
        with obj.store(readonly=True) as store:
            emit(render_comparison(compare_quality(store.conn, mine, theirs, sdefs, opts), fmt))
        return
    with obj.store(readonly=True) as store:
        emit(render(run(store.conn, current.ruleset(), other.ruleset(), now), fmt))


COMMANDS = [tune, simulate]  # and `report quality`, added to the report group
