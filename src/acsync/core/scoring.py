"""Scores, wanted tags and segments at an instant, read off a contact's ledger.

A score at ``t`` is the sum of the entries counting at ``t`` awarded at or after the latest
reset at or before ``t``, clamped to ``[floor, cap]``. Thresholds are read off the score's own
timeline, so the answer does not depend on when or how often scoring ran.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from acsync.core.ledger import AWARD, DYNAMIC_RESET, RESET, Entry, wipes
from acsync.core.rules import Ruleset, ScoreDef, Threshold

EXACT_UP_TO = 10_000  # steps are exact while the score is within ± this
PER_MILLE = 1000  # beyond: a new step once the score is more than |step| / 1000 from the step
_LN2 = math.log(2)
_NEAR = 1e-11  # relative: this close to a half-integer, how a value was summed decides its rounding


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


def timeline(
    entries: Sequence[Entry],
    sdef: ScoreDef,
    until: datetime,
    exact_to: float = EXACT_UP_TO,
    bounds: Sequence[int] = (),
) -> list[tuple[datetime, float]]:
    """Samples of the clamped score up to ``until``, in time order: each value holds from its
    instant until the next sample.

    Without decay the score is a step function and the samples are exactly its steps. With
    decay, the samples are the breakpoints (awards, expiries, resets) and, between them, every
    whole second at which the *rounded* score leaves the ``band`` of the latest sample
    (``decay_changes``): so within ± ``exact_to`` the rounded value read off the samples is the
    evaluated one at every whole second after a breakpoint, and beyond it within 1/``PER_MILLE``.
    """
    if any(e.half_life for e in entries):
        return _sampled(entries, sdef, until, exact_to, bounds)
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


def _sampled(
    entries: Sequence[Entry], sdef: ScoreDef, until: datetime, exact_to: float, bounds: Sequence[int]
) -> list[tuple[datetime, float]]:
    out: list[tuple[datetime, float]] = []
    points = _breakpoints(entries, None, until)
    for k, t in enumerate(points):
        const, groups = _stretch(entries, t)
        # raw_score at t: in one pass while nothing decays; else summed as evaluate sums it, so
        # that a value at a rounding tie rounds the same way in both
        at_t = raw_score(entries, t) if any(groups.values()) else const
        out.append((t, clamp(at_t, sdef)))
        end = points[k + 1] if k + 1 < len(points) else None
        out.extend(_changes(entries, sdef, t, end, until, const, groups, exact_to, bounds=bounds))
    if not out or out[-1][0] < until:
        out.append((until, clamp(raw_score(entries, until), sdef)))
    return out


def bounds_of(ruleset: Ruleset, sdef: ScoreDef) -> tuple[int, ...]:
    """The whole numbers at which the score's tags or segment change (a score of at least ``c``
    is past the bound): every threshold's ``at_least`` and ``release_below`` and every segment's
    ``min``. A step beyond ``EXACT_UP_TO`` never stands for scores on both sides of one (``band``),
    so the tags and segments read off the steps are exact at every size."""
    bounds = [
        b for th in ruleset.thresholds if th.score == sdef.name for b in (th.at_least, th.release_below)
    ]
    bounds += [seg.min for seg in ruleset.segments if seg.score == sdef.name]
    return tuple(sorted({math.ceil(b) for b in bounds if math.isfinite(b)}))


def band(step: int, exact_to: float, bounds: Sequence[int] = ()) -> tuple[int, int]:
    """The rounded scores a step of value ``step`` stands for, lowest and highest: itself while
    ``|step| <= exact_to``; beyond, those at most ``|step| // PER_MILLE`` from it that are beyond
    ``exact_to`` too (so a score within ± ``exact_to`` always has a step of its own value) and on
    the same side of every one of ``bounds`` as ``step``."""
    if abs(step) <= exact_to:
        return step, step
    slack = abs(step) // PER_MILLE
    edge = math.floor(exact_to) + 1  # the first whole number beyond exact_to
    lo, hi = (max(step - slack, edge), step + slack) if step > 0 else (step - slack, min(step + slack, -edge))
    for c in bounds:
        if step >= c:
            lo = max(lo, c)
        else:
            hi = min(hi, c - 1)
    return lo, hi


def decay_changes(
    entries: Sequence[Entry],
    sdef: ScoreDef,
    t0: datetime,
    t1: datetime | None,
    until: datetime,
    exact_to: float = EXACT_UP_TO,
    first: bool = False,
    bounds: Sequence[int] = (),
) -> list[tuple[datetime, float]]:
    """The whole seconds in ``(t0, t1)`` (``t1`` None: open) and ``≤ until`` at which the
    rounded clamped score leaves the ``band`` of the latest one by decay alone (while it is
    within ± ``exact_to``: every second its rounded value changes), with the clamped value there;
    with ``first``, only the first of them.

    No entry starts, expires or is reset inside the stretch, so the raw score is
    ``C + Σ A_h · 2^(−(t − t0)/h)`` over the half-lives ``h``: with one, monotone; with ``k``,
    it turns at most ``k − 1`` times (its derivative is a sum of ``k`` exponentials), at
    instants found by bisection. On each monotone piece the next step is the first second past
    the band's edge: solved in closed form with one half-life (two evaluations to confirm it),
    else by doubling and bisection over the seconds. The cost is a few evaluations per step, or
    O(log seconds) of them, and the steps of a stretch are bounded: at most one per whole
    number within ± ``exact_to``, and beyond it about ``PER_MILLE · ln(peak / exact_to)``.
    """
    return _changes(entries, sdef, t0, t1, until, *_stretch(entries, t0), exact_to, first, bounds)


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
    exact_to: float = EXACT_UP_TO,
    first: bool = False,
    bounds: Sequence[int] = (),
) -> list[tuple[datetime, float]]:
    terms = sorted((h, a) for h, a in groups.items() if a)
    if not terms:
        return []
    total = sum(abs(a) for _, a in terms)
    horizon = terms[-1][0] * math.log2(max(total, 1e-3) / 1e-3)  # decay below 0.001 points
    end_s = horizon if t1 is None else min(horizon, (t1 - t0).total_seconds())
    end_s = min(end_s, (until - t0).total_seconds() + 1)
    last = math.ceil(end_s) - 1  # the last whole second before end_s
    if last < 1:
        return []

    counting: list[Entry] = []  # the same all through the stretch; found when first needed

    def exact(x: float) -> float:
        """The clamped score ``x`` seconds after ``t0`` summed as ``raw_score`` sums it (the
        same entries in the same order, so the same float): the fast formula finds where it
        changes, this decides what it is at a rounding tie."""
        if not counting:
            counting.extend(_counting(entries, t0))
        t = t0 + timedelta(seconds=x)
        total = 0.0
        for e in counting:
            total += _decayed(e, t) if e.half_life else e.points
        return clamp(total, sdef)

    slack = _NEAR * (abs(const) + total + 1)  # floating point

    def value(x: float) -> float:  # the stretch's formula; the ledger sum only at a rounding tie
        v = const
        for h, a in terms:
            v += a * math.exp2(-x / h)
        v = clamp(v, sdef)
        return exact(x) if _at_tie(v, slack) else v

    out: list[tuple[datetime, float]] = []
    current = round_score(value(0.0))
    lo, hi = band(current, exact_to, bounds)
    done = 0  # the second of the latest step (0: t0), its value within [lo, hi]
    pieces = [(1, last, terms[0][1] < 0)] if len(terms) == 1 else _monotone(terms, last)
    for n, (p, q, rising) in enumerate(pieces):
        a = max(p - 1, done)  # not past the band: the latest step, or where the score turned
        if a >= q:
            continue
        found: tuple[int, float] | None = None
        if n:  # just after a turn the score may leave the band on either side
            v = value(a + 1)
            found = None if lo <= round_score(v) <= hi else (a + 1, v)
        while True:
            if found is None:
                edge = hi if rising else lo
                guess = None
                if len(terms) == 1:  # one half-life: when the level past the band is reached
                    ((h, amount),) = terms
                    gap = edge + (0.5 if rising else -0.5) - const
                    ratio = amount / gap if gap else 0.0
                    if ratio <= 0:  # beyond where it decays to: never reached
                        break
                    guess = math.ceil(h * math.log2(ratio) - 1e-6)
                    if guess > q:  # solved: not in this stretch
                        break
                    if guess > a:  # the hot path: confirm it (past there, not a second before)
                        v = value(guess)
                        r = round_score(v)
                        if r > edge if rising else r < edge:
                            r = current if guess == a + 1 else round_score(value(guess - 1))
                            if not (r > edge if rising else r < edge):
                                found = (guess, v)
                else:  # several: where the tangent at ``a`` reaches that level (a hint)
                    raw, slope = const, 0.0
                    for h, amount in terms:
                        y = amount * math.exp2(-a / h)
                        raw, slope = raw + y, slope - y * _LN2 / h
                    if slope and (slope > 0) == rising:
                        x = a + (edge + (0.5 if rising else -0.5) - raw) / slope
                        guess = math.ceil(x - 1e-6) if a < x < q + 1 else None
                if found is None:
                    found = _first(value, rising, edge, a, q, guess)
                if found is None:
                    break
            done, v = found
            current = round_score(v)
            lo, hi = band(current, exact_to, bounds)
            out.append((t0 + timedelta(seconds=done), v))
            if first:
                return out
            a, found = done, None
    return out


def _at_tie(v: float, near: float) -> bool:
    """Is ``v`` so close to a half-integer that how it was summed decides how it rounds?"""
    return abs(abs(v) % 1 - 0.5) < near


def _first(
    value: Callable[[float], float], rising: bool, edge: int, a: int, b: int, guess: int | None
) -> tuple[int, float] | None:
    """The first whole second in ``(a, b]`` at which the rounded ``value`` is past ``edge``
    (above it if ``rising``, else below), with the value there, or None: ``a`` is not past it,
    and the score is monotone, so every second after the first one past is past too. Two
    evaluations when ``guess`` is right (one when it is after ``b`` and so is the answer), else
    doubling from ``a`` and then bisection: O(log(b − a)) of them."""

    def past(x: int) -> tuple[bool, float]:
        v = value(x)
        r = round_score(v)
        return (r > edge if rising else r < edge), v

    known: tuple[int, float] | None = None  # a second past the band, and the value there
    if guess is not None and a < guess <= b:
        is_past, v = past(guess)
        if not is_past:
            a = guess
        elif guess == a + 1:
            return guess, v
        else:
            known = (guess, v)
            is_past, v = past(guess - 1)
            if not is_past:
                return known
            known = (guess - 1, v)
    elif guess is not None and guess > b:
        is_past, v = past(b)
        if not is_past:
            return None
        known = (b, v)
    stride = 1
    while known is None:  # a + 1, a + 3, a + 7, … up to b
        x = min(a + stride, b)
        is_past, v = past(x)
        if is_past:
            known = (x, v)
        elif x == b:
            return None
        else:
            a, stride = x, stride * 2
    while known[0] - a > 1:  # a is not past, known[0] is
        m = (a + known[0]) // 2
        is_past, v = past(m)
        if is_past:
            known = (m, v)
        else:
            a = m
    return known


def _monotone(terms: Sequence[tuple[float, float]], last: int) -> list[tuple[int, int, bool]]:
    """The whole seconds ``1 … last`` cut where ``Σ a · 2^(−x/h)`` over ``terms`` (``(h, a)``)
    turns, as ``(first, last, rising)``: on each piece the clamped rounded score is monotone."""
    rates = [(-a * math.log(2) / h, math.log(2) / h) for h, a in terms]  # the derivative's terms

    def slope(x: float) -> float:
        return sum(c * math.exp(-k * x) for c, k in rates)

    edges = [0.0, *_zeros(rates, 0.0, float(last)), float(last)]
    out = []
    for u, v in pairwise(edges):
        p, q = math.floor(u) + 1, math.floor(v)  # the whole seconds in (u, v]
        if p <= q:
            out.append((p, q, slope((u + v) / 2) > 0))
    return out


def _zeros(terms: Sequence[tuple[float, float]], lo: float, hi: float) -> list[float]:
    """Where ``Σ c · e^(−k·x)`` over ``terms`` (``(c, k)``, distinct ``k > 0``) changes sign in
    ``(lo, hi)``, in order: at most one fewer than the terms. Scaled by its slowest term the sum
    is ``c₁ + Σ c · e^(−(k − k₁)·x)``, monotone between the zeros of its derivative (a sum of one
    term fewer, found first), so each sign change between them is found by bisection."""
    if len(terms) < 2:
        return []
    (c1, k1), *others = sorted(terms, key=lambda t: t[1])
    rest = [(c, k - k1) for c, k in others]

    def scaled(x: float) -> float:
        return c1 + sum(c * math.exp(-k * x) for c, k in rest)

    edges = [lo, *_zeros([(-c * k, k) for c, k in rest], lo, hi), hi]
    out = []
    for u, v in pairwise(edges):
        fu, fv = scaled(u), scaled(v)
        if fu == 0 or fv == 0 or (fu < 0) == (fv < 0):
            continue
        while v - u > 1e-6 * max(1.0, u):  # far finer than the seconds it cuts
            m = (u + v) / 2
            fm = scaled(m)
            if (fm < 0) == (fu < 0):
                u, fu = m, fm
            else:
                v = m
        out.append((u + v) / 2)
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
            samples[sdef.name] = timeline(mine, sdef, t, EXACT_UP_TO, bounds_of(ruleset, sdef))
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


def tags_over(entries: Sequence[Entry], ruleset: Ruleset, instants: Sequence[datetime]) -> list[set[str]]:
    """The wanted tags at each of ``instants`` (in time order), as ``evaluate`` gives them at
    each: from one timeline per score up to the last instant, not one per instant (so a report
    of a long-decaying contact over many instants is not quadratic)."""
    out: list[set[str]] = [set() for _ in instants]
    if not instants:
        return out
    for e in entries:
        if e.tag and e.kind != AWARD:
            for tags, t in zip(out, instants, strict=True):
                if e.awarded_at <= t and (e.ends_at is None or t < e.ends_at):
                    tags.add(e.tag)
    for sdef in ruleset.scores:
        mine = entries if len(ruleset.scores) == 1 else [e for e in entries if e.score == sdef.name]
        mine_ths = [th for th in ruleset.thresholds if th.score == sdef.name]
        if not mine_ths:
            continue
        samples = timeline(mine, sdef, instants[-1], EXACT_UP_TO, bounds_of(ruleset, sdef))
        on = [False] * len(mine_ths)  # threshold_since's state after the samples so far
        k = 0
        for tags, t in zip(out, instants, strict=True):
            while k < len(samples) and samples[k][0] <= t:
                r = round_score(samples[k][1])
                on = [
                    r >= th.at_least if not o else r >= th.release_below
                    for o, th in zip(on, mine_ths, strict=True)
                ]
                k += 1
            # and, as evaluate's timeline ends, the value at t itself
            r = round_score(clamp(raw_score(mine, t), sdef))
            for o, th in zip(on, mine_ths, strict=True):
                if (r >= th.at_least) if not o else (r >= th.release_below):
                    tags.add(th.tag)
    return out


def steps(entries: Sequence[Entry], ruleset: Ruleset) -> list[tuple[str, datetime, int]]:
    """Each score's rounded value over all time as ``(score, from, value)`` steps, one where the
    value changes; before the first step a score is ``round(clamp(0))``.

    The ledger holds every known award with its expiry and every inactivity episode, including
    those still to come, so this is the score's whole history and its known future: the value at
    any whole-second instant is the last step at or before it, decaying awards included (a step
    at every second the rounded value changes, ``decay_changes``), while either is within
    ± ``EXACT_UP_TO``; beyond it, the step is within ``|step| // PER_MILLE`` of the value and
    on its side of every threshold and segment bound (``band``, ``bounds_of``), so a decay has a
    bounded number of steps however large its points, and tags and segments are exact.
    """
    out: list[tuple[str, datetime, int]] = []
    for sdef in ruleset.scores:
        mine = entries if len(ruleset.scores) == 1 else [e for e in entries if e.score == sdef.name]
        if not mine:
            continue
        start = current = round_score(clamp(0.0, sdef))
        mark = len(out)
        for t, value in timeline(mine, sdef, _END, EXACT_UP_TO, bounds_of(ruleset, sdef)):
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
    ``ruleset``, that instant (``decay_changes``); without, ``t`` itself (due at every run). A
    score with a ``reason_field`` is also due when its points change under a floor or cap (the
    reason says "Blog +42 (fading) · cap 100" while the score stays at 100): its unclamped sum.
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
        watched = replace(sdef, floor=None, cap=None) if sdef.reason_field else sdef
        changes = decay_changes(mine, watched, t, best, until, math.inf, first=True)  # every point
        if changes and (best is None or changes[0][0] < best):
            best = changes[0][0]
    return best
