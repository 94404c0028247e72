"""Scores, wanted tags and segments at an instant, read off a contact's ledger.

A score at ``t`` is the sum of the entries counting at ``t`` awarded at or after the latest
reset at or before ``t``, clamped to ``[floor, cap]``. Thresholds are read off the score's own
timeline, so the answer does not depend on when or how often scoring ran.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from acsync.core.ledger import AWARD, RESET, Entry
from acsync.core.rules import Ruleset, ScoreDef, Threshold


def round_score(x: float) -> int:
    """Whole numbers, half away from zero (2.5 → 3, −2.5 → −3)."""
    return int(x + 0.5) if x >= 0 else -int(0.5 - x)


def clamp(x: float, sdef: ScoreDef) -> float:
    if sdef.floor is not None and x < sdef.floor:
        x = sdef.floor
    if sdef.cap is not None and x > sdef.cap:
        x = sdef.cap
    return x


def raw_score(entries: Sequence[Entry], t: datetime) -> float:
    """The unclamped sum at ``t`` (entries of one score). A hot path: plain loops."""
    reset = None
    for e in entries:
        if e.kind == RESET and e.awarded_at <= t and (reset is None or e.awarded_at > reset):
            reset = e.awarded_at
    total = 0.0
    for e in entries:
        awarded, expires = e.awarded_at, e.expires_at
        if awarded <= t and (expires is None or t < expires) and (reset is None or awarded >= reset):
            total += _decayed(e, t) if e.half_life else e.points
    return total


def contributions(entries: Sequence[Entry], t: datetime) -> list[tuple[bool, float]]:
    """For each entry: does it count at ``t``, and what is it worth (resets applied per score)."""
    resets: dict[str, datetime] = {}
    for e in entries:
        if (
            e.kind == RESET
            and e.awarded_at <= t
            and (e.score not in resets or e.awarded_at > resets[e.score])
        ):
            resets[e.score] = e.awarded_at
    out = []
    for e in entries:
        reset = resets.get(e.score)
        counts = e.counts(t) and (reset is None or e.awarded_at >= reset)
        out.append((counts, e.value(t) if counts else 0.0))
    return out


def _left_raw(entries: Sequence[Entry], t: datetime) -> float:
    """The sum just before ``t``: what had counted up to, but not including, ``t``."""
    reset = max((e.awarded_at for e in entries if e.kind == RESET and e.awarded_at < t), default=None)
    total = 0.0
    for e in entries:
        counted = e.awarded_at < t and (e.expires_at is None or t <= e.expires_at)
        if counted and (reset is None or e.awarded_at >= reset):
            total += _decayed(e, t) if e.half_life else e.points
    return total


def _decayed(e: Entry, t: datetime) -> float:
    assert e.half_life
    return e.points * math.exp2(-(t - e.awarded_at).total_seconds() / e.half_life)


def timeline(entries: Sequence[Entry], sdef: ScoreDef, until: datetime) -> list[tuple[datetime, float]]:
    """Samples of the clamped score up to ``until``, in time order.

    Without decay the score is a step function and the samples are exactly its steps (the value
    from that instant on). With decay, each breakpoint is sampled on both sides and ``until``
    is added: crossings between breakpoints are caught when the decaying entries share a sign.
    """
    if any(e.half_life for e in entries):
        return _sampled(entries, sdef, until)
    changes: list[tuple[datetime, int, int]] = []  # (instant, order, index)
    for i, e in enumerate(entries):
        if e.awarded_at > until:
            continue
        if e.kind == RESET:
            changes.append((e.awarded_at, 1, i))
        elif e.points:
            changes.append((e.awarded_at, 2, i))
            if e.expires_at is not None and e.expires_at <= until:
                changes.append((e.expires_at, 0, i))
    changes.sort()
    out: list[tuple[datetime, float]] = []
    active: dict[int, float] = {}
    total = 0.0
    for k, (t, order, i) in enumerate(changes):
        if order == 0:
            total -= active.pop(i, 0.0)
        elif order == 1:
            active.clear()
            total = 0.0
        else:
            active[i] = entries[i].points
            total += entries[i].points
        if k + 1 == len(changes) or changes[k + 1][0] != t:
            out.append((t, clamp(total, sdef)))
    return out


def _sampled(entries: Sequence[Entry], sdef: ScoreDef, until: datetime) -> list[tuple[datetime, float]]:
    points = sorted(
        {e.awarded_at for e in entries if e.awarded_at <= until}
        | {e.expires_at for e in entries if e.expires_at is not None and e.expires_at <= until}
    )
    out: list[tuple[datetime, float]] = []
    for t in points:
        out.append((t, clamp(_left_raw(entries, t), sdef)))
        out.append((t, clamp(raw_score(entries, t), sdef)))
    out.append((until, clamp(raw_score(entries, until), sdef)))
    return out


def threshold_since(samples: Iterable[tuple[datetime, float]], th: Threshold) -> datetime | None:
    """When the threshold's tag became wanted, if it is wanted at the end of ``samples``.

    Compares the rounded score, the number users see: on at ``>= at_least``, off again only
    below ``release_below`` (hysteresis), re-armed after that.
    """
    since: datetime | None = None
    for t, value in samples:
        r = round_score(value)
        if since is None and r >= th.at_least:
            since = t
        elif since is not None and r < th.release_below:
            since = None
    return since


@dataclass
class WantedTag:
    since: datetime
    reasons: list[str] = field(default_factory=list)


@dataclass
class ContactScore:
    """A contact's state at one instant."""

    values: dict[str, float]  # clamped, unrounded
    rounded: dict[str, int]
    segments: dict[str, str | None]
    tags: dict[str, WantedTag]
    next_change: datetime | None  # the next instant anything here can change by itself


