"""``report quality``: does the score predict the outcome?

At each snapshot instant every contact that exists and has not converted yet gives one sample:
its score just before the snapshot (``core.quality`` says why that uses no later event) and
whether the outcome happens within the horizon. The stored score steps are read in one ordered
scan beside the contacts and their first outcome; everything after that is histograms.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import Any, NamedTuple

from acsync.core import quality as q
from acsync.core.durations import Duration, parse_duration
from acsync.core.event import ATTRIBUTES, Event
from acsync.core.rules import Match, Ruleset, ScoreDef
from acsync.core.timefmt import iso
from acsync.output import count, fixed, number, render_csv, render_json, render_table, share
from acsync.reports.past import start_value

MAX_SNAPSHOTS = 400


@dataclass(frozen=True)
class Outcome:
    """The event that counts as converting: a type and optional glob filters."""

    type: str = "order"
    globs: Mapping[str, str] = field(default_factory=dict)

    @property
    def match(self) -> Match:
        return Match(dict(self.globs))

    def __str__(self) -> str:
        return " ".join([self.type, *(f"{k}={v}" for k, v in sorted(self.globs.items()))])

    @classmethod
    def parse(cls, type_: str, pairs: Iterable[str]) -> Outcome:
        """``pairs``: ``KEY=GLOB`` with KEY an event attribute; ValueError naming what is allowed."""
        globs: dict[str, str] = {}
        for pair in pairs:
            key, sep, glob = pair.partition("=")
            if not sep or key.strip() not in ATTRIBUTES or not glob:
                raise ValueError(f"expected KEY=GLOB with KEY one of {', '.join(ATTRIBUTES)}, not {pair!r}")
            globs[key.strip()] = glob
        return cls(type_, globs)


@dataclass(frozen=True)
class Options:
    at: datetime  # the report's "now": every horizon ends by then
    outcome: Outcome = field(default_factory=Outcome)
    within: Duration = field(default_factory=lambda: parse_duration("90d"))
    every: Duration = field(default_factory=lambda: parse_duration("1mo"))
    since: datetime | None = None  # default: one year before the last snapshot

    def snapshots(self) -> list[datetime]:
        """Every ``every`` from ``since`` while the horizon still ends by ``at`` (at most
        ``MAX_SNAPSHOTS``: ``too_many`` says when the period holds more)."""
        return self._instants(MAX_SNAPSHOTS)

    def too_many(self) -> bool:
        return len(self._instants(MAX_SNAPSHOTS + 1)) > MAX_SNAPSHOTS

    def _instants(self, most: int) -> list[datetime]:
        last = self.within.before(self.at)
        since = self.since or parse_duration("1y").before(last)
        out: list[datetime] = []
        t = since
        while t <= last and len(out) < most:
            out.append(t)
            t = Duration(self.every.amount * len(out), self.every.unit).after(since)
        return out

    def describe(self) -> dict[str, Any]:
        return {
            "outcome": {"type": self.outcome.type, "match": dict(self.outcome.globs)},
            "within": str(self.within),
            "every": str(self.every),
            "at": iso(self.at),
        }


class Person(NamedTuple):
    id: int
    since: str | None  # created in AC, or its first event
    converted_at: str | None  # its first outcome


def population(conn: sqlite3.Connection, outcome: Outcome) -> list[Person]:
    """Every contact in id order, with when it began and its first outcome."""
    firsts = first_outcomes(conn, outcome)
    rows = conn.execute(
        "SELECT id, coalesce(created_at, (SELECT min(at) FROM events WHERE contact = c.id)) "
        "FROM contacts c ORDER BY id"
    )
    get = firsts.get
    return [Person(c, since, get(c)) for c, since in rows]


def first_outcomes(conn: sqlite3.Connection, outcome: Outcome) -> dict[int, str]:
    match = outcome.match
    cur = conn.execute(
        "SELECT contact, at, key, campaign, url, tag, form, list, name, value FROM events "
        "WHERE type = ? ORDER BY contact, at, key",
        [outcome.type],
    )
    out: dict[int, str] = {}
    for contact, rows in groupby(cur, key=itemgetter(0)):
        for r in rows:
            if match.always or match(Event(r[2], outcome.type, None, None, None, *r[3:])):  # type: ignore[arg-type]
                out[contact] = r[1]
                break
    return out


_STEPS = (
    "SELECT contact, group_concat(at || value, ' ') FROM score_steps "
    "WHERE score = :score AND at < :before AND contact BETWEEN :lo AND :hi GROUP BY contact"
)
CHUNK = 10_000  # contacts per prefetched range


def stored_steps(
    conn: sqlite3.Connection, sdef: ScoreDef, before: str = "9999"
) -> Iterator[tuple[int, list[str]]]:
    """(contact, its encoded steps before ``before``) from ``score_steps``, in contact order.

    Each contact's steps are concatenated by SQLite and split in one call (the hot path). For a
    database file, a second read-only connection in a thread fetches the next range of contacts
    while this one's are used: SQLite works without Python's interpreter lock, so the scan and
    the sampling share the cores.
    """
    lo, hi = conn.execute("SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM contacts").fetchone()
    ranges = [(a, min(hi, a + CHUNK - 1)) for a in range(lo, hi + 1, CHUNK)]
    params = {"score": sdef.name, "before": before}
    row = conn.execute("PRAGMA database_list").fetchone()
    path = row[2] if row and row[2] else None
    if path is None or len(ranges) < 2:
        for a, b in ranges:
            yield from _split(conn.execute(_STEPS, {**params, "lo": a, "hi": b}).fetchall())
        return
    other = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    try:
        other.execute("PRAGMA busy_timeout = 30000")
        with ThreadPoolExecutor(max_workers=1) as pool:

            def fetch(bounds: tuple[int, int]) -> list[tuple[int, str]]:
                return other.execute(_STEPS, {**params, "lo": bounds[0], "hi": bounds[1]}).fetchall()

            future = pool.submit(fetch, ranges[0])
            for nxt in [*ranges[1:], None]:
                rows = future.result()
                if nxt is not None:
                    future = pool.submit(fetch, nxt)
                yield from _split(rows)
    finally:
        other.close()


def _split(rows: Iterable[tuple[int, str]]) -> Iterator[tuple[int, list[str]]]:
    for contact, text in rows:
        steps = text.split(" ")
        steps.sort()  # text order is time order (fixed-width instants)
        yield contact, steps


@dataclass
class Collected:
    """The samples of one score, gathered contact by contact (in contact order)."""

    samples: q.Samples
    snapshots: list[str]
    horizons: list[str]
    start: int
    converters: dict[int, tuple[Person, list[str]]]  # those with a converted sample
    ordinal: int = 0

    @classmethod
    def empty(cls, sdef: ScoreDef, opts: Options, contacts: int) -> Collected:
        instants = opts.snapshots()
        return cls(
            q.Samples(len(instants), blocks=max(1, min(q.BLOCKS, contacts))),
            [iso(t) for t in instants],
            [iso(opts.within.after(t)) for t in instants],
            start_value(sdef),
            {},
        )

    def add(self, p: Person, steps: list[str]) -> list[tuple[int, int, bool]]:
        """The contact's samples (also recorded). Every contact is added, sampled or not, so
        that it keeps its bootstrap block whichever ruleset is scored."""
        items = list(
            q.contact_samples(steps, self.start, p.since, p.converted_at, self.snapshots, self.horizons)
        )
        self.samples.add(self.ordinal, items)
        self.ordinal += 1
        if items and items[-1][2]:  # a converted sample makes every later one converted too
            self.converters[p.id] = (p, steps)
        return items


def collect(
    people: Sequence[Person],
    steps: Iterable[tuple[int, list[str]]],
    sdef: ScoreDef,
    opts: Options,
) -> Collected:
    """Every sample, merging ``people`` and ``steps`` (both in contact order)."""
    col = Collected.empty(sdef, opts, len(people))
    it = iter(steps)
    pending = next(it, None)
    for p in people:
        mine: list[str] = []
        while pending is not None and pending[0] <= p.id:
            if pending[0] == p.id:
                mine = pending[1]
            pending = next(it, None)
        col.add(p, mine)
    return col


def cuts(ruleset: Ruleset, sdef: ScoreDef, bands: Sequence[q.Band]) -> list[float]:
    """The thresholds and segment floors of this score, else the deciles' lowest scores."""
    mine = {t.at_least for t in ruleset.thresholds if t.score == sdef.name}
    mine |= {s.min for s in ruleset.segments if s.score == sdef.name}
    if not mine:
        mine = {float(b.low) for b in bands if b.contacts}
    return sorted(mine, reverse=True)


