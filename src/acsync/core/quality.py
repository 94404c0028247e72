"""Does the score predict the outcome? Samples, and the figures computed from them.

A *sample* is one contact at one snapshot instant ``t``: its score just before ``t`` and whether
the outcome (e.g. its first order) happens in ``[t, t + within)``. Only contacts that exist
before ``t`` and have not converted before ``t`` are sampled.

**Nothing leaks from the future.** The score is read off the contact's score steps (each score's
rounded value over all time, from the ledger) at ``t − 1 s`` — instants are whole seconds, so at
``t − 1 s`` exactly the events strictly before ``t`` have happened. A ledger's value at ``u``
depends only on events at or before ``u``: awards look only backwards (``once``, ``once_per``
and ``max`` count earlier awards), their expiry is fixed when awarded, and an inactivity episode
counts at ``u`` iff it started at or before ``u`` with no qualifying activity in between — an
activity after ``u`` only ends it later. (At ``t`` itself this would not hold: an activity at
exactly ``t`` ends an episode at ``t``.) ``tests/test_quality.py`` checks it as a property.

Samples are kept as histograms: ``score → (samples, converted)``, per snapshot and per *block*
of contacts (contacts dealt round-robin into at most ``BLOCKS`` blocks). The bootstrap resamples
blocks, so the repeated samples of one contact stay together and intervals are not too narrow.
Everything here is pure: instants are the stored fixed-width ISO text, whose order is time order.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import mul

Hist = dict[int, list[int]]  # score → [samples, converted]

BLOCKS = 200  # the bootstrap's resampling units (contacts dealt round-robin)
REPS = 200  # bootstrap resamples
MIN_CONVERSIONS = 20  # below this, the figures say too little to judge
Z95 = 1.959963984540054


# --- samples ------------------------------------------------------------------------------------
# A contact's score steps, each as one string: the step's instant (its 20-character stored text)
# followed by the value from then on, e.g. "2026-03-01T09:30:00Z15", sorted. Sorted strings
# bisect against a snapshot's own text: every step strictly before the snapshot sorts below it,
# a step at the snapshot sorts above it (a longer string with the same beginning).
WIDTH = 20


def encode_steps(steps: Iterable[tuple[str, int]]) -> list[str]:
    return sorted(f"{at}{value}" for at, value in steps)


def decode_step(step: str) -> tuple[str, int]:
    return step[:WIDTH], int(step[WIDTH:])


def contact_samples(
    steps: Sequence[str],
    start: int,
    since: str | None,
    converted_at: str | None,
    snapshots: Sequence[str],
    horizons: Sequence[str],
) -> list[tuple[int, int, bool]]:
    """``(snapshot index, score, converted)`` for one contact.

    ``steps``: its encoded steps (above); ``start``: its score before the first; ``since``: when
    it started to exist (None: never); ``converted_at``: its first outcome; ``horizons[i]``: the
    end of snapshot ``i``'s window. The score is the last step strictly before the snapshot.
    A hot path: plain loops.
    """
    out: list[tuple[int, int, bool]] = []
    if since is None:
        return out
    for i, t in enumerate(snapshots):
        if since >= t:
            continue
        if converted_at is not None and converted_at < t:
            break
        k = bisect_left(steps, t)
        value = int(steps[k - 1][WIDTH:]) if k else start
        out.append((i, value, converted_at is not None and converted_at < horizons[i]))
    return out


@dataclass
class Samples:
    """Histograms of samples: per snapshot, per block, and the whole."""

    snapshots: int
    blocks: int = BLOCKS
    cells: dict[tuple[int, int, int], list[int]] = field(default_factory=dict)  # (snap, block, score)
    contacts: int = 0  # contacts that gave at least one sample

    def add(self, ordinal: int, items: Iterable[tuple[int, int, bool]]) -> None:
        block = ordinal % self.blocks
        got = False
        cells = self.cells
        for snap, score, converted in items:
            got = True
            cell = cells.get((snap, block, score))
            if cell is None:
                cells[(snap, block, score)] = [1, int(converted)]
            else:
                cell[0] += 1
                cell[1] += converted
        self.contacts += got

    def hist(self, snapshot: int | None = None) -> Hist:
        out: Hist = {}
        for (snap, _, score), (n, k) in self.cells.items():
            if snapshot is None or snap == snapshot:
                put(out, score, n, k)
        return out

    def by_block(self) -> list[Hist]:
        """Every block's histogram (empty ones too: blocks stay aligned across rulesets)."""
        out: list[Hist] = [{} for _ in range(self.blocks)]
        for (_, block, score), (n, k) in self.cells.items():
            put(out[block], score, n, k)
        return out

    def by_snapshot(self) -> list[Hist]:
        out: list[Hist] = [{} for _ in range(self.snapshots)]
        for (snap, _, score), (n, k) in self.cells.items():
            put(out[snap], score, n, k)
        return out