def evaluate(entries: Sequence[Entry], ruleset: Ruleset, t: datetime) -> ContactScore:
    by_score: dict[str, Sequence[Entry]]
    if len(ruleset.scores) == 1:
        by_score = {ruleset.scores[0].name: entries}
    else:
        by_score = {s.name: [e for e in entries if e.score == s.name] for s in ruleset.scores}
    values: dict[str, float] = {}
    samples: dict[str, list[tuple[datetime, float]]] = {}
    for sdef in ruleset.scores:
        mine = by_score[sdef.name]
        values[sdef.name] = clamp(raw_score(mine, t), sdef)
        lowest = min((th.at_least for th in ruleset.thresholds if th.score == sdef.name), default=None)
        if lowest is not None and _ceiling(mine, sdef, t) >= lowest - 0.5:
            samples[sdef.name] = timeline(mine, sdef, t)
    rounded = {name: round_score(v) for name, v in values.items()}
    tags: dict[str, WantedTag] = {}
    for e in entries:
        if e.tag and e.kind != AWARD and e.awarded_at <= t and (e.ends_at is None or t < e.ends_at):
            _want(tags, e.tag, e.awarded_at, e.rule)
    for th in ruleset.thresholds:
        since = threshold_since(samples.get(th.score, ()), th)
        if since is not None:
            _want(tags, th.tag, since, th.name)
    return ContactScore(
        values,
        rounded,
        {name: ruleset.segment_of(name, r) for name, r in rounded.items()},
        tags,
        next_change(entries, t),
    )


def steps(entries: Sequence[Entry], ruleset: Ruleset) -> list[tuple[str, datetime, int]]:
    """Each score's rounded value over all time as ``(score, from, value)`` steps, one where the
    value changes; before the first step a score is ``round(clamp(0))``.

    The ledger holds every known award with its expiry and every inactivity episode, including
    those still to come, so this is the score's whole history and its known future: the value at
    any instant is the last step at or before it. Decaying awards are sampled at awards and
    expiries, so between those a decayed score reads a little high.
    """
    out: list[tuple[str, datetime, int]] = []
    for sdef in ruleset.scores:
        mine = entries if len(ruleset.scores) == 1 else [e for e in entries if e.score == sdef.name]
        if not mine:
            continue
        start = current = round_score(clamp(0.0, sdef))
        mark = len(out)
        for t, value in timeline(mine, sdef, _END):
            r = round_score(value)
            if len(out) > mark and out[-1][1] == t:  # a decayed score's two sides of one instant
                out.pop()
                current = out[-1][2] if len(out) > mark else start
            if r != current:
                out.append((sdef.name, t, r))
                current = r
    return out


_END = datetime(9999, 12, 31, tzinfo=UTC)  # after every instant a ledger holds


def _ceiling(entries: Sequence[Entry], sdef: ScoreDef, t: datetime) -> float:
    """No score up to ``t`` was ever above this: a cheap test that a threshold was never reached."""
    return clamp(sum(e.points for e in entries if e.points > 0 and e.awarded_at <= t), sdef)


def _want(tags: dict[str, WantedTag], tag: str, since: datetime, reason: str) -> None:
    w = tags.get(tag)
    if w is None:
        tags[tag] = WantedTag(since, [reason])
    else:
        w.since = min(w.since, since)
        w.reasons.append(reason)


def next_change(entries: Iterable[Entry], t: datetime) -> datetime | None:
    """The next instant after ``t`` at which a score or tag can change with no new event.

    A decaying entry that counts changes continuously: the answer is then ``t`` itself
    (due at every scoring run).
    """
    best: datetime | None = None
    for e in entries:
        if e.half_life and e.counts(t):
            return t
        x = e.awarded_at
        if x > t and (best is None or x < best):
            best = x
        x = e.expires_at  # type: ignore[assignment]
        if x is not None and x > t and (best is None or x < best):
            best = x
        x = e.ends_at  # type: ignore[assignment]
        if x is not None and x > t and (best is None or x < best):
            best = x
    return best
