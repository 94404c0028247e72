"""The sandbox answers with the same keys and value types as the real samples (tests/samples/ac).

Every sample is either checked against the sandbox's answer for the same request (``CHECKED``:
the sample and the test that checks it) or listed with the reason the sandbox does not serve it
(``NOT_SERVED``); a test fails when a sample is in neither. ``null`` in either matches any type
(AC itself varies: the single-contact sample has nulls where the list sample has zero dates); an
empty list in the sample matches any list. The ``.txt`` samples are AC's documentation artefacts
(trailing commas, two documents glued together, a JavaScript literal): ``lenient`` reads them.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

import pytest

from acsync.sandbox import Sandbox, seed_account
from acsync.sandbox.webhooks import webhook_bodies
from tests.sandbox_helpers import NOW, FakeClock
from tests.test_ac_classify import SAMPLES, sample

TOKEN = {"api-token": "sandbox"}

# sample → the test below that compares the sandbox with it
CHECKED = {
    "acdocs_GET_contacts_200_list.json": "test_contacts_list",
    "acdocs_GET_contact_200_single.json": "test_single_contact_with_sideloads",
    "sourcelab_GET_contact_1_with_contactLists.json": "test_single_contact_with_sideloads",
    "acdocs_GET_contact_404.json": "test_contact_404",
    "acdocs_GET_contact_fieldValues_200.json": "test_field_values",
    "acdocs_GET_contact_trackingLogs_200.json": "test_tracking_logs",
    "acdocs3_GET_contact_trackingLogs_200_empty.json": "test_tracking_logs",
    "acdocs3_GET_contact_trackingLogs_404.json": "test_tracking_logs",
    "acdocs3_PUT_contact_request.json": "test_put_contact",
    "acdocs3_PUT_contact_200.json": "test_put_contact",
    "acdocs3_PUT_contact_404.json": "test_put_contact",
    "acdocs3_GET_campaigns_200.json": "test_campaigns_and_links",
    "acdocs3_GET_campaign_links_200.json": "test_campaigns_and_links",
    "acdocs3_GET_campaign_links_404.txt": "test_campaigns_and_links",
    "acdocs3_GET_ecomOrders_200.txt": "test_orders_list",
    "acdocs3_GET_ecomOrder_200_single.json": "test_single_order",
    "acdocs4_GET_ecomCustomers_200.json": "test_customers",
    "acdocs4_GET_ecomCustomer_200_single.json": "test_customers",
    "acdocs4_GET_contact_contactLists_200.json": "test_contact_lists",
    "rudder_net_tags_list_meta_total.json": "test_tags",
    "rudder_net_tag_create_201.json": "test_tags",
    "acdocs3_GET_tags_200.json": "test_tags",
    "acdocs3_POST_tags_201.json": "test_tags",
    "acdocs_POST_contactTags_request.json": "test_contact_tags",
    "acdocs_POST_contactTags_201.json": "test_contact_tags",
    "acdocs_POST_contactTags_404.json": "test_contact_tags",
    "acdocs_POST_contactTags_422.json": "test_contact_tags",
    "rudder_net_contactTags_create_201.json": "test_contact_tags",
    "acdocs3_DELETE_contactTag_200.json": "test_contact_tags",
    "acdocs3_DELETE_contactTag_404.json": "test_contact_tags",
    "rudder_net_fields_list_meta_total.json": "test_fields",
    "acdocs3_GET_fields_200.json": "test_fields",
    "acdocs3_POST_fields_request_number.json": "test_fields",
    "acdocs3_POST_fields_422_duplicate.json": "test_fields",
    "acdocs3_POST_fields_403.json": "test_forbidden",
    "acdocs3_POST_fieldRels_request.json": "test_field_rels",
    "acdocs3_POST_fieldRels_201.json": "test_field_rels",
    "acdocs_POST_bulk_import_request.json": "test_bulk_import",
    "acdocs_POST_bulk_import_200.json": "test_bulk_import",
    "acdocs_GET_import_info_200.json": "test_bulk_import",
    "acdocs_POST_bulk_import_400_validation.json": "test_bulk_import",
    "acdocs3_GET_import_info_400.json": "test_bulk_import",
    "acdocs_POST_bulk_import_400_rate_limit.json": "test_bulk_import_rate_limit_is_a_400",
    "acdocs3_POST_webhooks_request.json": "test_webhooks",
    "acdocs2_webhook-create-response.json": "test_webhooks",
    "acdocs3_GET_webhooks_200.txt": "test_webhooks",
    "acdocs3_GET_users_me_200.json": "test_users_me",
    "rudder_net_200_html_login_invalid_key.json": "test_wrong_token_gets_the_login_page",
    "rudder_proc_504_cloudflare_gateway_timeout.html": "test_gateway_timeout_is_a_web_page",
    "gearplug_webhook_subscribe_parsed_qs.json": "test_webhook_bodies",
    "acdocs2_webhook-update.json": "test_webhook_bodies",
    "acdocs2_webhook-contact-tag-added.txt": "test_webhook_bodies",
}
NOT_SERVED = {
    "acdocs2_contact-sync-response.json": "POST /contact/sync: acsync writes with bulk import and PUT",
    "rudder_net_contact_sync_201_with_fieldValues.json": "POST /contact/sync (see above)",
    "acdocs_POST_contact_sync_request.json": "POST /contact/sync (see above)",
    "rudder_proc_identify_to_contact_sync_request.json": "POST /contact/sync (see above)",
    "rudder_proc_422_email_invalid.json": "a 422 of POST /contact/sync (see above)",
    "acdocs_POST_contacts_422_duplicate.json": "POST /contacts: acsync never creates a contact",
    "acdocs2_fieldvalue-create-response.json": "POST /fieldValues: acsync writes fields with PUT",
    "acdocs_POST_fieldValues_request_examples.json": "POST /fieldValues (see above)",
    "acdocs2_webhook-events-list.json": "GET /webhook/events: acsync names its events in config",
    "acdocs3_POST_fields_201.json": "AC's example is a copy of GET /fields; clients read field.id",
    "acdocs_GET_activities_200.txt": "GET /activities: not read by acsync (and not even lenient JSON)",
    "singer_GET_activities_empty_meta_total_string.json": "GET /activities (see above)",
    "acdocs3_GET_eventTrackingEvents_200.txt": "GET /eventTrackingEvents: names only, not read",
    "acdocs3_GET_trackingLog_contact_200.json": "GET /trackingLogs/{id}/contact: not read by acsync",
    "singer_422_multiple_errors.json": "a 422 of an unnamed endpoint; the served 422s are checked above",
    "ulule_webhook_automation_formbody_complete.txt": "an automation's webhook action: the user's own",
    "ulule_webhook_automation_formbody_partial.txt": "an automation's webhook action (see above)",
}


def lenient(name: str) -> Any:
    """A ``.txt`` sample: trailing commas stripped, the first of glued documents, or a JS literal."""
    text = (SAMPLES / name).read_text(encoding="utf-8")
    if text.lstrip().startswith("sampleData:"):  # a JavaScript object literal
        text = text.strip().removeprefix("sampleData:").rstrip(",")
        text = re.sub(r"^(\s*)(\w+):", r'\1"\2":', text.replace("'", '"'), flags=re.MULTILINE)
    text = re.sub(r",(\s*[\]}])", r"\1", text)
    return json.JSONDecoder().raw_decode(text.strip())[0]


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


def test_every_sample_is_checked_or_listed_with_a_reason() -> None:
    files = {p.name for p in SAMPLES.iterdir() if p.name != "SOURCES.md"}
    assert files - CHECKED.keys() - NOT_SERVED.keys() == set()
    assert CHECKED.keys() & NOT_SERVED.keys() == set()
    assert (CHECKED.keys() | NOT_SERVED.keys()) - files == set()
    assert {name for name in CHECKED.values() if not callable(globals().get(name))} == set()


def test_same_shape_finds_differences() -> None:
    assert sorted(same_shape({"a": "1", "b": {"c": 2}}, {"a": 1, "b": {"d": 2}})) == [
        "$.a: str in the sample, int in the sandbox",
        "$.b: keys differ: missing ['c'], extra ['d']",
    ]
    assert same_shape([{"a": "1"}], [{"a": "2"}]) == []
    assert same_shape({"a": None}, {"a": 3}) == []
    assert lenient("acdocs3_GET_campaign_links_404.txt") == {
        "message": "No Result found for Campaign with id 2"
    }


# --- contacts -------------------------------------------------------------------------------------
def test_contacts_list(sb: Sandbox) -> None:
    status, body = call(sb, "GET", "contacts", {"limit": "2"})
    assert status == 200
    check(sample("acdocs_GET_contacts_200_list.json"), body, frozenset({"$.meta.page_input"}))
    assert body["meta"]["total"] == "40"  # a string, as AC sends it
    assert body["contacts"][0]["bounced_date"] == "0000-00-00"


def test_single_contact_with_sideloads(sb: Sandbox) -> None:
    status, body = call(sb, "GET", "contacts/1")
    assert status == 200
    # AC's reference example: its contactLists predate the *_timestamp keys (checked live below)
    check(
        sample("acdocs_GET_contact_200_single.json"),
        body,
        frozenset({"$.contactAutomations", "$.deals", "$.geoIps", "$.geoAddresses", "$.contactLists"}),
    )
    live = sample("sourcelab_GET_contact_1_with_contactLists.json")
    check({"contactLists": live["contactLists"]}, {"contactLists": body["contactLists"]})
    assert [cl["contact"] for cl in body["contactLists"]] == ["1"] * len(body["contactLists"])


def test_contact_404(sb: Sandbox) -> None:
    status, body = call(sb, "GET", "contacts/999")
    assert status == 404
    check(sample("acdocs_GET_contact_404.json"), body)
    assert body == {"message": "No Result found for Subscriber with id 999"}


def test_field_values(sb: Sandbox) -> None:
    check(sample("acdocs_GET_contact_fieldValues_200.json"), call(sb, "GET", "contacts/1/fieldValues")[1])


def test_tracking_logs(sb: Sandbox) -> None:
    busy = next(c for c, logs in sb.account.tracking_logs.items() if logs)
    check(
        sample("acdocs_GET_contact_trackingLogs_200.json"),
        call(sb, "GET", f"contacts/{busy}/trackingLogs")[1],
    )
    idle = next(c for c in sb.account.contacts if not sb.account.tracking_logs.get(c))
    assert call(sb, "GET", f"contacts/{idle}/trackingLogs") == (
        200,
        sample("acdocs3_GET_contact_trackingLogs_200_empty.json"),
    )
    status, body = call(sb, "GET", "contacts/999/trackingLogs")
    assert status == 404
    check(sample("acdocs3_GET_contact_trackingLogs_404.json"), body)


def test_put_contact(sb: Sandbox) -> None:
    request = sample("acdocs3_PUT_contact_request.json")
    request["contact"]["fieldValues"] = [{"field": "1", "value": "Acme Ltd"}]
    status, body = call(sb, "PUT", "contacts/3", body=request)
    assert status == 200
    check(sample("acdocs3_PUT_contact_200.json"), body, frozenset({"$.contact"}))
    assert body["fieldValues"][0]["value"] == "Acme Ltd"
    status, body = call(sb, "PUT", "contacts/999", body=request)
    assert status == 404
    check(sample("acdocs3_PUT_contact_404.json"), body)


# --- campaigns ----------------------------------------------------------------------------------------
def test_campaigns_and_links(sb: Sandbox) -> None:
    status, body = call(sb, "GET", "campaigns", {"limit": "2"})
    assert status == 200
    check(sample("acdocs3_GET_campaigns_200.json"), body)
    camp = body["campaigns"][0]["id"]
    check(sample("acdocs3_GET_campaign_links_200.json"), call(sb, "GET", f"campaigns/{camp}/links")[1])
    status, body = call(sb, "GET", "campaigns/999/links")
    assert status == 404
    check(lenient("acdocs3_GET_campaign_links_404.txt"), body)


# --- orders, customers, list memberships ----------------------------------------------------------------
def test_orders_list() -> None:
    sb = Sandbox(seed_account(300, 3, NOW), rate_limit=None)
    status, body = call(sb, "GET", "ecomOrders", {"limit": "100"})
    assert status == 200
    real = lenient("acdocs3_GET_ecomOrders_200.txt")
    check(real, body)
    orders = body["ecomOrders"]
    assert "contact" not in orders[0]  # AC's orders name no contact …
    customers = {c["id"]: c["email"].lower() for c in sb.account.customers.values()}
    assert all(customers[o["customerid"]] == o["email"].lower() for o in orders)  # … but a customer
    emails = {c["email"].lower(): cid for cid, c in sb.account.contacts.items()}
    assert any(o["customerid"] != str(emails[o["email"].lower()]) for o in orders)  # not a contact id
    assert {o["state"] for o in orders} == {0, 1, 2, 3, 4}  # every state AC knows
    assert {type(o["totalPrice"]) for o in orders} == {int}
    abandoned = call(sb, "GET", "ecomOrders", {"filters[state]": "2", "limit": "100"})[1]["ecomOrders"]
    assert abandoned
    assert {o["state"] for o in abandoned} == {2}


def test_single_order(sb: Sandbox) -> None:
    oid = next(o["id"] for o in sb.account.orders.values() if o["state"] == 2)
    status, body = call(sb, "GET", f"ecomOrders/{oid}")
    assert status == 200
    check(sample("acdocs3_GET_ecomOrder_200_single.json"), body)
    assert isinstance(body["ecomOrder"]["totalPrice"], str)  # a string here, as in AC's example
    assert body["ecomOrder"]["abandonedDate"] is not None
    assert call(sb, "GET", "ecomOrders/99999")[0] == 404


def test_customers(sb: Sandbox) -> None:
    status, body = call(sb, "GET", "ecomCustomers", {"limit": "5"})
    assert status == 200
    check(sample("acdocs4_GET_ecomCustomers_200.json"), body)
    cust = body["ecomCustomers"][0]
    status, single = call(sb, "GET", f"ecomCustomers/{cust['id']}")
    assert status == 200
    check(sample("acdocs4_GET_ecomCustomer_200_single.json"), single)
    by_email = call(sb, "GET", "ecomCustomers", {"filters[email]": cust["email"].upper()})[1]
    assert [c["id"] for c in by_email["ecomCustomers"]] == [cust["id"]]


def test_contact_lists(sb: Sandbox) -> None:
    real = sample("acdocs4_GET_contact_contactLists_200.json")
    check(real, call(sb, "GET", "contacts/1/contactLists")[1])
    status, body = call(sb, "GET", "contactLists", {"limit": "100"})
    assert status == 200
    check({**real, "meta": {"total": "1"}}, body)
    rows = list(sb.account.contact_lists)
    assert {cl["form"] for cl in rows} >= {None, "1", "2"}  # sign-ups with and without a form
    assert {cl["status"] for cl in rows} >= {"1", "2"}
    assert call(sb, "GET", "contacts/999/contactLists")[0] == 404


def test_deleted_contacts_keep_their_orders_and_memberships() -> None:
    box = Sandbox(seed_account(40, 3, NOW), rate_limit=None)
    order = next(iter(box.account.orders.values()))
    gone = next(
        cid for cid, c in box.account.contacts.items() if c["email"].lower() == order["email"].lower()
    )
    memberships = call(box, "GET", f"contacts/{gone}/contactLists")[1]["contactLists"]
    assert call(box, "DELETE", f"contacts/{gone}") == (200, {})
    assert call(box, "GET", f"contacts/{gone}/contactLists")[0] == 404
    orders = call(box, "GET", "ecomOrders", {"filters[email]": order["email"]})[1]["ecomOrders"]
    assert order["id"] in [o["id"] for o in orders]
    account_wide = call(box, "GET", "contactLists", {"limit": "100"})[1]["contactLists"]
    assert [cl for cl in account_wide if cl["contact"] == str(gone)] == memberships


# --- tags ---------------------------------------------------------------------------------------------
def test_tags(sb: Sandbox) -> None:
    real = sample("rudder_net_tags_list_meta_total.json")["httpRes"]["data"]
    _, ours = call(sb, "GET", "tags")
    check({"tags": real["tags"], "meta": real["meta"]}, ours)
    check(sample("acdocs3_GET_tags_200.json"), ours)
    status, created = call(
        sb, "POST", "tags", body={"tag": {"tag": "Inaktiv", "tagType": "contact", "description": ""}}
    )
    assert status == 201
    check(sample("acdocs3_POST_tags_201.json"), created)
    real_tag = sample("rudder_net_tag_create_201.json")["httpRes"]["data"]["tag"]
    assert real_tag.keys() == created["tag"].keys()  # its id is a number: a type trap the client absorbs


def test_contact_tags(sb: Sandbox) -> None:
    request = sample("acdocs_POST_contactTags_request.json")
    request["contactTag"].update(contact="2", tag="1")
    status, body = call(sb, "POST", "contactTags", body=request)
    assert status == 201
    check(sample("acdocs_POST_contactTags_201.json"), body)
    # rudder's hand-made answer puts ``tag`` beside the contactTag; its request is AC's
    rudder = sample("rudder_net_contactTags_create_201.json")["httpReq"]["data"]
    rudder["contactTag"].update(contact="3", tag="1")
    assert call(sb, "POST", "contactTags", body=rudder)[0] == 201
    check(
        sample("acdocs_POST_contactTags_404.json"),
        call(sb, "POST", "contactTags", body={"contactTag": {"contact": "999", "tag": "1"}})[1],
    )
    status, missing = call(sb, "POST", "contactTags", body={"contactTag": {"tag": "1"}})
    assert status == 422
    check(sample("acdocs_POST_contactTags_422.json"), missing)
    assert call(sb, "DELETE", f"contactTags/{body['contactTag']['id']}") == (
        200,
        sample("acdocs3_DELETE_contactTag_200.json"),
    )
    status, gone = call(sb, "DELETE", f"contactTags/{body['contactTag']['id']}")
    assert status == 404
    check(sample("acdocs3_DELETE_contactTag_404.json"), gone)


# --- fields -------------------------------------------------------------------------------------------
def test_fields(sb: Sandbox) -> None:
    real = sample("rudder_net_fields_list_meta_total.json")["httpRes"]["data"]
    _, ours = call(sb, "GET", "fields")
    check(real, ours, frozenset({"$.fieldRels"}))
    check(sample("acdocs3_GET_fields_200.json"), ours, frozenset({"$.fieldRels"}))
    request = sample("acdocs3_POST_fields_request_number.json")
    status, created = call(sb, "POST", "fields", body=request)
    assert status == 201
    assert created["field"]["type"] == "number"
    check(sample("acdocs3_GET_fields_200.json")["fields"][0], created["field"])
    status, dup = call(sb, "POST", "fields", body=request)
    assert status == 422
    check(sample("acdocs3_POST_fields_422_duplicate.json"), dup)
    assert dup["errors"][0]["code"] == "duplicate"


def test_forbidden(sb: Sandbox) -> None:
    sb.faults.set("403", next=1)
    status, body = call(sb, "POST", "fields", body={"field": {"title": "x"}})
    assert (status, body) == (403, sample("acdocs3_POST_fields_403.json"))


def test_field_rels(sb: Sandbox) -> None:
    request = sample("acdocs3_POST_fieldRels_request.json")
    request["fieldRel"]["field"] = 1
    status, body = call(sb, "POST", "fieldRels", body=request)
    assert status == 201
    check(sample("acdocs3_POST_fieldRels_201.json"), body)
    assert (body["fieldRel"]["field"], body["fieldRel"]["relid"]) == (1, 2)  # integers, as AC answers


# --- bulk import ----------------------------------------------------------------------------------------
def test_bulk_import(sb: Sandbox) -> None:
    clock = FakeClock()
    sb.clock = clock
    request = sample("acdocs_POST_bulk_import_request.json")
    status, body = call(sb, "POST", "import/bulk_import", body=request)
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
    assert call(sb, "GET", "import/info") == (400, sample("acdocs3_GET_import_info_400.json"))


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


# --- webhooks, the user, failures -------------------------------------------------------------------------
def test_webhooks(sb: Sandbox) -> None:
    status, body = call(sb, "POST", "webhooks", body=sample("acdocs3_POST_webhooks_request.json"))
    assert status == 201
    check(sample("acdocs2_webhook-create-response.json"), body)
    check(lenient("acdocs3_GET_webhooks_200.txt"), call(sb, "GET", "webhooks")[1])


def test_users_me(sb: Sandbox) -> None:
    check(sample("acdocs3_GET_users_me_200.json"), call(sb, "GET", "users/me")[1])


def test_wrong_token_gets_the_login_page(sb: Sandbox) -> None:
    real = sample("rudder_net_200_html_login_invalid_key.json")["httpRes"]
    status, body = call(sb, "GET", "users/me", headers={"api-token": "wrong"})
    assert status == real["status"] == 200
    assert "<html" in body
    assert "login" in body.lower()
    assert call(sb, "GET", "users/me", headers={})[0] == 200


def test_gateway_timeout_is_a_web_page(sb: Sandbox) -> None:
    real = (SAMPLES / "rudder_proc_504_cloudflare_gateway_timeout.html").read_text(encoding="utf-8")
    sb.faults.set("timeout", next=1)
    status, body = call(sb, "GET", "users/me")
    assert status == 504
    for mark in ("<!DOCTYPE html>", "504: Gateway time-out", "Error code 504"):
        assert mark in real
        assert mark in body


def _flat(sample_body: dict[str, Any]) -> dict[str, Any]:
    """A decoded webhook body (``contact: {id: …}``) in AC's bracketed form (``contact[id]``)."""
    out: dict[str, Any] = {}
    for k, v in sample_body.items():
        if isinstance(v, dict):
            out |= {f"{k}[{sub}]": w for sub, w in v.items()}
        else:
            out[k] = v
    return out