def _rate(k: int, n: int, base: float | None) -> dict[str, Any]:
    rate = k / n if n else None
    lo, hi = q.wilson(k, n)
    return {
        "rate": _r(rate),
        "rate_ci": [_r(lo), _r(hi)] if n else None,
        "lift": _r(rate / base) if rate is not None and base else None,
    }


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def _ci(ci: tuple[float, float] | None) -> list[float | None] | None:
    return None if ci is None else [_r(ci[0]), _r(ci[1])]


def summarize(
    col: Collected, ruleset: Ruleset, sdef: ScoreDef, opts: Options, seed: int = 0
) -> dict[str, Any]:
    """The report as plain data (its JSON)."""
    h = col.samples.hist()
    n, k = q.totals(h)
    base = k / n if n else None
    auc_ci, pr_ci = q.intervals(col.samples.by_block(), seed)
    bands = q.deciles(h)
    out: dict[str, Any] = {
        "score": sdef.name,
        **opts.describe(),
        "snapshots": col.snapshots,
        "contacts": col.samples.contacts,
        "samples": n,
        "converted": k,
        "base_rate": _r(base),
        "auc": _r(q.auc(h)),
        "auc_ci": _ci(auc_ci),
        "pr_auc": _r(q.average_precision(h)),
        "pr_auc_ci": _ci(pr_ci),
        "enough": k >= q.MIN_CONVERSIONS and n - k >= q.MIN_CONVERSIONS,
    }
    out["verdict"] = verdict(out)
    out["deciles"] = [
        {"decile": i + 1, "high": b.high, "low": b.low, "contacts": b.contacts, "converted": b.converted}
        | _rate(b.converted, b.contacts, base)
        for i, b in enumerate(bands)
    ]
    seen = tp = 0
    out["gains"] = []
    for i, b in enumerate(bands):
        seen += b.contacts
        tp += b.converted
        out["gains"].append(
            {"top": round(0.1 * (i + 1), 1), "contacts": seen, "converted_share": _r(tp / k if k else None)}
        )
    out["gains_curve"] = [[_r(x), _r(y)] for x, y in q.gains(h)]
    out["segments"] = segment_rows(h, ruleset, sdef, base)
    out["thresholds"] = threshold_rows(col, h, cuts(ruleset, sdef, bands))
    out["by_snapshot"] = []
    for t, hs in zip(col.snapshots, col.samples.by_snapshot(), strict=True):
        ns, ks = q.totals(hs)
        top = q.deciles(hs)[0] if ns else None
        rate_s = ks / ns if ns else None
        out["by_snapshot"].append(
            {
                "snapshot": t,
                "samples": ns,
                "converted": ks,
                "base_rate": _r(rate_s),
                "auc": _r(q.auc(hs)),
                "pr_auc": _r(q.average_precision(hs)),
                "top_decile_lift": _r(top.converted / top.contacts / rate_s)
                if top and top.contacts and rate_s
                else None,
            }
        )
    return out


