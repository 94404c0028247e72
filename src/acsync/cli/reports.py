"""Read-only reports: explain and the report group (contacts, top, segments, content,
inactive, history, html)."""

from __future__ import annotations

from pathlib import Path

import click

from acsync.cli.common import (
    AT_OPTION,
    DAYS_OPTION,
    FORMAT_OPTION,
    FORMATS,
    OUTPUT_OPTION,
    SCORE_OPTION,
    Context,
    Group,
    check_output,
    contact_or_fail,
    emit,
    emit_report,
    format_rows,
    parse_at,
    parse_since,
    reading,
    score_def,
    warn_stale,
)
from acsync.clock import utcnow
from acsync.core.timefmt import human
from acsync.output import TABLE_ROWS, count, number, render_json, render_table


@click.command()
@click.argument("contact", metavar="CONTACT")
@AT_OPTION
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def explain(obj: Context, contact: str, at_text: str | None, fmt: str) -> None:
    """Every ledger entry behind a contact's scores. CONTACT is an e-mail or an AC contact id."""
    from acsync.reports.explain import explain as build

    settings = obj.settings
    now = parse_at(at_text) or utcnow()
    with obj.store(readonly=True) as store:
        info = contact_or_fail(store, contact)
        warn_stale(store, now, ledger_only=True)  # explain evaluates the ledger itself
        data = build(store.conn, settings.ruleset(), info, now)
    if fmt == "json":
        emit(render_json(data))
        return
    scores = ", ".join(f"{k} {v}" for k, v in data["scores"].items())
    tags = ", ".join(data["tags"]) or "none"
    title = f"{info.label} at {human(data['at'])}: {scores}; segment {data['segment'] or '-'}; tags {tags}"
    several = len(data["scores"]) > 1
    headers = [*(["score"] if several else []), "awarded", "rule", "kind", "points", "value", "why", "about"]
    rows = [
        [
            *([e["score"]] if several else []),
            human(e["awarded_at"]),
            e["rule"],
            e["kind"],
            number(e["points"]),
            number(e["value"]) if e["counts"] else "-",
            e["reason"],
            e["about"],
        ]
        for e in data["entries"]
    ]
    emit(render_table(title, headers, rows, all_rows="--format json"))
    for name, total in data["totals"].items():
        for key, word in (("floor", "floor"), ("cap", "cap")):
            if total[f"{key}_applied"]:
                click.echo(
                    f"{name}: the counting entries add up to {number(total['entries'])}; "
                    f"its {word} {number(total[key])} applies: {name} is {number(total['score'])}"
                )
    for t in data["tag_details"]:
        click.echo(f"tag {t['tag']}: wanted since {human(t['since'])} ({', '.join(t['rules'])})")
    click.echo("value '-': the entry does not count at this instant (why says so)")


@click.group(cls=Group)
def report() -> None:
    """Read-only reports from the local database (it is opened read-only)."""


