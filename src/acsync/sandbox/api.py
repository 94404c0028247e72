"""The v3 endpoints of the sandbox: each takes the account and a request, returns (status, body).

Bodies mirror AC's answers in ``fixtures/ac``: envelopes with ``meta.total`` as a string, both
404 shapes, the 422 error lists, bulk import's 200/400 answers and its batch status.
"""

from __future__ import annotations

import bisect
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from acsync.sandbox import shapes
from acsync.sandbox.state import Account, Batch, ac_time

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_LIMIT = 100
BULK_MAX_CONTACTS = 250
BULK_MAX_BYTES = 400_000


@dataclass
class Request:
    method: str
    path: str  # below /api/3/, no leading slash
    query: dict[str, str]
    body: bytes
    args: tuple[str, ...] = ()
    clock: float = 0.0  # the sandbox's monotonic clock when the request arrived

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            return None

    def int(self, name: str, default: int) -> int:
        try:
            return int(self.query.get(name, default))
        except ValueError:
            return default


Answer = tuple[int, Any]
Handler = Callable[[Account, Request], Answer]


def not_found_message(kind: str, ident: str) -> Answer:
    return 404, {"message": f"No Result found for {kind} with id {ident}"}


def not_found_errors(detail: str) -> Answer:
    return 404, {"errors": [{"status": 404, "title": "Not Found", "detail": detail}]}


def unprocessable(title: str, pointer: str, code: str = "") -> Answer:
    err: dict[str, Any] = {"title": title, "detail": "", "source": {"pointer": pointer}}
    if code:
        err["code"] = code
    return 422, {"errors": [err]}


def page(req: Request, items: list[dict[str, Any]], key: str, **extra: Any) -> Answer:
    limit = max(1, min(MAX_LIMIT, req.int("limit", 20)))
    offset = max(0, req.int("offset", 0))
    return 200, {key: items[offset : offset + limit], **extra, "meta": {"total": str(len(items))}}


def _live(acct: Account, cid: str) -> dict[str, Any] | None:
    try:
        n = int(cid)
    except ValueError:
        return None
    return None if n in acct.deleted else acct.contacts.get(n)


# --- contacts -------------------------------------------------------------------------------------
def contacts_list(acct: Account, req: Request) -> Answer:
    # Records are kept in id order (ids only grow), so a keyset page is a bisect, not a sort:
    # the sandbox must stay fast at 50,000 contacts to measure the client, not itself.
    ids = list(acct.contacts)
    after = req.int("id_greater", 0)
    start = bisect.bisect_right(ids, after)
    if (
        len(req.query.keys() - {"orders[id]", "id_greater", "limit", "offset"}) == 0
        and req.query.get("orders[id]", "ASC").upper() == "ASC"
    ):
        return _keyset_page(acct, req, ids, start)
    items = [acct.contacts[n] for n in ids[start:] if n not in acct.deleted]
    if "ids[]" in req.query:  # AC's form: ids[]=1&ids[]=2 (the sandbox joins repeats with commas)
        wanted = {n for n in req.query["ids[]"].split(",") if n}
        items = [c for c in items if c["id"] in wanted]
    if "filters[updated_after]" in req.query:
        since = _instant(req.query["filters[updated_after]"])
        if since is None:
            return 400, {"message": "filters[updated_after] is not a date"}
        items = [c for c in items if datetime.fromisoformat(c["udate"]) > since]
    if "email" in req.query:
        items = [c for c in items if c["email"].lower() == req.query["email"].lower()]
    if req.query.get("orders[id]", "ASC").upper() == "DESC":
        items = items[::-1]
    status, body = page(req, items, "contacts")
    body = {"scoreValues": [], **body}
    body["meta"]["page_input"] = {"limit": req.int("limit", 20), "offset": req.int("offset", 0)}
    return status, body


def _keyset_page(acct: Account, req: Request, ids: list[int], start: int) -> Answer:
    limit = max(1, min(MAX_LIMIT, req.int("limit", 20)))
    offset = max(0, req.int("offset", 0))
    live = (acct.contacts[n] for n in ids[start:] if n not in acct.deleted)
    items = list(islice(live, offset, offset + limit))
    total = len(ids) - start - sum(1 for n in acct.deleted if n > (ids[start - 1] if start else 0))
    meta = {"total": str(total), "page_input": {"limit": limit, "offset": offset}}
    return 200, {"scoreValues": [], "contacts": items, "meta": meta}


