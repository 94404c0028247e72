"""What every report returns: a title, its columns, and rows that are also its JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from acsync.output import TABLE_ROWS, render_rows


@dataclass
class Report:
    title: str
    headers: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)  # column → output.SHARE or output.FRACTION
    limit: int = TABLE_ROWS  # rows a table shows (CSV and JSON have them all)

    def render(self, fmt: str) -> str:
        """``table`` (at most ``limit`` rows, then a note), ``csv`` or ``json``."""
        return render_rows(fmt, self.title, self.headers, self.rows, kinds=self.kinds, limit=self.limit)


def share(part: int, whole: int) -> float:
    """A percentage with one decimal (a number: tables show it as ``16.0 %``)."""
    return round(100.0 * part / whole, 1) if whole else 0.0
