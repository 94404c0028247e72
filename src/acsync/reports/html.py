"""``report html``: one self-contained page (inline CSS and SVG, no script, no network).

It shows the same reports as the command line, built by the same functions: the score
distribution, segment sizes over time, content performance, the score's quality (gains curve
and conversion by segment), top leads and inactivity; and for each top lead, on the same page
(an anchor the top-leads table links to), its explanation (``acsync explain``) and its score
history (``report history CONTACT``). Every table cell of a report carries ``data-report`` /
``data-key`` attributes and the report's own value, so a test (or a person with devtools) can
hold the page against ``report … --format json``.

Charts are laid out in SVG user units with an estimate of each label's width (``_width``):
tick labels are thinned to every k-th so they never run together, value labels get room
reserved inside the viewBox, and long names are shortened with "…" (the full name is in the
tooltip). Segments are coloured hot to cold in the order of their thresholds. Everything that
comes from data (e-mails, names, URLs, tag names) is escaped.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from acsync.core.timefmt import from_iso, human
from acsync.output import cell, share
from acsync.reports.table import Report

BLUE, GREEN, RED, INK, GRID = "#0969da", "#2da44e", "#cf222e", "#1f2328", "#eaeef2"
# hot to cold: red, orange, amber, light blue, blue; grey is for "below every band"
HOT_TO_COLD = ["#cf222e", "#e16f24", "#d4a72c", "#54aeff", "#0969da"]
NONE_COLOUR = "#8c959f"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
FONT = 11  # the SVG text size in user units (CSS below)
ENTRIES_SHOWN = 25  # per lead: explanation entries and history steps on the page
CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2328;
background:#f6f8fa}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}h3{font-size:16px;margin:0 0 6px}
h4{font-size:14px;margin:14px 0 4px}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:16px;margin-bottom:16px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{font-weight:600;background:#f6f8fa}
td.n{text-align:right;font-variant-numeric:tabular-nums}td.t{white-space:nowrap}td.w{overflow-wrap:anywhere}
.muted{color:#57606a}.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{flex:1;min-width:150px;background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:12px}
.card b{display:block;font-size:24px}svg text{font-size:11px;fill:#57606a}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
.legend span{margin-right:14px}a{color:#0969da}.scroll{overflow-x:auto}
"""


@dataclass
class Lead:
    """One top lead's section: its rank, how to name it on the command line (e-mail or AC id),
    its explanation (``reports.explain.explain``) and its score history (``contact_history``)."""

    rank: int
    ref: str
    explanation: dict[str, Any]
    history: Report


