"""The normalized event: one shape for every activity, whatever its source.

This is also the JSON Lines format of ``acsync ingest``. ``parse_event`` validates one decoded
JSON object; ``derive_key`` gives an activity its identity, so that the same activity seen twice
(webhook and poll, a replayed webhook, a re-run backfill) becomes one event.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, NamedTuple

from acsync.core.timefmt import RANGE, iso, parse_instant

EVENT_TYPES = frozenset(
    {
        "subscribe",
        "unsubscribe",
        "open",
        "click",
        "site_visit",
        "event",
        "form_submit",
        "order",
        "cart_abandoned",
        "tag_added",
        "tag_removed",
        "reply",
        "forward",
        "share",
        "bounce",
        "sent",
        "deal_won",
        "deal_lost",
        "update",
    }
)
# What an event can be about; rules match on these and `once_per` names one of them.
ATTRIBUTES = ("campaign", "url", "tag", "form", "list", "name")
KEYS = frozenset({"type", "contact_id", "email", "at", "value", "id", *ATTRIBUTES})


class EventError(ValueError):
    """An event object that cannot be accepted; the message says why."""


class Event(NamedTuple):
    key: str
    type: str
    at: datetime
    contact_id: str | None
    email: str | None
    campaign: str | None = None
    url: str | None = None
    tag: str | None = None
    form: str | None = None
    list: str | None = None
    name: str | None = None
    value: float | None = None
    bot: str | None = None  # a click: "yes" when AC attributes it to a bot, "no" when not; else None


# For these types the first occurrence per object is the event: no instant in the key.
_FIRST_WINS = {"open": ("campaign",), "click": ("campaign", "url"), "order": ("name",)}
# For these the object narrows the key, and the instant stays in it.
_WITH_INSTANT = {
    "site_visit": ("url",),
    "tag_added": ("tag",),
    "tag_removed": ("tag",),
    "subscribe": ("list",),
    "event": ("name",),  # a tracked event: two names in one second are two events
}


def derive_key(type_: str, contact: str, at: datetime, attrs: dict[str, str | None]) -> str:
    """``type|contact|object|instant``, the object chosen by type (DESIGN §2).

    ``open`` (by campaign), ``click`` (by campaign and URL) and ``order`` (by its ``name``, the
    order id) carry no instant: the first one wins, which also absorbs privacy-proxy re-opens.
    Without the object they fall back to the instant like every other type.
    """
    first = _FIRST_WINS.get(type_)
    if first is not None and any(attrs.get(a) for a in first):
        return "|".join([type_, contact, *(attrs.get(a) or "" for a in first)])
    objects = _WITH_INSTANT.get(type_, ())
    return "|".join([type_, contact, *(attrs.get(a) or "" for a in objects), iso(at)])


def printable(text: str) -> str:
    """``text`` as one printable line: control characters, line breaks and lone surrogates become
    their escapes (a reason quoting a hostile input stays one line any terminal can take)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def unicode_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored (a lone surrogate such as ``\\ud800``, which JSON can
    spell but UTF-8 cannot), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return f"{text[max(0, e.start - 10) : e.end + 10]!r} is not valid Unicode (a lone surrogate)"
    return None


def build_event(
    type_: str,
    at: datetime,
    contact_id: str | None,
    email: str | None,
    attrs: dict[str, str | None],
    *,
    identity: dict[str, str | None] | None = None,
) -> Event:
    """An event from a source's data, with the derived identity (``identity`` overrides the
    attributes the key is derived from, e.g. to leave a descriptive name out of it)."""
    key = derive_key(type_, contact_ref(contact_id, email), at, attrs if identity is None else identity)
    return Event(
        key,
        type_,
        at,
        contact_id,
        email,
        campaign=attrs.get("campaign"),
        url=attrs.get("url"),
        tag=attrs.get("tag"),
        form=attrs.get("form"),
        list=attrs.get("list"),
        name=attrs.get("name"),
    )


def contact_ref(contact_id: str | None, email: str | None) -> str:
    """The contact part of a derived key: the AC id when known, else the lower-cased e-mail."""
    if contact_id:
        return contact_id
    assert email is not None
    return f"email:{email}"


def _text(obj: dict[str, Any], name: str) -> str | None:
    v = obj.get(name)
    if v is None or v == "":
        return None
    if isinstance(v, bool) or not isinstance(v, str | int):
        raise EventError(f"{name} must be a string, got {type(v).__name__}")
    problem = unicode_problem(v) if isinstance(v, str) else None
    if problem:
        raise EventError(f"{name}: {problem}")
    return str(v).strip() or None


def parse_event(obj: object) -> Event:
    """Validate one decoded JSON object and return the normalized event."""
    if not isinstance(obj, dict):
        raise EventError(f"expected a JSON object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - KEYS)
    if unknown:
        raise EventError(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(KEYS))}")
    type_ = obj.get("type")
    if type_ not in EVENT_TYPES:
        raise EventError(f"type {type_!r} is not one of {', '.join(sorted(EVENT_TYPES))}")
    raw_at = obj.get("at")
    if not isinstance(raw_at, str):
        raise EventError(f"at is required: an ISO 8601 time with an offset, {RANGE}")
    try:
        at = parse_instant(raw_at)
    except ValueError as e:
        raise EventError(f"at: {e}") from None
    contact_id = _text(obj, "contact_id")
    email = _text(obj, "email")
    if email is not None:
        email = email.lower()
        if "@" not in email:
            raise EventError(f"email {email!r} is not an e-mail address")
    if contact_id is None and email is None:
        raise EventError("an event needs contact_id or email")
    raw_value = obj.get("value")
    value: float | None = None
    if raw_value is not None:
        if isinstance(raw_value, bool) or not isinstance(raw_value, int | float | str):
            raise EventError("value must be a number")
        try:
            value = float(raw_value)
        except ValueError:
            raise EventError(f"value must be a number, got {raw_value!r}") from None
        if not math.isfinite(value):
            raise EventError("value must be a finite number")
    attrs = {name: _text(obj, name) for name in ATTRIBUTES}
    key = _text(obj, "id") or derive_key(type_, contact_ref(contact_id, email), at, attrs)
    return Event(key, type_, at, contact_id, email, value=value, **attrs)
