"""Reports against evaluating the ledgers directly: the fast paths must say what the engine says."""

from __future__ import annotations

import json
import re
import sqlite3
import struct
import subprocess
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from acsync.cli import cli
from acsync.config import load_config
from acsync.core.event import Event, parse_event
from acsync.core.rules import ContentType, Match
from acsync.core.scoring import evaluate
from acsync.core.timefmt import from_iso, iso
from acsync.jobs.ingest import ingest_lines
from acsync.jobs.score import score
from acsync.output import SHARE, cell
from acsync.reports.content import content, where_clause
from acsync.reports.history import contact_history, distribution
from acsync.reports.leads import inactive, segments, top
from acsync.reports.past import contacts, score_def
from acsync.store import Store
from acsync.store.read import stored_ledger
from tests.conftest import ROOT

AT = datetime(2026, 11, 21, tzinfo=UTC)
SETTINGS = load_config(ROOT / "config.example.toml", {})
RULES = SETTINGS.ruleset()
SDEF = score_def(RULES, None)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("reports") / "r.db"
    with Store.open(path) as store:
        lines = (ROOT / "examples" / "events.jsonl").read_text(encoding="utf-8").splitlines()
        ingest_lines(store, lines, "file", AT)
        score(store, RULES, SETTINGS.fingerprints(), AT)
    return path


@pytest.fixture
def conn(db: Path) -> sqlite3.Connection:
    store = Store.open(db, readonly=True)
    return store.conn


def evaluated(conn: sqlite3.Connection, t: datetime) -> dict[int, Any]:
    return {c.id: evaluate(stored_ledger(conn, c.id), RULES, t) for c in contacts(conn)}


def existing(conn: sqlite3.Connection, t: datetime) -> set[int]:
    return {c.id for c in contacts(conn) if c.since is not None and c.since <= iso(t)}


def test_top_matches_the_engine(conn: sqlite3.Connection) -> None:
    for at in (None, AT - timedelta(days=45)):
        report = top(conn, RULES, SDEF, at, 10)
        states = evaluated(conn, at or AT)
        expected = sorted(states.items(), key=lambda cs: (-cs[1].rounded[SDEF.name], cs[0]))[:10]
        assert [r["score"] for r in report.rows] == [s.rounded[SDEF.name] for _, s in expected]
        assert [r["tags"] for r in report.rows] == [sorted(s.tags) for _, s in expected]
        assert all(
            r["segment"] == s.segments[SDEF.name] for r, (_, s) in zip(report.rows, expected, strict=True)
        )


@pytest.mark.parametrize("back", [0, 20, 90])
def test_segments_match_the_engine(conn: sqlite3.Connection, back: int) -> None:
    at = AT - timedelta(days=back)
    report = segments(conn, RULES, SDEF, at, False, 30)
    now, then = evaluated(conn, at), evaluated(conn, at - timedelta(days=30))
    alive_now, alive_then = existing(conn, at), existing(conn, at - timedelta(days=30))
    count_now = Counter(now[c].segments[SDEF.name] for c in alive_now)
    count_then = Counter(then[c].segments[SDEF.name] for c in alive_then)
    for row in report.rows:
        name = None if row["segment"].startswith("(") else row["segment"]
        assert row["contacts"] == count_now[name]
        assert row["contacts_30d_ago"] == count_then[name]
        assert row["change"] == count_now[name] - count_then[name]
    assert sum(r["share"] for r in report.rows) == pytest.approx(100, abs=0.5)


def test_segments_stored_read_the_scores_table(conn: sqlite3.Connection) -> None:
    stored = segments(conn, RULES, SDEF, AT, True, 30)
    fresh = segments(conn, RULES, SDEF, AT, False, 30)
    assert [r["contacts"] for r in stored.rows] == [r["contacts"] for r in fresh.rows]


def _events(conn: sqlite3.Connection) -> list[tuple[int, Event]]:
    out = []
    for c, at, _key, type_, campaign, url, tag, form, list_, name, value in conn.execute(
        "SELECT contact, at, key, type, campaign, url, tag, form, list, name, value FROM events"
    ):
        attrs = {"campaign": campaign, "url": url, "tag": tag, "form": form, "list": list_, "name": name}
        d = {"type": type_, "contact_id": str(c), "at": at, "value": value}
        d.update({k: v for k, v in attrs.items() if v is not None})
        out.append((c, parse_event({k: v for k, v in d.items() if v is not None})))
    return out


