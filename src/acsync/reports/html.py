"""``report html``: one self-contained page (inline CSS and SVG, no script, no network).

It shows the same reports as the command line, built by the same functions: the score
distribution, segment sizes over time, content performance, the score's quality (gains curve
and conversion by segment), top leads and inactivity. Every
table cell carries ``data-report`` / ``data-key`` attributes, so a test (or a person with
devtools) can hold the page against ``report … --format json``.
"""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any

from acsync.reports.table import Report

PALETTE = ["#1f6feb", "#2da44e", "#bf8700", "#cf222e", "#8250df", "#57606a", "#0a7ea4", "#9a6700"]
CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2328;
background:#f6f8fa}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:16px;margin-bottom:16px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2}
th{font-weight:600;background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#57606a}.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{flex:1;min-width:150px;background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:12px}
.card b{display:block;font-size:24px}svg text{font-size:11px;fill:#57606a}
"""


def render(
    *,
    title: str,
    generated: str,
    scores: list[int],
    segments: Report,
    history: Report,
    content: Report,
    top: Report,
    inactive: Report,
    quality: dict[str, Any] | None = None,
) -> str:
    total = len(scores)
    mean = sum(scores) / total if total else 0.0
    cards = [
        ("contacts", total),
        ("mean score", f"{mean:.1f}"),
        ("inactive", len({(r["contact_id"], r["email"]) for r in inactive.rows})),
        ("top score", max(scores, default=0)),
    ]
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{escape(title)}</h1><p class=muted>generated {escape(generated)} (UTC) by acsync</p>",
        "<div class=cards>",
        *(
            f"<div class=card data-card='{escape(k)}'><b>{escape(str(v))}</b>{escape(k)}</div>"
            for k, v in cards
        ),
        "</div>",
        "<h2>Score distribution</h2><section>",
        _histogram(scores),
        "</section>",
        f"<h2>Segments</h2><section>{_table('segments', segments)}</section>",
        "<h2>Segment sizes over time</h2><section>",
        _stacked(history),
        _table("history", history),
        "</section>",
        "<h2>Content performance</h2><section>",
        _bars(content, "content", content.headers[4]),
        _table("content", content),
        "</section>",
        *(
            []
            if quality is None
            else ["<h2>Does the score predict sales?</h2><section>", _quality(quality), "</section>"]
        ),
        f"<h2>Top leads</h2><section>{_table('top', top)}</section>",
        "<h2>Inactivity</h2><section>",
        _by_rule(inactive),
        _table("inactive", Report(inactive.title, inactive.headers, inactive.rows[:50])),
        "</section></main></body></html>",
    ]
    return "\n".join(parts)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(map(str, value))
    return str(value)


def _table(name: str, report: Report) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in report.headers)
    body = []
    for row in report.rows:
        cells = []
        for h in report.headers:
            v = row.get(h)
            cls = " class=n" if isinstance(v, int | float) and not isinstance(v, bool) else ""
            cells.append(f"<td{cls} data-key='{escape(h)}'>{escape(_cell(v))}</td>")
        body.append(f"<tr data-report='{name}'>{''.join(cells)}</tr>")
    if not body:
        body.append(f"<tr><td colspan={len(report.headers)} class=muted>nothing to show</td></tr>")
    return f"<p class=muted>{escape(report.title)}</p><table><tr>{head}</tr>{''.join(body)}</table>"


def _svg(width: int, height: int, inner: list[str]) -> str:
    return f"<svg viewBox='0 0 {width} {height}' width='100%' role=img>{''.join(inner)}</svg>"


def _histogram(scores: list[int]) -> str:
    if not scores:
        return "<p class=muted>no scores yet</p>"
    low, high = min(scores), max(scores)
    width = max(1, -(-(high - low + 1) // 20))  # at most 20 bins
    bins = Counter((s - low) // width for s in scores)
    n = max(bins) + 1
    peak = max(bins.values())
    w, h, pad = 1000, 220, 30
    bar = (w - 2 * pad) / n
    inner = []
    for i in range(n):
        count = bins.get(i, 0)
        bh = (h - 2 * pad) * count / peak
        x, y = pad + i * bar, h - pad - bh
        label = f"{low + i * width}" + (f"–{low + (i + 1) * width - 1}" if width > 1 else "")
        inner.append(
            f"<rect x='{x:.1f}' y='{y:.1f}' width='{bar * 0.9:.1f}' height='{bh:.1f}' fill='{PALETTE[0]}'>"
            f"<title>{escape(label)}: {count}</title></rect>"
            f"<text x='{x + bar * 0.45:.1f}' y='{h - pad + 14}' text-anchor=middle>{escape(label)}</text>"
            f"<text x='{x + bar * 0.45:.1f}' y='{y - 3:.1f}' text-anchor=middle>{count}</text>"
        )
    return _svg(w, h, inner)


def _stacked(history: Report) -> str:
    bands = history.headers[3:]
    if not history.rows or not bands:
        return ""
    w, h, pad = 1000, 240, 30
    peak = max(max(sum(int(r[b]) for b in bands) for r in history.rows), 1)
    bar = (w - 2 * pad) / len(history.rows)
    inner = []
    for i, row in enumerate(history.rows):
        y = float(h - pad)
        for k, band in enumerate(bands):
            bh = (h - 2 * pad) * int(row[band]) / peak
            y -= bh
            inner.append(
                f"<rect x='{pad + i * bar:.1f}' y='{y:.1f}' width='{bar * 0.85:.1f}' height='{bh:.1f}' "
                f"fill='{PALETTE[k % len(PALETTE)]}'><title>{escape(band)} {row[band]}</title></rect>"
            )
        inner.append(f"<text x='{pad + i * bar:.1f}' y='{h - pad + 14}'>{escape(str(row['at'])[:10])}</text>")
    legend = " ".join(
        f"<span style='color:{PALETTE[k % len(PALETTE)]}'>■</span> {escape(b)}" for k, b in enumerate(bands)
    )
    return _svg(w, h, inner) + f"<p>{legend}</p>"


def _bars(report: Report, label: str, key: str) -> str:
    rows = [r for r in report.rows if isinstance(r.get(key), int | float)]
    if not rows:
        return ""
    w, row_h, left = 1000, 26, 160
    peak = max(abs(float(r[key])) for r in rows) or 1.0
    span = (w - left - 80) / 2  # room for a label on either side
    zero = left + 40 + span
    inner = []
    for i, r in enumerate(rows):
        v = float(r[key])
        length = span * abs(v) / peak
        x = zero if v >= 0 else zero - length
        y = i * row_h + 4
        inner.append(
            f"<text x='0' y='{y + 14}'>{escape(str(r[label]))}</text>"
            f"<rect x='{x:.1f}' y='{y}' width='{length:.1f}' height='{row_h - 8}' "
            f"fill='{PALETTE[1] if v >= 0 else PALETTE[3]}'></rect>"
            f"<text x='{zero + (length + 4 if v >= 0 else -length - 40):.1f}' y='{y + 14}'>{v:+.2f}</text>"
        )
    return _svg(w, len(rows) * row_h + 8, inner) + f"<p class=muted>{escape(key)}: mean score change</p>"


def _by_rule(inactive: Report) -> str:
    counts = Counter(str(r["rule"]) for r in inactive.rows)
    if not counts:
        return "<p class=muted>nobody is inactive</p>"
    items = "".join(
        f"<li>{escape(rule)}: <b data-rule='{escape(rule)}'>{n}</b></li>"
        for rule, n in sorted(counts.items())
    )
    return f"<ul>{items}</ul>"


def _pct(x: Any) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _quality(q: dict[str, Any]) -> str:
    """The verdict, the gains curve and conversion per segment (with its Wilson interval)."""
    top = q["deciles"][0]
    cards = [
        ("AUC", "-" if q["auc"] is None else f"{q['auc']:.2f}"),
        ("base rate", _pct(q["base_rate"])),
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
        + _segment_rates(q["segments"], q["base_rate"])
        + _table("quality", deciles)
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
        f"<polyline data-quality=gains fill='none' stroke='{PALETTE[0]}' stroke-width='2' "
        f"points='{' '.join(xy(p) for p in curve)}'></polyline>",
        f"<text x='{pad + side / 2}' y='{h - 8}' text-anchor=middle>"
        "share of contacts, best scores first</text>",
        f"<text x='12' y='{pad + side / 2}' transform='rotate(-90 12 {pad + side / 2})' text-anchor=middle>"
        "share of conversions</text>",
        f"<text x='{pad - 4}' y='{h - pad + 14}' text-anchor=end>0</text>",
        f"<text x='{pad + side}' y='{h - pad + 14}' text-anchor=middle>100%</text>",
        f"<text x='{pad - 4}' y='{pad + 4}' text-anchor=end>100%</text>",
    ]
    return (
        "<div style='display:flex;gap:16px;flex-wrap:wrap'><div style='flex:1;min-width:300px'>"
        + _svg(w, h, inner)
        + "<p class=muted>cumulative gains: the dashed line is a score that knows nothing</p></div>"
    )


def _segment_rates(segments: list[dict[str, Any]], base: float | None) -> str:
    rows = [s for s in segments if s["contacts"]]
    if not rows:
        return "</div>"
    w, row_h, left = 460, 34, 110
    peak = max(max(s["rate_ci"][1] for s in rows), base or 0, 1e-9)
    span = w - left - 70
    inner = []
    for i, s in enumerate(rows):
        y = i * row_h + 8
        lo, hi = s["rate_ci"]
        x = left + span * s["rate"] / peak
        mid = y + (row_h - 14) / 2
        inner.append(
            f"<text x='0' y='{y + 14}'>{escape(str(s['segment'] or '(none)'))}</text>"
            f"<rect data-segment='{escape(str(s['segment']))}' x='{left}' y='{y}' width='{x - left:.1f}' "
            f"height='{row_h - 14}' fill='{PALETTE[1]}'>"
            f"<title>{s['converted']} of {s['contacts']}</title></rect>"
            f"<line x1='{left + span * lo / peak:.1f}' x2='{left + span * hi / peak:.1f}' y1='{mid}' "
            f"y2='{mid}' stroke='#1f2328'></line>"
            f"<text x='{left + span * hi / peak + 4:.1f}' y='{y + 14}'>{_pct(s['rate'])}</text>"
        )
    if base:
        bx = left + span * base / peak
        inner.append(
            f"<line x1='{bx:.1f}' x2='{bx:.1f}' y1='0' y2='{len(rows) * row_h + 4}' stroke='{PALETTE[3]}' "
            "stroke-dasharray='3 3'></line>"
        )
    svg = _svg(w, len(rows) * row_h + 12, inner)
    return (
        f"<div style='flex:1;min-width:300px'>{svg}<p class=muted>conversion rate by segment with its 95 % "
        "interval; the dashed line is the base rate</p></div></div>"
    )
