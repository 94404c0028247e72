"""What every report returns: a title, its columns, and rows that are also its JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Report:
    title: str
    headers: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def cells(self) -> list[list[Any]]:
        return [[_cell(r.get(h)) for h in self.headers] for r in self.rows]


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return " ".join(map(str, value))
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.2f}"
    return value


def share(part: int, whole: int) -> float:
    """A percentage with one decimal."""
    return round(100.0 * part / whole, 1) if whole else 0.0
