"""The sandbox answers with the same keys and value types as the real samples (tests/samples/ac).

``null`` in either matches any type (AC itself varies: the single-contact sample has nulls where
the list sample has zero dates); an empty list in the sample matches any list.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from acsync.sandbox import Sandbox, seed_account
from tests.sandbox_helpers import NOW, FakeClock
from tests.test_ac_classify import sample

TOKEN = {"api-token": "sandbox"}


@pytest.fixture(scope="module")
def sb() -> Sandbox:
    box = Sandbox(seed_account(40, 3, NOW), rate_limit=None)
    box.account.create_field("Lead Score", "number")
    box.account.set_field_value(1, 1, "Acme")
    return box


def call(
    sb: Sandbox,
    method: str,
    path: str,
    query: dict[str, str] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    raw = b"" if body is None else json.dumps(body).encode()
    r = sb.handle(method, f"/api/3/{path}", query or {}, TOKEN if headers is None else headers, raw)
    return r.status, json.loads(r.body) if r.content_type.startswith("application/json") else r.body.decode()


def same_shape(real: Any, ours: Any, where: str = "$", ignore: frozenset[str] = frozenset()) -> list[str]:
    if where in ignore or real is None or ours is None:
        return []
    if isinstance(real, dict):
        if not isinstance(ours, dict):
            return [f"{where}: expected an object, got {type(ours).__name__}"]
        missing, extra = sorted(real.keys() - ours.keys()), sorted(ours.keys() - real.keys())
        problems = [f"{where}: keys differ: missing {missing}, extra {extra}"] if missing or extra else []
        for k in real.keys() & ours.keys():
            problems += same_shape(real[k], ours[k], f"{where}.{k}", ignore)
        return problems
    if isinstance(real, list):
        if not isinstance(ours, list):
            return [f"{where}: expected a list, got {type(ours).__name__}"]
        if real and ours:
            return same_shape(real[0], ours[0], f"{where}[0]", ignore)
        return []
    if type(real) is not type(ours):
        return [f"{where}: {type(real).__name__} in the sample, {type(ours).__name__} in the sandbox"]
    return []


def check(real: Any, ours: Any, ignore: frozenset[str] = frozenset()) -> None:
    assert same_shape(real, ours, ignore=ignore) == []


def test_contacts_list(sb: Sandbox) -> None:
    status, body = call(sb, "GET", "contacts", {"limit": "2"})
    assert status == 200
    check(sample("acdocs_GET_contacts_200_list.json"), body, frozenset({"$.meta.page_input"}))
    assert body["meta"]["total"] == "40"  # a string, as AC sends it
    assert body["contacts"][0]["bounced_date"] == "0000-00-00"


def test_single_contact_with_sideloads(sb: Sandbox) -> None:
    status, body = call(sb, "GET", "contacts/1")
    assert status == 200
    check(
        sample("acdocs_GET_contact_200_single.json"),
        body,
        frozenset({"$.contactAutomations", "$.deals", "$.geoIps", "$.geoAddresses"}),
    )


def test_field_values(sb: Sandbox) -> None:
    check(sample("acdocs_GET_contact_fieldValues_200.json"), call(sb, "GET", "contacts/1/fieldValues")[1])


def test_tracking_logs(sb: Sandbox) -> None:
    busy = next(c for c, logs in sb.account.tracking_logs.items() if logs)
    check(
        sample("acdocs_GET_contact_trackingLogs_200.json"),
        call(sb, "GET", f"contacts/{busy}/trackingLogs")[1],
    )


def test_tags(sb: Sandbox) -> None:
    real = sample("rudder_net_tags_list_meta_total.json")["httpRes"]["data"]
    _, ours = call(sb, "GET", "tags")
    check({"tags": real["tags"], "meta": real["meta"]}, ours)
    status, created = call(
        sb, "POST", "tags", body={"tag": {"tag": "Inaktiv", "tagType": "contact", "description": ""}}
    )
    assert status == 201
    real_tag = sample("rudder_net_tag_create_201.json")["httpRes"]["data"]["tag"]
    assert (
        real_tag.keys() == created["tag"].keys()
    )  # the sample's id is a number: a type trap the client absorbs


def test_contact_tags(sb: Sandbox) -> None:
    status, body = call(sb, "POST", "contactTags", body={"contactTag": {"contact": "2", "tag": "1"}})
    assert status == 201
    check(sample("acdocs_POST_contactTags_201.json"), body)
    check(
        sample("acdocs_POST_contactTags_404.json"),
        call(sb, "POST", "contactTags", body={"contactTag": {"contact": "999", "tag": "1"}})[1],
    )
    status, body = call(sb, "POST", "contactTags", body={"contactTag": {"tag": "1"}})
    assert status == 422
    check(sample("acdocs_POST_contactTags_422.json"), body)


def test_fields(sb: Sandbox) -> None:
    real = sample("rudder_net_fields_list_meta_total.json")["httpRes"]["data"]
    check(real, call(sb, "GET", "fields")[1], frozenset({"$.fieldRels"}))


def test_contact_404(sb: Sandbox) -> None:
    status, body = call(sb, "GET", "contacts/999")
    assert status == 404
    check(sample("acdocs_GET_contact_404.json"), body)
    assert body == {"message": "No Result found for Subscriber with id 999"}


def test_bulk_import(sb: Sandbox) -> None:
    clock = FakeClock()
    sb.clock = clock
    status, body = call(sb, "POST", "import/bulk_import", body={"contacts": [{"email": "new@example.com"}]})
    assert status == 200
    check(sample("acdocs_POST_bulk_import_200.json"), body)
    assert call(sb, "GET", "import/info", {"batchId": body["batchId"]})[1]["status"] is False  # < 1 s
    clock.sleep(1)
    assert call(sb, "GET", "import/info", {"batchId": body["batchId"]})[1]["status"] == "active"
    clock.sleep(1)
    check(
        sample("acdocs_GET_import_info_200.json"),
        call(sb, "GET", "import/info", {"batchId": body["batchId"]})[1],
    )
    status, bad = call(sb, "POST", "import/bulk_import", body={"contacts": [{"email": "nope"}]})
    assert status == 400
    check(sample("acdocs_POST_bulk_import_400_validation.json"), bad)
    assert call(sb, "GET", "import/info")[1] == {"success": 0, "message": "'batchId' is a required field."}


def test_bulk_import_recreates_a_deleted_contact_under_a_new_id(sb: Sandbox) -> None:
    email = sb.account.contacts[5]["email"]
    assert call(sb, "DELETE", "contacts/5") == (200, {})
    assert call(sb, "GET", "contacts/5")[0] == 404
    assert call(sb, "DELETE", "contacts/5")[0] == 404
    sb.clock = clock = FakeClock()
    batch = call(sb, "POST", "import/bulk_import", body={"contacts": [{"email": email}]})[1]["batchId"]
    clock.sleep(2)
    info = call(sb, "GET", "import/info", {"batchId": batch})[1]
    assert info["status"] == "completed"
    assert info["success"] == [str(max(sb.account.contacts))] != ["5"]


def test_bulk_item_fault_fails_single_contacts(sb: Sandbox) -> None:
    emails = [sb.account.contacts[n]["email"] for n in (1, 2, 3)]
    sb.faults.set("bulk_item", next=1)
    assert sb.faults.draw() is None  # never a request fault
    body = {"contacts": [{"email": e} for e in emails]}
    sb.clock = clock = FakeClock()
    batch = call(sb, "POST", "import/bulk_import", body=body)[1]["batchId"]
    clock.sleep(2)
    info = call(sb, "GET", "import/info", {"batchId": batch})[1]
    assert (info["success"], info["failure"]) == (["2", "3"], [emails[0]])


def test_bulk_import_rate_limit_is_a_400(sb: Sandbox) -> None:
    sb.bulk_per_minute = 0
    try:
        status, body = call(sb, "POST", "import/bulk_import", body={"contacts": [{"email": "x@example.com"}]})
    finally:
        sb.bulk_per_minute = 100
    assert status == 400
    check(sample("acdocs_POST_bulk_import_400_rate_limit.json"), body)


def test_webhook_create(sb: Sandbox) -> None:
    status, body = call(
        sb,
        "POST",
        "webhooks",
        body={"webhook": {"name": "acsync", "url": "https://x/y", "events": ["open"], "sources": ["public"]}},
    )
    assert status == 201
    check(sample("acdocs2_webhook-create-response.json"), body)


def test_wrong_token_gets_the_login_page(sb: Sandbox) -> None:
    real = sample("rudder_net_200_html_login_invalid_key.json")["httpRes"]
    status, body = call(sb, "GET", "users/me", headers={"api-token": "wrong"})
    assert status == real["status"] == 200
    assert "<html" in body
    assert "login" in body.lower()
    assert call(sb, "GET", "users/me", headers={})[0] == 200
