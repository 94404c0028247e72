"""``acsync tune``: how much does each rule predict the outcome? Suggested points, never applied.

The samples are those of ``report quality``. For each, the features are each rule's
contribution to the score just before the snapshot, in units of the rule's own points: how many
of its awards count then (decay applied), 1 while an inactivity penalty (or reset, or tag-only
episode) is in effect. A regularized logistic regression (scikit-learn's ``LogisticRegression``,
L2, on standardized features) is fitted on the earlier snapshots whose horizon ends before the
validation snapshots begin, and judged on those later snapshots only. Its weights, scaled so that
the suggested score spans the current score's range, are the suggested points; the validated
AUC of the current and of the suggested score (clamped and rounded as the engine would) say
whether the change is worth making. The config is never changed.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from acsync.config import Settings
from acsync.core import quality as q
from acsync.core.ledger import AWARD, PENALTY, Entry
from acsync.core.rules import Ruleset, ScoreDef
from acsync.core.scoring import clamp, contributions, round_score, steps
from acsync.core.timefmt import from_iso, iso
from acsync.errors import AcsyncError
from acsync.reports.quality import Options, Person, population
from acsync.store.read import all_contacts, replayed_ledgers

INSTALL = "acsync tune needs scikit-learn: pip install 'acsync[tune]'"
SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Feature:
    rule: str
    kind: str  # award (rules), penalty, reset or flag (inactivity)
    points: float  # the rule's current points (0 for reset and tag-only rules)


@dataclass
class Dataset:
    features: list[Feature]
    rows: list[list[float]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    snaps: list[int] = field(default_factory=list)
    current: list[int] = field(default_factory=list)  # the current rounded score of each sample


def features_of(ruleset: Ruleset, sdef: ScoreDef) -> list[Feature]:
    out = [Feature(r.name, AWARD, r.points) for r in ruleset.rules if r.score == sdef.name]
    for r in ruleset.inactivity:
        if r.score == sdef.name:
            kind = "reset" if r.reset else PENALTY if r.points else "flag"
            out.append(Feature(r.name, kind, r.points if kind == PENALTY else 0.0))
    return out


def sample_features(entries: list[Entry], features: list[Feature], at: str) -> list[float]:
    """Each rule's contribution just before ``at``, in units of its points."""
    u = from_iso(at) - SECOND
    index = {f.rule: i for i, f in enumerate(features)}
    row = [0.0] * len(features)
    for e, (counts, value) in zip(entries, contributions(entries, u), strict=True):
        i = index.get(e.rule)
        if i is None:
            continue
        if e.kind in (AWARD, PENALTY):
            if counts and e.points:
                row[i] += value / e.points
        elif e.awarded_at <= u and (e.ends_at is None or u < e.ends_at):  # reset or flag in effect
            row[i] = 1.0
    return row


def dataset(conn: sqlite3.Connection, ruleset: Ruleset, sdef: ScoreDef, opts: Options) -> Dataset:
    """Every sample of ``report quality``, with its features, from ledgers replayed in memory."""
    feats = features_of(ruleset, sdef)
    ds = Dataset(feats)
    instants = opts.snapshots()
    snapshots = [iso(t) for t in instants]
    horizons = [iso(opts.within.after(t)) for t in instants]
    start = round_score(clamp(0.0, sdef))
    known: dict[int, Person] = {p.id: p for p in population(conn, opts.outcome)}
    for info, (entries,) in replayed_ledgers(conn, all_contacts(conn), [ruleset]):
        person = known.get(info.id)
        if person is None:  # created since the population was read
            continue
        mine = [e for e in entries if e.score == sdef.name]
        stepped = q.encode_steps((iso(t), v) for name, t, v in steps(mine, ruleset) if name == sdef.name)
        for snap, value, converted in q.contact_samples(
            stepped, start, person.since, person.converted_at, snapshots, horizons
        ):
            ds.rows.append(sample_features(mine, feats, snapshots[snap]))
            ds.labels.append(int(converted))
            ds.snaps.append(snap)
            ds.current.append(value)
    return ds