def _instant(text: str) -> datetime | None:
    try:
        t = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=datetime.now().astimezone().tzinfo)


def contact_get(acct: Account, req: Request) -> Answer:
    (cid,) = req.args
    c = _live(acct, cid)
    if c is None:
        return not_found_message("Subscriber", cid)
    return 200, _contact_with_sideloads(acct, c)


def _contact_with_sideloads(acct: Account, c: dict[str, Any]) -> dict[str, Any]:
    n = int(c["id"])
    values = list(acct.field_values.get(n, {}).values())
    lists = [cl for cl in acct.contact_lists if cl["contact"] == c["id"]]
    single = {
        k: v for k, v in c.items() if k not in ("anonymized", "deleted_at", "scoreValues", "organization")
    }
    single.update(
        {
            "adate": None,
            "edate": None,
            "contactAutomations": [],
            "contactLists": [cl["id"] for cl in lists],
            "fieldValues": [fv["id"] for fv in values],
            "geoIps": [],
            "deals": [],
            "accountContacts": [],
            "organization": None,
        }
    )
    single["links"] = c["links"]
    single["id"] = c["id"]
    return {
        "contactAutomations": [],
        "contactLists": lists,
        "deals": [],
        # sideloaded field values come without created_by/updated_by (AC's own example)
        "fieldValues": [
            {k: v for k, v in fv.items() if k not in ("created_by", "updated_by")} for fv in values
        ],
        "geoAddresses": [],
        "geoIps": [],
        "contact": single,
    }


def contact_put(acct: Account, req: Request) -> Answer:
    (cid,) = req.args
    c = _live(acct, cid)
    if c is None:
        return not_found_message("Subscriber", cid)
    body = req.json()
    data = body.get("contact") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return unprocessable("Missing attribute", "/data/attributes/contact")
    for fv in data.get("fieldValues") or []:
        try:
            field_id = int(fv["field"])
        except (KeyError, TypeError, ValueError):
            return unprocessable("Field id is not valid", "/data/attributes/fieldValues", "field_invalid")
        if field_id not in acct.fields:
            return unprocessable("Field id is not valid", "/data/attributes/fieldValues", "field_invalid")
        acct.set_field_value(int(cid), field_id, str(fv.get("value", "")))
    for key in ("firstName", "lastName", "phone"):
        if isinstance(data.get(key), str):
            c[key] = data[key]
    acct.touch(int(cid))
    values = [  # AC's PUT answer carries field values without created_by/updated_by
        {k: v for k, v in fv.items() if k not in ("created_by", "updated_by")}
        for fv in acct.field_values.get(int(cid), {}).values()
    ]
    return 200, {"fieldValues": values, "contact": c}


def contact_tracking_logs(acct: Account, req: Request) -> Answer:
    (cid,) = req.args
    if _live(acct, cid) is None:
        return not_found_message("Subscriber", cid)
    logs = acct.tracking_logs.get(int(cid), [])
    status, body = page(req, logs, "trackingLogs")
    del body["meta"]  # AC's example carries no meta here
    return status, body


def contact_contact_tags(acct: Account, req: Request) -> Answer:
    (cid,) = req.args
    if _live(acct, cid) is None:
        return not_found_message("Subscriber", cid)
    return 200, {"contactTags": [ct for ct in acct.contact_tags.values() if ct["contact"] == cid]}


def contact_field_values(acct: Account, req: Request) -> Answer:
    (cid,) = req.args
    if _live(acct, cid) is None:
        return not_found_message("Subscriber", cid)
    return 200, {"fieldValues": list(acct.field_values.get(int(cid), {}).values())}


# --- campaigns --------------------------------------------------------------------------------------
def campaigns_list(acct: Account, req: Request) -> Answer:
    """Campaigns with their live counters (``opens``, ``uniqueopens``, ``linkclicks``,
    ``uniquelinkclicks``, strings as in AC's example); ``orders[sdate]`` ASC or DESC."""
    items = list(acct.campaigns.values())
    direction = req.query.get("orders[sdate]", "").upper()
    if direction in ("ASC", "DESC"):
        items.sort(key=lambda c: c.get("sdate") or "", reverse=direction == "DESC")
    status, body = page(req, items, "campaigns")
    body["campaigns"] = [shapes.campaign({**c, **_counters(acct, c["id"])}) for c in body["campaigns"]]
    return status, body