def put(h: Hist, score: int, n: int, k: int) -> None:
    cell = h.get(score)
    if cell is None:
        h[score] = [n, k]
    else:
        cell[0] += n
        cell[1] += k


def totals(h: Mapping[int, Sequence[int]]) -> tuple[int, int]:
    return sum(c[0] for c in h.values()), sum(c[1] for c in h.values())


# --- figures ------------------------------------------------------------------------------------
def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for ``k`` successes in ``n`` trials."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def auc(h: Mapping[int, Sequence[int]]) -> float | None:
    """ROC-AUC: the chance that a converted sample outscores one that did not (ties count half).
    None without both kinds."""
    pos_total = neg_total = 0
    u = 0.0
    for s in sorted(h):
        n, k = h[s][0], h[s][1]
        neg = n - k
        u += k * (neg_total + 0.5 * neg)
        pos_total += k
        neg_total += neg
    if pos_total == 0 or neg_total == 0:
        return None
    return u / (pos_total * neg_total)


def average_precision(h: Mapping[int, Sequence[int]]) -> float | None:
    """PR-AUC as average precision: Σ (recall gained) × precision, down the score, ties together."""
    _, positives = totals(h)
    if positives == 0:
        return None
    tp = seen = 0
    ap = 0.0
    for s in sorted(h, reverse=True):
        n, k = h[s][0], h[s][1]
        seen += n
        tp += k
        ap += (k / positives) * (tp / seen)
    return ap


@dataclass(frozen=True)
class Band:
    """A slice of the samples ranked by score: its size, its conversions, its score range."""

    contacts: int
    converted: int
    high: int
    low: int


def deciles(h: Mapping[int, Sequence[int]], parts: int = 10) -> list[Band]:
    """``parts`` equal slices of the samples ranked best first. A tie that straddles a boundary
    is split by size, its conversions shared in proportion (rounded so the slices add up)."""
    total, _ = totals(h)
    order = sorted(h, reverse=True)
    # cumulative (samples, converted) at each group's end, best first
    ends: list[tuple[int, int, int, int]] = []  # (start, size, conv before, conv in group)
    pos = conv = 0
    for s in order:
        n, k = h[s][0], h[s][1]
        ends.append((pos, n, conv, k))
        pos += n
        conv += k

    def conv_upto(p: int) -> int:
        for start, n, before, k in ends:
            if p <= start + n:
                return before + (2 * k * (p - start) + n) // (2 * n) if n else before
        return conv

    def score_at(p: int) -> int:  # the score of the sample at rank p (0-based)
        for (start, n, _, _), s in zip(ends, order, strict=True):
            if p < start + n:
                return s
        return order[-1]

    out = []
    for i in range(parts):
        lo, hi = i * total // parts, (i + 1) * total // parts
        if hi == lo:
            out.append(Band(0, 0, 0, 0))
            continue
        out.append(Band(hi - lo, conv_upto(hi) - conv_upto(lo), score_at(lo), score_at(hi - 1)))
    return out


def gains(h: Mapping[int, Sequence[int]]) -> list[tuple[float, float]]:
    """The cumulative gains curve: (share of samples, share of conversions) taking the best
    first, one point per distinct score, from (0, 0) to (1, 1)."""
    total, positives = totals(h)
    out = [(0.0, 0.0)]
    seen = tp = 0
    for s in sorted(h, reverse=True):
        seen += h[s][0]
        tp += h[s][1]
        out.append((seen / total if total else 0.0, tp / positives if positives else 0.0))
    return out


