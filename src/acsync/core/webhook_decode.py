"""ActiveCampaign webhook bodies → nested data → normalized events. Pure: bytes in, data out.

AC posts ``application/x-www-form-urlencoded`` bodies with PHP-style bracketed keys
(``contact[id]``, ``contact[fields][39]``, ``contact[fields][]``); some integrators relay them as
JSON, nested or flat. Account webhooks carry ``type`` and ``date_time``; automation "Webhook"
actions carry the contact and ``seriesid`` but no ``type``. Events get the same identity as the
poll path (``derive_key``), so a webhook and a poll of the same activity are one event.

``date_time`` usually carries the account's offset (``2024-02-28T07:04:13-06:00``); older
deliveries send none (``2013-07-18 08:46:33``), and those are read in the account's time zone
(``activecampaign.timezone``): AC never retries a webhook, so a parseable time is never a
rejection. A time outside the supported range (``core.timefmt``) is one, with the range.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import parse_qsl

from acsync.core.event import Event, build_event, unicode_problem
from acsync.core.timefmt import parse_instant

# AC's webhook types → the event type they become (None: kept, not scored).
SCORED = {
    "subscribe": "subscribe",
    "unsubscribe": "unsubscribe",
    "open": "open",
    "click": "click",
    "forward": "forward",
    "share": "share",
    "bounce": "bounce",
    "reply": "reply",
    "sent": "sent",
    "update": "update",
    "contact_tag_added": "tag_added",
    "contact_tag_removed": "tag_removed",
}
KNOWN_UNSCORED = {
    "deal_add",
    "deal_note_add",
    "deal_pipeline_add",
    "deal_stage_add",
    "deal_task_add",
    "deal_task_complete",
    "deal_tasktype_add",
    "deal_update",
    "list_add",
    "sms_reply",
    "sms_sent",
    "sms_unsub",
    "subscriber_note",
    "contact_task_add",
    "account_add",
    "account_update",
    "account_contact_add",
    "account_contact_update",
}
# Types that may come without a contact: ``sent`` (a campaign starts sending) is about the
# campaign, not about anyone in particular.
WITHOUT_CONTACT = frozenset({"sent"})
AUTOMATION = "automation"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


class WebhookError(ValueError):
    """A body that cannot be read as an AC webhook; the message says why."""


@dataclass
class Decoded:
    type: str  # AC's type, "automation", or the unknown type as sent
    status: str  # "ingested", "ignored" (known but not scored), "unknown"
    events: list[Event] = field(default_factory=list)
    contact_id: str | None = None  # who it is about, when it says (links an e-mail to its id)
    email: str | None = None


def unbracket(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``[("contact[fields][39]", "x")]`` → ``{"contact": {"fields": {"39": "x"}}}``; ``[]`` appends."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        m = _KEY.match(key)
        if m is None:
            out[key] = value
            continue
        path = [m.group(1), *re.findall(r"\[([^\[\]]*)\]", m.group(2))]
        node: Any = out
        for i, part in enumerate(path):
            last = i == len(path) - 1
            nxt: Any = value if last else ([] if path[i + 1] == "" else {})
            if isinstance(node, list):
                if last:
                    node.append(nxt)
                else:
                    node.append(nxt)
                    node = nxt
                continue
            if not isinstance(node, dict):
                break  # a key used both as a value and as a parent: the first wins
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, nxt)
    return out


def decode_body(content_type: str, body: bytes) -> dict[str, Any]:
    """The nested data of a form-encoded or JSON body."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookError("the body is not UTF-8 text") from None
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            data = json.loads(text)
        except ValueError:
            raise WebhookError("the body is not valid JSON") from None
        except RecursionError:
            raise WebhookError("the JSON body is nested too deeply") from None
        if not isinstance(data, dict):
            raise WebhookError("a JSON webhook must be an object")
        flat = [(k, v) for k, v in data.items() if "[" in k and isinstance(v, str | int | float)]
        nested = {k: v for k, v in data.items() if "[" not in k}
        return {**unbracket([(k, str(v)) for k, v in flat]), **nested}
    if kind == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
        except ValueError:
            raise WebhookError("the body is not form-encoded (key=value&…)") from None
        return unbracket(pairs)
    raise WebhookError(f"unsupported content type {content_type!r}")


def _text(data: Any, *path: str) -> str | None:
    node = data
    for part in path:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    if isinstance(node, list) and len(node) == 1:  # parse_qs-style values
        node = node[0]
    if isinstance(node, int | float) and not isinstance(node, bool):
        node = str(node)
    return node.strip() or None if isinstance(node, str) else None


def to_events(data: dict[str, Any], received_at: datetime, zone: tzinfo = UTC) -> Decoded:
    """The events of one webhook, its ``date_time`` read in ``zone`` when it has no offset.

    Raises WebhookError for a body that is no AC webhook, or a scored type that names no contact.
    A type that carries no contact by nature (``sent``: a campaign was sent) is ``ignored``."""
    kind = _text(data, "type")
    if kind is None:
        if _text(data, "seriesid") is None:
            raise WebhookError("neither type nor seriesid: not an ActiveCampaign webhook")
        kind = AUTOMATION
    contact_id = _text(data, "contact", "id")
    email = _text(data, "contact", "email")
    email = email.lower() if email and EMAIL.match(email) else None
    if kind in KNOWN_UNSCORED or kind == AUTOMATION:
        return Decoded(kind, "ignored", [], contact_id, email)
    target = SCORED.get(kind)
    if target is None:
        return Decoded(kind, "unknown", [], contact_id, email)
    if contact_id is None and email is None:
        if kind in WITHOUT_CONTACT:
            return Decoded(kind, "ignored", [], None, None)
        raise WebhookError(f"a {kind} webhook without contact[id] or contact[email]")
    raw_at = _text(data, "date_time")
    try:
        at = parse_instant(raw_at, zone) if raw_at else received_at
    except ValueError as e:
        raise WebhookError(f"date_time: {e}") from None
    attrs: dict[str, str | None] = {
        "campaign": _text(data, "campaign", "id"),
        "url": _text(data, "link", "url"),
        "tag": _text(data, "tag"),
        "list": _text(data, "list") if kind in ("subscribe", "unsubscribe") else None,
        "form": _text(data, "form", "id"),
        "name": _text(data, "campaign", "name") if kind in ("open", "click", "forward", "share") else None,
    }
    if attrs["list"] == "0":
        attrs["list"] = None
    for name, value in (("contact[id]", contact_id), ("contact[email]", email), *attrs.items()):
        problem = value and unicode_problem(value)
        if problem:
            raise WebhookError(f"{name}: {problem}")
    # the campaign name is descriptive, not identity
    event = build_event(target, at, contact_id, email, attrs, identity={**attrs, "name": None})
    return Decoded(kind, "ingested", [event], contact_id, email)
