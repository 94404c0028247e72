"""Rendering rows as a table, CSV or JSON, and the effective config as TOML."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table


def render_table(title: str | None, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    table = Table(title=title, show_lines=False, header_style="bold")
    for h in headers:
        table.add_column(h, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    buf = io.StringIO()
    Console(file=buf, width=140, force_terminal=False, color_system=None).print(table)
    return buf.getvalue()


def render_csv(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buf.getvalue()


def render_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


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
