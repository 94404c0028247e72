"""``acsync simulate``: replay the stored events under another ruleset; write nothing.

With ``--quality``: how well each ruleset's score predicts the outcome, on the same samples."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from acsync.core import quality as q
from acsync.core.rules import Ruleset, ScoreDef
from acsync.core.scoring import evaluate, steps
from acsync.core.timefmt import iso
from acsync.output import TABLE_ROWS, fixed, render_csv, render_json, render_table, share
from acsync.reports.quality import Collected, Options, population, summarize, summary_lines
from acsync.store.read import all_contacts, replayed_ledgers


@dataclass
class Change:
    contact_id: str | None
    email: str | None
    scores: dict[str, tuple[int, int]]  # name → (now, would be); only those that differ
    segment: tuple[str | None, str | None] | None
    tags_added: list[str]
    tags_removed: list[str]

    def as_json(self) -> dict[str, Any]:
        return {
            "contact_id": self.contact_id,
            "email": self.email,
            "scores": {k: {"current": a, "simulated": b} for k, (a, b) in self.scores.items()},
            "segment": None
            if self.segment is None
            else {"current": self.segment[0], "simulated": self.segment[1]},
            "tags_added": self.tags_added,
            "tags_removed": self.tags_removed,
        }


@dataclass
class Simulation:
    contacts: int = 0
    score_changes: int = 0
    segment_changes: int = 0
    tag_changes: int = 0
    changes: list[Change] = field(default_factory=list)


def simulate(conn: sqlite3.Connection, current: Ruleset, other: Ruleset, at: datetime) -> Simulation:
    """Both rulesets replayed from the same stored events at ``at``, so the comparison does not
    depend on when ``acsync score`` last ran."""
    sim = Simulation()
    main_now, main_sim = current.scores[0].name, other.scores[0].name
    for info, (mine, theirs) in replayed_ledgers(conn, all_contacts(conn), [current, other]):
        sim.contacts += 1
        a, b = evaluate(mine, current, at), evaluate(theirs, other, at)
        names = sorted(a.rounded.keys() | b.rounded.keys())
        scores = {
            n: (a.rounded.get(n, 0), b.rounded.get(n, 0))
            for n in names
            if a.rounded.get(n, 0) != b.rounded.get(n, 0)
        }
        seg = (a.segments.get(main_now), b.segments.get(main_sim))
        added, removed = sorted(b.tags.keys() - a.tags.keys()), sorted(a.tags.keys() - b.tags.keys())
        if scores or seg[0] != seg[1] or added or removed:
            sim.score_changes += bool(scores)
            sim.segment_changes += seg[0] != seg[1]
            sim.tag_changes += bool(added or removed)
            sim.changes.append(
                Change(info.ac_id, info.email, scores, seg if seg[0] != seg[1] else None, added, removed)
            )
    return sim


def render(sim: Simulation, fmt: str) -> str:
    """The simulation as JSON, CSV, or a summary line and a table of the changed contacts."""
    if fmt == "json":
        return render_json(
            {
                "contacts": sim.contacts,
                "score_changes": sim.score_changes,
                "segment_changes": sim.segment_changes,
                "tag_changes": sim.tag_changes,
                "changes": [c.as_json() for c in sim.changes],
            }
        )
    headers = ["contact_id", "email", "scores", "segment", "tags +", "tags -"]
    rows = [
        [
            c.contact_id,
            c.email,
            "; ".join(f"{n} {a} → {b}" for n, (a, b) in c.scores.items()),
            "" if c.segment is None else f"{c.segment[0] or '-'} → {c.segment[1] or '-'}",
            c.tags_added,
            c.tags_removed,
        ]
        for c in (sim.changes if fmt == "csv" else sim.changes[:TABLE_ROWS])  # a table: its first rows
    ]
    if fmt == "csv":
        return render_csv(headers, rows)
    summary = (
        f"{sim.contacts:,} contacts: {len(sim.changes):,} would change "
        f"(score {sim.score_changes:,}, segment {sim.segment_changes:,}, tags {sim.tag_changes:,})\n"
    )
    return summary + (render_table(None, headers, rows, total=len(sim.changes)) if rows else "")


def compare_quality(
    conn: sqlite3.Connection,
    current: Ruleset,
    other: Ruleset,
    sdefs: tuple[ScoreDef, ScoreDef],
    opts: Options,
) -> dict[str, Any]:
    """Both rulesets replayed from the stored events and judged on the same samples (the same
    contacts at the same snapshots against the same outcomes), with the paired bootstrap
    interval of the AUC difference. Writes nothing."""
    infos = all_contacts(conn)
    people = population(conn, opts.outcome)
    cols = (Collected.empty(sdefs[0], opts, len(people)), Collected.empty(sdefs[1], opts, len(people)))
    known = {p.id: p for p in people}
    for info, ledgers in replayed_ledgers(conn, infos, [current, other]):
        person = known.get(info.id)
        if person is None:  # created since the population was read
            continue
        for col, entries, rs, sdef in zip(cols, ledgers, (current, other), sdefs, strict=True):
            col.add(
                person, q.encode_steps((iso(t), v) for name, t, v in steps(entries, rs) if name == sdef.name)
            )
    a = summarize(cols[0], current, sdefs[0], opts)
    b = summarize(cols[1], other, sdefs[1], opts)
    diff = None if a["auc"] is None or b["auc"] is None else round(b["auc"] - a["auc"], 4)
    ci = q.auc_difference_ci(cols[0].samples.by_block(), cols[1].samples.by_block())
    return {
        "current": a,
        "proposed": b,
        "auc_difference": diff,
        "auc_difference_ci": None if ci is None else [round(ci[0], 4), round(ci[1], 4)],
    }


COMPARED = ("samples", "converted", "base_rate", "auc", "auc_ci", "pr_auc", "pr_auc_ci")


def render_comparison(r: dict[str, Any], fmt: str) -> str:
    """Side by side: the summary figures, then conversion per decile of each ruleset's score.
    For people (``table``): shares ``16.0 %``, counts ``1,000``; ``csv``: plain numbers, an
    interval as its two ends, a decile's rate and lift on rows of their own."""
    if fmt == "json":
        return render_json(r)
    a, b = r["current"], r["proposed"]
    headers = ["figure", f"current ({a['score']})", f"proposed ({b['score']})"]
    if fmt == "csv":
        rows: list[list[Any]] = []
        for key in COMPARED:
            if key.endswith("_ci"):
                for end, i in (("low", 0), ("high", 1)):
                    rows.append([f"{key}_{end}", _end(a[key], i), _end(b[key], i)])
            else:
                rows.append([key, a[key], b[key]])
        for da, db in zip(a["deciles"], b["deciles"], strict=True):
            rows.append([f"decile {da['decile']} rate", da["rate"], db["rate"]])
            rows.append([f"decile {da['decile']} lift", da["lift"], db["lift"]])
        return render_csv(headers, rows)
    rows = [[key, _cell(key, a[key]), _cell(key, b[key])] for key in COMPARED]
    for da, db in zip(a["deciles"], b["deciles"], strict=True):
        rows.append([f"decile {da['decile']} rate / lift", _decile(da), _decile(db)])
    ci = r["auc_difference_ci"]
    head = summary_lines(a)[0]
    diff = "-" if r["auc_difference"] is None else f"{r['auc_difference']:+.3f}"
    span = "" if ci is None else f" (paired 95 % interval {ci[0]:+.3f} to {ci[1]:+.3f})"
    judged = ""
    if ci is not None:
        judged = (
            ": the proposed rules rank converting contacts better"
            if ci[0] > 0
            else ": the current rules rank converting contacts better"
            if ci[1] < 0
            else ": no clear difference"
        )
    lines = [head, f"AUC proposed − current: {diff}{span}{judged}"]
    if not (a["enough"] and b["enough"]):
        lines.append(a["verdict"])
    return "\n".join(lines) + "\n" + render_table(None, headers, rows, limit=None)


def _end(ci: list[float] | None, i: int) -> float | None:
    return None if ci is None else ci[i]


def _cell(key: str, v: Any) -> str:
    """A figure for people: counts with separators, the base rate as a share, AUCs to 4 decimals."""
    if v is None:
        return "-"
    if isinstance(v, list):
        return f"[{_cell(key, v[0])}, {_cell(key, v[1])}]"
    if key == "base_rate":
        return share(v)
    if isinstance(v, int):
        return f"{v:,}"
    return fixed(v, 4)


def _decile(d: dict[str, Any]) -> str:
    return "-" if d["rate"] is None else f"{share(d['rate'])} / {fixed(d['lift'] or 0)}"
