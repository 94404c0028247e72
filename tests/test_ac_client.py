"""The client against the in-process sandbox (faults switched on) and a few HTTP edge cases."""

from __future__ import annotations

import logging

import pytest
import requests
import responses

from acsync.ac import AcClient, AcConfigError, AcFatalError, AcNotFound, AcRetriableError
from acsync.ac.client import api_root
from acsync.ac.ratelimit import TokenBucket
from tests.sandbox_helpers import FakeClock, sandbox_and_client


def test_api_root_takes_the_url_as_given() -> None:
    assert api_root("https://acct.api-us1.com") == "https://acct.api-us1.com/api/3/"
    assert api_root("https://acct.api-us1.com/api/3/ ") == "https://acct.api-us1.com/api/3/"


def test_keyset_paging_reads_every_contact_once() -> None:
    sb, client, _ = sandbox_and_client(contacts=250)
    pages = list(client.contact_pages())
    ids = [int(c["id"]) for page in pages for c in page]
    assert ids == sorted(ids) == list(range(1, 251))
    assert [len(p) for p in pages] == [100, 100, 50]
    assert sb.journal.counts["GET contacts"] == 3
    assert [int(c["id"]) for p in client.contact_pages(after_id=240) for c in p] == list(range(241, 251))


def test_updated_after_filter() -> None:
    _sb, client, _ = sandbox_and_client(contacts=50)
    recent = [c for p in client.contact_pages(updated_after="2026-11-01T00:00:00+00:00") for c in p]
    assert 0 < len(recent) < 50


def test_pacing_stays_within_the_rate_limit_without_real_waiting() -> None:
    sb, client, clock = sandbox_and_client(contacts=10, rate=5.0)
    start = clock.now
    for _ in range(30):
        client.me()
    assert sb.journal.statuses.get(429, 0) == 0
    assert clock.now - start == pytest.approx(29 / 5, abs=0.01)


def test_a_429_pauses_the_bucket_and_honours_retry_after() -> None:
    sb, client, clock = sandbox_and_client(contacts=10)
    sb.faults.set("429", next=2)
    assert client.me()["username"] == "admin"
    assert sb.journal.statuses[429] == 2
    assert sum(clock.slept) >= 2.0  # Retry-After: 1, twice


@pytest.mark.parametrize("kind", ["503", "500", "timeout", "429"])
def test_faults_are_retried_until_success(kind: str) -> None:
    sb, client, _ = sandbox_and_client(contacts=250)
    sb.faults.set(kind, next=3)
    assert sum(len(p) for p in client.contact_pages()) == 250
    assert sb.faults.fired[kind] == 3


def test_twenty_percent_faults_read_the_same_as_none() -> None:
    def read(faulty: bool) -> tuple[list[str], list[list[str]]]:
        sb, client, _ = sandbox_and_client(contacts=60)
        if faulty:
            for kind, rate in (("429", 0.07), ("503", 0.07), ("timeout", 0.06)):
                sb.faults.set(kind, rate=rate)
        ids = [c["id"] for p in client.contact_pages() for c in p]
        logs = [[t["id"] for p in client.tracking_log_pages(c) for t in p] for c in ids]
        if faulty:
            assert sum(sb.faults.fired.values()) > 3
        return ids, logs

    assert read(faulty=True) == read(faulty=False)


def test_retries_are_bounded() -> None:
    sb, client, _ = sandbox_and_client(contacts=10, max_attempts=3)
    sb.faults.set("503", next=10)
    with pytest.raises(AcRetriableError):
        client.me()
    assert sb.journal.statuses[503] == 3


def test_a_403_is_retried_twice_then_fatal() -> None:
    sb, client, _ = sandbox_and_client(contacts=10)
    sb.faults.set("403", next=2)
    assert client.me()["username"] == "admin"
    sb.faults.set("403", next=3)
    with pytest.raises(AcFatalError, match="kept answering 403"):
        client.me()


def test_unsafe_calls_are_not_repeated_after_a_timeout() -> None:
    sb, client, _ = sandbox_and_client(contacts=10)
    tag = client.create_tag("Inaktiv")
    sb.faults.set("timeout", next=1)
    with pytest.raises(AcRetriableError, match="did not answer in time"):
        client.add_contact_tag("1", tag["id"])
    assert sb.journal.counts["POST contactTags"] == 1
    sb.faults.set("429", next=1)  # but a 429 means AC did nothing: safe to repeat
    assert client.add_contact_tag("1", tag["id"])["tag"] == tag["id"]


def test_wrong_token_names_the_fix_and_never_shows_the_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sb, client, _ = sandbox_and_client(contacts=10, token="s3cret-token-value")
    sb.faults.set("503", next=1)
    with pytest.raises(AcConfigError) as info:
        client.me()
    assert "ACSYNC_ACTIVECAMPAIGN__API_TOKEN" in str(info.value)
    assert "s3cret-token-value" not in str(info.value)
    assert "s3cret-token-value" not in caplog.text


def test_not_found_and_validation() -> None:
    _sb, client, _ = sandbox_and_client(contacts=10)
    with pytest.raises(AcNotFound, match="Subscriber with id 999"):
        client.contact("999")
    with pytest.raises(AcNotFound, match="Contact not found"):
        client.add_contact_tag("999", "1")
    client.create_field("Lead Score", "number")
    with pytest.raises(Exception, match="already a field with this title"):
        client.create_field("Lead Score", "number")