def segment_rows(h: q.Hist, ruleset: Ruleset, sdef: ScoreDef, base: float | None) -> list[dict[str, Any]]:
    per: dict[str | None, list[int]] = {}
    for score, (n, k) in h.items():
        cell = per.setdefault(ruleset.segment_of(sdef.name, score), [0, 0])
        cell[0] += n
        cell[1] += k
    order = [
        s.name for s in sorted((s for s in ruleset.segments if s.score == sdef.name), key=lambda s: -s.min)
    ]
    names: list[str | None] = [*order, *([None] if None in per else [])]
    return [
        {"segment": name, "contacts": per.get(name, [0, 0])[0], "converted": per.get(name, [0, 0])[1]}
        | _rate(per.get(name, [0, 0])[1], per.get(name, [0, 0])[0], base)
        for name in names
    ]


def threshold_rows(col: Collected, h: q.Hist, thresholds: Sequence[float]) -> list[dict[str, Any]]:
    out = []
    for th in thresholds:
        c = q.cut(h, th)
        days = []
        for p, steps in col.converters.values():
            assert p.since is not None
            assert p.converted_at is not None
            reached = q.first_reached(steps, col.start, th, p.since, p.converted_at)
            if reached is not None:
                days.append(_days(reached, p.converted_at))
        med = q.median(days)
        out.append(
            {
                "threshold": th,
                "share_above": _r(c.share),
                "precision": _r(c.precision),
                "recall": _r(c.recall),
                "median_days": None if med is None else round(med, 1),
                "converters_reached": len(days),
            }
        )
    return out