def test_content_matches_the_engine(conn: sqlite3.Connection) -> None:
    report = content(conn, RULES, SDEF, AT, 30)
    events = _events(conn)
    for ct, row in zip(RULES.content, report.rows, strict=True):
        mine = [(c, e) for c, e in events if ct(e) and e.at <= AT]
        assert row["events"] == len(mine)
        assert row["contacts"] == len({c for c, _ in mine})
        first: dict[int, datetime] = {}
        for c, e in mine:
            first[c] = min(first.get(c, e.at), e.at)
        changes = []
        for c, f in first.items():
            if f + timedelta(days=30) > AT:
                continue
            ledger = stored_ledger(conn, c)
            after = evaluate(ledger, RULES, f + timedelta(days=30)).rounded[SDEF.name]
            before = evaluate(ledger, RULES, f - timedelta(seconds=1)).rounded[SDEF.name]
            changes.append(after - before)
        assert row["measured"] == len(changes)
        assert row["score_change_30d"] == pytest.approx(sum(changes) / len(changes), abs=0.01)


def test_inactive_matches_the_engine(conn: sqlite3.Connection) -> None:
    report = inactive(conn, AT)
    states = evaluated(conn, AT)
    ac = {c.id: c.ac_id for c in contacts(conn)}
    inactivity = {r.name for r in RULES.inactivity}
    expected = {
        (ac[c], reason)
        for c, s in states.items()
        for w in s.tags.values()
        for reason in w.reasons
        if reason in inactivity
    }
    tagged = {(r["contact_id"], r["rule"]) for r in report.rows if r["tag"]}
    assert tagged == expected
    assert all(r["tag_in_ac"] in ("yes", "no", "pending add") for r in report.rows if r["tag"])


def test_history_matches_the_engine(conn: sqlite3.Connection) -> None:
    since = AT - timedelta(days=200)
    who = next(c for c in contacts(conn) if c.ac_id == "1024")
    ledger = stored_ledger(conn, who.id)
    rows = contact_history(conn, RULES, SDEF, who, since, AT).rows
    assert len(rows) > 3
    for row in rows:
        assert row["score"] == evaluate(ledger, RULES, from_iso(str(row["at"]))).rounded[SDEF.name]
    dist = distribution(conn, RULES, SDEF, since, AT, SETTINGS.push.seen_within.__class__(1, "mo")).rows
    for row in dist:
        t = from_iso(str(row["at"]))
        states = evaluated(conn, t)
        alive = existing(conn, t)
        assert row["contacts"] == len(alive)
        for band in ("Hot", "Warm", "Cold"):
            assert row[band] == sum(1 for c in alive if states[c].segments[SDEF.name] == band), (t, band)


globs = st.text(alphabet="ab*?[]!/-", min_size=1, max_size=6)
values = st.text(alphabet="abAB/-[]!", max_size=8)


@given(globs, values)
def test_content_globs_match_in_sqlite_as_in_the_engine(glob: str, url: str) -> None:
    ct = ContentType("x", frozenset({"click"}), Match({"url": glob}))
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE events (type TEXT, url TEXT, value REAL)")
    conn.execute("INSERT INTO events VALUES ('click', ?, NULL)", [url])
    where, args = where_clause(conn, ct)
    found = conn.execute(f"SELECT count(*) FROM events e WHERE {where}", args).fetchone()[0]
    event = parse_event({"type": "click", "contact_id": "1", "at": "2026-01-01T00:00:00Z", "url": url or "x"})
    if url:
        assert bool(found) == ct(event), (glob, url)