def _counters(acct: Account, camp: str) -> dict[str, str]:
    opens: list[dict[str, Any]] = []
    clicks: list[dict[str, Any]] = []
    for lid, link in acct.links.items():
        if link["campaignid"] == camp:
            (opens if link["link"] == "open" else clicks).extend(acct.link_data[lid])
    return {
        "opens": str(sum(int(h["times"]) for h in opens)),
        "uniqueopens": str(len({h["contact"] for h in opens})),
        "linkclicks": str(sum(int(h["times"]) for h in clicks)),
        "uniquelinkclicks": str(len({h["contact"] for h in clicks})),
    }


REPORT_MAX = 1000


def _report_paging(req: Request) -> tuple[int, int, Answer | None]:
    """``limit`` (1–1000, default 20) and ``offset``: digits only, anything else a 422 (AC's reference)."""
    limit, offset = req.query.get("limit", "20"), req.query.get("offset", "0")
    if not limit.isdigit() or not 1 <= int(limit) <= REPORT_MAX:
        return 0, 0, unprocessable("limit must be digits, from 1 to 1000", "/limit")
    if not offset.isdigit():
        return 0, 0, unprocessable("offset must be digits", "/offset")
    return int(limit), int(offset), None


def _per_contact(acct: Account, hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per contact: how often and when last (a deleted contact's history stays)."""
    rows: dict[str, dict[str, Any]] = {}
    for h in hits:
        row = rows.get(h["contact"])
        if row is None:
            c = acct.contacts.get(int(h["contact"]))
            row = rows[h["contact"]] = {
                "subscriberid": h["contact"],
                "contact": h["contact"],
                "email": c["email"] if c else "",
                "times": "0",
                "tstamp": h["tstamp"],
            }
        row["times"] = str(int(row["times"]) + int(h["times"]))
        if datetime.fromisoformat(h["tstamp"]) > datetime.fromisoformat(row["tstamp"]):
            row["tstamp"] = h["tstamp"]
    return list(rows.values())


def campaign_opens(acct: Account, req: Request) -> Answer:
    """ "List the opens of a campaign": one row per contact with ``times`` and the last open's
    ``tstamp``, ordered by it (DESC by default), one page and no ``meta.total``."""
    (camp,) = req.args
    if int(camp) not in acct.campaigns:
        return not_found_message("Campaign", camp)
    limit, offset, refused = _report_paging(req)
    if refused is not None:
        return refused
    message = req.query.get("messageid", "0")
    hits = [
        h
        for lid, link in acct.links.items()
        if link["campaignid"] == camp and link["link"] == "open"
        for h in acct.link_data[lid]
        if message in ("0", link["messageid"])
    ]
    rows = _per_contact(acct, hits)
    desc = req.query.get("orders[tstamp]", "DESC").upper() != "ASC"
    rows.sort(key=lambda r: (datetime.fromisoformat(r["tstamp"]), int(r["contact"])), reverse=desc)
    return 200, {"opens": rows[offset : offset + limit]}


def campaign_link_clicks(acct: Account, req: Request) -> Answer:
    """ "List the link clicks of a campaign": its links with click counts (``includeBotClicks``
    false leaves bot clicks out of the counts only) and the contacts that clicked each, with
    ``is_bot`` per row; paging applies to the links."""
    (camp,) = req.args
    if int(camp) not in acct.campaigns:
        return not_found_message("Campaign", camp)
    limit, offset, refused = _report_paging(req)
    if refused is not None:
        return refused
    bots_count = req.query.get("includeBotClicks", "true").lower() not in ("false", "0")
    links = [(lid, link) for lid, link in sorted(acct.links.items()) if link["campaignid"] == camp]
    out = []
    for lid, link in links[offset : offset + limit]:
        if link["link"] == "open":
            continue
        hits = acct.link_data[lid]
        counted = [h for h in hits if bots_count or h["id"] not in acct.bot_hits]
        info = []
        for bot in (False, True):  # a contact's own clicks and a scanner's are separate rows
            rows = _per_contact(acct, [h for h in hits if (h["id"] in acct.bot_hits) == bot])
            info += [{**r, "is_bot": "1" if bot else "0"} for r in rows]
        out.append(
            {
                "id": link["id"],
                "name": link["name"],
                "link": link["link"],
                "tracked": link["tracked"],
                "a_unique": str(len({h["contact"] for h in counted})),
                "a_total": str(sum(int(h["times"]) for h in counted)),
                "info": info,
            }
        )
    return 200, {"links": out}


def campaign_links(acct: Account, req: Request) -> Answer:
    (camp,) = req.args
    if not camp.isdigit() or int(camp) not in acct.campaigns:
        return not_found_message("Campaign", camp)
    return 200, {"links": [shapes.link(link) for link in acct.links.values() if link["campaignid"] == camp]}


def link_data(acct: Account, req: Request) -> Answer:
    (link,) = req.args
    if not link.isdigit() or int(link) not in acct.links:
        return not_found_message("Link", link)
    return page(req, acct.link_data[int(link)], "linkData")


# --- e-commerce (Deep Data) and list memberships ----------------------------------------------
# AC's list and single-order answers differ in keys and types (acdocs3_GET_ecomOrders_200.txt,
# acdocs3_GET_ecomOrder_200_single.json): the list has integers and ``orderProducts``; the
# single order has strings, ``orderNumber``, ``abandonedDate`` and the external dates.
_ORDER_LIST_KEYS = [
    "externalid",
    "source",
    "email",
    "currency",
    "connectionid",
    "customerid",
    "orderUrl",
    "shippingMethod",
    "totalPrice",
    "shippingAmount",
    "taxAmount",
    "discountAmount",
    "externalCreatedDate",
    "totalProducts",
    "createdDate",
    "updatedDate",
    "state",
    "connection",
    "orderProducts",
    "customer",
    "orderDate",
    "tstamp",
    "links",
    "id",
]
_ORDER_SINGLE_KEYS = [
    "customerid",
    "connectionid",
    "state",
    "source",
    "externalid",
    "externalcheckoutid",
    "orderNumber",
    "email",
    "totalPrice",
    "discountAmount",
    "shippingAmount",
    "taxAmount",
    "totalProducts",
    "currency",
    "shippingMethod",
    "orderUrl",
    "externalCreatedDate",
    "externalUpdatedDate",
    "abandonedDate",
    "createdDate",
    "updatedDate",
    "orderDate",
    "tstamp",
    "links",
    "id",
    "connection",
    "customer",
]
_ORDER_SINGLE_STRINGS = frozenset(
    {"state", "totalPrice", "discountAmount", "shippingAmount", "taxAmount", "totalProducts"}
)
_ORDER_FILTERS = {"filters[email]": "email", "filters[state]": "state", "filters[customerid]": "customerid"}


def ecom_orders(acct: Account, req: Request) -> Answer:
    items = list(acct.orders.values())
    for param, key in _ORDER_FILTERS.items():
        if param in req.query:
            want = req.query[param].lower()
            items = [o for o in items if str(o[key]).lower() == want]
    direction = req.query.get("orders[updated_date]", "").upper()  # as connectors poll them
    if direction in ("ASC", "DESC"):
        desc = direction == "DESC"
        items.sort(key=lambda o: (datetime.fromisoformat(o["updatedDate"]), int(o["id"])), reverse=desc)
    items = [{k: o[k] for k in _ORDER_LIST_KEYS} for o in items]
    return page(req, items, "ecomOrders")


def ecom_order_get(acct: Account, req: Request) -> Answer:
    (oid,) = req.args
    o = acct.orders.get(int(oid))
    if o is None:
        return not_found_message("EcomOrder", oid)
    return 200, {
        "ecomOrder": {k: str(o[k]) if k in _ORDER_SINGLE_STRINGS else o[k] for k in _ORDER_SINGLE_KEYS}
    }


def ecom_customers(acct: Account, req: Request) -> Answer:
    items = list(acct.customers.values())
    if "filters[email]" in req.query:
        items = [c for c in items if c["email"].lower() == req.query["filters[email]"].lower()]
    return page(req, items, "ecomCustomers")


def ecom_customer_get(acct: Account, req: Request) -> Answer:
    (cust,) = req.args
    c = acct.customers.get(int(cust))
    if c is None:
        return not_found_message("EcomCustomer", cust)
    single = {k: v for k, v in c.items() if k not in ("links", "id", "connection")}
    return 200, {
        "ecomCustomer": {
            **single,
            "acceptsMarketing": "0",
            **{k: c[k] for k in ("links", "id", "connection")},
        }
    }


def contact_lists_list(acct: Account, req: Request) -> Answer:
    """Every list membership of the account, in id order (the memberships of deleted contacts
    stay: AC keeps list history)."""
    return page(req, acct.contact_lists, "contactLists")


def contact_contact_lists(acct: Account, req: Request) -> Answer:
    (cid,) = req.args
    if _live(acct, cid) is None:
        return not_found_message("Subscriber", cid)
    return 200, {"contactLists": [cl for cl in acct.contact_lists if cl["contact"] == cid]}


# --- tags -------------------------------------------------------------------------------------------
def contact_tags_list(acct: Account, req: Request) -> Answer:
    return page(req, list(acct.contact_tags.values()), "contactTags")


def contact_tags_post(acct: Account, req: Request) -> Answer:
    body = req.json()
    data = body.get("contactTag") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return 422, {
            "errors": [
                {
                    "status": 422,
                    "title": "Missing attribute",
                    "source": {"pointer": "/data/attributes/contactTag"},
                }
            ]
        }
    for attr in ("contact", "tag"):
        if data.get(attr) in (None, ""):
            return 422, {
                "errors": [
                    {
                        "status": 422,
                        "title": "Missing attribute",
                        "source": {"pointer": f"/data/attributes/{attr}"},
                    }
                ]
            }
    if _live(acct, str(data["contact"])) is None:
        return not_found_errors("Contact not found")
    tag = str(data["tag"])
    if not tag.isdigit() or int(tag) not in acct.tags:
        return not_found_errors("Tag not found")
    return 201, {"contactTag": acct.add_tag_to(int(data["contact"]), int(tag))}


def contact_tags_delete(acct: Account, req: Request) -> Answer:
    (ctid,) = req.args
    ct = acct.contact_tags.get(int(ctid)) if ctid.isdigit() else None
    if ct is None:
        return not_found_message("SubscriberTag", ctid)
    del acct.contact_tags[int(ctid)]
    if int(ct["contact"]) in acct.contacts:
        acct.touch(int(ct["contact"]))
    return 200, {}


def tags_list(acct: Account, req: Request) -> Answer:
    items = [t for _, t in sorted(acct.tags.items())]
    search = req.query.get("search") or req.query.get("filters[search][eq]")
    if search:
        exact = "filters[search][eq]" in req.query
        needle = search.lower()
        items = [t for t in items if (t["tag"].lower() == needle if exact else needle in t["tag"].lower())]
    return page(req, items, "tags")


def tags_post(acct: Account, req: Request) -> Answer:
    body = req.json()
    data = body.get("tag") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not str(data.get("tag") or "").strip():
        return unprocessable("Missing attribute", "/data/attributes/tag")
    if acct.tag_named(str(data["tag"])) is not None:
        return unprocessable("Tag already exists", "/data/attributes/tag", "duplicate")
    return 201, {"tag": acct.create_tag(str(data["tag"]), str(data.get("description") or ""))}


# --- fields -----------------------------------------------------------------------------------------
def fields_list(acct: Account, req: Request) -> Answer:
    return page(
        req, [f for _, f in sorted(acct.fields.items())], "fields", fieldOptions=[], fieldRels=acct.field_rels
    )


def fields_post(acct: Account, req: Request) -> Answer:
    body = req.json()
    data = body.get("field") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not str(data.get("title") or "").strip():
        return unprocessable("Missing attribute", "/data/attributes/title")
    title = str(data["title"])
    if any(f["title"].lower() == title.lower() for f in acct.fields.values()):
        return 422, {  # AC's answer: a detail, and no source pointer
            "errors": [
                {
                    "title": "There is already a field with this title",
                    "detail": f"There is already a field named '{title}' -- choose another name",
                    "code": "duplicate",
                }
            ]
        }
    return 201, {
        "field": acct.create_field(title, str(data.get("type") or "text"), str(data.get("descript") or ""))
    }


def field_rels_post(acct: Account, req: Request) -> Answer:
    body = req.json()
    data = body.get("fieldRel") if isinstance(body, dict) else None
    if not isinstance(data, dict) or str(data.get("field", "")) not in {str(k) for k in acct.fields}:
        return unprocessable("Missing attribute", "/data/attributes/field")
    rel = {  # AC answers field and relid as integers
        "relid": int(data.get("relid", 0)),
        "field": int(data["field"]),
        "cdate": ac_time(acct.now),
        "links": [],
        "id": str(acct.next_id("fieldRel")),
    }
    acct.field_rels.append(rel)
    return 201, {"fieldRel": rel}


# --- bulk import ------------------------------------------------------------------------------------
def bulk_import(acct: Account, req: Request) -> Answer:
    body = req.json()
    contacts = body.get("contacts") if isinstance(body, dict) else None
    if len(req.body) > BULK_MAX_BYTES:
        return 400, {
            "success": 0,
            "message": "Payload too large.",
            "failureReasons": ["Up to 400000 bytes may be sent."],
        }
    if not isinstance(contacts, list) or not 1 <= len(contacts) <= BULK_MAX_CONTACTS:
        return 400, {
            "success": 0,
            "message": "JSON payload did not pass validation. Please fix failure Reasons and retry. "
            "The import was not queued for processing.",
            "failureReasons": [f"Between 1 and {BULK_MAX_CONTACTS} contacts may be imported per request."],
        }
    reasons = [
        {"contact": i, "failureReason": "Field‘ email’ incorrect format"}
        for i, c in enumerate(contacts)
        if not isinstance(c, dict) or not EMAIL.match(str(c.get("email", "")))
    ]
    if reasons:
        return 400, {
            "success": 0,
            "message": "JSON payload did not pass validation. Please fix failure Reasons and retry. "
            "The import was not queued for processing.",
            "failureReasons": reasons,
        }
    batch_id = str(uuid.UUID(int=acct.next_id("batch") + (1 << 64)))
    acct.batches[batch_id] = Batch(contacts, queued=req.clock)
    acct.waiting.append(acct.batches[batch_id])
    return 200, {
        "Success": 1,
        "queued_contacts": len(contacts),
        "batchId": batch_id,
        "message": "Contact import queued",
    }


def import_overview(acct: Account, req: Request) -> Answer:
    """``GET /import/bulk_import``: per day, the batches still queued or running, and those
    completed in the last seven days (AC's reference: aggregates only, no batch ids)."""
    outstanding = [b for b in acct.batches.values() if b.status != "completed"]
    done = [b for b in acct.batches.values() if b.status == "completed"]
    day = ac_time(acct.now)[:10]

    def summary(batches: list[Batch]) -> list[dict[str, str]]:
        if not batches:
            return []
        return [
            {
                "forDate": day,
                "batches": str(len(batches)),
                "contacts": str(sum(len(b.contacts) for b in batches)),
            }
        ]

    return 200, {"outstanding": summary(outstanding), "recentlyCompleted": summary(done)}


def import_info(acct: Account, req: Request) -> Answer:
    """A batch's status: boolean ``false`` in its first second (as AC answers), then ``active``
    until the sandbox settles it (``Sandbox.bulk_seconds`` after it was queued)."""
    batch_id = req.query.get("batchId")
    if not batch_id:
        return 400, {"success": 0, "message": "'batchId' is a required field."}
    batch = acct.batches.get(batch_id)
    if batch is None:
        return not_found_message("Import", batch_id)
    status: str | bool = batch.status
    if status == "waiting":
        status = False if req.clock - batch.queued < 1.0 else "active"
    return 200, {"status": status, "success": batch.success, "failure": batch.failure}


def settle(acct: Account, batch: Batch, fails: Callable[[], bool] = lambda: False) -> None:
    """Apply a queued import: upsert by e-mail (it creates contacts, and re-creates deleted ones
    under a new id!), set fields, add tags. ``fails`` draws the contacts AC refuses."""
    for item in batch.contacts:
        email = str(item["email"])
        if fails():
            batch.failure.append(email)
            continue
        c = acct.contact_by_email(email)
        if c is None:
            c = acct.add_contact(email, str(item.get("first_name", "")), str(item.get("last_name", "")))
        cid = int(c["id"])
        for fv in item.get("fields") or []:
            try:
                field_id = int(fv["id"])
            except (KeyError, TypeError, ValueError):
                continue
            if field_id in acct.fields:
                acct.set_field_value(cid, field_id, str(fv.get("value", "")))
        for name in item.get("tags") or []:
            tag = acct.tag_named(str(name)) or acct.create_tag(str(name))
            acct.add_tag_to(cid, int(tag["id"]))
        batch.success.append(c["id"])
    batch.status = "completed"


def contact_delete(acct: Account, req: Request) -> Answer:
    (cid,) = req.args
    if _live(acct, cid) is None:
        return not_found_message("Subscriber", cid)
    acct.delete_contact(int(cid))
    return 200, {}


# --- webhooks and the user --------------------------------------------------------------------------
def webhooks_list(acct: Account, req: Request) -> Answer:
    return page(req, [w for _, w in sorted(acct.webhooks.items())], "webhooks")


def webhooks_post(acct: Account, req: Request) -> Answer:
    body = req.json()
    data = body.get("webhook") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return unprocessable("Missing attribute", "/data/attributes/webhook")
    for attr in ("name", "url", "events", "sources"):
        if not data.get(attr):
            return unprocessable("Missing attribute", f"/data/attributes/{attr}")
    wid = acct.next_id("webhook")
    hook = {
        "cdate": ac_time(acct.now),
        "listid": str(data.get("listid", 0)),
        "name": str(data["name"]),
        "url": str(data["url"]),
        "events": list(data["events"]),
        "sources": list(data["sources"]),
        "links": [],
        "id": str(wid),
    }
    acct.webhooks[wid] = hook
    return 201, {"webhook": hook}


def users_me(acct: Account, req: Request) -> Answer:
    return 200, {
        "user": {
            "username": "admin",
            "firstName": "Sandbox",
            "lastName": "Admin",
            "email": "admin@example.com",
            "phone": "",
            "signature": None,
            "links": {
                name: f"https://sandbox/api/3/users/1/{name}"
                for name in ("lists", "userGroup", "dealGroupTotals", "dealGroupUsers", "configs")
            },
            "id": "1",
        }
    }


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", r"users/me", users_me),
    ("GET", r"contacts", contacts_list),
    ("GET", r"contacts/(\d+)", contact_get),
    ("PUT", r"contacts/(\d+)", contact_put),
    ("DELETE", r"contacts/(\d+)", contact_delete),
    ("GET", r"contacts/(\d+)/trackingLogs", contact_tracking_logs),
    ("GET", r"contacts/(\d+)/contactTags", contact_contact_tags),
    ("GET", r"contacts/(\d+)/fieldValues", contact_field_values),
    ("GET", r"campaigns", campaigns_list),
    ("GET", r"campaigns/(\d+)/links", campaign_links),
    ("GET", r"campaigns/(\d+)/opens", campaign_opens),
    ("GET", r"campaigns/(\d+)/linkClicks", campaign_link_clicks),
    ("GET", r"links/(\d+)/linkData", link_data),
    ("GET", r"ecomOrders", ecom_orders),
    ("GET", r"ecomOrders/(\d+)", ecom_order_get),
    ("GET", r"ecomCustomers", ecom_customers),
    ("GET", r"ecomCustomers/(\d+)", ecom_customer_get),
    ("GET", r"contactLists", contact_lists_list),
    ("GET", r"contacts/(\d+)/contactLists", contact_contact_lists),
    ("GET", r"contactTags", contact_tags_list),
    ("POST", r"contactTags", contact_tags_post),
    ("DELETE", r"contactTags/(\d+)", contact_tags_delete),
    ("GET", r"tags", tags_list),
    ("POST", r"tags", tags_post),
    ("GET", r"fields", fields_list),
    ("POST", r"fields", fields_post),
    ("POST", r"fieldRels", field_rels_post),
    ("POST", r"import/bulk_import", bulk_import),
    ("GET", r"import/bulk_import", import_overview),
    ("GET", r"import/info", import_info),
    ("GET", r"webhooks", webhooks_list),
    ("POST", r"webhooks", webhooks_post),
]
COMPILED = [(m, re.compile(f"^{p}$"), p.replace(r"(\d+)", "{id}"), h) for m, p, h in ROUTES]
