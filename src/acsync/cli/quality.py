"""Is the score any good: report quality, tune, simulate."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click

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
from acsync.output import TABLE_ROWS, render_csv, render_json, render_table
from acsync.store import Store


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
    opts = Options(at, parsed, durations["--within"], durations["--every"], parse_since(since))
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
    sdef = score_def(ruleset, score_name)
    opts = _quality_options(parse_at(at_text) or utcnow(), outcome, match, within, every_q, since_q)
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
    sdef = score_def(ruleset, score_name)
    opts = _quality_options(parse_at(at_text) or utcnow(), outcome, match, within, every_q, since_q)
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
        sdefs = (score_def(mine, score_name), score_def(theirs, score_name))
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
        f"{sim.contacts:,} contacts: {len(sim.changes):,} would change "
        f"(score {sim.score_changes:,}, segment {sim.segment_changes:,}, tags {sim.tag_changes:,})"
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
        for c in (sim.changes if fmt == "csv" else sim.changes[:TABLE_ROWS])  # a table: its first rows
    ]
    if fmt == "csv":
        emit(render_csv(headers, rows))
    else:
        click.echo(summary)
        if rows:
            emit(render_table(None, headers, rows, total=len(sim.changes)))


COMMANDS = [tune, simulate]  # and `report quality`, added to the report group
