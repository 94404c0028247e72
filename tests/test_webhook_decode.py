"""Every webhook sample decodes; every AC type maps; identity matches the poll path."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from acsync.core.event import parse_event
from acsync.core.webhook_decode import WebhookError, decode_body, to_events, unbracket
from tests.test_ac_classify import SAMPLES, sample

FORM = "application/x-www-form-urlencoded"
NOW = datetime(2026, 11, 20, tzinfo=UTC)


def flatten(data: dict[str, object], prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for k, v in data.items():
        key = f"{prefix}[{k}]" if prefix else k
        if isinstance(v, dict):
            out += flatten(v, key)
        elif isinstance(v, list):
            out += [(f"{key}[]", str(x)) for x in v]
        else:
            out.append((key, str(v)))
    return out


def form(data: dict[str, object]) -> bytes:
    return urlencode(flatten(data)).encode()


def test_unbracket() -> None:
    pairs = [("contact[id]", "1"), ("contact[fields][39]", "x"), ("contact[fields][]", "y"), ("type", "open")]
    # "[]" under a map keeps the value under the empty key rather than dropping it
    assert unbracket(pairs) == {"contact": {"id": "1", "fields": {"39": "x", "": "y"}}, "type": "open"}
    assert unbracket([("a[]", "1"), ("a[]", "2")]) == {"a": ["1", "2"]}
    assert unbracket([("a", "1"), ("a[b]", "2")]) == {"a": "1"}  # a value is not also a parent


@pytest.mark.parametrize(
    "name",
    ["ulule_webhook_automation_formbody_complete.txt", "ulule_webhook_automation_formbody_partial.txt"],
)
def test_automation_samples(name: str) -> None:
    data = decode_body(FORM, (SAMPLES / name).read_bytes())
    decoded = to_events(data, NOW)
    assert (decoded.type, decoded.status, decoded.events) == ("automation", "ignored", [])
    assert decoded.contact_id == "27760"
    assert data["contact"]["fields"]["contact_owner"] == "Owner Name"


def test_parsed_subscribe_sample() -> None:
    parsed = sample("gearplug_webhook_subscribe_parsed_qs.json")
    body = urlencode(parsed, doseq=True).encode()
    decoded = to_events(decode_body(FORM, body), NOW)
    (event,) = decoded.events
    assert (event.type, event.contact_id, event.email, event.list) == ("subscribe", "36", None, None)
    assert event.at == datetime(2017, 9, 21, 16, 33, 13, tzinfo=UTC)


def test_update_sample_as_json() -> None:
    decoded = to_events(
        decode_body("application/json", (SAMPLES / "acdocs2_webhook-update.json").read_bytes()), NOW
    )
    (event,) = decoded.events
    assert (event.type, event.contact_id, event.email) == (
        "update",
        "1234",
        None,
    )  # "[email protected]": no e-mail


def test_tag_added_sample_from_its_js_literal() -> None:
    text = (SAMPLES / "acdocs2_webhook-contact-tag-added.txt").read_text(encoding="utf-8")
    literal = text[text.index("{") : text.rindex("}") + 1]
    quoted_keys = re.sub(r"^(\s*)(\w+):", r'\1"\2":', literal.replace("'", '"'), flags=re.M)
    as_json = re.sub(r",(\s*[}\]])", r"\1", quoted_keys)
    data = json.loads(as_json)
    decoded = to_events(decode_body(FORM, form(data)), NOW)
    (event,) = decoded.events
    assert (event.type, event.tag, event.contact_id, event.email) == (
        "tag_added",
        "tag2",
        "3",
        "code.test@gmail.com",
    )


@pytest.mark.parametrize(
    ("ac_type", "event_type", "extra"),
    [
        ("subscribe", "subscribe", {"list": "3"}),
        ("unsubscribe", "unsubscribe", {"list": "3"}),
        ("open", "open", {"campaign": {"id": "7", "name": "Nov"}}),
        ("click", "click", {"campaign": {"id": "7"}, "link": {"id": "9", "url": "https://x/blog/a"}}),
        ("forward", "forward", {"campaign": {"id": "7"}}),
        ("share", "share", {"campaign": {"id": "7"}}),
        ("bounce", "bounce", {}),
        ("reply", "reply", {"campaign": {"id": "7"}}),
        ("sent", "sent", {"campaign": {"id": "7"}}),
        ("update", "update", {}),
        ("contact_tag_added", "tag_added", {"tag": "VIP"}),
        ("contact_tag_removed", "tag_removed", {"tag": "VIP"}),
    ],
)
def test_every_scored_type(ac_type: str, event_type: str, extra: dict[str, object]) -> None:
    data = {
        "type": ac_type,
        "date_time": "2026-11-02T09:30:00-05:00",
        "contact": {"id": "42", "email": "A@x.io"},
        **extra,
    }
    decoded = to_events(decode_body(FORM, form(data)), NOW)
    assert (decoded.type, decoded.status) == (ac_type, "ingested")
    (event,) = decoded.events
    assert (event.type, event.contact_id, event.email) == (event_type, "42", "a@x.io")


@pytest.mark.parametrize(
    "ac_type",
    [
        "deal_add",
        "deal_update",
        "deal_note_add",
        "deal_task_complete",
        "sms_sent",
        "sms_reply",
        "sms_unsub",
        "list_add",
        "subscriber_note",
    ],
)
def test_known_types_that_score_nothing(ac_type: str) -> None:
    decoded = to_events({"type": ac_type, "contact": {"id": "1"}, "deal": {"id": "5"}}, NOW)
    assert (decoded.status, decoded.events) == ("ignored", [])


def test_unknown_types_are_kept_as_unknown() -> None:
    assert to_events({"type": "hologram_viewed", "contact": {"id": "1"}}, NOW).status == "unknown"


def test_same_identity_as_the_poll_path() -> None:
    data = {"type": "click", "date_time": "2026-11-02T09:30:00-05:00", "contact": {"id": "42"},
            "campaign": {"id": "7", "name": "November"}, "link": {"url": "https://x/blog/a"}}  # fmt: skip
    (hooked,) = to_events(decode_body(FORM, form(data)), NOW).events
    polled = parse_event(
        {
            "type": "click",
            "contact_id": "42",
            "campaign": "7",
            "url": "https://x/blog/a",
            "at": "2026-11-03T00:00:00Z",
        }
    )
    assert hooked.key == polled.key


@pytest.mark.parametrize(
    ("content_type", "body", "reason"),
    [
        (FORM, b"\xff\xfe", "not UTF-8"),
        ("application/json", b"{nope", "not valid JSON"),
        ("application/json", b"[1, 2]", "must be an object"),
        ("text/plain", b"type=open", "unsupported content type"),
    ],
)
def test_unreadable_bodies(content_type: str, body: bytes, reason: str) -> None:
    with pytest.raises(WebhookError, match=reason):
        decode_body(content_type, body)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"contact": {"id": "1"}}, "neither type nor seriesid"),
        ({"type": "open", "contact": {"first_name": "x"}}, "without contact"),
        ({"type": "open", "contact": {"id": "1"}, "date_time": "yesterday"}, "not an ISO 8601"),
    ],
)
def test_malformed_webhooks(data: dict[str, object], reason: str) -> None:
    with pytest.raises(WebhookError, match=reason):
        to_events(data, NOW)


def test_a_missing_date_time_uses_the_moment_it_arrived() -> None:
    (event,) = to_events({"type": "open", "contact": {"id": "1"}, "campaign": {"id": "2"}}, NOW).events
    assert event.at == NOW
