"""Output, in one place: values for people and for machines, tables, CSV, JSON and TOML.

**For people** (tables and text): shares ``16.0 %`` (one decimal, a space before ``%``),
whole numbers as integers with thousands separators (``45``, ``1,000``), other numbers to at
most two decimals (``17.5``), times ``2026-03-01 09:30 UTC``, durations ``1 day``, ``2 days``.
A table shows at most ``TABLE_ROWS`` rows (or the ``limit`` its command asked for), then a note
with how many more there are and how to get them all: rendering a table costs about half a
millisecond a row, CSV a thousandth of that.

**For machines** (CSV and JSON): plain numbers (``1000``, ``16.0``; numbers stay numbers in
JSON), times ISO 8601 with ``Z`` (``2026-03-01T09:30:00Z``), every row.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from acsync.core.timefmt import human, iso

TABLE_ROWS = 50  # rows a table shows unless its command's --limit says otherwise
ALL_ROWS = "--format csv or --format json"  # what the note under a shortened table suggests
SHARE, FRACTION = "share", "fraction"  # kinds of column: a percentage (16.0), a fraction (0.16)
_STORED_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


# --- values for people ------------------------------------------------------------------------------
def number(x: float, digits: int = 2) -> str:
    """``45``, ``1,000``, ``17.5``, ``-3.25``: integral values as integers, others to at most
    ``digits`` decimals, thousands separated."""
    if isinstance(x, int):
        return f"{x:,}"
    if x.is_integer():
        return f"{int(x):,}"
    text = f"{x:,.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def fixed(x: float | None, digits: int = 2) -> str:
    """A figure read to a fixed precision (an AUC ``0.70``, a lift ``1.25``); ``-`` for none."""
    return "-" if x is None else f"{x:,.{digits}f}"


def signed(x: float) -> str:
    """``+10``, ``-50``, ``+2.5``: points."""
    return f"+{number(x)}" if x > 0 else number(x)


def percent(value: float | None) -> str:
    """A percentage for people: ``16.0 %``; ``-`` for none."""
    return "-" if value is None else f"{value:,.1f} %"


def share(fraction: float | None) -> str:
    """A fraction (``0.16``) as a percentage for people: ``16.0 %``; ``-`` for none."""
    return "-" if fraction is None else percent(100 * fraction)


def count(n: int, word: str, plural: str | None = None) -> str:
    """``1 day``, ``2 days``, ``1,000 contacts``."""
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def duration(seconds: float) -> str:
    """``1 day``, ``3.5 days``, ``1 hour``, ``12 hours``, ``5 minutes``, ``1 second``."""
    for size, word in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if abs(seconds) >= size:
            amount = round(seconds / size, 1)
            return f"{number(amount, 1)} {word if amount == 1 else word + 's'}"
    amount = round(seconds, 1)
    return f"{number(amount, 1)} {'second' if amount == 1 else 'seconds'}"


def cell(value: Any, kind: str | None = None) -> str:
    """One table cell for people; ``kind`` (``SHARE``, ``FRACTION``) says what a number is."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(cell(v, kind) for v in value)  # tags have spaces: "Hot Lead, Inaktiv"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if kind == SHARE:
            return percent(value)
        if kind == FRACTION:
            return share(value)
        return number(value)
    if isinstance(value, datetime):
        return human(value)
    if isinstance(value, str) and _STORED_INSTANT.match(value):
        return human(value)
    return str(value)


# --- values for machines ------------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """One CSV cell: numbers as they are, times ISO 8601 with ``Z``, lists comma-separated."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(plain(v)) for v in value)
    if isinstance(value, datetime):
        return iso(value)
    return value


# --- renderers ---------------------------------------------------------------------------------------
def render_table(
    title: str | None,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    kinds: Mapping[str, str] | None = None,
    limit: int | None = TABLE_ROWS,
    total: int | None = None,
    all_rows: str = ALL_ROWS,
) -> str:
    """A table for people: each value through ``cell``, at most ``limit`` rows (``None``: all),
    then a note with how many more there are (of ``total``, by default ``len(rows)``) and
    ``all_rows``, how to get them all."""
    table = Table(title=title, show_lines=False, header_style="bold")
    for h in headers:
        table.add_column(h, overflow="fold")
    shown = rows if limit is None else rows[:limit]
    which = [(kinds or {}).get(h) for h in headers]
    for row in shown:
        table.add_row(*(cell(v, k) for v, k in zip(row, which, strict=False)))
    buf = io.StringIO()
    Console(file=buf, width=140, force_terminal=False, color_system=None).print(table)
    more = (len(rows) if total is None else total) - len(shown)
    if more > 0:
        buf.write(f"… {count(more, 'more row')} ({all_rows} lists them all)\n")
    return buf.getvalue()


def render_csv(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows([plain(v) for v in row] for row in rows)
    return buf.getvalue()


def render_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def render_rows(
    fmt: str,
    title: str | None,
    headers: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    *,
    kinds: Mapping[str, str] | None = None,
    limit: int | None = TABLE_ROWS,
) -> str:
    """Rows (also their JSON) as ``fmt``: ``table`` (at most ``limit`` rows), ``csv`` or ``json``."""
    if fmt == "json":
        return render_json(list(rows))
    if fmt == "csv":
        return render_csv(headers, [[r.get(h) for h in headers] for r in rows])
    shown = rows if limit is None else rows[:limit]  # only the rows shown are turned into cells
    cells = [[r.get(h) for h in headers] for r in shown]
    return render_table(title, headers, cells, kinds=kinds, limit=None, total=len(rows))


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v), ensure_ascii=False)


def _toml_pairs(d: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for k, v in d.items():
        if v is None or v == {}:
            continue
        if isinstance(v, dict):
            out.extend(_toml_pairs(v, f"{prefix}{k}."))
        else:
            out.append(f"{prefix}{k} = {_toml_value(v)}")
    return out


def render_toml(data: dict[str, Any]) -> str:
    """Enough TOML for acsync's config: tables, arrays of tables, dotted sub-tables."""
    blocks = []
    for section, value in data.items():
        if isinstance(value, list):
            for item in value:
                blocks.append("\n".join([f"[[{section}]]", *_toml_pairs(item)]))
        elif isinstance(value, dict):
            blocks.append("\n".join([f"[{section}]", *_toml_pairs(value)]))
    return "\n\n".join(blocks) + "\n"
