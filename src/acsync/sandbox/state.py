"""The sandbox's account: AC-shaped records in memory, and a seeded, realistic generator.

Records are stored the way AC returns them (string ids and counts, times with the account's
UTC offset, zero dates), so the HTTP layer only wraps them in envelopes.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

OFFSET = timezone(timedelta(hours=-5))  # the account's time zone, as in AC's own examples
ZONE = "Etc/GMT+5"  # OFFSET as an IANA name (POSIX signs: five hours behind UTC)
ZERO_DATE = "0000-00-00"
ZERO_TIME = "0000-00-00 00:00:00"
PAGES = {
    "blog": ["https://www.example.com/blog/lead-scoring-101", "https://www.example.com/blog/deliverability"],
    "webinar": ["https://www.example.com/webinar/spring-launch"],
    "pricing": ["https://www.example.com/pricing"],
    "home": ["https://www.example.com/"],
}
FIRST = ["Ann", "Ben", "Cleo", "Dev", "Eva", "Finn", "Gia", "Hugo", "Iris", "Jon", "Kai", "Lea", "Max", "Nia"]
LAST = ["Meyer", "Schulz", "Okafor", "Silva", "Novak", "Lind", "Park", "Rossi", "Dubois", "Kowalski"]


def ac_time(t: datetime) -> str:
    """``2026-03-01T04:30:00-05:00``: AC's ISO form, in the account's offset."""
    return t.astimezone(OFFSET).isoformat(timespec="seconds")


def local_stamp(t: datetime) -> str:
    """``2021-06-30 04:12:14``: AC's ``created_timestamp`` form, in the account's time zone."""
    return t.astimezone(OFFSET).strftime("%Y-%m-%d %H:%M:%S")


def utc_stamp(t: datetime) -> str:
    """``2026-03-01 09:30:00``: AC's ``*_utc_timestamp`` form."""
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Batch:
    """A bulk import: queued, then applied when it completes."""

    contacts: list[dict[str, Any]]
    queued: float = 0.0  # the sandbox clock (seconds) when it was queued
    status: str = "waiting"
    success: list[str] = field(default_factory=list)
    failure: list[str] = field(default_factory=list)


