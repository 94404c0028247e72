"""Scores, wanted tags and segments at an instant, read off a contact's ledger.

A score at ``t`` is the sum of the entries counting at ``t`` awarded at or after the latest
reset at or before ``t``, clamped to ``[floor, cap]``. Thresholds are read off the score's own
timeline, so the answer does not depend on when or how often scoring ran.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from acsync.core.ledger import AWARD, DYNAMIC_RESET, RESET, Entry, wipes
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


def latest_resets(entries: Sequence[Entry], t: datetime) -> tuple[datetime | None, Entry | None]:
    """The latest full reset at or before ``t`` (its instant) and the latest dynamic-only one."""
    full: datetime | None = None
    dynamic: Entry | None = None
    for e in entries:
        if e.kind == RESET and e.awarded_at <= t:
            if e.ref == DYNAMIC_RESET:
                if dynamic is None or e.awarded_at > dynamic.awarded_at:
                    dynamic = e
            elif full is None or e.awarded_at > full:
                full = e.awarded_at
    return full, dynamic


def raw_score(entries: Sequence[Entry], t: datetime) -> float:
    """The unclamped sum at ``t`` (entries of one score). A hot path: plain loops."""
    reset, dynamic = latest_resets(entries, t)
    total = 0.0
    for e in entries:
        awarded, expires = e.awarded_at, e.expires_at
        if awarded <= t and (expires is None or t < expires) and (reset is None or awarded >= reset):
            if dynamic is not None and wipes(dynamic, e):
                continue
            total += _decayed(e, t) if e.half_life else e.points
    return total


def contributions(entries: Sequence[Entry], t: datetime) -> list[tuple[bool, float]]:
    """For each entry: does it count at ``t``, and what is it worth (resets applied per score)."""
    per_score: dict[str, list[Entry]] = {}
    for e in entries:
        per_score.setdefault(e.score, []).append(e)
    resets = {score: latest_resets(mine, t) for score, mine in per_score.items()}
    out = []
    for e in entries:
        reset, dynamic = resets[e.score]
        counts = (
            e.counts(t)
            and (reset is None or e.awarded_at >= reset)
            and (dynamic is None or not wipes(dynamic, e))
        )
        out.append((counts, e.value(t) if counts else 0.0))
    return out


def _decayed(e: Entry, t: datetime) -> float:
    assert e.half_life
    return e.points * math.exp2(-(t - e.awarded_at).total_seconds() / e.half_life)


def timeline(entries: Sequence[Entry], sdef: ScoreDef, until: datetime) -> list[tuple[datetime, float]]:
    """Samples of the clamped score up to ``until``, in time order: each value holds from its
    instant until the next sample.

    Without decay the score is a step function and the samples are exactly its steps. With
    decay, the samples are the breakpoints (awards, expiries, resets) and, between them, every
    whole second at which the *rounded* score changes (``decay_changes``): so the rounded value
    read off the samples is the evaluated one at every stored (whole-second) instant.
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
            reset = entries[i]
            for j in [j for j in active if wipes(reset, entries[j])]:  # all, or the dynamic ones
                total -= active.pop(j)
            if not active:
                total = 0.0
        else:
            active[i] = entries[i].points
            total += entries[i].points
        if k + 1 == len(changes) or changes[k + 1][0] != t:
            out.append((t, clamp(total, sdef)))
    return out


def _breakpoints(entries: Sequence[Entry], after: datetime | None, until: datetime) -> list[datetime]:
    """Awards, resets and expiries in ``(after, until]``: the instants the counting set changes."""
    points = {e.awarded_at for e in entries} | {e.expires_at for e in entries if e.expires_at is not None}
    return sorted(t for t in points if t <= until and (after is None or t > after))


def _sampled(entries: Sequence[Entry], sdef: ScoreDef, until: datetime) -> list[tuple[datetime, float]]:
    out: list[tuple[datetime, float]] = []
    points = _breakpoints(entries, None, until)
    for k, t in enumerate(points):
        const, groups = _stretch(entries, t)
        # raw_score at t: in one pass while nothing decays; else summed as evaluate sums it, so
        # that a value at a rounding tie rounds the same way in both
        at_t = raw_score(entries, t) if any(groups.values()) else const
        out.append((t, clamp(at_t, sdef)))
        end = points[k + 1] if k + 1 < len(points) else None
        out.extend(_changes(entries, sdef, t, end, until, const, groups))
    if not out or out[-1][0] < until:
        out.append((until, clamp(raw_score(entries, until), sdef)))
    return out