def split(opts: Options, ds: Dataset) -> tuple[list[int], list[int]]:
    """(fit snapshots, validation snapshots): the latest snapshots that hold a third of the
    converted samples validate; a snapshot is fitted on only when its horizon ends by the first
    validation snapshot, so no outcome is both fitted and validated on."""
    instants = opts.snapshots()
    n = len(instants)
    per = [0] * n
    for s, y in zip(ds.snaps, ds.labels, strict=True):
        per[s] += y
    first, held = n - 1, per[n - 1] if n else 0
    while first > 1 and held * 3 < sum(per):
        first -= 1
        held += per[first]
    fit = [i for i in range(first) if opts.within.after(instants[i]) <= instants[first]]
    return fit, list(range(first, n))


def tune(
    conn: sqlite3.Connection, settings: Settings, ruleset: Ruleset, sdef: ScoreDef, opts: Options
) -> dict[str, Any]:
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        raise AcsyncError(INSTALL) from None
    ds = dataset(conn, ruleset, sdef, opts)
    fit_snaps, val_snaps = split(opts, ds)
    instants = opts.snapshots()
    if not fit_snaps:
        raise AcsyncError(
            f"too few snapshots to fit and then validate ({len(instants)}, horizon {opts.within}): "
            "move --since earlier, or use a shorter --every or --within"
        )
    fit = [i for i, s in enumerate(ds.snaps) if s in set(fit_snaps)]
    val = [i for i, s in enumerate(ds.snaps) if s in set(val_snaps)]
    y_fit = [ds.labels[i] for i in fit]
    if sum(y_fit) < q.MIN_CONVERSIONS or len(y_fit) - sum(y_fit) < q.MIN_CONVERSIONS:
        raise AcsyncError(
            f"too few conversions to fit: {sum(y_fit)} in {len(y_fit)} samples before the validation "
            f"snapshots (at least {q.MIN_CONVERSIONS} needed); move --since earlier or widen --within"
        )
    # only awards and penalties have points to suggest; a rule that never varies across the
    # fitted samples says nothing: both keep what they have
    cols = [
        j
        for j, f in enumerate(ds.features)
        if f.kind in (AWARD, PENALTY) and len({ds.rows[i][j] for i in fit}) > 1
    ]
    weights = [0.0] * len(ds.features)
    if cols:
        x_fit = [[ds.rows[i][j] for j in cols] for i in fit]
        scaler = StandardScaler().fit(x_fit)
        model = LogisticRegression(C=1.0, max_iter=1000).fit(scaler.transform(x_fit), y_fit)
        for j, c, sd in zip(cols, model.coef_[0], scaler.scale_, strict=True):
            weights[j] = float(c) / float(sd)
    k = _scale([ds.current[i] for i in fit], [_dot(weights, ds.rows[i]) for i in fit])
    kept = [j not in cols for j in range(len(ds.features))]
    suggested = [
        f.points if no else _points(w * k) for f, w, no in zip(ds.features, weights, kept, strict=True)
    ]

    def auc_of(scores: list[int]) -> float | None:
        h: q.Hist = {}
        for i in val:
            q.put(h, scores[i], 1, ds.labels[i])
        return q.auc(h)

    proposed = [round_score(clamp(_dot(suggested, row), sdef)) for row in ds.rows]
    current_auc, suggested_auc = auc_of(ds.current), auc_of(proposed)
    return {
        "score": sdef.name,
        **opts.describe(),
        "rules": [
            {
                "rule": f.rule,
                "kind": f.kind,
                "points": f.points,
                "suggested": s,
                "weight": round(w, 4),
                "note": _note(f, no),
            }
            for f, s, w, no in zip(ds.features, suggested, weights, kept, strict=True)
        ],
        "auc": {
            "current": None if current_auc is None else round(current_auc, 4),
            "suggested": None if suggested_auc is None else round(suggested_auc, 4),
        },
        "fitted_on": _described(ds, fit, [iso(instants[i]) for i in fit_snaps]),
        "validated_on": _described(ds, val, [iso(instants[i]) for i in val_snaps]),
        "toml": _toml(settings, ds.features, suggested),
    }


