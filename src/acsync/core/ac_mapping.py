"""ActiveCampaign's JSON → normalized events. Pure: AC records in, events out.

Times carry the account's offset and become UTC; zero dates and missing times give no event;
ids are read as strings whatever AC sent. What AC exposes, and so what acsync can learn by
polling (webhooks add the rest as it happens):

| AC record (endpoint) | event |
|---|---|
| a row of a campaign's opens report (``campaigns/{id}/opens``, see ``ac/client.py``) | ``open`` (campaign) |
| a contact row of a link in a campaign's link-clicks report | ``click`` (campaign, url, bot) |
| a hit on a campaign's open pixel (``links/{id}/linkData`` of the link ``"open"``) | ``open`` (campaign) |
| a hit on any other campaign link | ``click`` (campaign, url) |
| a trackingLog of type ``__pagevisit`` (``contacts/{id}/trackingLogs``) | ``site_visit`` (url) |
| any other trackingLog (AC event tracking) | ``event`` (name = the event's name) |
| an ecomOrder completed or recovered (``state`` 1, 3) | ``order`` (name ``ac-order-<id>``, value) |
| an ecomOrder abandoned (``state`` 2) | ``cart_abandoned`` (the same name and value) |
| an ecomOrder pending or awaiting payment (0, 4) | nothing yet: an ``order`` once it completes |
| a contactTag (``contactTags``) | ``tag_added`` (tag name) |
| a contactList (``contactLists``) | ``subscribe`` (list), ``form_submit`` (form), ``unsubscribe`` |

The value of an order is its ``totalPrice`` in currency units (AC sends cents). An ecomOrder
names no contact: its ``customerid`` is an *ecomCustomer* id, and "a customer is
related to a contact by the email address" (AC's reference). Order events therefore carry the
order's e-mail only; the store resolves it to the contact with that e-mail (and learns the AC
id from the contacts pull or, at push time, from AC). The identity of an order event is the
order id, so an order pulled while pending and again once completed is one ``order``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from acsync.core.ac_values import ac_time, as_id, as_int, as_number
from acsync.core.event import Event, build_event

PAGE_VISIT = "__pagevisit"
OPEN_LINK = "open"
# ecomOrder ``state`` (AC's reference): 0 pending, 1 completed, 2 abandoned, 3 recovered,
# 4 waiting (checked out, payment not yet completed).
ORDER_DONE = frozenset({1, 3})
ORDER_ABANDONED = 2


class ContactRecord(NamedTuple):
    ac_id: str
    email: str | None
    created_at: datetime | None


def email_of(value: Any) -> str | None:
    """An e-mail as acsync stores it (trimmed, lower-cased), or None for anything else."""
    return value.strip().lower() if isinstance(value, str) and "@" in value else None


def contact_record(c: dict[str, Any]) -> ContactRecord | None:
    ac_id = as_id(c.get("id"))
    if ac_id is None:
        return None
    return ContactRecord(ac_id, email_of(c.get("email")), ac_time(c.get("cdate")))


def _event(type_: str, contact: str | None, at: datetime | None, **attrs: str | None) -> Event | None:
    if contact is None or at is None:
        return None
    return build_event(type_, at, contact, None, dict(attrs))


def link_hit(hit: dict[str, Any], link: dict[str, Any]) -> Event | None:
    """An open (the campaign's open pixel) or a click on a campaign link."""
    campaign = as_id(link.get("campaignid") or link.get("campaign") or hit.get("campaignid"))
    contact, at = as_id(hit.get("contact") or hit.get("subscriberid")), ac_time(hit.get("tstamp"))
    if link.get("link") == OPEN_LINK:
        return _event("open", contact, at, campaign=campaign)
    url = link.get("link") if isinstance(link.get("link"), str) else None
    return _event("click", contact, at, campaign=campaign, url=url)


def tracking_log(log: dict[str, Any]) -> Event | None:
    """A site visit (type ``__pagevisit``, the URL in ``value``) or a tracked event (its name)."""
    contact = as_id(log.get("contact") or log.get("subscriberid"))
    at, kind = ac_time(log.get("tstamp")), log.get("type")
    if not isinstance(kind, str) or not kind:
        return None
    if kind == PAGE_VISIT:
        url = log.get("value") if isinstance(log.get("value"), str) else None
        return _event("site_visit", contact, at, url=url)
    return _event("event", contact, at, name=kind)


def order_state(o: dict[str, Any]) -> int | None:
    """The order's ``state`` (an integer in AC's list answer, a string in its single answer);
    None when the record has none."""
    state = as_int(o.get("state"), -1)
    return None if state < 0 else state


def order(o: dict[str, Any]) -> Event | None:
    """An ecomOrder as an ``order`` (completed, recovered) or ``cart_abandoned`` event of the
    contact with the order's e-mail; pending and waiting orders give nothing yet. A record
    without ``state`` (older Deep Data records) is read as completed. ``totalPrice`` is in
    cents: an integer in AC's list answer, a string in its single-order answer."""
    email, oid = email_of(o.get("email")), as_id(o.get("id"))
    state = order_state(o)
    if state is None or state in ORDER_DONE:
        type_ = "order"
    elif state == ORDER_ABANDONED:
        type_ = "cart_abandoned"
    else:  # pending or waiting for payment: an order once it completes
        return None
    # The shop's time of the order (of the cart, for an abandoned one): in the list and the
    # single answer alike, so the event's identity is the same whichever answer it came from
    # (``abandonedDate`` is only in the single answer).
    at = (
        ac_time(o.get("externalCreatedDate"))
        or ac_time(o.get("createdDate"))
        or ac_time(o.get("abandonedDate"))
    )
    if email is None or at is None or oid is None:
        return None
    event = build_event(type_, at, None, email, {"name": f"ac-order-{oid}"})
    cents = as_number(o.get("totalPrice"))
    return event._replace(value=None if cents is None else cents / 100)


def contact_tag(ct: dict[str, Any], tag_names: dict[str, str]) -> Event | None:
    """A tag on a contact, from the day AC put it there."""
    name = tag_names.get(as_id(ct.get("tag")) or "")
    if name is None:
        return None
    return _event("tag_added", as_id(ct.get("contact")), ac_time(ct.get("cdate")), tag=name)


# contactList ``status``: 0 unconfirmed, 1 active, 2 unsubscribed, 3 bounced. Every status but
# 0 means the contact subscribed at ``sdate``; 2 also means it left at ``udate``.
LIST_SUBSCRIBED = frozenset({"1", "2", "3"})
LIST_UNSUBSCRIBED = "2"


def contact_list(cl: dict[str, Any]) -> list[Event]:
    """A list membership: the subscription at ``sdate`` (and, when it came through a form, the
    form submission), and for an unsubscribed one the unsubscription at ``udate``."""
    contact, at, lst = as_id(cl.get("contact")), ac_time(cl.get("sdate")), as_id(cl.get("list"))
    status = as_id(cl.get("status"))
    if status not in LIST_SUBSCRIBED:
        return []
    out = [_event("subscribe", contact, at, list=lst)]
    form = as_id(cl.get("form"))
    if form and form != "0":
        out.append(_event("form_submit", contact, at, form=form, list=lst))
    if status == LIST_UNSUBSCRIBED:
        out.append(_event("unsubscribe", contact, ac_time(cl.get("udate")), list=lst))
    return [e for e in out if e is not None]


# --- AC's campaign reports ("List the opens / link clicks of a campaign") ------------------------
def _report_contact(row: dict[str, Any]) -> str | None:
    return as_id(row.get("contact") or row.get("subscriberid") or row.get("contactid"))


def report_open(row: dict[str, Any], campaign: str) -> Event | None:
    """A row of a campaign's opens report (one per contact, ``tstamp`` its last open)."""
    return _event("open", _report_contact(row), ac_time(row.get("tstamp")), campaign=campaign)


BOT_KEYS = ("is_bot", "isBot", "bot")  # where a click row may say it was a bot's (name UNCERTAIN)


def report_click(row: dict[str, Any], link: dict[str, Any], campaign: str) -> Event | None:
    """A contact's clicks on one link of a campaign's link-clicks report. A click AC attributes
    to a bot keeps that flag (``bot = "yes"``) and its own identity, so the contact's own click
    on the same link is not taken for a duplicate of a mail scanner's."""
    url = link.get("link") if isinstance(link.get("link"), str) else None
    event = _event("click", _report_contact(row), ac_time(row.get("tstamp")), campaign=campaign, url=url)
    if event is None:
        return None
    flag = next((row[k] for k in BOT_KEYS if k in row), None)
    if flag is None:
        return event
    if str(flag).strip().lower() in ("1", "true", "yes"):
        return event._replace(key=event.key + "|bot", bot="yes")
    return event._replace(bot="no")
