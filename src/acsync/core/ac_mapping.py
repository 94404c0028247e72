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
| an ecomOrder | ``order`` (name = the order's id, value = total in currency units) |
| a contactTag (``contactTags``) | ``tag_added`` (tag name) |
| a contactList (a contact's lists, sideloaded) | ``subscribe`` (list); ``form_submit`` (form) via a form |
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from acsync.core.ac_values import ac_time, as_id, as_int
from acsync.core.event import Event, build_event

PAGE_VISIT = "__pagevisit"
OPEN_LINK = "open"


class ContactRecord(NamedTuple):
    ac_id: str
    email: str | None
    created_at: datetime | None


def contact_record(c: dict[str, Any]) -> ContactRecord | None:
    ac_id = as_id(c.get("id"))
    if ac_id is None:
        return None
    email = c.get("email")
    email = email.strip().lower() if isinstance(email, str) and "@" in email else None
    return ContactRecord(ac_id, email, ac_time(c.get("cdate")))


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


def order(o: dict[str, Any]) -> Event | None:
    """An ecomOrder; ``totalPrice`` is in cents (an integer, or a string on older records)."""
    contact = as_id(o.get("contact") or o.get("customerid"))
    at = ac_time(o.get("externalCreatedDate")) or ac_time(o.get("createdDate"))
    oid = as_id(o.get("id"))
    event = _event("order", contact, at, name=oid and f"ac-order-{oid}")
    if event is None:
        return None
    return event._replace(value=as_int(o.get("totalPrice")) / 100)


def contact_tag(ct: dict[str, Any], tag_names: dict[str, str]) -> Event | None:
    """A tag on a contact, from the day AC put it there."""
    name = tag_names.get(as_id(ct.get("tag")) or "")
    if name is None:
        return None
    return _event("tag_added", as_id(ct.get("contact")), ac_time(ct.get("cdate")), tag=name)


def contact_list(cl: dict[str, Any]) -> list[Event]:
    """A subscription (status 1) and, when it came through a form, the form submission."""
    contact, at = as_id(cl.get("contact")), ac_time(cl.get("sdate"))
    if as_id(cl.get("status")) != "1":
        return []
    out = [_event("subscribe", contact, at, list=as_id(cl.get("list")))]
    form = as_id(cl.get("form"))
    if form and form != "0":
        out.append(_event("form_submit", contact, at, form=form))
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
