from __future__ import annotations

from datetime import UTC, datetime

import pytest

from acsync.core.event import EventError, parse_event


def test_normalizes_time_and_email() -> None:
    e = parse_event(
        {"type": "open", "email": "Ann@Example.COM", "at": "2026-03-01T10:30:00.9+02:00", "campaign": 7}
    )
    assert e.at == datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    assert e.email == "ann@example.com"
    assert e.campaign == "7"
    assert e.key == "open|email:ann@example.com|7"


@pytest.mark.parametrize(
    ("event", "key"),
    [
        ({"type": "open", "campaign": "5"}, "open|1|5"),
        ({"type": "click", "campaign": "5", "url": "https://x/a"}, "click|1|5|https://x/a"),
        ({"type": "site_visit", "url": "https://x/a"}, "site_visit|1|https://x/a|2026-01-01T00:00:00Z"),
        ({"type": "tag_added", "tag": "VIP"}, "tag_added|1|VIP|2026-01-01T00:00:00Z"),
        ({"type": "order", "name": "A-17", "value": 99.5}, "order|1|A-17"),
        ({"type": "subscribe", "list": "3"}, "subscribe|1|3|2026-01-01T00:00:00Z"),
        ({"type": "reply"}, "reply|1|2026-01-01T00:00:00Z"),
        ({"type": "open"}, "open|1|2026-01-01T00:00:00Z"),
        ({"type": "reply", "id": "my-own-id"}, "my-own-id"),
    ],
)
def test_derived_identity(event: dict[str, object], key: str) -> None:
    e = parse_event({"contact_id": "1", "at": "2026-01-01T00:00:00Z", **event})
    assert e.key == key


def test_open_identity_ignores_instant() -> None:
    a = parse_event({"type": "open", "contact_id": "1", "campaign": "5", "at": "2026-01-01T00:00:00Z"})
    b = parse_event({"type": "open", "contact_id": "1", "campaign": "5", "at": "2026-02-01T00:00:00Z"})
    assert a.key == b.key


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ([], "expected a JSON object"),
        ({"type": "opened", "contact_id": "1", "at": "2026-01-01T00:00:00Z"}, "type 'opened'"),
        ({"type": "open", "contact_id": "1"}, "at is required"),
        ({"type": "open", "contact_id": "1", "at": "2026-01-01T00:00:00"}, "UTC offset"),
        ({"type": "open", "contact_id": "1", "at": "yesterday"}, "not an ISO 8601"),
        ({"type": "open", "at": "2026-01-01T00:00:00Z"}, "contact_id or email"),
        ({"type": "open", "email": "nope", "at": "2026-01-01T00:00:00Z"}, "not an e-mail"),
        ({"type": "order", "contact_id": "1", "at": "2026-01-01T00:00:00Z", "value": "x"}, "number"),
        ({"type": "order", "contact_id": "1", "at": "2026-01-01T00:00:00Z", "value": "nan"}, "finite"),
        ({"type": "open", "contact_id": "1", "at": "2026-01-01T00:00:00Z", "campain": "1"}, "unknown key"),
        ({"type": "open", "contact_id": ["1"], "at": "2026-01-01T00:00:00Z"}, "must be a string"),
    ],
)
def test_rejects_with_reason(obj: object, reason: str) -> None:
    with pytest.raises(EventError, match=reason):
        parse_event(obj)
