"""AC-format webhook bodies from the sandbox's account, and posting them to a receiver.

AC posts ``application/x-www-form-urlencoded`` bodies with PHP-style bracketed keys
(``contact[id]``, ``campaign[id]``, ``link[url]``), ``type`` and ``date_time``, and automation
webhooks with ``seriesid`` and no ``type`` (see fixtures/ac). ``date_time`` comes in two forms:
ISO with the account's offset (``2023-07-12T06:49:04-05:00``, AC's current examples) and, in
older captures, the account's local time without an offset (``2013-07-18 08:46:33``);
``naive_share`` is the share of bodies in the second form.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import requests

from acsync.sandbox.state import Account, ac_time, local_stamp

FORM = "application/x-www-form-urlencoded; charset=utf-8"


def _contact_fields(acct: Account, c: dict[str, Any]) -> dict[str, str]:
    return {
        "contact[id]": c["id"],
        "contact[email]": c["email"],
        "contact[first_name]": c["firstName"],
        "contact[last_name]": c["lastName"],
        "contact[phone]": c["phone"],
        "contact[ip]": "0.0.0.0",
        "contact[tags]": ", ".join(acct.tags_of(int(c["id"]))),
        "contact[orgname]": "",
        "contact[customer_acct_name]": "",
        "customer_acct_name": "",
        "customer_acct_id": "0",
        "orgname": "",
    }


def webhook_bodies(
    acct: Account, count: int, seed: int = 0, at: datetime | None = None, *, naive_share: float = 0.0
) -> list[str]:
    """``count`` form-encoded bodies: opens, clicks, subscribes, tag changes and updates of real
    contacts in the last hour before ``at`` (default: the account's now); ``naive_share`` of them
    dated in local time without an offset."""
    rng = random.Random(seed)
    forms = random.Random(seed + 1)  # its own draws: the bodies stay the same whatever the share
    at = at or acct.now
    live = [c for n, c in sorted(acct.contacts.items()) if n not in acct.deleted]
    campaigns = sorted(acct.campaigns.values(), key=lambda c: c["sdate"])[-3:]
    out = []
    for _ in range(count):
        c = rng.choice(live)
        when = at - timedelta(seconds=rng.randrange(3600))
        kind = rng.choices(["open", "click", "subscribe", "contact_tag_added", "update"], [5, 3, 1, 1, 1])[0]
        fields = {
            "type": kind,
            "date_time": local_stamp(when) if forms.random() < naive_share else ac_time(when),
            "initiated_from": "public" if kind in ("open", "click", "subscribe") else "admin",
            "initiated_by": "public" if kind in ("open", "click", "subscribe") else "admin",
            "list": "1" if kind == "subscribe" else "0",
            **_contact_fields(acct, c),
        }
        if kind in ("open", "click") and campaigns:
            camp = rng.choice(campaigns)
            fields |= {"campaign[id]": camp["id"], "campaign[name]": camp["name"]}
            if kind == "click":
                links = [
                    v for v in acct.links.values() if v["campaignid"] == camp["id"] and v["link"] != "open"
                ]
                if links:
                    link = rng.choice(links)
                    fields |= {"link[id]": link["id"], "link[url]": link["link"]}
        if kind == "contact_tag_added" and acct.tags:
            fields["tag"] = rng.choice(sorted(t["tag"] for t in acct.tags.values()))
        out.append(urlencode(fields))
    return out


def post_webhooks(url: str, bodies: list[str], session: requests.Session | None = None) -> list[int]:
    """POST each body as AC does; returns the status codes."""
    s = session or requests.Session()
    return [
        s.post(url, data=body.encode(), headers={"Content-Type": FORM}, timeout=10).status_code
        for body in bodies
    ]
