"""`report quality`, `simulate --quality` and `tune`: figures computed by hand, a planted signal,
and the property that no sample uses an event at or after its snapshot."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from acsync.cli import cli
from acsync.core import quality as q
from acsync.core.durations import parse_duration
from acsync.core.event import Event
from acsync.core.ledger import build_ledger
from acsync.core.rules import Ruleset
from acsync.core.scoring import clamp, raw_score, round_score, steps
from acsync.core.timefmt import iso
from acsync.jobs.ingest import ingest_lines
from acsync.jobs.score import score
from acsync.jobs.simulate import compare_quality
from acsync.output import cell
from acsync.reports.quality import Options, Outcome, quality
from acsync.store import Store
from tests.conftest import T0, ruleset, settings
from tests.test_properties import by_contact, event_lists

# --- the hand-made history ----------------------------------------------------------------------
# Ten contacts c1..c10 make 10..1 site visits on days 1..k (10 points each), so at the snapshot
# T (day 20) they score 100, 90, ..., 10. c1, c2 and c4 order within 30 days of T; c5 orders
# exactly 30 days after T (outside [T, T + 30d)); c11 ordered before T (not sampled); c12 first
# appears after T (not sampled).
HAND: dict[str, Any] = {
    "scores": [{"name": "lead_score", "floor": 0}],
    "rules": [{"name": "Visit", "on": "site_visit", "points": 10}],
    "thresholds": [{"name": "Hot lead", "at_least": 80, "tag": "Hot Lead"}],
    "segments": [
        {"name": "Hot", "min": 80},
        {"name": "Warm", "min": 40},
        {"name": "Cold", "min": 0},
    ],
}
T = T0 + timedelta(days=20)
WITHIN = parse_duration("30d")
AT = T + timedelta(days=30)


def _line(type_: str, contact: str, when: datetime, **attrs: Any) -> str:
    return json.dumps({"type": type_, "contact_id": contact, "at": when.isoformat(), **attrs})


def hand_lines() -> list[str]:
    lines = []
    for i in range(1, 11):
        for d in range(1, 12 - i):
            lines.append(_line("site_visit", f"c{i}", T0 + timedelta(days=d), url=f"https://x/{d}"))
    orders = {"c1": T + timedelta(days=5), "c2": T + timedelta(days=10), "c4": T + timedelta(days=3)}
    orders["c5"] = T + timedelta(days=30)
    lines += [_line("order", c, when, name=f"o-{c}") for c, when in orders.items()]
    lines += [_line("site_visit", "c11", T0 + timedelta(days=d), url="https://x/") for d in range(1, 6)]
    lines.append(_line("order", "c11", T - timedelta(days=1), name="o-c11"))
    lines.append(_line("site_visit", "c12", T + timedelta(days=1), url="https://x/"))
    return lines


@pytest.fixture(scope="module")
def hand_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("quality") / "hand.db"
    s = settings(HAND)
    with Store.open(path) as store:
        ingest_lines(store, hand_lines(), "file", AT)
        score(store, s.ruleset(), s.fingerprints(), AT)
    return path


def hand_report(db: Path) -> dict[str, Any]:
    rs = settings(HAND).ruleset()
    opts = Options(AT, Outcome("order"), WITHIN, parse_duration("1mo"), T)
    with Store.open(db, readonly=True) as store:
        return quality(store.conn, rs, rs.scores[0], opts)


def test_hand_made_history_figures(hand_db: Path) -> None:
    r = hand_report(hand_db)
    assert r["snapshots"] == [iso(T)]
    assert (r["samples"], r["converted"], r["base_rate"]) == (10, 3, 0.3)
    # deciles: one contact each, best first: c1 (100, bought), c2 (90, bought), c3, c4 (70, bought), ...
    assert [d["contacts"] for d in r["deciles"]] == [1] * 10
    assert [d["converted"] for d in r["deciles"]] == [1, 1, 0, 1, 0, 0, 0, 0, 0, 0]
    assert [d["high"] for d in r["deciles"]] == [100, 90, 80, 70, 60, 50, 40, 30, 20, 10]
    assert r["deciles"][0]["rate"] == 1.0
    assert r["deciles"][0]["lift"] == round(1 / 0.3, 4)
    assert r["deciles"][2]["lift"] == 0.0
    # AUC: of the 3 × 7 (bought, not) pairs, only (70, 80) is ranked wrong: 20/21
    assert r["auc"] == round(20 / 21, 4)
    # average precision: hits at ranks 1, 2, 4 → (1 + 1 + 3/4) / 3
    assert r["pr_auc"] == round(2.75 / 3, 4)
    # segments: Hot = 100, 90, 80 (2 bought); Warm = 70..40 (1); Cold = 30..10 (0)
    seg = {s["segment"]: s for s in r["segments"]}
    assert [s["segment"] for s in r["segments"]] == ["Hot", "Warm", "Cold"]
    assert (seg["Hot"]["contacts"], seg["Hot"]["converted"]) == (3, 2)
    assert seg["Hot"]["rate"] == round(2 / 3, 4)
    assert seg["Hot"]["lift"] == round((2 / 3) / 0.3, 4)
    assert seg["Hot"]["rate_ci"] == [0.2077, 0.9385]  # the Wilson interval of 2 in 3, from tables
    assert (seg["Warm"]["contacts"], seg["Warm"]["converted"], seg["Warm"]["rate"]) == (4, 1, 0.25)
    assert (seg["Cold"]["contacts"], seg["Cold"]["converted"], seg["Cold"]["lift"]) == (3, 0, 0.0)
    # thresholds: the threshold and the segment floors; at 80: 3 of 10 above, 2 of them bought, of 3
    th = {t["threshold"]: t for t in r["thresholds"]}
    assert sorted(th) == [0, 40, 80]
    assert (th[80]["share_above"], th[80]["precision"], th[80]["recall"]) == (
        0.3,
        round(2 / 3, 4),
        round(2 / 3, 4),
    )
    # reached 80 on day 8 (c1, c2); bought on days 25 and 30: 17 and 22 days → median 19.5
    assert th[80]["median_days"] == 19.5
    # reached 40 on day 4 (c1, c2, c4); bought on days 25, 30, 23 → 21, 26, 19 → median 21
    assert th[40]["median_days"] == 21.0
    assert th[0]["recall"] == 1.0
    assert r["gains"][1]["converted_share"] == round(2 / 3, 4)  # the top 20 % hold 2 of 3 buyers
    assert r["gains_curve"][0] == [0.0, 0.0]
    assert r["gains_curve"][-1] == [1.0, 1.0]
    assert r["by_snapshot"][0]["auc"] == r["auc"]
    assert not r["enough"]
    assert r["verdict"].startswith("too few conversions to judge: 3 in 10 samples")


def test_ties_are_split_by_size_and_conversions_shared() -> None:
    # 10 samples: four at 5 (two converted), six at 0 (none)
    h = {5: [4, 2], 0: [6, 0]}
    bands = q.deciles(h)
    assert [b.contacts for b in bands] == [1] * 10
    assert [b.converted for b in bands] == [1, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    assert sum(b.converted for b in bands) == 2
    # each converted sample beats the six at 0 and ties the two others at 5: (6 + 1) * 2 / (2 * 8)
    assert q.auc(h) == 14 / 16
    assert q.auc({3: [5, 0]}) is None
    assert q.wilson(0, 10)[0] == 0.0
    lo, hi = q.wilson(2, 3)
    assert (round(lo, 4), round(hi, 4)) == (0.2077, 0.9385)


def test_the_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    rng = random.Random(3)
    blocks: list[q.Hist] = []
    for _ in range(50):
        h: q.Hist = {}
        for _ in range(20):
            s = rng.randrange(10)
            q.put(h, s, 1, int(rng.random() < s / 12))
        blocks.append(h)
    whole = q.merged((b, 1) for b in blocks)
    a = q.auc(whole)
    ci, pr_ci = q.intervals(blocks, seed=1)
    assert a is not None
    assert ci is not None
    assert pr_ci is not None
    assert (ci, pr_ci) == q.intervals(blocks, seed=1)
    assert ci[0] < a < ci[1]
    assert ci[1] - ci[0] < 0.2
    diff = q.auc_difference_ci(blocks, blocks)
    assert diff == (0.0, 0.0)


def test_cli_report_quality_json_keys(hand_db: Path, tmp_path: Path) -> None:
    config = tmp_path / "hand.toml"
    config.write_text(_toml(HAND), encoding="utf-8")
    args = ["--config", str(config), "--db", str(hand_db), "report", "quality", "--at", iso(AT)]
    args += ["--since", iso(T), "--within", "30d", "--format", "json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in (
        "samples",
        "converted",
        "base_rate",
        "auc",
        "auc_ci",
        "pr_auc",
        "deciles",
        "segments",
        "thresholds",
    ):
        assert key in data
    assert set(data["deciles"][0]) >= {"contacts", "converted", "rate", "lift"}
    assert set(data["segments"][0]) >= {"segment", "contacts", "converted", "rate", "lift"}
    table = CliRunner().invoke(cli, [*args[:-2], "--format", "table"])
    assert table.exit_code == 0
    assert "too few conversions to judge" in table.stdout
    assert "by score decile" in table.stdout
    bad = CliRunner().invoke(cli, [*args[:-2], "--match", "colour=red"])
    assert bad.exit_code == 2
    assert "KEY=GLOB" in bad.output
    many = CliRunner().invoke(cli, [*args[:-2], "--within", "1d", "--every", "1h"])  # 697 snapshots
    assert many.exit_code == 2
    assert "more than 400 snapshots" in many.output


def _toml(data: dict[str, Any]) -> str:
    from acsync.output import render_toml

    return render_toml(data)


# --- nothing leaks from the future --------------------------------------------------------------
LEAKY = ruleset(
    scores=[{"name": "lead_score", "floor": 0}],
    rules=[
        {"name": "Signup", "on": "subscribe", "points": 5, "once": True},
        {"name": "Click", "on": "click", "points": 10, "once_per": "campaign", "expires_after": "30d"},
        {"name": "Visit", "on": "site_visit", "points": 10, "max": {"count": 2, "within": "7d"}},
        {"name": "Order", "on": "order", "points": 50},
    ],
    inactivity=[
        {"name": "Quiet", "without": ["open", "click"], "for": "20d", "points": -30, "tag": "Inaktiv"},
        {"name": "Gone", "without": ["site_visit"], "for": "60d", "reset": True},
        {"name": "Brief", "without": ["reply"], "for": "10d", "points": -5, "penalty_lasts": "5d"},
    ],
)
DECAYING = ruleset(
    scores=[{"name": "lead_score"}],
    rules=[{"name": "Open", "on": "open", "points": 8, "half_life": "10d"}],
    inactivity=[{"name": "Quiet", "without": ["click"], "for": "15d", "points": -10}],
)


def sample_at(
    events: list[Event], rs: Ruleset, t: datetime, created: datetime | None
) -> list[tuple[int, int, bool]]:
    ledger = build_ledger(events, rs, created)
    mine = q.encode_steps((iso(at), v) for _, at, v in steps(ledger, rs))
    since = iso(created) if created else (iso(events[0].at) if events else None)
    return q.contact_samples(mine, 0, since, None, [iso(t)], [iso(t + timedelta(days=30))])


@given(
    event_lists,
    st.integers(0, 24 * 300).map(lambda h: T0 + timedelta(hours=h)),
    st.one_of(st.none(), st.integers(0, 24 * 30).map(lambda h: T0 - timedelta(hours=h))),
    st.sampled_from([LEAKY, DECAYING]),
    st.data(),
)
def test_no_sample_uses_an_event_at_or_after_its_snapshot(
    dicts: list[dict[str, Any]], t: datetime, created: datetime | None, rs: Ruleset, data: st.DataObject
) -> None:
    for events in by_contact(dicts).values():
        if events and data.draw(st.booleans()):  # often a snapshot at exactly an event's instant
            t = data.draw(st.sampled_from([e.at for e in events]))
        before = [e for e in events if e.at < t]
        # what the report reads off the ledger of every event = what the events before t alone give
        got = sample_at(events, rs, t, created)
        assert got == sample_at(before, rs, t, created)
        if rs is LEAKY and got:
            # and it is the engine's score just before t (no decay: the steps are exact)
            ledger = build_ledger(before, rs, created)
            expected = round_score(clamp(raw_score(ledger, t - timedelta(seconds=1)), rs.scores[0]))
            assert got[0][1] == expected


def test_an_event_at_the_snapshot_is_not_in_its_sample() -> None:
    visit = Event("v", "site_visit", T, "1", None, url="https://x/")
    earlier = Event("w", "site_visit", T - timedelta(days=1), "1", None, url="https://x/y")
    assert sample_at([earlier, visit], LEAKY, T, None) == [(0, 10, False)]
    assert sample_at([earlier], LEAKY, T + timedelta(seconds=1), None) == [(0, 10, False)]
    assert sample_at([earlier, visit], LEAKY, T + timedelta(seconds=1), None) == [(0, 20, False)]


# --- a planted signal ---------------------------------------------------------------------------
PLANTED: dict[str, Any] = {
    "scores": [{"name": "lead_score", "floor": 0}],
    "rules": [
        {
            "name": "Pricing page",
            "on": "site_visit",
            "points": 20,
            "match": {"url": "*/pricing*"},
            "expires_after": "60d",
        },
        {
            "name": "Blog post",
            "on": "site_visit",
            "points": 5,
            "match": {"url": "*/blog/*"},
            "expires_after": "60d",
        },
    ],
    "segments": [{"name": "Hot", "min": 60}, {"name": "Warm", "min": 20}, {"name": "Cold", "min": 0}],
}
SHUFFLED = {**PLANTED, "rules": [{**PLANTED["rules"][0], "points": 5}, {**PLANTED["rules"][1], "points": 20}]}
END = T0 + timedelta(days=365)


def planted_lines(contacts: int = 500, seed: int = 5) -> list[str]:
    """Blog reading is noise; pricing visits come in bursts, and a burst is often followed by an
    order within weeks."""
    rng = random.Random(seed)
    lines = []
    for c in range(contacts):
        cid = f"p{c}"
        lines.append(_line("subscribe", cid, T0 + timedelta(days=rng.uniform(0, 20)), list="1"))
        for _ in range(rng.randint(2, 14)):
            when = T0 + timedelta(days=rng.uniform(0, 365))
            lines.append(_line("site_visit", cid, when, url=f"https://x.com/blog/{rng.randrange(9)}"))
        if rng.random() < 0.5:
            start = T0 + timedelta(days=rng.uniform(20, 330))
            for k in range(rng.randint(1, 3)):
                lines.append(_line("site_visit", cid, start + timedelta(days=k), url="https://x.com/pricing"))
            if rng.random() < 0.6:
                lines.append(_line("order", cid, start + timedelta(days=rng.uniform(3, 40)), name=f"o{c}"))
        elif rng.random() < 0.05:
            lines.append(_line("order", cid, T0 + timedelta(days=rng.uniform(20, 365)), name=f"o{c}"))
    return lines


@pytest.fixture(scope="module")
def planted_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("quality") / "planted.db"
    s = settings(PLANTED)
    with Store.open(path) as store:
        ingest_lines(store, planted_lines(), "file", END)
        score(store, s.ruleset(), s.fingerprints(), END)
    return path


PLANTED_OPTS = Options(
    END, Outcome("order"), parse_duration("30d"), parse_duration("1mo"), T0 + timedelta(days=30)
)


def test_the_planted_ruleset_beats_a_shuffled_one(planted_db: Path) -> None:
    planted, shuffled = settings(PLANTED).ruleset(), settings(SHUFFLED).ruleset()
    with Store.open(planted_db, readonly=True) as store:
        stored = quality(store.conn, planted, planted.scores[0], PLANTED_OPTS)
        r = compare_quality(
            store.conn, shuffled, planted, (shuffled.scores[0], planted.scores[0]), PLANTED_OPTS
        )
    assert stored["enough"]
    assert stored["auc"] > 0.7
    assert stored["deciles"][0]["lift"] > 2
    # the report from the stored steps and the replay in memory agree exactly
    assert r["proposed"]["auc"] == stored["auc"]
    assert r["proposed"]["samples"] == r["current"]["samples"] == stored["samples"]
    assert r["proposed"]["auc"] > r["current"]["auc"]
    assert r["auc_difference_ci"][0] > 0
    seg = {s["segment"]: s for s in stored["segments"]}
    assert seg["Hot"]["rate"] > 3 * seg["Cold"]["rate"]


def test_tune_ranks_the_predictive_rule_clearly_higher(planted_db: Path) -> None:
    from acsync.jobs.tune import tune

    s = settings(SHUFFLED)  # blog posts worth 20, the pricing page 5: the wrong way round
    rs = s.ruleset()
    with Store.open(planted_db, readonly=True) as store:
        r = tune(store.conn, s, rs, rs.scores[0], PLANTED_OPTS)
    rules = {x["rule"]: x for x in r["rules"]}
    assert rules["Pricing page"]["points"] == 5
    assert rules["Pricing page"]["suggested"] > 3 * max(rules["Blog post"]["suggested"], 1)
    assert rules["Pricing page"]["weight"] > 0
    assert r["auc"]["suggested"] > r["auc"]["current"] + 0.05
    fitted, validated = r["fitted_on"]["snapshots"], r["validated_on"]["snapshots"]
    assert fitted
    assert validated
    assert max(fitted) < min(validated)
    assert r["validated_on"]["samples"] > 0
    assert 'name = "Pricing page"' in r["toml"]
    assert f"points = {rules['Pricing page']['suggested']!r}" in r["toml"]


def test_cli_tune_json_and_the_missing_extra(
    planted_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "planted.toml"
    config.write_text(_toml(PLANTED), encoding="utf-8")
    args = ["--config", str(config), "--db", str(planted_db), "tune", "--at", iso(END), "--within", "30d"]
    args += ["--since", iso(T0 + timedelta(days=30))]
    result = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"rules", "auc", "validated_on"}
    assert set(data["rules"][0]) >= {"rule", "points", "suggested"}
    assert set(data["auc"]) == {"current", "suggested"}
    toml = CliRunner().invoke(cli, [*args, "--format", "toml"])
    assert toml.exit_code == 0
    assert toml.stdout.startswith("# suggested points for lead_score")
    assert "[[rules]]" in toml.stdout
    monkeypatch.setitem(__import__("sys").modules, "sklearn.linear_model", None)
    missing = CliRunner().invoke(cli, args)
    assert missing.exit_code == 1
    assert "pip install 'acsync[tune]'" in missing.output
    assert "Traceback" not in missing.output


def test_the_html_page_has_the_quality_section(planted_db: Path) -> None:
    from acsync.reports.dashboard import page
    from tests.test_reports import _Cells

    rs = settings(PLANTED).ruleset()
    html = page(planted_db, rs, rs.scores[0], END, END, title="t")
    with Store.open(planted_db, readonly=True) as store:
        expected = quality(store.conn, rs, rs.scores[0], Options(END))
    assert "<script" not in html
    assert "Does the score predict sales?" in html
    assert f"<p data-quality=verdict>{expected['verdict']}</p>" in html
    assert "<polyline data-quality=gains" in html
    for s in expected["segments"]:
        assert f"data-segment='{s['segment']}'" in html
    cells = _Cells()
    cells.feed(html)
    shown = cells.rows["quality"]
    assert len(shown) == 10
    for row, want in zip(shown, expected["deciles"], strict=True):
        for key in ("contacts", "converted", "lift"):  # the JSON value as a table shows it to people
            assert row[key] == cell(want[key]), (key, row[key], want[key])


def test_cli_simulate_quality_side_by_side(planted_db: Path, tmp_path: Path) -> None:
    current, proposed = tmp_path / "shuffled.toml", tmp_path / "planted.toml"
    current.write_text(_toml(SHUFFLED), encoding="utf-8")
    proposed.write_text(_toml(PLANTED), encoding="utf-8")
    args = ["--config", str(current), "--db", str(planted_db), "simulate", "--rules", str(proposed)]
    args += ["--quality", "--at", iso(END), "--within", "30d", "--since", iso(T0 + timedelta(days=30))]
    table = CliRunner().invoke(cli, args)
    assert table.exit_code == 0, table.output
    assert "AUC proposed − current: +" in table.stdout
    assert "the proposed rules rank converting contacts better" in table.stdout
    assert "decile 1 rate / lift" in table.stdout
    data = json.loads(CliRunner().invoke(cli, [*args, "--format", "json"]).stdout)
    assert data["proposed"]["samples"] == data["current"]["samples"]
    assert data["auc_difference"] == round(data["proposed"]["auc"] - data["current"]["auc"], 4)
    assert data["auc_difference_ci"][0] > 0
    rows = list(csv.reader(io.StringIO(CliRunner().invoke(cli, [*args, "--format", "csv"]).stdout)))
    samples = next(r for r in rows if r[0] == "samples")
    assert data["current"]["samples"] >= 1000  # so a separator would show
    assert samples[1] == str(data["current"]["samples"])  # a plain number: no thousands separator