def test_typed_calls_round_trip() -> None:
    _sb, client, _ = sandbox_and_client(contacts=30)
    field = client.create_field("Lead Score", "number")
    client.update_contact_fields("3", {field["id"]: "42"})
    values = client.contact("3")["fieldValues"]
    assert [(v["field"], v["value"]) for v in values] == [(field["id"], "42")]
    tag = client.find_tag("Customer")
    assert tag is not None
    assert client.find_tag("Cust") is None  # AC's search is "contains"; find_tag wants the name
    link = client.add_contact_tag("3", tag["id"])
    assert any(ct["id"] == link["id"] for ct in client.contact_tags("3"))
    client.remove_contact_tag(link["id"])
    assert all(ct["id"] != link["id"] for ct in client.contact_tags("3"))
    with pytest.raises(AcNotFound, match="SubscriberTag"):
        client.remove_contact_tag(link["id"])
    hook = client.create_webhook("acsync", "https://example.com/hook", ["open", "click"], ["public"])
    assert client.webhooks() == [hook]


def test_bulk_import_is_asynchronous_and_has_its_own_limit() -> None:
    sb, client, clock = sandbox_and_client(contacts=5)
    field = client.create_field("Lead Score", "number")
    email = sb.account.contacts[2]["email"]
    batch = client.bulk_import(
        [{"email": email, "fields": [{"id": int(field["id"]), "value": "9"}], "tags": ["Hot Lead"]}]
    )
    assert client.import_info(batch)["status"] is False  # AC's answer in the first second
    clock.sleep(2)
    info = client.import_info(batch)
    assert (info["status"], info["success"]) == ("completed", ["2"])
    assert client.contact("2")["fieldValues"][0]["value"] == "9"
    sb.bulk_per_minute = 1
    start = clock.now
    client.bulk_limiter = TokenBucket(1000, 1, clock, clock.sleep)  # let the sandbox's limit bite
    client.bulk_import([{"email": email}])
    assert clock.now - start >= 60  # the 400 "Rate limit exceeded" was retried after a minute


def test_campaign_activity() -> None:
    _sb, client, _ = sandbox_and_client(contacts=200, rate=None)
    campaign = [c for p in client.campaign_pages() for c in p][-2]
    links = client.campaign_links(campaign["id"])
    assert next(link["link"] for link in links) == "open"
    opens = [h for p in client.link_data_pages(links[0]["id"]) for h in p]
    assert opens
    assert {"contact", "tstamp"} <= set(opens[0])
    orders = [o for p in client.ecom_order_pages() for o in p]
    assert orders
    assert isinstance(orders[0]["totalPrice"], int)


@responses.activate
def test_redirect_is_a_config_error_and_never_followed() -> None:
    responses.add(
        responses.GET,
        "https://acct.api-us1.com/api/3/users/me",
        status=301,
        headers={"Location": "https://acct.activehosted.com/"},
    )
    client = AcClient("https://acct.api-us1.com", "t", sleep=lambda s: None)
    with pytest.raises(AcConfigError, match="redirect"):
        client.me()
    assert len(responses.calls) == 1


@responses.activate
def test_connection_errors_are_retried() -> None:
    url = "https://acct.api-us1.com/api/3/users/me"
    responses.add(responses.GET, url, body=requests.ConnectionError("refused"))
    responses.add(responses.GET, url, json={"user": {"username": "u"}})
    client = AcClient("https://acct.api-us1.com", "t", sleep=lambda s: None)
    assert client.me() == {"username": "u"}


@responses.activate
def test_paging_refuses_to_loop() -> None:
    page = {"tags": [{"id": str(i), "tag": f"t{i}"} for i in range(100)], "meta": {"total": "1000"}}
    responses.add(responses.GET, "https://acct.api-us1.com/api/3/tags", json=page)
    client = AcClient("https://acct.api-us1.com", "t", sleep=lambda s: None)
    with pytest.raises(AcFatalError, match="did not advance"):
        list(client.offset_pages("tags", "tags"))


def test_token_bucket_with_a_fake_clock() -> None:
    clock = FakeClock()
    bucket = TokenBucket(5, 1, clock, clock.sleep)
    for _ in range(11):
        bucket.acquire()
    assert clock.now - 1000.0 == pytest.approx(2.0)
    bucket.pause(3)
    bucket.acquire()
    assert clock.now - 1000.0 == pytest.approx(5.0, abs=0.21)


def test_clients_of_one_account_share_one_bucket() -> None:
    from acsync.ac.client import client_from_config
    from acsync.config import ActiveCampaignConfig

    cfg = ActiveCampaignConfig(url="https://acct.api-us1.com", api_token="t")  # type: ignore[arg-type]
    a, b = client_from_config(cfg), client_from_config(cfg)
    assert a.limiter is b.limiter
    assert a.bulk_limiter is b.bulk_limiter
    other = client_from_config(ActiveCampaignConfig(url="https://other.api-us1.com", api_token="t"))  # type: ignore[arg-type]
    assert other.limiter is not a.limiter


def test_same_seed_same_account() -> None:
    from acsync.sandbox import seed_account
    from tests.sandbox_helpers import NOW

    one, two = seed_account(80, 9, NOW), seed_account(80, 9, NOW)
    assert one.contacts == two.contacts
    assert one.link_data == two.link_data
    assert one.tracking_logs == two.tracking_logs
    assert seed_account(80, 10, NOW).contacts != one.contacts


def test_token_bucket_never_spins_on_floating_point_leftovers() -> None:
    clock = FakeClock()
    clock.now = 1e9  # a large clock value: tiny waits would not move it
    bucket = TokenBucket(3, 1, clock, clock.sleep)
    bucket._tokens = 1 - 1e-15
    for _ in range(5):
        bucket.acquire()
    assert len(clock.slept) < 50