def _days(a: str, b: str) -> float:
    from acsync.core.timefmt import from_iso

    return (from_iso(b) - from_iso(a)).total_seconds() / 86400


def verdict(r: Mapping[str, Any]) -> str:
    k, n = r["converted"], r["samples"]
    if not r["enough"]:
        return (
            f"too few conversions to judge: {k} in {n} samples (at least {q.MIN_CONVERSIONS} of each kind "
            "needed); widen --since or --within, or check --outcome"
        )
    a, ci = r["auc"], r["auc_ci"]
    span = "" if ci is None else f" (95 % interval {ci[0]:.2f}–{ci[1]:.2f})"
    if ci is not None and ci[0] <= 0.5 <= ci[1]:
        judged = "no better than chance"
    elif a >= 0.5:
        judged = "it predicts conversion" if a >= 0.6 else "it predicts conversion weakly"
    else:
        judged = "it ranks converting contacts BELOW the others"
    return f"AUC {a:.2f}{span}: {judged} (0.50 is chance, 1.00 is perfect)"


def quality(conn: sqlite3.Connection, ruleset: Ruleset, sdef: ScoreDef, opts: Options) -> dict[str, Any]:
    """The report from the stored score steps."""
    people = population(conn, opts.outcome)
    instants = opts.snapshots()
    before = iso(instants[-1]) if instants else ""
    # later steps are never read for a sample, but the days to conversion need them up to it
    converting = max((p.converted_at for p in people if p.converted_at), default="")
    steps = stored_steps(conn, sdef, max(before, converting))
    return summarize(collect(people, steps, sdef, opts), ruleset, sdef, opts)


# --- rendering ----------------------------------------------------------------------------------
def _span(ci: Sequence[float] | None) -> str:
    return "[-]" if ci is None else f"[{fixed(ci[0])}, {fixed(ci[1])}]"


def summary_lines(r: Mapping[str, Any]) -> list[str]:
    snaps = r["snapshots"]
    span = f"{snaps[0][:10]} to {snaps[-1][:10]}" if snaps else "none"
    return [
        f"{r['score']} against {r['outcome']['type']}"
        + "".join(f" {k}={v}" for k, v in r["outcome"]["match"].items())
        + f" within {r['within']}: {count(len(snaps), 'snapshot')} every {r['every']}, {span}",
        f"{count(r['samples'], 'sample')} from {count(r['contacts'], 'contact')}, "
        f"{r['converted']:,} converted "
        f"(base rate {share(r['base_rate'])}); AUC {fixed(r['auc'])} {_span(r['auc_ci'])}, "
        f"PR-AUC {fixed(r['pr_auc'])} {_span(r['pr_auc_ci'])}",
        r["verdict"],
    ]


Table = tuple[str, list[str], list[list[Any]]]