@dataclass
class Account:
    """``now`` is the account's time, which every write stamps (as AC stamps the time of the
    write). It stands still where tests set it, unless ``clock`` is given (seconds, monotonic:
    ``start_clock``): then it moves on with that clock from the time it was last set."""

    started: datetime  # the account's time when ``now`` was last set
    clock: Callable[[], float] | None = field(default=None, repr=False)
    _clock_at: float = field(default=0.0, repr=False)  # ``clock()`` when ``now`` was last set
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    field_values: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)  # contact → field → fv
    fields: dict[int, dict[str, Any]] = field(default_factory=dict)
    field_rels: list[dict[str, Any]] = field(default_factory=list)
    tags: dict[int, dict[str, Any]] = field(default_factory=dict)
    contact_tags: dict[int, dict[str, Any]] = field(default_factory=dict)
    lists: dict[int, dict[str, Any]] = field(default_factory=dict)
    contact_lists: list[dict[str, Any]] = field(default_factory=list)
    campaigns: dict[int, dict[str, Any]] = field(default_factory=dict)
    links: dict[int, dict[str, Any]] = field(default_factory=dict)
    link_data: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # link → hits
    bot_hits: set[str] = field(default_factory=set)  # ids of the clicks AC attributes to bots
    tracking_logs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # contact → logs
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    customers: dict[int, dict[str, Any]] = field(default_factory=dict)  # ecomCustomers, own ids
    forms: dict[int, dict[str, Any]] = field(default_factory=dict)
    webhooks: dict[int, dict[str, Any]] = field(default_factory=dict)
    batches: dict[str, Batch] = field(default_factory=dict)
    waiting: list[Batch] = field(default_factory=list)  # queued imports, oldest first
    _tag_links: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)  # (contact, tag) → id
    _by_email: dict[str, int] = field(default_factory=dict, repr=False)  # lower-cased e-mail → live id
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _ids: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def now(self) -> datetime:
        if self.clock is None:
            return self.started
        return self.started + timedelta(seconds=max(0.0, self.clock() - self._clock_at))

    @now.setter
    def now(self, at: datetime) -> None:
        self.started = at
        if self.clock is not None:
            self._clock_at = self.clock()

    def start_clock(self, clock: Callable[[], float], at: datetime | None = None) -> None:
        """From here on ``now`` moves on from ``at`` (default: as it stands) with ``clock``
        (seconds, e.g. ``time.monotonic``), as AC's time does: for a sandbox served for real,
        whose client stamps its writes with the wall time."""
        at = at or self.now
        self.clock = clock
        self.now = at

    def next_id(self, kind: str) -> int:
        self._ids[kind] = self._ids.get(kind, 0) + 1
        return self._ids[kind]

    # --- writes the API performs ---------------------------------------------------------------
    def add_contact(
        self, email: str, first: str = "", last: str = "", at: datetime | None = None
    ) -> dict[str, Any]:
        at = at or self.now
        cid = self.next_id("contact")
        c = contact_record(cid, email, first, last, at)
        self.contacts[cid] = c
        self._by_email[email.lower()] = cid
        return c

    def delete_contact(self, cid: int) -> None:
        """AC forgets the contact: its id 404s from now on, and its e-mail is free for a new one."""
        self.deleted.add(cid)
        self._by_email.pop(self.contacts[cid]["email"].lower(), None)
        for ctid in [k for k, ct in self.contact_tags.items() if ct["contact"] == str(cid)]:
            del self.contact_tags[ctid]

    def change_email(self, cid: int, email: str, at: datetime | None = None) -> None:
        """A contact's e-mail changed in AC (its page, ``PUT /contacts/{id}``): same id, new e-mail."""
        self._by_email.pop(self.contacts[cid]["email"].lower(), None)
        self.contacts[cid]["email"] = email
        self._by_email[email.lower()] = cid
        self.touch(cid, at)

    def touch(self, cid: int, at: datetime | None = None) -> None:
        self.contacts[cid]["udate"] = ac_time(at or self.now)

    def set_field_value(self, cid: int, field_id: int, value: str) -> dict[str, Any]:
        values = self.field_values.setdefault(cid, {})
        fv = values.get(field_id)
        if fv is None:
            fv = field_value_record(self.next_id("fieldValue"), cid, field_id, value, self.now)
            values[field_id] = fv
        else:
            fv["value"] = value
            fv["udate"] = ac_time(self.now)
        self.touch(cid)
        return fv

    def add_tag_to(self, cid: int, tag_id: int, at: datetime | None = None) -> dict[str, Any]:
        known = self._tag_links.get((str(cid), str(tag_id)))  # AC keeps one link per contact and tag
        if known is not None and known in self.contact_tags:
            return self.contact_tags[known]
        ctid = self.next_id("contactTag")
        self._tag_links[(str(cid), str(tag_id))] = ctid
        ct = {
            "cdate": ac_time(at or self.now),
            "contact": str(cid),
            "id": str(ctid),
            "links": {"contact": f"/{ctid}/contact", "tag": f"/{ctid}/tag"},
            "tag": str(tag_id),
        }
        self.contact_tags[ctid] = ct
        self.touch(cid, at)
        return ct

    def subscribe(self, cid: int, list_id: int, at: datetime, form: int | None = None) -> dict[str, Any]:
        """A list membership as AC keeps it; ``form`` is the form it came through, if any."""
        clid = len(self.contact_lists) + 1
        c = self.contacts[cid]
        base = f"https://sandbox/api/3/contactLists/{clid}"
        rec = {
            "contact": str(cid),
            "list": str(list_id),
            "form": None if form is None else str(form),
            "seriesid": "0",
            "sdate": ac_time(at),
            "udate": None,
            "status": "1",
            "responder": "1",
            "sync": "0",
            "unsubreason": None,
            "campaign": None,
            "message": None,
            "first_name": c["firstName"],
            "last_name": c["lastName"],
            "ip4Sub": "0",
            "sourceid": "0",
            "autosyncLog": None,
            "ip4_last": "0",
            "ip4Unsub": "0",
            "created_timestamp": local_stamp(at),
            "updated_timestamp": local_stamp(at),
            "created_by": None,
            "updated_by": None,
            "unsubscribeAutomation": None,
            "links": {
                name: f"{base}/{name}"
                for name in (
                    "automation",
                    "list",
                    "contact",
                    "form",
                    "autosyncLog",
                    "campaign",
                    "unsubscribeAutomation",
                    "message",
                )
            },
            "id": str(clid),
            "automation": None,
        }
        self.contact_lists.append(rec)
        return rec

    def unsubscribe(self, clid: int, at: datetime) -> None:
        rec = self.contact_lists[clid - 1]
        rec.update(status="2", udate=ac_time(at), updated_timestamp=local_stamp(at))

    def customer_for(self, email: str, at: datetime) -> dict[str, Any]:
        """The shop's ecomCustomer for an e-mail: its own id, related to a contact only by the
        e-mail address (AC's reference)."""
        known = next((c for c in self.customers.values() if c["email"].lower() == email.lower()), None)
        if known is not None:
            return known
        rec = customer_record(self.next_id("ecomCustomer"), email, at)
        self.customers[int(rec["id"])] = rec
        return rec

    def add_order(
        self, email: str, cents: int, at: datetime, state: int = 1, updated: datetime | None = None
    ) -> dict[str, Any]:
        """An ecomOrder of the shop's customer with this e-mail (the contact may be gone)."""
        customer = self.customer_for(email, at)
        oid = self.next_id("order")
        rec = order_record(oid, customer, email, cents, at, state, updated)
        self.orders[oid] = rec
        if state in (1, 3):
            orders = [
                o for o in self.orders.values() if o["customerid"] == customer["id"] and o["state"] in (1, 3)
            ]
            revenue = sum(o["totalPrice"] for o in orders)
            customer.update(
                totalRevenue=str(revenue),
                totalOrders=str(len(orders)),
                totalProducts=str(len(orders)),
                avgRevenuePerOrder=str(revenue // len(orders)),
                tstamp=ac_time(updated or at),
            )
        return rec

    def set_order_state(self, oid: int, state: int, at: datetime) -> None:
        """The shop moves an order on (a pending order completes, a cart is recovered)."""
        rec = self.orders[oid]
        rec.update(state=state, updatedDate=ac_time(at), externalUpdatedDate=ac_time(at), tstamp=ac_time(at))

    def tag_named(self, name: str) -> dict[str, Any] | None:
        return next((t for t in self.tags.values() if t["tag"] == name), None)

    def create_tag(self, name: str, description: str = "") -> dict[str, Any]:
        tid = self.next_id("tag")
        tag = {
            "cdate": ac_time(self.now),
            "description": description,
            "id": str(tid),
            "links": {"contactGoalTags": f"https://sandbox/api/3/tags/{tid}/contactGoalTags"},
            "tag": name,
            "tagType": "contact",
        }
        self.tags[tid] = tag
        return tag

    def create_field(self, title: str, type_: str = "text", descript: str = "") -> dict[str, Any]:
        fid = self.next_id("field")
        rec = field_record(fid, title, type_, descript, self.now)
        self.fields[fid] = rec
        return rec

    def tags_of(self, cid: int) -> list[str]:
        names = [
            self.tags[int(ct["tag"])]["tag"] for ct in self.contact_tags.values() if ct["contact"] == str(cid)
        ]
        return sorted(names)

    def contact_by_email(self, email: str) -> dict[str, Any] | None:
        cid = self._by_email.get(email.lower())
        return None if cid is None else self.contacts[cid]

    # --- activity as it happens (tests and benchmarks) -------------------------------------------
    def add_hit(self, cid: int, link_id: int, at: datetime, *, bot: bool = False) -> dict[str, Any]:
        """An open (on an open-pixel link) or a click; like the seed, it moves the contact's udate."""
        hit = hit_record(self.next_id("linkData"), cid, self.links[link_id], at)
        self.link_data[link_id].append(hit)
        if bot:
            self.bot_hits.add(hit["id"])
        self.touch(cid, at)
        return hit

    def add_visit(self, cid: int, url: str, at: datetime) -> dict[str, Any]:
        """A site visit: AC keeps it in the contact's trackingLogs and leaves its udate alone
        (AC's contact 112), and no webhook tells of it."""
        log = tracking_record(self.next_id("trackingLog"), cid, "__pagevisit", url, at)
        self.tracking_logs.setdefault(cid, []).append(log)
        return log


# --- record templates (the keys of AC's own answers, see fixtures/ac) -----------------------------
def contact_record(cid: int, email: str, first: str, last: str, at: datetime) -> dict[str, Any]:
    base = f"https://sandbox/api/3/contacts/{cid}"
    links = [
        "bounceLogs",
        "contactAutomations",
        "contactData",
        "contactGoals",
        "contactLists",
        "contactLogs",
        "contactTags",
        "contactDeals",
        "deals",
        "fieldValues",
        "geoIps",
        "notes",
        "organization",
        "plusAppend",
        "trackingLogs",
        "scoreValues",
    ]
    return {
        "cdate": ac_time(at),
        "email": email,
        "phone": "",
        "firstName": first,
        "lastName": last,
        "orgid": "0",
        "segmentio_id": "",
        "bounced_hard": "0",
        "bounced_soft": "0",
        "bounced_date": ZERO_DATE,
        "ip": "0",
        "ua": "",
        "hash": hashlib.md5(email.encode(), usedforsecurity=False).hexdigest(),
        "socialdata_lastcheck": ZERO_TIME,
        "email_local": "",
        "email_domain": "",
        "sentcnt": "0",
        "rating_tstamp": ZERO_DATE,
        "gravatar": "1",
        "deleted": "0",
        "anonymized": "0",
        "udate": ac_time(at),
        "deleted_at": ZERO_TIME,
        "scoreValues": [],
        "links": {name: f"{base}/{name}" for name in links},
        "id": str(cid),
        "organization": None,
    }


def field_record(fid: int, title: str, type_: str, descript: str, at: datetime) -> dict[str, Any]:
    perstag = "".join(ch if ch.isalnum() else "_" for ch in title.upper())
    return {
        "cdate": ac_time(at),
        "cols": "0",
        "defval": None,
        "descript": descript or None,
        "id": str(fid),
        "isrequired": "0",
        "links": {
            "options": f"https://sandbox/api/3/fields/{fid}/options",
            "relations": f"https://sandbox/api/3/fields/{fid}/relations",
        },
        "options": [],
        "ordernum": str(fid),
        "perstag": perstag,
        "relations": [],
        "rows": "0",
        "service": "",
        "show_in_list": "0",
        "title": title,
        "type": type_,
        "udate": ac_time(at),
        "visible": "1",
    }


def field_value_record(fvid: int, cid: int, field_id: int, value: str, at: datetime) -> dict[str, Any]:
    return {
        "contact": str(cid),
        "field": str(field_id),
        "value": value,
        "cdate": ac_time(at),
        "udate": ac_time(at),
        "created_by": None,
        "updated_by": None,
        "links": {
            "owner": f"https://sandbox/api/3/fieldValues/{fvid}/owner",
            "field": f"https://sandbox/api/3/fieldValues/{fvid}/field",
        },
        "id": str(fvid),
        "owner": str(cid),
    }


# --- the seeded account ---------------------------------------------------------------------------
def seed_account(contacts: int = 1000, seed: int = 1, now: datetime | None = None) -> Account:
    """A realistic account: contacts created over 12 months, two lists, two campaigns a month with
    opens and clicks, site visits on blog, webinar and pricing pages, tracked events, orders, tags,
    and a share of contacts gone quiet. Same seed and ``now`` → same account."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    rng = random.Random(seed)
    extra = random.Random(seed + 7919)  # draws added later (bot clicks, the second pixel)
    acct = Account(started=now)
    start = now - timedelta(days=365)
    for lid, name in ((1, "Newsletter"), (2, "Customers"), (3, "Enquiries")):
        acct.lists[lid] = {"id": str(lid), "name": name, "stringid": name.lower(), "cdate": ac_time(start)}
        acct._ids["list"] = lid
    for fid, name, lid in ((1, "Newsletter sign-up", 1), (2, "Contact us", 3)):
        acct.forms[fid] = {"id": str(fid), "name": name, "list": str(lid), "cdate": ac_time(start)}
    acct.create_field("Company", "text")
    for name in ("Customer", "Webinar attendee", "Imported"):
        acct.create_tag(name)

    people = []
    for _ in range(contacts):
        created = start + timedelta(seconds=rng.randrange(int((now - start).total_seconds())))
        first, last = rng.choice(FIRST), rng.choice(LAST)
        cid = acct._ids.get("contact", 0) + 1
        c = acct.add_contact(f"{first.lower()}.{last.lower()}{cid}@example.com", first, last, created)
        persona = rng.choices(["engaged", "fading", "quiet"], [3, 4, 3])[0]
        # When the contact stops doing anything: engaged never, fading some time, quiet soon.
        span = (now - created).total_seconds()
        stop = now if persona == "engaged" else created + timedelta(seconds=span * rng.uniform(0.05, 0.6))
        people.append((int(c["id"]), created, stop, persona))
        acct.subscribe(int(c["id"]), 1, created)

    # Campaigns: two a month, each with an open pixel and two content links.
    for n in range(24):
        sent = start + timedelta(days=15 * n + rng.uniform(0, 3))
        if sent >= now:
            break
        camp_id = acct.next_id("campaign")
        acct.campaigns[camp_id] = campaign_record(camp_id, f"Newsletter #{camp_id}", sent)
        kinds = rng.sample(["blog", "webinar", "pricing"], 2)
        camp_links = [link_record(acct.next_id("link"), camp_id, "open", "Read Tracker")]
        camp_links += [
            link_record(acct.next_id("link"), camp_id, rng.choice(PAGES[k]), k.title()) for k in kinds
        ]
        # AC's own example has a second open pixel per campaign (messageid "0", message null).
        pixel = link_record(acct.next_id("link"), camp_id, "open", "Read Tracker")
        pixel.update(messageid="0", message=None)
        camp_links.append(pixel)
        for link in camp_links:
            acct.links[int(link["id"])] = link
            acct.link_data[int(link["id"])] = []
        for cid, created, stop, persona in people:
            if not created <= sent <= stop:
                continue
            p_open = {"engaged": 0.6, "fading": 0.4, "quiet": 0.25}[persona]
            if rng.random() >= p_open:
                continue
            opened = sent + timedelta(minutes=rng.randrange(5, 3 * 24 * 60))
            if opened > now:
                continue
            # A share of the opens land on the second pixel (its own draws: the seed stays as it was).
            opener = camp_links[3] if extra.random() < 0.1 else camp_links[0]
            hit = hit_record(acct.next_id("linkData"), cid, opener, opened)
            acct.link_data[int(opener["id"])].append(hit)
            for link in camp_links[1:3]:
                if rng.random() < 0.3:
                    clicked = opened + timedelta(minutes=rng.randrange(1, 90))
                    if clicked <= now:
                        acct.link_data[int(link["id"])].append(
                            hit_record(acct.next_id("linkData"), cid, link, clicked)
                        )
                if extra.random() < 0.05 and sent + timedelta(seconds=20) <= now:  # a mail scanner
                    scanned = hit_record(acct.next_id("linkData"), cid, link, sent + timedelta(seconds=20))
                    acct.link_data[int(link["id"])].append(scanned)
                    acct.bot_hits.add(scanned["id"])
            acct.touch(cid, opened)

    # Site visits and tracked events; orders; tags.
    customer, webinar = acct.tag_named("Customer"), acct.tag_named("Webinar attendee")
    assert customer is not None
    assert webinar is not None
    buyer = random.Random(seed * 7919 + 1)  # who buys: its own sequence
    for cid, created, stop, persona in people:
        logs = acct.tracking_logs.setdefault(cid, [])
        seen: dict[str, list[datetime]] = {"blog": [], "webinar": [], "pricing": [], "home": []}
        visits = {
            "engaged": rng.randrange(2, 14),
            "fading": rng.randrange(0, 8),
            "quiet": rng.randrange(0, 2),
        }[persona]
        active = max(1, int((stop - created).total_seconds()))
        for _ in range(visits):
            at = created + timedelta(seconds=rng.randrange(active))
            kind = rng.choices(["blog", "webinar", "pricing", "home"], [4, 2, 2, 2])[0]
            seen[kind].append(at)
            logs.append(
                tracking_record(acct.next_id("trackingLog"), cid, "__pagevisit", rng.choice(PAGES[kind]), at)
            )
            if kind == "webinar" and rng.random() < 0.4:
                logs.append(
                    tracking_record(
                        acct.next_id("trackingLog"), cid, "webinar_registered", "spring-launch", at
                    )
                )
                acct.add_tag_to(cid, int(webinar["id"]), at)
        logs.sort(key=lambda r: r["tstamp"])  # visits leave udate alone (AC's contact 112)
        bought = _purchase(buyer, persona, seen, created)
        if bought is not None and bought <= now:
            acct.add_order(acct.contacts[cid]["email"], buyer.randrange(1900, 49900), bought)
            acct.add_tag_to(cid, int(customer["id"]), bought)
            acct.subscribe(cid, 2, bought)
    _seed_forms_and_carts(acct, people, random.Random(seed * 7919 + 13))
    return acct


def _seed_forms_and_carts(
    acct: Account, people: list[tuple[int, datetime, datetime, str]], rng: random.Random
) -> None:
    """Sign-ups through forms, contact-form enquiries, unsubscriptions and shop orders in every
    state AC knows (drawn from their own generator, so the rest of the account stays put)."""
    now = acct.now
    for cid, created, stop, persona in people:
        newsletter = next(cl for cl in acct.contact_lists if cl["contact"] == str(cid) and cl["list"] == "1")
        if rng.random() < 0.4:
            newsletter["form"] = "1"  # signed up through the newsletter form
        active = max(1, int((stop - created).total_seconds()))
        if persona != "quiet" and rng.random() < 0.12:
            acct.subscribe(cid, 3, created + timedelta(seconds=rng.randrange(active)), form=2)
        if persona == "quiet" and rng.random() < 0.2:
            acct.unsubscribe(int(newsletter["id"]), stop)
        if persona == "quiet" or rng.random() >= 0.12:
            continue
        email = acct.contacts[cid]["email"]
        if rng.random() < 0.2:
            email = email.upper()  # shops send the e-mail as typed
        at = created + timedelta(seconds=rng.randrange(active))
        state = rng.choices([2, 3, 0, 4], [6, 2, 1, 1])[0]  # abandoned, recovered, pending, waiting
        later = min(now, at + timedelta(hours=rng.randrange(1, 72)))
        acct.add_order(email, rng.randrange(1900, 49900), at, state, later if state == 3 else None)


# Who buys follows what they looked at, so the reports have a story to tell: each pricing-page
# visit adds far more to the chance of buying than a webinar page, and a blog post hardly any;
# the order follows one of those visits within six weeks (long enough for monthly snapshots
# of `report quality` to see the visit before the order).
BUY_BASE = {"engaged": 0.02, "fading": 0.01, "quiet": 0.0}
BUY_PER_VISIT = {"pricing": 0.2, "webinar": 0.05, "blog": 0.005, "home": 0.01}


def _purchase(
    rng: random.Random, persona: str, seen: dict[str, list[datetime]], created: datetime
) -> datetime | None:
    """When the contact orders, or None."""
    p = BUY_BASE[persona] + sum(BUY_PER_VISIT[kind] * len(times) for kind, times in seen.items())
    if rng.random() >= min(p, 0.85):
        return None
    trigger = seen["pricing"] or seen["webinar"] or [t for times in seen.values() for t in times] or [created]
    return rng.choice(trigger) + timedelta(days=rng.uniform(2, 45))


def campaign_record(camp_id: int, name: str, sent: datetime) -> dict[str, Any]:
    return {
        "type": "single",
        "userid": "1",
        "segmentid": "0",
        "bounceid": "-1",
        "realcid": "0",
        "sendid": "0",
        "threadid": "0",
        "seriesid": "0",
        "formid": "0",
        "basetemplateid": "0",
        "basemessageid": "0",
        "addressid": "0",
        "source": "web",
        "name": name,
        "cdate": ac_time(sent - timedelta(days=1)),
        "mdate": ac_time(sent),
        "sdate": ac_time(sent),
        "ldate": ac_time(sent + timedelta(hours=1)),
        "send_amt": "0",
        "total_amt": "0",
        "opens": "0",
        "uniqueopens": "0",
        "linkclicks": "0",
        "uniquelinkclicks": "0",
        "status": "5",
        "public": "1",
        "id": str(camp_id),
        "links": {"links": f"https://sandbox/api/3/campaigns/{camp_id}/links"},
    }


def link_record(link_id: int, camp_id: int, url: str, name: str) -> dict[str, Any]:
    return {
        "campaignid": str(camp_id),
        "messageid": str(camp_id),
        "link": url,
        "name": name,
        "ref": "",
        "tracked": "1",
        "links": {
            "campaign": f"https://sandbox/api/3/links/{link_id}/campaign",
            "message": f"https://sandbox/api/3/links/{link_id}/message",
        },
        "id": str(link_id),
        "campaign": str(camp_id),
        "message": str(camp_id),
    }


def hit_record(hit_id: int, cid: int, link: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {
        "contact": str(cid),
        "campaignid": link["campaignid"],
        "messageid": link["messageid"],
        "linkid": link["id"],
        "isread": "1",
        "times": "1",
        "tstamp": ac_time(at),
        "id": str(hit_id),
    }


def tracking_record(log_id: int, cid: int, type_: str, value: str, at: datetime) -> dict[str, Any]:
    return {
        "subscriberid": str(cid),
        "type": type_,
        "value": value,
        "tstamp": ac_time(at),
        "hash": hashlib.sha1(f"{log_id}".encode(), usedforsecurity=False).hexdigest(),
        "links": {"contact": f"https://sandbox/api/3/trackingLogs/{log_id}/contact"},
        "id": str(log_id),
        "contact": str(cid),
    }


def customer_record(cust_id: int, email: str, at: datetime) -> dict[str, Any]:
    return {
        "connectionid": "1",
        "externalid": f"C-{cust_id:05d}",
        "email": email,
        "totalRevenue": "0",
        "totalOrders": "0",
        "totalProducts": "0",
        "avgRevenuePerOrder": "0",
        "avgProductCategory": "",
        "tstamp": ac_time(at),
        "links": {
            "connection": f"/api/3/ecomCustomers/{cust_id}/connection",
            "orders": f"/api/3/ecomCustomers/{cust_id}/orders",
        },
        "id": str(cust_id),
        "connection": "1",
    }


def order_record(
    oid: int,
    customer: dict[str, Any],
    email: str,
    cents: int,
    at: datetime,
    state: int = 1,
    updated: datetime | None = None,
) -> dict[str, Any]:
    """An ecomOrder with every key of AC's list and single answers (``api`` picks each shape):
    no contact, ``customerid`` the ecomCustomer's id, ``state`` and ``totalPrice`` integers."""
    base = f"https://sandbox/api/3/ecomOrders/{oid}"
    changed = ac_time(updated or at)
    return {
        "externalid": f"ORD-{oid:05d}",
        "source": "1",
        "email": email,
        "currency": "EUR",
        "connectionid": "1",
        "customerid": customer["id"],
        "orderUrl": f"https://shop.example.com/orders/{oid}",
        "shippingMethod": "",
        "totalPrice": cents,
        "shippingAmount": 0,
        "taxAmount": 0,
        "discountAmount": 0,
        "externalCreatedDate": ac_time(at),
        "externalUpdatedDate": changed,
        "externalcheckoutid": f"CHK-{oid:05d}" if state in (2, 3) else None,
        "abandonedDate": ac_time(at + timedelta(hours=1)) if state in (2, 3) else None,
        "orderNumber": f"{oid}",
        "totalProducts": 1,
        "createdDate": ac_time(at),
        "updatedDate": changed,
        "state": state,
        "connection": "1",
        "orderProducts": [str(oid)],
        "customer": customer["id"],
        "orderDate": ac_time(at),
        "tstamp": changed,
        "links": {
            name: f"{base}/{name}"
            for name in ("connection", "customer", "orderProducts", "orderDiscounts", "orderActivities")
        },
        "id": str(oid),
    }