def render(
    *,
    title: str,
    score: str,
    as_of: str,
    when: str,
    generated: str,
    scores: list[int],
    bands: Sequence[str],
    segments: Report,
    history: Report,
    content: Report,
    top: Report,
    inactive: Report,
    quality: dict[str, Any] | None = None,
    leads: Sequence[Lead] = (),
    explain_at: str = "",
) -> str:
    """The page. ``as_of`` says in words which state the scores are (``as last scored, 2026-12-01
    19:46 UTC`` or ``at …``); ``when`` the instant of the other reports and ``generated`` when the
    page was made, both for people (``timefmt.human``); ``bands`` are the
    score's segments, hottest (highest threshold) first; ``explain_at`` is the ``--at`` the
    leads' sections were explained at (ISO), for the commands they name."""
    colours = segment_colours(bands)
    total = len(scores)
    mean = sum(scores) / total if total else 0.0
    people = len({(r["contact_id"], r["email"]) for r in inactive.rows})
    cards = [
        ("contacts", f"{total:,}"),
        ("mean score", f"{mean:,.1f}"),
        ("inactive", f"{people:,}"),
        ("top score", f"{max(scores, default=0):,}"),
    ]
    anchors = {lead.rank: f"lead-{lead.rank}" for lead in leads}
    days = _days(segments.headers, "contacts_", "d_ago")
    content_days = _days(content.headers, "score_change_", "d")
    shown = inactive.rows[:50]
    inactive_note = (
        f"{people:,} contact(s) in an inactivity episode at {when}, in {len(inactive.rows):,} "
        "episode(s)" + (f"; the first {len(shown)} shown" if len(shown) < len(inactive.rows) else "")
    )
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{escape(title)}</h1><p class=muted data-caption=page>{escape(score)} {escape(as_of)}; "
        f"page made {escape(generated)} by acsync</p>",
        "<div class=cards>",
        *(f"<div class=card data-card='{escape(k)}'><b>{escape(v)}</b>{escape(k)}</div>" for k, v in cards),
        "</div>",
        "<h2>Score distribution</h2><section>",
        _histogram(scores),
        f"<p class=muted>contacts per {escape(score)} range, {escape(as_of)}</p>",
        "</section>",
        "<h2>Segments</h2><section>",
        _table(
            "segments",
            segments,
            f"contacts per segment, {as_of}, and {days} days before {when}",
            colours,
        ),
        "</section>",
        "<h2>Segment sizes over time</h2><section>",
        _stacked(history, colours),
        _legend(colours),
        _table("history", history, _history_caption(history), colours),
        "</section>",
        "<h2>Content performance</h2><section>",
        _bars(content, "content", content.headers[4]),
        f"<p class=muted>mean change of the contacts' {escape(score)} in the {content_days} days after their "
        "first engagement with each content type</p>",
        _table("content", content, f"content performance up to {when}"),
        "</section>",
        *(
            []
            if quality is None
            else [
                "<h2>Does the score predict sales?</h2><section>",
                _quality(quality, colours),
                "</section>",
            ]
        ),
        "<h2 id=top-leads>Top leads</h2><section>",
        _table(
            "top",
            top,
            f"the {len(top.rows)} best contacts by {score}, {as_of}"
            + ("; follow a lead for its explanation and history" if leads else ""),
            colours,
            anchors,
        ),
        "</section>",
        "<h2>Inactivity</h2><section>",
        _by_rule(inactive),
        _table("inactive", Report(inactive.title, inactive.headers, shown), inactive_note),
        "</section>",
        *(["<h2>The top leads one by one</h2>"] if leads else []),
        *(_lead(lead, score, as_of, explain_at, colours) for lead in leads),
        "</main></body></html>",
    ]
    return "\n".join(parts)


# --- shared pieces -----------------------------------------------------------------------------


def segment_colours(bands: Sequence[str]) -> dict[str, str]:
    """Each segment's colour, hottest first: red for the highest threshold, then orange, amber,
    light blue, blue (spread over the ramp when there are fewer; blended when there are more)."""
    n, last = len(bands), len(HOT_TO_COLD) - 1
    if n == 1:
        return {bands[0]: HOT_TO_COLD[0]}
    if n <= len(HOT_TO_COLD):
        return {b: HOT_TO_COLD[round(i * last / (n - 1))] for i, b in enumerate(bands)}
    return {b: _blend(i / (n - 1)) for i, b in enumerate(bands)}


def _blend(p: float) -> str:
    """The colour at ``p`` (0 hot … 1 cold) along the ramp."""
    x = p * (len(HOT_TO_COLD) - 1)
    i = min(int(x), len(HOT_TO_COLD) - 2)
    f = x - i
    a, b = HOT_TO_COLD[i], HOT_TO_COLD[i + 1]
    rgb = (round(int(a[k : k + 2], 16) * (1 - f) + int(b[k : k + 2], 16) * f) for k in (1, 3, 5))
    return "#" + "".join(f"{c:02x}" for c in rgb)


def _colour(colours: dict[str, str], segment: Any) -> str:
    return colours.get(str(segment), NONE_COLOUR)


def _swatch(colours: dict[str, str], segment: Any) -> str:
    """A segment's name after a square of its colour."""
    return f"<span class=sw style='background:{_colour(colours, segment)}'></span>{escape(str(segment))}"


def _days(headers: Sequence[str], prefix: str, suffix: str) -> str:
    """The days a report's ``contacts_30d_ago`` / ``score_change_30d`` column is about."""
    found = next((h for h in headers if h.startswith(prefix) and h.endswith(suffix)), "")
    return found.removeprefix(prefix).removesuffix(suffix) or "?"