def tables(r: Mapping[str, Any], people: bool = True) -> list[Table]:
    """(title, headers, rows) of each table of the report: for people (``people``: shares
    ``16.0 %``, intervals, dates) or for machines (plain numbers, an interval as two columns,
    ISO times)."""

    def pct(x: float | None) -> Any:
        return share(x) if people else x

    def num(x: float | None, digits: int = 2) -> Any:
        return fixed(x, digits) if people else x

    def ci(x: Sequence[float] | None) -> list[Any]:
        if people:
            return ["-" if x is None else f"{share(x[0])}–{share(x[1])}"]
        return [None, None] if x is None else [x[0], x[1]]

    interval = ["95 % interval"] if people else ["rate_low", "rate_high"]

    def scores(d: Mapping[str, Any]) -> list[Any]:
        if people:
            return [f"{d['low']}–{d['high']}" if d["contacts"] else "-"]
        return [d["low"], d["high"]] if d["contacts"] else [None, None]

    return [
        (
            "by score decile (best first)",
            [
                "decile",
                *(["scores"] if people else ["low", "high"]),
                "contacts",
                "converted",
                "rate",
                *interval,
                "lift",
                "cum. gain",
            ],
            [
                [
                    d["decile"],
                    *scores(d),
                    d["contacts"],
                    d["converted"],
                    pct(d["rate"]),
                    *ci(d["rate_ci"]),
                    num(d["lift"]),
                    pct(g["converted_share"]),
                ]
                for d, g in zip(r["deciles"], r["gains"], strict=True)
            ],
        ),
        (
            "by segment",
            ["segment", "contacts", "converted", "rate", *interval, "lift"],
            [
                [
                    s["segment"] or "(none)",
                    s["contacts"],
                    s["converted"],
                    pct(s["rate"]),
                    *ci(s["rate_ci"]),
                    num(s["lift"]),
                ]
                for s in r["segments"]
            ],
        ),
        (
            "thresholds",
            ["at least", "share above", "precision", "recall", "median days to conversion"],
            [
                [
                    number(t["threshold"]) if people else t["threshold"],
                    pct(t["share_above"]),
                    pct(t["precision"]),
                    pct(t["recall"]),
                    num(t["median_days"], 1),
                ]
                for t in r["thresholds"]
            ],
        ),
        (
            "by snapshot",
            ["snapshot", "samples", "converted", "base rate", "AUC", "PR-AUC", "top decile lift"],
            [
                [
                    s["snapshot"][:10] if people else s["snapshot"],
                    s["samples"],
                    s["converted"],
                    pct(s["base_rate"]),
                    num(s["auc"]),
                    num(s["pr_auc"]),
                    num(s["top_decile_lift"]),
                ]
                for s in r["by_snapshot"]
            ],
        ),
    ]


def render(r: Mapping[str, Any], fmt: str) -> str:
    """``table``: the summary, then each table; ``csv``: one long table (table, row, column,
    value) of plain numbers that spreadsheets pivot; ``json``: the data."""
    if fmt == "json":
        return render_json(r)
    if fmt == "csv":
        rows: list[list[Any]] = []
        for key in SUMMARY_KEYS:
            value = r[key]
            if isinstance(value, list):  # an interval: its two ends
                rows += [["summary", "", f"{key}_low", value[0]], ["summary", "", f"{key}_high", value[1]]]
            else:
                rows.append(["summary", "", key, value])
        for title, headers, cells in tables(r, people=False):
            for row in cells:
                rows += [[title, row[0], h, v] for h, v in zip(headers[1:], row[1:], strict=True)]
        return render_csv(["table", "row", "column", "value"], rows)
    parts = ["\n".join(summary_lines(r)) + "\n"]
    parts += [render_table(title, headers, cells, limit=None) for title, headers, cells in tables(r)]
    return "\n".join(parts)


SUMMARY_KEYS = (
    "score",
    "samples",
    "contacts",
    "converted",
    "base_rate",
    "auc",
    "auc_ci",
    "pr_auc",
    "verdict",
)
