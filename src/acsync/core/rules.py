"""The ruleset: plain data built from the config, and event matching.

A rule matches an event when the event's type is in ``on`` and every filter holds: strings are
shell-style globs (``*``, ``?``, ``[…]``), case-insensitive; ``min_value`` compares ``value``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from acsync.core.durations import Duration
from acsync.core.event import Event


@dataclass(frozen=True)
class Match:
    """Filters on an event's attributes. Empty matches everything."""

    globs: Mapping[str, str] = field(default_factory=dict)
    min_value: float | None = None
    _compiled: tuple[tuple[str, re.Pattern[str]], ...] = field(init=False, repr=False)
    always: bool = field(init=False, repr=False)  # no filters: every event matches

    def __post_init__(self) -> None:
        compiled = tuple(
            (attr, re.compile(fnmatch.translate(glob), re.IGNORECASE))
            for attr, glob in sorted(self.globs.items())
        )
        object.__setattr__(self, "_compiled", compiled)
        object.__setattr__(self, "always", not compiled and self.min_value is None)

    def accepts(self, attr: str, value: str) -> bool:
        """Does ``value`` pass this match's glob for ``attr`` (True when it has none)?"""
        return all(pattern.match(value) is not None for a, pattern in self._compiled if a == attr)

    def __call__(self, e: Event) -> bool:
        for attr, pattern in self._compiled:
            v = getattr(e, attr)
            if v is None and attr == "bot":
                v = "unknown"  # a click AC said nothing about (a webhook's)
            if v is None or pattern.match(v) is None:
                return False
        if self.min_value is not None:
            return e.value is not None and e.value >= self.min_value
        return True


@dataclass(frozen=True)
class Rule:
    """Points for each matching event, within the limits."""

    name: str
    score: str
    on: frozenset[str]
    points: float
    match: Match = field(default_factory=Match)
    once: bool = False
    once_per: str | None = None
    max_count: int | None = None
    max_within: Duration | None = None
    expires_after: Duration | None = None
    half_life: timedelta | None = None
    limited: bool = field(init=False, repr=False, compare=False)  # once, once_per or max
    half_life_s: float | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "limited", bool(self.once or self.once_per or self.max_count))
        object.__setattr__(self, "half_life_s", self.half_life.total_seconds() if self.half_life else None)


@dataclass(frozen=True)
class Inactivity:
    """An episode starts ``for_`` after the last qualifying activity (or first known) and
    ends at the next one; it applies ``points`` or a reset, and wants ``tag`` while open."""

    name: str
    score: str
    without: frozenset[str]
    for_: Duration
    match: Match = field(default_factory=Match)
    tag: str | None = None
    points: float = 0.0
    penalty_lasts: Duration | None = None
    reset: bool = False


@dataclass(frozen=True)
class Threshold:
    """``tag`` is wanted from when the score reaches ``at_least`` until it drops below
    ``release_below``."""

    name: str
    score: str
    at_least: float
    release_below: float
    tag: str


@dataclass(frozen=True)
class ScoreDef:
    name: str
    field: str | None = None
    floor: float | None = None
    cap: float | None = None
    segment_field: str | None = None


@dataclass(frozen=True)
class Segment:
    name: str
    min: float
    score: str


@dataclass(frozen=True)
class ContentType:
    name: str
    on: frozenset[str]
    match: Match = field(default_factory=Match)

    def __call__(self, e: Event) -> bool:
        return (not self.on or e.type in self.on) and self.match(e)


@dataclass(frozen=True)
class Fingerprints:
    """Hashes of what ledgers, and scores, depend on: a change means recomputing them."""

    ledger: str
    scores: str


@dataclass(frozen=True)
class Ruleset:
    scores: tuple[ScoreDef, ...]
    rules: tuple[Rule, ...] = ()
    inactivity: tuple[Inactivity, ...] = ()
    thresholds: tuple[Threshold, ...] = ()
    segments: tuple[Segment, ...] = ()
    content: tuple[ContentType, ...] = ()
    rules_by_type: Mapping[str, tuple[Rule, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        by_type: dict[str, list[Rule]] = {}
        for rule in self.rules:
            for t in sorted(rule.on):
                by_type.setdefault(t, []).append(rule)
        object.__setattr__(self, "rules_by_type", {t: tuple(r) for t, r in by_type.items()})

    def segment_of(self, score: str, value: int) -> str | None:
        """The band with the highest ``min`` at or below ``value``."""
        best: Segment | None = None
        for seg in self.segments:
            if seg.score == score and seg.min <= value and (best is None or seg.min > best.min):
                best = seg
        return None if best is None else best.name

    @property
    def tags(self) -> frozenset[str]:
        """Every tag this ruleset may want: acsync owns exactly these."""
        names = {r.tag for r in self.inactivity if r.tag} | {t.tag for t in self.thresholds}
        return frozenset(names)