def test_report_commands(db: Path, tmp_path: Path) -> None:
    base = ["--config", str(ROOT / "config.example.toml"), "--db", str(db)]
    run = CliRunner().invoke
    at = ["--at", "2026-11-21T00:00:00Z"]
    for args in (
        ["top", "--limit", "3"],
        ["segments", *at],
        ["content", *at],
        ["inactive", *at],
        ["history", *at],
    ):
        result = run(cli, [*base, "report", *args, "--format", "json"])
        assert result.exit_code == 0, result.output
        assert isinstance(json.loads(result.stdout), list)
    one = run(cli, [*base, "report", "history", "contact1024@example.com", *at, "--format", "csv"])
    assert one.output.startswith("at,score,change,segment")
    bad = run(cli, [*base, "report", "top", "--score", "nope"])
    assert bad.exit_code == 2
    assert "no score 'nope'" in bad.output
    page = tmp_path / "r.html"
    html = run(cli, [*base, "report", "html", "-o", str(page)])
    assert html.exit_code == 0, html.output
    text = page.read_text(encoding="utf-8")
    assert "<svg" in text
    assert _fetches(text) == []  # self-contained: nothing fetched (URLs of the data are text)
    for name in ("segments", "history", "content", "top", "inactive"):
        assert f"data-report='{name}'" in text


def test_history_refuses_what_it_cannot_do_and_an_unknown_contact_reads_as_in_explain(db: Path) -> None:
    base = ["--config", str(ROOT / "config.example.toml"), "--db", str(db)]
    run = CliRunner().invoke
    at = ["--at", "2026-11-21T00:00:00Z"]
    every = run(cli, [*base, "report", "history", "contact1024@example.com", *at, "--every", "1w"])
    assert every.exit_code == 2
    assert "--every samples the distribution: leave it out with CONTACT" in every.output
    later = run(cli, [*base, "report", "history", *at, "--since", "2026-12-01"])
    assert later.exit_code == 2
    assert "--since 2026-12-01 00:00 UTC is after --at 2026-11-21 00:00 UTC" in later.output
    assert run(cli, [*base, "report", "history", *at, "--since", "2026-11-21"]).exit_code == 0
    said = []
    for args in (["explain", "nobody@example.com"], ["report", "history", "nobody@example.com"]):
        result = run(cli, [*base, *args, *at])
        assert result.exit_code == 1, result.output
        said.append(result.output.strip().splitlines()[-1])
    assert said[0] == said[1]
    assert f"no contact with e-mail or AC id 'nobody@example.com' in {db}" in said[0]