MAX_CROSSINGS = 2000  # per stretch between breakpoints; beyond it, levels are thinned evenly
_NEAR = 1e-11  # relative: this close to a half-integer, how a value was summed decides its rounding
_SECOND = timedelta(seconds=1)


def decay_changes(
    entries: Sequence[Entry], sdef: ScoreDef, t0: datetime, t1: datetime | None, until: datetime
) -> list[tuple[datetime, float]]:
    """The whole seconds in ``(t0, t1)`` (``t1`` None: open) and ``≤ until`` at which the
    rounded clamped score changes by decay alone, with the clamped value there.

    No entry starts, expires or is reset inside the stretch, so the raw score is
    ``C + Σ A_h · 2^(−(t − t0)/h)`` over the half-lives ``h``. With one half-life it is
    monotone and each crossing of a half-integer is solved in closed form; with several, the
    stretch is bisected with each term's bounds (every term is monotone) down to one second.
    Each instant is the first whole second at which the evaluated rounded value differs.
    """
    return _changes(entries, sdef, t0, t1, until, *_stretch(entries, t0))


def _counting(entries: Sequence[Entry], t0: datetime) -> list[Entry]:
    """The entries that count from ``t0`` to the next breakpoint, in the ledger's order."""
    latest, dynamic = latest_resets(entries, t0)
    return [
        e
        for e in entries
        if e.counts(t0)
        and (latest is None or e.awarded_at >= latest)
        and (dynamic is None or not wipes(dynamic, e))
    ]


def _stretch(entries: Sequence[Entry], t0: datetime) -> tuple[float, dict[float, float]]:
    """At ``t0``: the constant part of the raw score, and its decaying part per half-life."""
    const = 0.0
    groups: dict[float, float] = {}
    for e in _counting(entries, t0):
        if e.half_life:
            groups[e.half_life] = groups.get(e.half_life, 0.0) + _decayed(e, t0)
        else:
            const += e.points
    return const, groups


def _changes(
    entries: Sequence[Entry],
    sdef: ScoreDef,
    t0: datetime,
    t1: datetime | None,
    until: datetime,
    const: float,
    groups: dict[float, float],
) -> list[tuple[datetime, float]]:
    groups = {h: a for h, a in groups.items() if a}
    if not groups:
        return []
    total = sum(abs(a) for a in groups.values())
    horizon = max(groups) * math.log2(max(total, 1e-3) / 1e-3)  # decay below 0.001 points
    end_s = horizon if t1 is None else min(horizon, (t1 - t0).total_seconds())
    end_s = min(end_s, (until - t0).total_seconds() + 1)
    if end_s <= 1:
        return []

    counting: list[Entry] = []  # the same all through the stretch; found when first needed

    def exact(x: float) -> float:
        """The clamped score ``x`` seconds after ``t0`` summed as ``raw_score`` sums it (the
        same entries in the same order, so the same float): the fast formulas find where it
        changes, this decides what it is at a rounding tie."""
        if not counting:
            counting.extend(_counting(entries, t0))
        t = t0 + timedelta(seconds=x)
        total = 0.0
        for e in counting:
            total += _decayed(e, t) if e.half_life else e.points
        return clamp(total, sdef)

    if len(groups) == 1:
        ((h, a),) = groups.items()
        return _closed_form(sdef, t0, const, h, a, end_s, exact)
    return _bisected(sdef, t0, const, groups, end_s, exact)


def _at_tie(v: float, near: float) -> bool:
    """Is ``v`` so close to a half-integer that how it was summed decides how it rounds?"""
    return abs(abs(v) % 1 - 0.5) < near