@dataclass(frozen=True)
class Cut:
    threshold: float
    above: int  # samples at or above
    converted: int  # of those, converted
    share: float
    precision: float | None
    recall: float | None


def cut(h: Mapping[int, Sequence[int]], threshold: float) -> Cut:
    total, positives = totals(h)
    above = sum(c[0] for s, c in h.items() if s >= threshold)
    conv = sum(c[1] for s, c in h.items() if s >= threshold)
    return Cut(
        threshold,
        above,
        conv,
        above / total if total else 0.0,
        conv / above if above else None,
        conv / positives if positives else None,
    )


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    v = sorted(values)
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2


def first_reached(steps: Sequence[str], start: int, threshold: float, since: str, before: str) -> str | None:
    """When the score first reached ``threshold`` before ``before`` (None if it did not): its
    first step at or above it, or ``since`` for a score that starts there."""
    if start >= threshold:
        return since if since < before else None
    for step in steps:
        at, value = decode_step(step)
        if at >= before:
            return None
        if value >= threshold:
            return at
    return None


# --- the bootstrap ------------------------------------------------------------------------------
def merged(weighted: Iterable[tuple[Mapping[int, Sequence[int]], int]]) -> Hist:
    out: Hist = {}
    for h, w in weighted:
        for s, c in h.items():
            put(out, s, c[0] * w, c[1] * w)
    return out


class _Columns:
    """One score's histograms by block as columns: for each score, its count in every block, so
    that a resample's histogram is a few weighted sums (``sum(map(mul, …))`` runs in C)."""

    def __init__(self, blocks: Sequence[Mapping[int, Sequence[int]]]) -> None:
        scores = sorted({s for h in blocks for s in h})
        self.scores = scores
        self.n = [[h[s][0] if s in h else 0 for h in blocks] for s in scores]
        self.k = [[h[s][1] if s in h else 0 for h in blocks] for s in scores]

    def weighted(self, w: Sequence[int]) -> Hist:
        out: Hist = {}
        for s, n, k in zip(self.scores, self.n, self.k, strict=True):
            total = sum(map(mul, w, n))
            if total:
                out[s] = [total, sum(map(mul, w, k))]
        return out


def resampled(block_sets: Sequence[Sequence[Hist]], reps: int = REPS, seed: int = 0) -> Iterator[list[Hist]]:
    """``reps`` bootstrap resamples: blocks drawn with replacement (the same draw for every set
    of aligned blocks, so paired figures stay paired), each set merged. Seeded: deterministic."""
    m = len(block_sets[0])
    if m < 2:
        return
    columns = [_Columns(blocks) for blocks in block_sets]
    rng = random.Random(seed)
    population = range(m)
    for _ in range(reps):
        w = [0] * m
        for j in rng.choices(population, k=m):
            w[j] += 1
        yield [c.weighted(w) for c in columns]


def percentile_interval(values: Iterable[float | None]) -> tuple[float, float] | None:
    """The 2.5th and 97.5th percentiles of the values that exist (None: none)."""
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    return (_quantile(v, 0.025), _quantile(v, 0.975))


def _quantile(sorted_values: Sequence[float], p: float) -> float:
    x = p * (len(sorted_values) - 1)
    lo = math.floor(x)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (x - lo)


def intervals(
    blocks: Sequence[Hist], seed: int = 0
) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """The bootstrap 95 % intervals of ROC-AUC and of PR-AUC, from the same resamples."""
    aucs: list[float | None] = []
    aps: list[float | None] = []
    for (h,) in resampled([blocks], seed=seed):
        aucs.append(auc(h))
        aps.append(average_precision(h))
    return percentile_interval(aucs), percentile_interval(aps)


def auc_difference_ci(
    blocks_a: Sequence[Hist], blocks_b: Sequence[Hist], seed: int = 0
) -> tuple[float, float] | None:
    """The paired interval of AUC(b) − AUC(a): both from the same resampled blocks, which must
    be aligned (the same contacts in the same blocks)."""
    diffs: list[float | None] = []
    for a, b in resampled([blocks_a, blocks_b], seed=seed):
        x, y = auc(a), auc(b)
        diffs.append(None if x is None or y is None else y - x)
    return percentile_interval(diffs)