def _fetches(text: str) -> list[str]:
    """Whatever in the page a browser would load: scripts, images, links, styles, frames."""
    found: list[str] = []

    class Loads(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in ("script", "img", "link", "iframe", "object", "embed", "image", "use"):
                found.append(tag)
            found.extend(
                f"{tag} {k}={v}"
                for k, v in attrs
                if k in ("src", "href", "xlink:href", "srcset") and not (v or "").startswith("#")
            )

    Loads().feed(text)
    return found + (["url( in CSS"] if "url(" in text else [])


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium() -> str:
    import os
    import shutil

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI_REQUIRE_CHROMIUM"):
            pytest.fail("Chromium is required here (CI_REQUIRE_CHROMIUM): apt-get install chromium")
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    return found


class _Cells(HTMLParser):
    """Rows of ``<tr data-report=…>`` as {data-key: text}; a cell without a ``data-key`` under
    its column's header."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[dict[str, str]]] = {}
        self._key: str | None = None
        self._headers: list[str] = []
        self._th = False
        self._column = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._headers = []
        elif tag == "th":
            self._th = True
            self._headers.append("")
        elif tag == "tr" and a.get("data-report"):
            self.rows.setdefault(str(a["data-report"]), []).append({})
            self._column = 0
        elif tag == "td" and self.rows and (a.get("data-key") or self._column < len(self._headers)):
            self._key = str(a.get("data-key") or self._headers[self._column])
            self._column += 1
            last = list(self.rows.values())[-1]
            last[-1][self._key] = ""

    def handle_data(self, data: str) -> None:
        if self._th:
            self._headers[-1] += data
        elif self._key is not None:
            last = list(self.rows.values())[-1]
            last[-1][self._key] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._key = None
        elif tag == "th":
            self._th = False


def _png_is_not_blank(png: bytes) -> bool:
    """Decompress the image data: a blank page filters to (almost) all zeros."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    data, i = b"", 8
    while i < len(png):
        length = struct.unpack(">I", png[i : i + 4])[0]
        if png[i + 4 : i + 8] == b"IDAT":
            data += png[i + 8 : i + 8 + length]
        i += 12 + length
    raw = zlib.decompress(data)
    nonzero = sum(1 for b in raw[::7] if b)
    return nonzero / max(1, len(raw[::7])) > 0.01 and len(set(raw[::7])) > 50


ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


def test_the_html_report_renders_in_chromium_and_shows_the_json_numbers(db: Path, tmp_path: Path) -> None:
    browser = chromium()
    base = ["--config", str(ROOT / "config.example.toml"), "--db", str(db)]
    at = ["--at", "2026-11-21T00:00:00Z"]
    page = tmp_path / "report.html"
    made = CliRunner().invoke(cli, [*base, "report", "html", "-o", str(page), *at])
    assert made.exit_code == 0, made.output
    profile = tmp_path / "chromium-profile"
    shot = tmp_path / "shot.png"
    common = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
    subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert _png_is_not_blank(shot.read_bytes())
    dom = subprocess.run(
        [*common, "--dump-dom", page.as_uri()], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    cells = _Cells()
    cells.feed(dom)
    for name, args in (
        ("segments", ["segments", *at]),
        ("content", ["content", *at]),
        ("top", ["top", *at]),
        ("history", ["history", *at]),
    ):
        expected = json.loads(CliRunner().invoke(cli, [*base, "report", *args, "--format", "json"]).stdout)
        shown = cells.rows.get(name, [])
        assert len(shown) == len(expected), name
        for row, want in zip(shown, expected, strict=True):
            for key, text in row.items():  # the JSON value, as a table shows it to people
                kind = SHARE if (name, key) == ("segments", "share") else None
                assert text == cell(want[key], kind), (name, key, text, want[key])
                assert not ISO_TIME.search(text), (name, key, text)  # times for people, not ISO


# Injected by the test only (the page itself has no script): every text box of every chart, as
# laid out by Chromium, against the other text boxes of its chart and against the chart's box;
# every table (or the box it scrolls in) against its container, and the page against the
# window. The verdict is written into the DOM for --dump-dom.
LAYOUT_CHECK = """
(function () {
  const out = {charts: 0, texts: 0, overlaps: [], outside: [], wide: []};
  const slack = 0.5;
  const words = (el) => (el.textContent || "").trim().slice(0, 40);
  document.querySelectorAll("svg").forEach((svg, i) => {
    out.charts++;
    const name = (svg.dataset.chart || "") + "#" + i;
    const s = svg.getBoundingClientRect();
    const boxes = [...svg.querySelectorAll("text")]
      .map((t) => [t, t.getBoundingClientRect()])
      .filter(([, b]) => b.width > 0 && b.height > 0);
    out.texts += boxes.length;
    for (const [t, b] of boxes) {
      if (b.left < s.left - slack || b.right > s.right + slack ||
          b.top < s.top - slack || b.bottom > s.bottom + slack) {
        out.outside.push([name, words(t)]);
      }
    }
    for (let a = 0; a < boxes.length; a++) {
      for (let c = a + 1; c < boxes.length; c++) {
        const p = boxes[a][1], q = boxes[c][1];
        const w = Math.min(p.right, q.right) - Math.max(p.left, q.left);
        const h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
        if (w > slack && h > slack) out.overlaps.push([name, words(boxes[a][0]), words(boxes[c][0])]);
      }
    }
  });
  document.querySelectorAll("table").forEach((t, i) => {
    // a wide table may scroll inside its box (div.scroll): that box must fit in its section
    const box = t.parentElement.classList.contains("scroll") ? t.parentElement : t;
    if (box.getBoundingClientRect().right > box.parentElement.getBoundingClientRect().right + slack) {
      const row = t.querySelector("tr[data-report]");
      out.wide.push("table #" + i + " " + (row ? row.dataset.report : ""));
    }
  });
  if (document.documentElement.scrollWidth > window.innerWidth) out.wide.push("the page");
  const pre = document.createElement("pre");
  pre.id = "layout-verdict";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
"""


def _layout(browser: str, pages: list[str], tmp_path: Path, width: int = 1200) -> dict[str, Any]:
    """The verdict of ``LAYOUT_CHECK`` on the pages' ``<main>``\\ s put one after the other, in a
    window ``width`` pixels wide."""
    import html
    import re

    first = pages[0]
    bodies = [p[p.index("<main>") + 6 : p.index("</main>")] for p in pages[1:]]
    whole = first.replace("</main>", "".join(bodies) + "</main>").replace(
        "</body>", f"<script>{LAYOUT_CHECK}</script></body>"
    )
    path = tmp_path / "layout.html"
    path.write_text(whole, encoding="utf-8")
    common = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-layout'}"]
    dom = subprocess.run(
        [*common, f"--window-size={width},2400", "--dump-dom", path.as_uri()],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    found = re.search(r'<pre id="layout-verdict">(.*?)</pre>', dom, re.S)
    assert found is not None, "the layout check did not run"
    verdict: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return verdict


def _synthetic(
    scores: list[int], samples: list[datetime], bands: list[str], content_rows: list[tuple[str, float]]
) -> str:
    """A page from made-up reports: the charts' edge cases without a database."""
    from acsync.reports.html import render
    from acsync.reports.table import Report

    n = len(bands)
    history = Report(
        "h",
        ["at", "contacts", "mean_score", *bands],
        [
            {
                "at": iso(t),
                "contacts": 0,
                "mean_score": 0.0,
                **{b: (i + 1) * (k + 1) * 997 for k, b in enumerate(bands)},
            }
            for i, t in enumerate(samples)
        ],
    )
    seg_headers = ["segment", "min", "contacts", "share", "contacts_30d_ago", "change"]
    segs = Report(
        "s",
        seg_headers,
        [dict(zip(seg_headers, [b, n - k, 1, 1.0, 1, 0], strict=True)) for k, b in enumerate(bands)],
    )
    content_report = Report(
        "c",
        ["content", "events", "contacts", "points_per_event", "score_change_30d", "measured"],
        [{"content": name, "score_change_30d": v} for name, v in content_rows],
    )
    empty = Report("t", ["rank", "contact_id", "email"], [])
    inactive_report = Report("i", ["contact_id", "email", "rule"], [])
    return render(
        title="synthetic",
        score="lead_score",
        as_of="at 2026-11-21 00:00 UTC",
        when="2026-11-21 00:00 UTC",
        generated="2026-11-21 00:00 UTC",
        scores=scores,
        bands=bands,
        segments=segs,
        history=history,
        content=content_report,
        top=empty,
        inactive=inactive_report,
    )


def test_no_text_of_the_html_report_overlaps_or_is_clipped_in_chromium(db: Path, tmp_path: Path) -> None:
    """Held against Chromium's layout: the seeded page, then crowded, sparse and wide charts."""
    browser = chromium()
    base = ["--config", str(ROOT / "config.example.toml"), "--db", str(db)]
    made = tmp_path / "report.html"
    result = CliRunner().invoke(
        cli, [*base, "report", "html", "-o", str(made), "--at", "2026-11-21T00:00:00Z"]
    )
    assert result.exit_code == 0, result.output
    weekly = [AT - timedelta(weeks=w) for w in range(80, -1, -1)]
    monthly = [AT - timedelta(days=30 * m) for m in range(24, -1, -1)]
    pages = [
        made.read_text(encoding="utf-8"),
        # many ranges with long labels, 81 weekly samples, long and negative content values
        _synthetic(
            [*range(-99_999, 1_000_000, 4_999), 999_999],
            weekly,
            ["Hot", "Warm", "Lukewarm", "Cool", "Cold", "Frozen", "Gone"],
            [
                ("A content type with a very long name indeed, longer than any column", 1234.5),
                ("Webinar", -987.25),
                ("Pricing", 0.0),
            ],
        ),
        # one score for everybody, two samples, one band, one content type
        _synthetic([42] * 500, [AT - timedelta(days=30), AT], ["Everyone"], [("Blog", 3.5)]),
        # two nearby scores, 25 monthly samples with big counts, only negative changes
        _synthetic([0, 1] * 3_000_000, monthly, ["Hot", "Warm", "Cold"], [("Blog", -3.5), ("Mail", -80.0)]),
    ]
    for width in (1200, 800):  # a laptop, and a narrow window (the quality charts stack)
        verdict = _layout(browser, pages, tmp_path, width)
        assert verdict["charts"] >= 5 + 3 * 3, verdict
        assert verdict["texts"] > 100, verdict
        assert verdict["overlaps"] == [], (width, verdict["overlaps"][:10])
        assert verdict["outside"] == [], (width, verdict["outside"][:10])
        assert verdict["wide"] == [], (width, verdict["wide"])


def test_content_split_by_contact_ranges_adds_up_to_the_whole(
    conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools

    from acsync.reports import content as module
    from acsync.reports.parallel import summed

    whole = content(conn, RULES, SDEF, AT, 30).rows
    monkeypatch.setattr(module, "summed", functools.partial(summed, parts=3, min_span=0))
    assert content(conn, RULES, SDEF, AT, 30).rows == whole
    sql = "SELECT count(*), sum(points), sum(NULL) FROM ledger WHERE contact BETWEEN :lo AND :hi"
    assert summed(conn, sql, {}, parts=4, min_span=0) == summed(conn, sql, {}, parts=1)


def test_reports_run_while_a_writer_holds_the_database(db: Path, tmp_path: Path) -> None:
    """WAL: a read-only report is not blocked by a write transaction in progress (the daemon's)."""
    import shutil

    copy = tmp_path / "busy.db"
    shutil.copy(db, copy)
    with Store.open(copy) as writer, writer.write() as w:
        w.execute("UPDATE contacts SET dirty = dirty + 1")  # uncommitted while the reports run
        reader = Store.open(copy, readonly=True)
        try:
            assert top(reader.conn, RULES, SDEF, None, 5).rows
            assert segments(reader.conn, RULES, SDEF, AT, True, 30).rows
            assert content(reader.conn, RULES, SDEF, AT, 30).rows
        finally:
            reader.close()


def _section(text: str, rank: int) -> str:
    start = text.index(f"<section id='lead-{rank}'")
    return text[start : text.index("</section>", start)]


def test_each_top_lead_has_a_section_with_its_explanation_and_history(
    db: Path, tmp_path: Path, conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The facts of `acsync explain` and `report history CONTACT`, bounded, linked from the table."""
    from acsync.core.durations import add_months
    from acsync.reports import html
    from acsync.reports.explain import explain
    from acsync.reports.past import Contact
    from acsync.store.read import find_contact

    monkeypatch.setattr(html, "ENTRIES_SHOWN", 6)  # so that the notes of what is left out show
    made = tmp_path / "r.html"
    base = ["--config", str(ROOT / "config.example.toml"), "--db", str(db)]
    args = [*base, "report", "html", "-o", str(made), "--at", "2026-11-21T00:00:00Z", "--limit", "4"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    text = made.read_text(encoding="utf-8")
    cells = _Cells()
    cells.feed(text)
    best = top(conn, RULES, SDEF, AT, 4).rows
    assert text.count("<section id='lead-") == len(best) == 4
    for row in best:
        rank, ref = row["rank"], row["email"] or row["contact_id"]
        assert f"<a href='#lead-{rank}'>{ref}</a>" in text
        info = find_contact(conn, ref)
        assert info is not None
        facts = explain(conn, RULES, info, AT)
        section = _section(text, rank)
        kept = facts["entries"][-6:]
        shown = cells.rows[f"explain-{rank}"]
        assert [r["why"] for r in shown] == [e["reason"] for e in kept]
        assert [r["status"] for r in shown] == [e["status"] for e in kept]
        assert [r["points"] for r in shown] == [f"{e['points']:g}" for e in kept]
        assert [r["value"] for r in shown] == [f"{e['value']:g}" if e["counts"] else "-" for e in kept]
        more = len(facts["entries"]) - len(kept)
        assert more > 0  # the fixture's top leads have more entries than that
        assert (
            f"… {more} more (earlier), see <code>acsync explain {ref} --at 2026-11-21T00:00:00Z</code>"
            in section
        )
        total = facts["totals"][SDEF.name]
        assert total["score"] == row["score"]
        assert (
            f"{SDEF.name} {total['score']:,}: the counting entries add up to {total['entries']:g}" in section
        )
        who = Contact(info.id, info.ac_id, info.email, None)
        steps = contact_history(conn, RULES, SDEF, who, add_months(AT, -12), AT).rows
        shown_steps = cells.rows[f"history-{rank}"]
        assert [r["cause"] for r in shown_steps] == [s["cause"] for s in steps[-6:]]
        assert [r["score"] for r in shown_steps] == [f"{s['score']:,}" for s in steps[-6:]]
        assert ("earlier changes, see <code>acsync report history" in section) == (len(steps) > 6)


def test_the_html_page_says_in_words_which_state_it_shows(db: Path, tmp_path: Path) -> None:
    base = ["--config", str(ROOT / "config.example.toml"), "--db", str(db)]
    captions = {}
    for name, at in (("stored", []), ("at", ["--at", "2026-10-01T08:05:09Z"])):
        made = tmp_path / f"{name}.html"
        result = CliRunner().invoke(cli, [*base, "report", "html", "-o", str(made), *at])
        assert result.exit_code == 0, result.output
        text = made.read_text(encoding="utf-8")
        assert "now (stored)" not in text
        captions[name] = text[text.index("data-caption='top'>") :].split("<", 1)[0]
    assert captions["stored"] == "data-caption='top'>the 20 best contacts by lead_score, as last scored, " + (
        "2026-11-21 00:00 UTC; follow a lead for its explanation and history"
    )
    assert "lead_score, at 2026-10-01 08:05 UTC;" in captions["at"]


def test_segments_are_coloured_hot_to_cold_by_threshold() -> None:
    from acsync.reports.html import HOT_TO_COLD, segment_colours

    hot, cold = HOT_TO_COLD[0], HOT_TO_COLD[-1]
    assert list(segment_colours(["Hot", "Warm", "Cold"]).values()) == [hot, HOT_TO_COLD[2], cold]
    for n in range(1, 10):
        colours = list(segment_colours([f"s{i}" for i in range(n)]).values())
        assert colours[0] == hot
        assert len(set(colours)) == n
        if n > 1:
            assert colours[-1] == cold


def test_the_page_colours_the_hottest_segment_red_whatever_the_config_order(db: Path, tmp_path: Path) -> None:
    """config.example.toml lists Cold, Warm, Hot: the legend reads hot to cold anyway."""
    import re

    from acsync.reports.html import HOT_TO_COLD

    made = tmp_path / "r.html"
    base = ["--config", str(ROOT / "config.example.toml"), "--db", str(db)]
    assert CliRunner().invoke(cli, [*base, "report", "html", "-o", str(made)]).exit_code == 0
    legend = made.read_text(encoding="utf-8").split("<p class=legend>", 1)[1].split("</p>", 1)[0]
    shown = re.findall(r"background:(#[0-9a-f]{6})'></span>([^<]+)</span>", legend)
    assert shown == [(HOT_TO_COLD[0], "Hot"), (HOT_TO_COLD[2], "Warm"), (HOT_TO_COLD[-1], "Cold")]


def test_everything_from_data_in_the_html_page_stays_text(tmp_path: Path) -> None:
    """A contact, a URL, a tag, a segment and a content type named like markup are shown as text."""
    from acsync.reports.dashboard import page

    evil = {
        "email": '"><script>alert(1)</script>@example.com',
        "url": "https://www.example.com/pricing?<img src=x onerror=alert(2)>",
        "tag": "<b onmouseover=alert(3)>Hot</b> Lead",
        "segment": "<i>Hot</i>",
        "content": "<script>Pricing</script>",
    }
    config = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    config = config.replace('tag = "Hot Lead"', f'tag = "{evil["tag"]}"')
    config = config.replace('name = "Hot"', f'name = "{evil["segment"]}"')
    config = config.replace('name = "Pricing"\non', f'name = "{evil["content"]}"\non')
    path = tmp_path / "evil.toml"
    path.write_text(config, encoding="utf-8")
    settings = load_config(path, {})
    rules = settings.ruleset()
    lines = [
        json.dumps(
            {
                "type": "site_visit",
                "email": evil["email"],
                "at": f"2026-11-{d:02d}T10:00:00Z",
                "url": evil["url"],
            }
        )
        for d in range(1, 11)
    ]
    db = tmp_path / "evil.db"
    with Store.open(db) as store:
        ingest_lines(store, lines, "file", AT)
        score(store, rules, settings.fingerprints(), AT)
    text = page(db, rules, rules.scores[0], None, AT, title="<script>title</script>")

    class Parsed(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: set[str] = set()
            self.attrs: set[str] = set()
            self.text = ""

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.tags.add(tag)
            self.attrs.update(k for k, _ in attrs)

        def handle_data(self, data: str) -> None:
            self.text += data

    parsed = Parsed()
    parsed.feed(text)
    assert not parsed.tags & {"script", "img", "i"}
    assert not {a for a in parsed.attrs if a.startswith("on")}
    assert "<section id='lead-1'" in text  # the contact is a top lead: its explanation is shown
    for value in (*evil.values(), "<script>title</script>"):
        assert value in parsed.text, value