def _note(f: Feature, kept: bool) -> str:
    if f.kind not in (AWARD, PENALTY):
        return "reset or tag only: kept as it is"
    return "no variation in the samples: kept" if kept else ""


def _described(ds: Dataset, idx: list[int], snapshots: list[str]) -> dict[str, Any]:
    return {
        "snapshots": snapshots,
        "samples": len(idx),
        "converted": sum(ds.labels[i] for i in idx),
    }


def _dot(w: list[float], x: list[float]) -> float:
    return sum(a * b for a, b in zip(w, x, strict=True))


def _spread(values: list[float]) -> float:
    v = sorted(values)
    lo, hi = v[int(0.05 * (len(v) - 1))], v[int(0.95 * (len(v) - 1))]
    return hi - lo if hi > lo else v[-1] - v[0]


def _scale(current: list[int], linear: list[float]) -> float:
    """The factor that gives the suggested score the current score's spread (5th to 95th
    percentile, or the whole range when that is flat)."""
    have, want = _spread(linear), _spread([float(c) for c in current])
    return want / have if have > 0 and want > 0 else 1.0


def _points(x: float) -> float:
    return float(round(x)) if abs(x) >= 1 else round(x, 1)


def _toml(settings: Settings, features: list[Feature], suggested: list[float]) -> str:
    """The rules and inactivity rules with the suggested points, to copy from."""
    from acsync.output import render_toml

    dump = settings.model_dump(mode="json", by_alias=True)
    new = {f.rule: s for f, s in zip(features, suggested, strict=True)}
    rules = [{**r, "points": new.get(r["name"], r["points"])} for r in dump["rules"]]
    inactivity = []
    for r in dump["inactivity"]:
        if r["name"] in new and not r.get("reset") and r.get("points"):
            r = {**r, "points": new[r["name"]]}
        inactivity.append(r)
    return render_toml({"rules": rules, "inactivity": inactivity})


def render(r: dict[str, Any], fmt: str) -> str:
    from acsync.output import render_json, render_table

    if fmt == "json":
        return render_json({k: v for k, v in r.items() if k != "toml"})
    if fmt == "toml":
        return _header(r, "# ") + str(r["toml"])
    headers = ["rule", "kind", "points", "suggested", "weight (log-odds per unit)", "note"]
    rows = [
        [x["rule"], x["kind"], x["points"], x["suggested"], f"{x['weight']:+.4f}", x["note"]]
        for x in r["rules"]
    ]  # points through the table's own formatting: 45, 2.5
    return _header(r, "") + render_table(None, headers, rows, limit=None)


def _header(r: dict[str, Any], prefix: str) -> str:
    v, f = r["validated_on"], r["fitted_on"]
    a = r["auc"]

    def num(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    lines = [
        f"suggested points for {r['score']} against {r['outcome']['type']} within {r['within']}",
        f"fitted on {len(f['snapshots'])} snapshot(s) ({f['samples']:,} samples, "
        f"{f['converted']:,} converted), validated on the {len(v['snapshots'])} later one(s) "
        f"({v['samples']:,} samples, {v['converted']:,} converted)",
        f"validated AUC: current {num(a['current'])}, suggested {num(a['suggested'])}",
        "nothing was changed: copy what you like into the config",
    ]
    if prefix:  # the TOML form lists the rules whose points stay as they are
        kept = [f"{x['rule']} ({x['note']})" for x in r["rules"] if x["note"]]
        lines += kept
    return "".join(f"{prefix}{line}\n" for line in lines)