def _closed_form(
    sdef: ScoreDef,
    t0: datetime,
    const: float,
    h: float,
    a: float,
    end_s: float,
    exact: Callable[[float], float],
) -> list[tuple[datetime, float]]:
    near = _NEAR * (abs(const) + abs(a) + 1)

    def g(x: float) -> tuple[int, float]:  # O(1); the ledger sum only at a rounding tie
        v = clamp(const + a * math.exp2(-x / h), sdef)
        if _at_tie(v, near):
            v = exact(x)
        return round_score(v), v

    lo, hi = sorted((const, const + a))
    if sdef.floor is not None:
        lo = max(lo, sdef.floor - 1)
    if sdef.cap is not None:
        hi = min(hi, sdef.cap + 1)
    first, last = math.floor(lo - 0.5) + 1, math.ceil(hi - 0.5) - 1  # levels m + 0.5 in (lo, hi)
    if last < first:
        return []
    levels = [m + 0.5 for m in range(first, last + 1)]
    if a > 0:
        levels.reverse()  # decreasing: the highest level is crossed first
    stride = max(1, math.ceil(len(levels) / MAX_CROSSINGS))
    out: list[tuple[datetime, float]] = []
    current = g(0.0)[0]
    done = 0
    for level in levels[stride - 1 :: stride]:
        x = h * math.log2(a / (level - const))  # seconds after t0 at which the level is reached
        s = max(math.ceil(x - 1e-6), done + 1)
        if s >= end_s:
            break
        r, v = g(s)
        for _ in range(3):  # floating point: the first whole second that reads differently
            if r != current or s + 1 >= end_s:
                break
            s += 1
            r, v = g(s)
        while s - 1 > done and g(s - 1)[0] != current:
            s -= 1
            r, v = g(s)
        if r != current:
            out.append((t0 + timedelta(seconds=s), v))
            current, done = r, s
    return out


def _bisected(
    sdef: ScoreDef,
    t0: datetime,
    const: float,
    groups: dict[float, float],
    end_s: float,
    exact: Callable[[float], float],
) -> list[tuple[datetime, float]]:
    slack = _NEAR * (abs(const) + sum(abs(a) for a in groups.values()) + 1)  # floating point

    def value(x: float) -> float:  # the stretch's formula; the ledger sum only at a rounding tie
        v = clamp(const + sum(a * math.exp2(-x / h) for h, a in groups.items()), sdef)
        return exact(x) if _at_tie(v, slack) else v

    def g(x: float) -> int:
        return round_score(value(x))

    out: list[tuple[datetime, float]] = []
    current = g(0.0)
    stack = [(0.0, float(math.floor(end_s)))]
    budget = 64 * MAX_CROSSINGS
    while stack and budget > 0:
        budget -= 1
        u, v = stack.pop()
        terms = [(a * math.exp2(-u / h), a * math.exp2(-v / h)) for h, a in groups.items()]
        low = const + sum(min(p) for p in terms) - slack
        high = const + sum(max(p) for p in terms) + slack
        if round_score(clamp(low, sdef)) == round_score(clamp(high, sdef)) == current:
            continue
        if v - u <= 1:
            at_v = value(v)
            if round_score(at_v) != current:
                current = round_score(at_v)
                out.append((t0 + timedelta(seconds=v), at_v))
            continue
        mid = float(math.floor((u + v) / 2))
        stack.append((mid, v))  # the right half after the left one: in time order
        stack.append((u, mid))
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
        next_change(entries, t, ruleset),
    )


def steps(entries: Sequence[Entry], ruleset: Ruleset) -> list[tuple[str, datetime, int]]:
    """Each score's rounded value over all time as ``(score, from, value)`` steps, one where the
    value changes; before the first step a score is ``round(clamp(0))``.

    The ledger holds every known award with its expiry and every inactivity episode, including
    those still to come, so this is the score's whole history and its known future: the value at
    any whole-second instant is the last step at or before it, decaying awards included (a step
    at every second the rounded value changes, ``decay_changes``).
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


def next_change(entries: Iterable[Entry], t: datetime, ruleset: Ruleset | None = None) -> datetime | None:
    """The next instant after ``t`` at which a score or tag can change with no new event.

    A decaying entry changes its score continuously, but what is stored and written (the rounded
    score, its segment and thresholds) changes only when the whole number does: with
    ``ruleset``, that instant (``decay_changes``); without, ``t`` itself (due at every run).
    """
    entries = list(entries)
    best: datetime | None = None
    decaying = False
    for e in entries:
        if e.half_life and e.counts(t):
            decaying = True
        x = e.awarded_at
        if x > t and (best is None or x < best):
            best = x
        x = e.expires_at  # type: ignore[assignment]
        if x is not None and x > t and (best is None or x < best):
            best = x
        x = e.ends_at  # type: ignore[assignment]
        if x is not None and x > t and (best is None or x < best):
            best = x
    if not decaying:
        return best
    if ruleset is None:
        return t
    for sdef in ruleset.scores:
        mine = entries if len(ruleset.scores) == 1 else [e for e in entries if e.score == sdef.name]
        if not any(e.half_life and e.counts(t) for e in mine):
            continue
        until = best if best is not None else _END
        changes = decay_changes(mine, sdef, t, best, until)
        if changes and (best is None or changes[0][0] < best):
            best = changes[0][0]
    return best