def _table(
    name: str,
    report: Report,
    caption: str,
    colours: dict[str, str] | None = None,
    anchors: dict[int, str] | None = None,
) -> str:
    """A report's rows, each cell its report value as a table shows it (``output.cell``: 16.0 %,
    1,000, 2026-03-01 09:30 UTC), the segment with its colour,
    and (``anchors``: rank → id) the e-mail, or else the AC id, linked to the lead's section."""
    head = "".join(f"<th>{escape(h)}</th>" for h in report.headers)
    body = []
    for row in report.rows:
        anchor = (anchors or {}).get(row.get("rank", -1))
        linked = "email" if row.get("email") else "contact_id"
        cells = []
        for h in report.headers:
            v = row.get(h)
            cls = " class=n" if isinstance(v, int | float) and not isinstance(v, bool) else ""
            cls = " class=w" if h == "email" else cls  # an e-mail may wrap on a narrow screen
            text = escape(cell(v, report.kinds.get(h)))
            if anchor is not None and h == linked:
                text = f"<a href='#{anchor}'>{text}</a>"
            if colours is not None and h == "segment" and v is not None:
                text = _swatch(colours, v)
            cells.append(f"<td{cls} data-key='{escape(h)}'>{text}</td>")
        body.append(f"<tr data-report='{name}'>{''.join(cells)}</tr>")
    if not body:
        body.append(f"<tr><td colspan={len(report.headers)} class=muted>nothing to show</td></tr>")
    return (
        f"<p class=muted data-caption='{name}'>{escape(caption)}</p>"
        f"<div class=scroll><table><tr>{head}</tr>{''.join(body)}</table></div>"
    )


def _history_caption(history: Report) -> str:
    if not history.rows:
        return "no samples"
    first, last = (human(from_iso(str(history.rows[i]["at"]))) for i in (0, -1))
    return f"contacts, mean score and contacts per segment at each sample, from {first} to {last}"


def _legend(colours: dict[str, str]) -> str:
    items = "".join(
        f"<span><span class=sw style='background:{c}'></span>{escape(b)}</span>" for b, c in colours.items()
    )
    return f"<p class=legend>{items}</p>"


# --- chart geometry ----------------------------------------------------------------------------


def _width(text: str) -> float:
    """A label's width in user units at ``FONT``, on the wide side: digits and most lower case
    are about 0.6 em in a sans-serif face, capitals and m/w wider, @ and % widest."""
    em = 0.0
    for ch in text:
        if ch in "@%mwMW—":
            em += 1.0
        elif ch.isupper() or ch in "–+#&":
            em += 0.78
        elif ch in " .,:;!|il'ijtf()[]":
            em += 0.4
        else:
            em += 0.64
    return em * FONT


def _fit(text: str, room: float) -> str:
    """``text`` shortened with "…" to at most ``room`` wide."""
    if _width(text) <= room:
        return text
    while text and _width(text + "…") > room:
        text = text[:-1]
    return text + "…"


def _every(labels: Sequence[str], slot: float, gap: float = 8.0) -> int:
    """Show every k-th of labels ``slot`` apart so none runs into the next."""
    widest = max((_width(s) for s in labels), default=0.0)
    return max(1, math.ceil((widest + gap) / slot))


