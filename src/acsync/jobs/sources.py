"""Where each pull phase reads from: probed on the user's account, chosen in a fixed order, stored.

- opens: ``v3-report``, AC's "List the opens of a campaign" (≤ 1,000 rows a page, the last open
  first) → ``linkdata``, each open pixel's ``links/{id}/linkData``;
- clicks: ``v3-report``, "List the link clicks of a campaign" (with AC's bot flag) → ``linkdata``;
- tracking: ``per-contact``, ``contacts/{id}/trackingLogs`` of the contacts that changed, and a
  budgeted sweep;
- orders: ``by-update``, ``orders[updated_date]=DESC`` up to the cursor → ``full``, every page.

One small request per candidate (``probe_sources``); the first that answers is chosen, with what
the probe saw as its reason. ``acsync doctor`` shows and re-records the choice; a backfill or sync
on a database without one probes and records first. Why not v1: see docs/ac-api-notes.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from acsync.ac.client import CLICK_REPORT_PATHS, OPEN_REPORT_PATHS, AcClient, report_rows
from acsync.ac.errors import AcConfigError, AcError, AcNotFound
from acsync.core.ac_values import ac_time, as_id
from acsync.core.timefmt import iso
from acsync.store import Store

PHASES = ("opens", "clicks", "tracking", "orders")
UNDECIDED = "undecided"  # no campaign to probe with yet: probed again on the next pull


@dataclass(frozen=True)
class Choice:
    phase: str
    source: str
    detail: str  # the endpoint it reads
    reason: str


@dataclass
class Probe:
    """One small request and what it told."""

    name: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    ok: bool = False
    status: str = ""  # "200", "404", or the error's words
    answer: Any = None

    def run(self, client: AcClient, endpoint: str | None = None) -> Probe:
        try:
            self.answer = client.request("GET", self.path, params=self.params or None, endpoint=endpoint)
            self.ok, self.status = True, "200"
        except AcConfigError:
            raise  # a wrong URL or token: nothing else can be probed
        except AcNotFound as e:
            self.status, self.answer = "404", {"error": str(e)}
        except AcError as e:
            self.status, self.answer = f"{e.status or 'error'}: {e}", {"error": str(e)}
        return self


def probe_sources(client: AcClient) -> tuple[dict[str, Choice], list[Probe]]:
    """Probe the candidates of each phase (about eight small requests) and choose."""
    probes: list[Probe] = []

    def run(probe: Probe, endpoint: str | None = None) -> Probe:
        probes.append(probe.run(client, endpoint))
        return probe

    camps = run(Probe("campaigns", "campaigns", {"orders[sdate]": "DESC", "limit": 5}))
    sent = [
        c
        for c in (camps.answer or {}).get("campaigns", []) or []
        if isinstance(c, dict) and ac_time(c.get("sdate")) is not None
    ]
    choices: dict[str, Choice] = {}
    if not sent:
        why = (
            "the account has no sent campaign to probe with yet" if camps.ok else f"campaigns: {camps.status}"
        )
        for phase in ("opens", "clicks"):
            choices[phase] = Choice(phase, UNDECIDED, "", why)
    else:
        cid = str(as_id(sent[0].get("id")))
        links = run(Probe("campaign links", f"campaigns/{cid}/links"), "campaigns/{id}/links")
        link_rows = report_rows(links.answer) if links.ok else []
        lid = as_id(link_rows[0].get("id")) if link_rows else None
        data = None
        if lid is not None:
            data = run(Probe("link hits", f"links/{lid}/linkData", {"limit": 1}), "links/{id}/linkData")
        for phase, templates in (("opens", OPEN_REPORT_PATHS), ("clicks", CLICK_REPORT_PATHS)):
            seen = []
            for template in templates:
                probe = run(Probe(f"{phase} report", template.format(id=cid), {"limit": 1}), template)
                if probe.ok and isinstance(probe.answer, dict):
                    choices[phase] = Choice(
                        phase, "v3-report", template, f"{template} answered 200 for campaign {cid}"
                    )
                    break
                seen.append(f"{template}: {probe.status}")
            else:
                ld = "links/{id}/linkData"
                why = "; ".join(seen) + (
                    f"; {ld} answered 200" if data is not None and data.ok else f"; {ld} is the last resort"
                )
                choices[phase] = Choice(phase, "linkdata", ld, why)
    wide = run(Probe("account-wide trackingLogs", "trackingLogs", {"limit": 1}))
    choices["tracking"] = Choice(
        "tracking",
        "per-contact",
        "contacts/{id}/trackingLogs",
        (
            "an account-wide trackingLogs list answered 200, but its order and paging are undocumented"
            if wide.ok
            else f"no account-wide trackingLogs list ({wide.status})"
        )
        + ": the contacts that changed, and a budgeted sweep of all",
    )
    orders = run(Probe("orders by update", "ecomOrders", {"orders[updated_date]": "DESC", "limit": 20}))
    rows = (orders.answer or {}).get("ecomOrders", []) if orders.ok else []
    times = [t for t in (ac_time(o.get("updatedDate")) for o in rows if isinstance(o, dict)) if t]
    if not orders.ok:
        choices["orders"] = Choice("orders", "full", "ecomOrders", f"orders[updated_date]: {orders.status}")
    elif any(a < b for a, b in pairwise(times)):
        choices["orders"] = Choice(
            "orders", "full", "ecomOrders", "AC ignored orders[updated_date]=DESC: every page is read"
        )
    else:
        seen_rows = "sorted" if len(times) > 1 else "too few orders to tell; each page is checked"
        choices["orders"] = Choice(
            "orders", "by-update", "ecomOrders?orders[updated_date]=DESC", f"answered {seen_rows}"
        )
    return choices, probes


def stored(store: Store) -> dict[str, Choice]:
    rows = store.conn.execute("SELECT phase, source, detail, reason FROM pull_sources").fetchall()
    return {r[0]: Choice(*r) for r in rows}


def record(store: Store, choices: dict[str, Choice], now: datetime) -> None:
    with store.write() as conn:
        for c in choices.values():
            conn.execute(
                "INSERT INTO pull_sources (phase, source, detail, reason, probed_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(phase) DO UPDATE SET source = excluded.source, detail = excluded.detail, "
                "reason = excluded.reason, probed_at = excluded.probed_at",
                [c.phase, c.source, c.detail, c.reason, iso(now)],
            )


def ensure(store: Store, client: AcClient, now: datetime) -> dict[str, Choice]:
    """The stored choice; probed and recorded when there is none (or it was undecided)."""
    known = stored(store)
    if set(PHASES) <= set(known) and all(c.source != UNDECIDED for c in known.values()):
        return known
    choices, _ = probe_sources(client)
    record(store, choices, now)
    return choices
