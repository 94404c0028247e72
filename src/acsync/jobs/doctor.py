"""``acsync doctor``: what this ActiveCampaign account answers, and what acsync will do with it.

Each endpoint the pull and the push use is probed with one small request. The probes of the
pull's candidate sources choose and record each phase's source (``jobs/sources.py``); the
account's own counts (``meta.total`` of contacts, campaigns, orders, tags) give the estimates:
backfill requests and time at the configured rate, the requests of an idle sync cycle, and how
stale a site visit can get through the sweep. ``save`` writes every answer to a directory with
e-mails, person names, IPs and the token redacted, to attach to a bug report.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from acsync import masking
from acsync.ac.client import PAGE, REPORT_PAGE, AcClient, report_rows
from acsync.config import ActiveCampaignConfig
from acsync.core.ac_values import as_int
from acsync.jobs import sources
from acsync.jobs.pull import sweep_budget
from acsync.output import duration
from acsync.store import Store

EMAIL = re.compile(r"[^@\s\"'<>]+@[^@\s\"'<>]+\.[A-Za-z]{2,}")
IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
# A webhook URL's last segment is a webhook token: acsync's own (known or not: an older token or
# another deployment's may be registered too), or another receiver's secret.
WEBHOOK_URL = re.compile(r"(https?://[^\s\"'<>]*/webhooks?/[^\s\"'<>]*/)[^/\s\"'<>?#]+")
PERSONAL = {"email", "firstName", "lastName", "first_name", "last_name", "fullname", "phone", "username"}
PERSONAL |= {"ip", "ip4", "ip4Sub", "ip4_last", "ip4Unsub", "ua", "signature", "orgname"}


@dataclass
class Diagnosis:
    probes: list[sources.Probe]
    choices: dict[str, sources.Choice]
    counts: dict[str, int] = field(default_factory=dict)
    estimates: list[tuple[str, str]] = field(default_factory=list)


def _total(probe: sources.Probe) -> int:
    meta = probe.answer.get("meta") if probe.ok and isinstance(probe.answer, dict) else None
    return as_int(meta.get("total")) if isinstance(meta, dict) else 0


def diagnose(
    store: Store, client: AcClient, now: datetime, cfg: ActiveCampaignConfig, cycle_seconds: float
) -> Diagnosis:
    probes: list[sources.Probe] = []

    def run(
        name: str, path: str, params: dict[str, Any] | None = None, endpoint: str | None = None
    ) -> sources.Probe:
        probe = sources.Probe(name, path, params or {}).run(client, endpoint)
        probes.append(probe)
        return probe

    run("credentials", "users/me")
    contacts = run("contacts", "contacts", {"limit": 1, "orders[id]": "ASC"})
    first = report_rows(contacts.answer) if contacts.ok else []
    cid = str(first[0].get("id")) if first else None
    if cid is not None:
        run("a contact's trackingLogs", f"contacts/{cid}/trackingLogs", endpoint="contacts/{id}/trackingLogs")
        run("a contact's tags (push)", f"contacts/{cid}/contactTags", endpoint="contacts/{id}/contactTags")
    tags = run("tags", "tags", {"limit": 1})
    contact_tags = run("contact tags", "contactTags", {"limit": 1})
    run("fields (push)", "fields", {"limit": 1})
    run("webhooks (setup)", "webhooks", {"limit": 1})
    run("bulk imports (push)", "import/bulk_import")
    run("account-wide activities", "activities", {"limit": 1})
    choices, source_probes = sources.probe_sources(client)
    probes += source_probes
    sources.record(store, choices, now)

    by_name = {p.name: p for p in probes}
    campaigns = by_name["campaigns"]
    orders = by_name["orders by update"]
    counts = {
        "contacts": _total(contacts),
        "campaigns": _total(campaigns),
        "orders": _total(orders),
        "tags": _total(tags),
        "contact tags": _total(contact_tags),
    }
    d = Diagnosis(probes, choices, counts)
    recent = (
        [c for c in (campaigns.answer or {}).get("campaigns", []) if isinstance(c, dict)]
        if campaigns.ok
        else []
    )
    unique = [as_int(c.get("uniqueopens")) for c in recent] or [0]
    hits = [as_int(c.get("opens")) + as_int(c.get("linkclicks")) for c in recent] or [0]
    n, camps = counts["contacts"], counts["campaigns"]
    if choices.get("opens", sources.Choice("", "", "", "")).source == "v3-report":
        per_campaign = math.ceil(sum(unique) / len(unique) / REPORT_PAGE) + 1  # opens pages + clicks
    else:
        per_campaign = 1 + 4 + math.ceil(sum(hits) / len(hits) / PAGE)  # links + each link's pages
    backfill = (
        n // PAGE
        + 1
        + n
        + camps // PAGE
        + 1
        + camps * per_campaign
        + counts["orders"] // PAGE
        + 1
        + counts["tags"] // PAGE
        + 1
        + counts["contact tags"] // PAGE
        + 1
    )
    rate = cfg.requests_per_second
    budget = sweep_budget(cfg, cycle_seconds)
    d.estimates = [
        ("backfill", f"about {backfill:,} requests, {duration(backfill / rate)} at {rate:g} requests/s"),
        (
            "idle sync cycle",
            f"3 requests (contacts changed, recent campaigns, orders) + the sweep's {budget} trackingLogs",
        ),
        (
            "busy sync cycle",
            "+1 per 100 changed contacts, +1 trackingLogs per contact whose udate moved, "
            f"+{'1 per 1,000 new opens' if per_campaign <= 2 else 'each link hits page of 100'}",
        ),
        (
            "site visits",
            "no webhook and no udate move: seen within "
            + (
                f"{duration(n / (budget // 2) * cycle_seconds)} (the sweep)"
                if budget >= 2
                else "never (sweep off)"
            ),
        ),
    ]
    return d


def redact(value: Any, token: str) -> Any:
    """The answer with e-mails, person names, phones, IPs, the token, every secret acsync knows
    (the webhook token: ``masking``) and the last segment of webhook URLs replaced."""
    if isinstance(value, dict):
        return {
            k: ("<redacted>" if k in PERSONAL and v not in (None, "") else redact(v, token))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v, token) for v in value]
    if isinstance(value, str):
        text = value.replace(token, "<token>") if token else value
        text = WEBHOOK_URL.sub(r"\g<1><webhook token>", masking.mask(text))
        return IPV4.sub("<ip>", EMAIL.sub("<email>", text))
    return value


def save(d: Diagnosis, directory: Path, token: str) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for n, probe in enumerate(d.probes, 1):
        slug = re.sub(r"[^a-z0-9]+", "_", probe.name.lower()).strip("_")
        path = directory / f"{n:02d}_{slug}.json"
        record = {
            "request": {"method": "GET", "path": probe.path, "params": probe.params},
            "status": probe.status,
            "answer": probe.answer,
        }
        path.write_text(
            json.dumps(redact(record, token), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        written.append(path)
    return written