@report.command("contacts")
@AT_OPTION
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option(
    "-o", "--output", metavar="FILE", callback=check_output, help="Write to FILE instead of standard output."
)
@click.pass_obj
def report_contacts(obj: Context, at_text: str | None, fmt: str, output: str | None) -> None:
    """Every contact with its scores, wanted tags and segment.

    Without --at: the stored state, as last computed by `acsync score`. With --at: every ledger
    evaluated at that instant.
    """
    from acsync.reports.contacts import contacts_report
    from acsync.reports.past import as_of

    settings = obj.settings
    at = parse_at(at_text)
    ruleset = settings.ruleset()
    with reading(obj, at) as store:
        rows = contacts_report(store.conn, ruleset, at)
        when = as_of(store.conn, at)
    names = [s.name for s in ruleset.scores]
    rows.sort(key=lambda r: (-r.scores.get(names[0], 0), r.email or "", r.contact_id or ""))
    headers = ["contact_id", "email", *names, "segment", "tags"]
    shown = rows if fmt == "csv" else rows[:TABLE_ROWS]  # a table shows its first rows only
    table = [[r.contact_id, r.email, *(r.scores.get(n) for n in names), r.segment, r.tags] for r in shown]
    title = f"{count(len(rows), 'contact')}, {when}"
    data = [r.as_json() for r in rows] if fmt == "json" else None
    emit(format_rows(fmt, title, headers, table, data, total=len(rows)), output)


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
    sdef = score_def(ruleset, score_name)
    at = parse_at(at_text)
    with reading(obj, at) as store:
        emit_report(top(store.conn, ruleset, sdef, at, limit), fmt, output)


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
    sdef = score_def(ruleset, score_name)
    at = parse_at(at_text)
    with reading(obj, at) as store:
        report = segments(store.conn, ruleset, sdef, at or utcnow(), at is None, days)
    emit_report(report, fmt, output)


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
    sdef = score_def(ruleset, score_name)
    at = parse_at(at_text) or utcnow()
    with obj.store(readonly=True) as store:
        report = content(store.conn, ruleset, sdef, at, days)
    emit_report(report, fmt, output)


@report.command("inactive")
@AT_OPTION
@FORMAT_OPTION
@OUTPUT_OPTION
@click.pass_obj
def report_inactive(obj: Context, at_text: str | None, fmt: str, output: str | None) -> None:
    """Contacts in an inactivity episode: since when, which rule, its effect, whether AC has the tag."""
    from acsync.reports.leads import inactive

    at = parse_at(at_text) or utcnow()
    with obj.store(readonly=True) as store:
        emit_report(inactive(store.conn, at), fmt, output)


@report.command("history")
@click.argument("contact", metavar="[CONTACT]", required=False)
@AT_OPTION
@click.option("--since", metavar="DATE", help="Start (default: 12 months before --at).")
@click.option("--every", help="Sample interval of the distribution (default 1mo; not with CONTACT).")
@SCORE_OPTION
@FORMAT_OPTION
@OUTPUT_OPTION
@click.pass_obj
def report_history(
    obj: Context,
    contact: str | None,
    at_text: str | None,
    since: str | None,
    every: str | None,
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
    sdef = score_def(ruleset, score_name)
    at = parse_at(at_text) or utcnow()
    start = parse_since(since) or add_months(at, -12)
    if start > at:
        raise click.UsageError(f"--since {human(start)} is after --at {human(at)}: give an earlier --since")
    if contact is not None and every is not None:
        raise click.UsageError(
            "--every samples the distribution: leave it out with CONTACT (every change shows)"
        )
    try:
        step = parse_duration(every or "1mo")
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--every") from None
    with obj.store(readonly=True) as store:
        if contact is None:
            report = distribution(store.conn, ruleset, sdef, start, at, step)
        else:
            found = contact_or_fail(store, contact)
            who = Contact(found.id, found.ac_id, found.email, None)
            report = contact_history(store.conn, ruleset, sdef, who, start, at)
    emit_report(report, fmt, output)


@report.command("html")
@click.option(
    "-o", "--output", metavar="FILE", required=True, callback=check_output, help="The HTML file to write."
)
@AT_OPTION
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Top leads shown.")
@SCORE_OPTION
@click.pass_obj
def report_html(obj: Context, output: str, at_text: str | None, limit: int, score_name: str | None) -> None:
    """One self-contained HTML page (no network): score distribution, segments and their sizes
    over time, content performance, top leads (each with its explanation and history, linked
    from the table), inactivity. Without --at: the stored state."""
    from acsync.reports.dashboard import page

    ruleset = obj.settings.ruleset()
    sdef = score_def(ruleset, score_name)
    at = parse_at(at_text)
    now = utcnow()
    if at is None:  # the page opens its own connections: only the warning here
        with obj.store(readonly=True) as store:
            warn_stale(store, now)
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


COMMANDS = [explain, report]