def test_webhook_bodies() -> None:
    acct = seed_account(40, 3, NOW)
    bodies = [
        {k: v[0] for k, v in parse_qs(b, keep_blank_values=True).items()}
        for b in webhook_bodies(acct, 200, seed=1, naive_share=0.3)
    ]
    by_type = {b["type"]: b for b in reversed(bodies)}
    samples = {
        "subscribe": {k: v[0] for k, v in sample("gearplug_webhook_subscribe_parsed_qs.json").items()},
        "update": _flat(sample("acdocs2_webhook-update.json")),
        "contact_tag_added": _flat(lenient("acdocs2_webhook-contact-tag-added.txt")),
    }
    for kind, real in samples.items():
        wanted = {k for k in real if k != "contact[fields]"}  # field keys vary by account (ac-api.md)
        assert wanted - by_type[kind].keys() == set(), kind
        assert {type(v) for v in by_type[kind].values()} == {str}
    times = [b["date_time"] for b in bodies]
    with_offset = [t for t in times if re.search(r"[+-]\d\d:\d\d$", t)]
    naive = [t for t in times if re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", t)]
    assert len(with_offset) + len(naive) == len(times)  # the two forms AC sends
    assert with_offset
    assert naive
    local = timezone(timedelta(hours=-5))  # the sandbox account's zone
    for t in with_offset:
        assert NOW - timedelta(hours=1) <= datetime.fromisoformat(t) <= NOW
    for t in naive:
        assert NOW - timedelta(hours=1) <= datetime.fromisoformat(t).replace(tzinfo=local) <= NOW


# --- the account's clock ----------------------------------------------------------------------------------
def test_writes_are_stamped_with_the_time_they_happen_once_the_clock_runs(sb: Sandbox) -> None:
    """As AC stamps a write with its time: a sandbox served for real runs its account's clock
    (``acsync sandbox``), so acsync's push finds its writes inside its own window."""
    assert sb.account.now == NOW  # no clock: time stands still where a test sets it
    sb.clock = clock = FakeClock()
    sb.account.start_clock(clock)
    clock.sleep(600)
    assert sb.account.now == NOW + timedelta(minutes=10)
    status, body = call(sb, "PUT", "contacts/3", body={"contact": {"firstName": "Later"}})
    assert status == 200
    assert datetime.fromisoformat(body["contact"]["udate"]) == NOW + timedelta(minutes=10)
    batch = call(sb, "POST", "import/bulk_import", body={"contacts": [{"email": "new@example.com"}]})
    clock.sleep(2)  # the import completes two seconds later, and its contact is stamped then
    assert call(sb, "GET", "import/info", {"batchId": batch[1]["batchId"]})[1]["status"] == "completed"
    created = sb.account.contact_by_email("new@example.com")
    assert created is not None
    assert datetime.fromisoformat(created["cdate"]) == NOW + timedelta(minutes=10, seconds=2)
    sb.account.now = NOW + timedelta(days=1)  # a test may still set the time; it runs on from there
    clock.sleep(5)
    assert sb.account.now == NOW + timedelta(days=1, seconds=5)