def _nice(x: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at least ``x``."""
    if x <= 1:
        return 1.0
    k = 10 ** math.floor(math.log10(x))
    return float(next(m * k for m in (1, 2, 5, 10) if m * k >= x))


def _count(n: int, room: float) -> str:
    """``12,345``, or ``12k`` / ``1.2M`` when that does not fit in ``room``."""
    text = f"{n:,}"
    if _width(text) <= room:
        return text
    for div, unit in ((1_000_000, "M"), (1_000, "k")):
        if abs(n) >= div:
            short = f"{n / div:.1f}".removesuffix(".0") + unit
            return short if _width(short) <= room else f"{round(n / div)}{unit}"
    return text


def _svg(width: float, height: float, inner: list[str], name: str) -> str:
    return (
        f"<svg data-chart='{name}' viewBox='0 0 {width:g} {height:g}' width='100%' role=img>"
        f"{''.join(inner)}</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "middle", rotate: float | None = None) -> str:
    """A label at (x, y); ``rotate``: turned by that many degrees about that point."""
    turn = "" if rotate is None else f" transform='rotate({rotate:g} {x:.1f} {y:.1f})'"
    return f"<text x='{x:.1f}' y='{y:.1f}' text-anchor={anchor}{turn}>{escape(text)}</text>"


# --- the charts --------------------------------------------------------------------------------


def _histogram(scores: list[int]) -> str:
    """Contacts per score range: at most 20 ranges of a round width (1, 2, 5, 10, 20 …)."""
    if not scores:
        return "<p class=muted>no scores yet</p>"
    low, high = min(scores), max(scores)
    width = int(_nice((high - low + 1) / 20))
    start = low // width * width
    bins = Counter((s - start) // width for s in scores)
    n = max(bins) + 1
    peak = max(bins.values())
    labels = [
        f"{start + i * width:,}" + (f"–{start + (i + 1) * width - 1:,}" if width > 1 else "")
        for i in range(n)
    ]
    w, h, top, bottom = 1000, 230, 22, 26
    side = max(12.0, _width(labels[0]) / 2 + 2, _width(labels[-1]) / 2 + 2)
    slot = (w - 2 * side) / n
    k = _every(labels, slot)
    inner = [
        f"<line x1='{side:.1f}' x2='{w - side:.1f}' y1='{h - bottom}' y2='{h - bottom}' stroke='#8c959f'/>"
    ]
    for i in range(n):
        count = bins.get(i, 0)
        bh = (h - top - bottom) * count / peak
        x, y = side + i * slot, h - bottom - bh
        mid = x + slot / 2
        inner.append(
            f"<rect x='{x + slot * 0.05:.1f}' y='{y:.1f}' width='{slot * 0.9:.1f}' height='{bh:.1f}' "
            f"fill='{BLUE}'><title>{escape(labels[i])}: {count:,}</title></rect>"
        )
        if count:
            inner.append(_text(mid, y - 4, _count(count, slot - 2)))
        if i % k == 0:
            inner.append(_text(mid, h - bottom + 15, labels[i]))
    return _svg(w, h, inner, "distribution")


def _tick_label(at: str, monthly: bool, years: bool) -> str:
    """``Dec 2026`` for monthly samples, else ``21 Nov`` (``21 Nov 2026`` when the chart spans years)."""
    t = from_iso(at)
    if monthly:
        return f"{MONTHS[t.month - 1]} {t.year}"
    return f"{t.day} {MONTHS[t.month - 1]}" + (f" {t.year}" if years else "")


def _stacked(history: Report, colours: dict[str, str]) -> str:
    """Contacts per segment at each sample, stacked hot on top, with a y axis of contacts."""
    bands = history.headers[3:]
    if not history.rows or not bands:
        return ""
    rows = history.rows
    peak = max(max(sum(int(r[b]) for b in bands) for r in rows), 1)
    step = _nice(peak / 5)
    ticks = [int(step * i) for i in range(math.ceil(peak / step) + 1)]
    ceiling = ticks[-1]
    times = [from_iso(str(r["at"])) for r in rows]
    monthly = all((b - a).days >= 28 for a, b in itertools.pairwise(times))
    years = times[0].year != times[-1].year
    labels = [_tick_label(str(r["at"]), monthly, years) for r in rows]
    w, h, top, bottom = 1000, 264, 12, 30  # x labels a row below the y axis's 0
    left = 26 + max(_width(f"{t:,}") for t in ticks)
    right = max(8.0, _width(labels[-1]) / 2)
    plot = h - top - bottom
    slot = (w - left - right) / len(rows)
    inner = [
        _text(10, top + plot / 2, "contacts", rotate=-90),
    ]
    for t in ticks:
        y = h - bottom - plot * t / ceiling
        inner.append(
            f"<line x1='{left:.1f}' x2='{w - right:.1f}' y1='{y:.1f}' y2='{y:.1f}' stroke='{GRID}'/>"
        )
        inner.append(_text(left - 6, y + 4, f"{t:,}", "end"))
    k = _every(labels, slot)
    for i, row in enumerate(rows):
        y = float(h - bottom)
        x = left + i * slot
        for band in reversed(bands):  # the coldest at the bottom, the hottest on top
            bh = plot * int(row[band]) / ceiling
            y -= bh
            inner.append(
                f"<rect x='{x + slot * 0.1:.1f}' y='{y:.1f}' width='{slot * 0.8:.1f}' height='{bh:.1f}' "
                f"fill='{_colour(colours, band)}'><title>{escape(band)}: {int(row[band]):,} on "
                f"{escape(human(times[i]))}</title></rect>"
            )
        if i % k == 0:
            inner.append(_text(x + slot / 2, h - bottom + 21, labels[i]))
    return _svg(w, h, inner, "segments-over-time")


def _bars(report: Report, label: str, key: str) -> str:
    """One horizontal bar per row from a zero line, its value beside it, room kept for both."""
    rows = [r for r in report.rows if isinstance(r.get(key), int | float)]
    if not rows:
        return ""
    values = [float(r[key]) for r in rows]
    texts = [f"{v:+.2f}" for v in values]
    w, row_h = 1000, 26
    names = [str(r[label]) for r in rows]
    left = min(240.0, max(_width(s) for s in names) + 10)
    pos_room = max((_width(t) + 6 for t, v in zip(texts, values, strict=True) if v >= 0), default=0.0)
    neg_room = max((_width(t) + 6 for t, v in zip(texts, values, strict=True) if v < 0), default=0.0)
    most, least = max(max(values), 0.0), max(-min(values), 0.0)
    scale = (w - left - pos_room - neg_room) / ((most + least) or 1.0)
    zero = left + neg_room + scale * least
    inner = [f"<line x1='{zero:.1f}' x2='{zero:.1f}' y1='0' y2='{len(rows) * row_h + 4}' stroke='#8c959f'/>"]
    for i, (name, v, text) in enumerate(zip(names, values, texts, strict=True)):
        length = scale * abs(v)
        x = zero if v >= 0 else zero - length
        y = i * row_h + 4
        inner.append(
            f"<text x='0' y='{y + 14}'>{escape(_fit(name, left - 10))}<title>{escape(name)}</title></text>"
            f"<rect x='{x:.1f}' y='{y}' width='{length:.1f}' height='{row_h - 8}' "
            f"fill='{GREEN if v >= 0 else RED}'><title>{escape(name)}: {escape(text)}</title></rect>"
            + (
                _text(zero + length + 4, y + 14, text, "start")
                if v >= 0
                else _text(zero - length - 4, y + 14, text, "end")
            )
        )
    return _svg(w, len(rows) * row_h + 8, inner, "content")


def _by_rule(inactive: Report) -> str:
    counts = Counter(str(r["rule"]) for r in inactive.rows)
    if not counts:
        return "<p class=muted>nobody is inactive</p>"
    items = "".join(
        f"<li>{escape(rule)}: <b data-rule='{escape(rule)}'>{n}</b></li>"
        for rule, n in sorted(counts.items())
    )
    return f"<ul>{items}</ul>"


def _quality(q: dict[str, Any], colours: dict[str, str]) -> str:
    """The verdict, the gains curve and conversion per segment (with its Wilson interval)."""
    top = q["deciles"][0]
    cards = [
        ("AUC", "-" if q["auc"] is None else f"{q['auc']:.2f}"),
        ("base rate", share(q["base_rate"])),
        ("top decile lift", "-" if top["lift"] is None else f"{top['lift']:.1f}×"),
        ("samples", f"{q['samples']:,}"),
    ]
    head = (
        f"<p data-quality=verdict>{escape(q['verdict'])}</p><p class=muted>outcome "
        f"{escape(q['outcome']['type'])} within {escape(q['within'])}, a sample every {escape(q['every'])} "
        f"per contact not yet converted; {q['converted']:,} conversions</p><div class=cards>"
        + "".join(
            f"<div class=card data-card='{escape(k)}'><b>{escape(v)}</b>{escape(k)}</div>" for k, v in cards
        )
        + "</div>"
    )
    deciles = Report(
        "conversion by score decile (best first)",
        ["decile", "low", "high", "contacts", "converted", "rate", "lift"],
        q["deciles"],
    )
    return (
        head
        + _gains(q["gains_curve"])
        + _segment_rates(q["segments"], q["base_rate"], colours)
        + _table("quality", deciles, deciles.title)
    )


def _gains(curve: list[list[float]]) -> str:
    """Share of conversions against share of contacts, best scores first; the diagonal is chance."""
    w, h, pad = 460, 300, 40
    side = h - 2 * pad

    def xy(p: list[float]) -> str:
        return f"{pad + side * p[0]:.1f},{h - pad - side * p[1]:.1f}"

    inner = [
        f"<rect x='{pad}' y='{pad}' width='{side}' height='{side}' fill='none' stroke='#d0d7de'></rect>",
        f"<line x1='{pad}' y1='{h - pad}' x2='{pad + side}' y2='{pad}' stroke='#8c959f' "
        "stroke-dasharray='4 4'></line>",
        f"<polyline data-quality=gains fill='none' stroke='{BLUE}' stroke-width='2' "
        f"points='{' '.join(xy(p) for p in curve)}'></polyline>",
        _text(pad + side / 2, h - 8, "share of contacts, best scores first"),
        _text(12, pad + side / 2, "share of conversions", rotate=-90),
        _text(pad - 4, h - pad + 14, "0", "end"),
        _text(pad + side, h - pad + 14, "100%"),
        _text(pad - 4, pad + 4, "100%", "end"),
    ]
    return (
        "<div style='display:flex;gap:16px;flex-wrap:wrap'><div style='flex:1;min-width:300px'>"
        + _svg(w, h, inner, "gains")
        + "<p class=muted>cumulative gains: the dashed line is a score that knows nothing</p></div>"
    )


def _segment_rates(segments: list[dict[str, Any]], base: float | None, colours: dict[str, str]) -> str:
    rows = [s for s in segments if s["contacts"]]
    if not rows:
        return "</div>"
    w, row_h = 460, 34
    names = [str(s["segment"] or "(none)") for s in rows]
    left = min(140.0, max(_width(n) for n in names) + 10)
    room = _width("100.0%") + 6
    peak = max(max(s["rate_ci"][1] for s in rows), base or 0, 1e-9)
    span = w - left - room
    inner = []
    for i, (s, name) in enumerate(zip(rows, names, strict=True)):
        y = i * row_h + 8
        lo, hi = s["rate_ci"]
        x = left + span * s["rate"] / peak
        mid = y + (row_h - 14) / 2
        inner.append(
            f"<text x='0' y='{y + 14}'>{escape(_fit(name, left - 10))}<title>{escape(name)}</title></text>"
            f"<rect data-segment='{escape(str(s['segment']))}' x='{left:.1f}' y='{y}' width='{x - left:.1f}' "
            f"height='{row_h - 14}' fill='{_colour(colours, s['segment'])}'>"
            f"<title>{s['converted']:,} of {s['contacts']:,}</title></rect>"
            f"<line x1='{left + span * lo / peak:.1f}' x2='{left + span * hi / peak:.1f}' y1='{mid}' "
            f"y2='{mid}' stroke='{INK}'></line>"
            + _text(left + span * hi / peak + 4, y + 14, share(s["rate"]), "start")
        )
    if base:
        bx = left + span * base / peak
        inner.append(
            f"<line x1='{bx:.1f}' x2='{bx:.1f}' y1='0' y2='{len(rows) * row_h + 4}' stroke='{RED}' "
            "stroke-dasharray='3 3'></line>"
        )
    svg = _svg(w, len(rows) * row_h + 12, inner, "conversion-by-segment")
    return (
        f"<div style='flex:1;min-width:300px'>{svg}<p class=muted>conversion rate by segment with its 95 % "
        "interval; the dashed line is the base rate</p></div></div>"
    )


# --- one lead ----------------------------------------------------------------------------------


def _short(instant: Any) -> str:
    return "" if instant is None else human(from_iso(str(instant)))


def _lead(lead: Lead, score: str, as_of: str, explain_at: str, colours: dict[str, str]) -> str:
    """A top lead's explanation (every entry: points, value, status and reason; totals with floor
    and cap; wanted tags) and its score history, each bounded with a note naming the command."""
    x = lead.explanation
    name = x["email"] or x["contact_id"] or lead.ref
    at_flag = f" --at {explain_at}" if explain_at else ""
    scores = ", ".join(f"{k} {v:,}" for k, v in x["scores"].items())
    several = len(x["scores"]) > 1
    parts = [
        f"<section id='lead-{lead.rank}' data-lead='{lead.rank}'>",
        f"<h3>{lead.rank}. {escape(str(name))}</h3>",
        f"<p>{escape(scores)}; segment "
        + (_swatch(colours, x["segment"]) if x["segment"] else "-")
        + f"; AC id {escape(str(x['contact_id'] or '-'))}; {escape(as_of)}</p>",
    ]
    for sname, t in x["totals"].items():
        words = f"{sname} {t['score']:,}: the counting entries add up to {t['entries']:g}"
        for key in ("floor", "cap"):
            if t[f"{key}_applied"]:
                words += f", and its {key} {t[key]:g} applies"
        parts.append(f"<p data-total='{escape(sname)}'>{escape(words)}</p>")
    for tag in x["tag_details"]:
        parts.append(
            f"<p>tag <b>{escape(tag['tag'])}</b>: wanted since {escape(_short(tag['since']))} "
            f"({escape(', '.join(tag['rules']))})</p>"
        )
    entries = x["entries"]
    kept = entries[-ENTRIES_SHOWN:]
    parts.append("<h4>Why: every entry of the ledger</h4>")
    if len(kept) < len(entries):
        parts.append(
            f"<p class=muted data-more=explain>… {len(entries) - len(kept)} more (earlier), see "
            f"<code>acsync explain {escape(lead.ref)}{escape(at_flag)}</code></p>"
        )
    rows = []
    for e in kept:
        cells = [
            *([("score", "", escape(e["score"]))] if several else []),
            ("awarded", "t", escape(_short(e["awarded_at"]))),
            ("rule", "", escape(e["rule"])),
            ("kind", "", escape(e["kind"])),
            ("points", "n", f"{e['points']:g}"),
            ("value", "n", f"{e['value']:g}" if e["counts"] else "-"),
            ("status", "", escape(e["status"])),
            ("why", "", escape(e["reason"])),
            ("about", "w", escape(e["about"])),
        ]
        rows.append(cells)
    parts.append(_plain(f"explain-{lead.rank}", rows))
    steps = lead.history.rows
    kept_steps = steps[-ENTRIES_SHOWN:]
    parts.append(f"<h4>History of {escape(score)}: every change in the year before</h4>")
    if len(kept_steps) < len(steps):
        since = str(steps[0]["at"])
        parts.append(
            f"<p class=muted data-more=history>… {len(steps) - len(kept_steps)} earlier changes, see "
            f"<code>acsync report history {escape(lead.ref)} --since {escape(since)}"
            f"{escape(at_flag)}</code></p>"
        )
    rows = []
    for r in kept_steps:
        segment = r["segment"]
        rows.append(
            [
                ("at", "t", escape(_short(r["at"]))),
                ("score", "n", f"{r['score']:,}"),
                ("change", "n", "" if r["change"] is None else f"{r['change']:+,}"),
                ("segment", "t", "" if segment is None else _swatch(colours, segment)),
                ("cause", "w", escape(str(r["cause"]))),
                ("tags", "", escape(cell(r["tags"]))),
            ]
        )
    parts.append(_plain(f"history-{lead.rank}", rows))
    parts.append("<p><a href='#top-leads'>↑ top leads</a></p></section>")
    return "".join(parts)


def _plain(name: str, rows: list[list[tuple[str, str, str]]]) -> str:
    """A table of (header, CSS class, HTML) cells (without data-key attributes: a lead has many rows):
    ``t`` keeps a time on one line, ``n`` aligns a number, ``w`` lets a URL or a long cause wrap."""
    if not rows:
        return "<p class=muted>nothing to show</p>"
    head = "".join(f"<th>{escape(key)}</th>" for key, _, _ in rows[0])
    body = "".join(
        f"<tr data-report='{name}'>"
        + "".join(f"<td class={cls}>{html}</td>" if cls else f"<td>{html}</td>" for _, cls, html in cells)
        + "</tr>"
        for cells in rows
    )
    return f"<div class=scroll><table><tr>{head}</tr>{body}</table></div>"
