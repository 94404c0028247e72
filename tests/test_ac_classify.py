"""The classifier as one table, and every real AC sample in tests/samples/ac (from fixtures/ac)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from acsync.ac.classify import Forbidden, classify, messages
from acsync.ac.errors import AcConfigError, AcFatalError, AcNotFound, AcRetriableError, AcValidationError

SAMPLES = Path(__file__).parent / "samples" / "ac"
JSON = {"Content-Type": "application/json"}
HTML = {"Content-Type": "text/html"}


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("status", "headers", "body", "outcome"),
    [
        (200, JSON, '{"contacts": []}', dict),
        (201, JSON, '{"tag": {"id": 1}}', dict),
        (200, JSON, "", dict),
        (200, HTML, "<html>login</html>", AcConfigError),
        (200, JSON, "<html>login</html>", AcConfigError),
        (301, {"Location": "https://www.activecampaign.com/login"}, "", AcConfigError),
        (302, {}, "", AcConfigError),
        (401, JSON, '{"message": "Unauthorized"}', AcConfigError),
        (402, JSON, '{"message": "Payment Required"}', AcFatalError),
        (403, JSON, '{"message": "Forbidden"}', Forbidden),
        (404, JSON, '{"message": "No Result found for Subscriber with id 1"}', AcNotFound),
        (422, JSON, '{"errors": [{"title": "Missing attribute"}]}', AcValidationError),
        (429, {**JSON, "Retry-After": "30"}, "", AcRetriableError),
        (500, JSON, "{}", AcRetriableError),
        (502, HTML, "<html>bad gateway</html>", AcRetriableError),
        (503, JSON, "{}", AcRetriableError),
        (504, HTML, "<html>504</html>", AcRetriableError),
        (400, JSON, '{"message": "Bad Request"}', AcFatalError),
        (418, JSON, "{}", AcFatalError),
    ],
)
def test_status_table(status: int, headers: dict[str, str], body: str, outcome: type) -> None:
    if outcome is dict:
        assert isinstance(classify("GET", "x", status, headers, body), dict)
        return
    with pytest.raises(outcome) as info:
        classify("GET", "contacts", status, headers, body)
    assert info.value.status == status  # type: ignore[attr-defined]


def test_retry_after_is_kept() -> None:
    with pytest.raises(AcRetriableError) as info:
        classify("GET", "x", 429, {"Retry-After": "30"}, "")
    assert info.value.retry_after == 30
    with pytest.raises(AcRetriableError) as info:
        classify("GET", "x", 429, {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, "")
    assert info.value.retry_after is None


def test_html_login_page_sample_is_a_config_error() -> None:
    res = sample("rudder_net_200_html_login_invalid_key.json")["httpRes"]
    with pytest.raises(AcConfigError, match=r"web page .* activecampaign.url"):
        classify("GET", "eventTrackingEvents", res["status"], {"Content-Type": "text/html"}, res["data"])


def test_cloudflare_504_sample_is_retriable() -> None:
    page = (SAMPLES / "rudder_proc_504_cloudflare_gateway_timeout.html").read_text(encoding="utf-8")
    with pytest.raises(AcRetriableError):
        classify("POST", "contact/sync", 504, HTML, page)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("acdocs_POST_contacts_422_duplicate.json", ["Email address already exists in the system"]),
        ("acdocs_POST_contactTags_422.json", ["Missing attribute"]),
        (
            "singer_422_multiple_errors.json",
            ["The connection service was not provided.", "The connection externalid was not provided."],
        ),
    ],
)
def test_422_samples_keep_every_message(name: str, words: list[str]) -> None:
    with pytest.raises(AcValidationError) as info:
        classify("POST", "x", 422, JSON, json.dumps(sample(name)))
    assert info.value.messages == words


def test_422_live_sample() -> None:
    live = sample("rudder_proc_422_email_invalid.json")
    with pytest.raises(AcValidationError) as info:
        classify("POST", "contact/sync", live["status"], JSON, json.dumps(live["body"]))
    assert info.value.messages == ["Contact Email Address is not valid."]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("acdocs_GET_contact_404.json", "No Result found for Subscriber with id 1"),
        ("acdocs_POST_contactTags_404.json", "Not Found — Contact not found"),
    ],
)
def test_both_404_shapes(name: str, words: str) -> None:
    with pytest.raises(AcNotFound, match=words):
        classify("GET", "x", 404, JSON, json.dumps(sample(name)))


def test_bulk_import_400s() -> None:
    with pytest.raises(AcRetriableError) as info:
        classify(
            "POST",
            "import/bulk_import",
            400,
            JSON,
            json.dumps(sample("acdocs_POST_bulk_import_400_rate_limit.json")),
        )
    assert info.value.retry_after == 60
    with pytest.raises(AcFatalError) as fatal:
        classify(
            "POST",
            "import/bulk_import",
            400,
            JSON,
            json.dumps(sample("acdocs_POST_bulk_import_400_validation.json")),
        )
    assert "incorrect format" in str(fatal.value)


@pytest.mark.parametrize(
    "name",
    [
        "acdocs_GET_contacts_200_list.json",
        "acdocs_GET_contact_200_single.json",
        "acdocs_GET_contact_fieldValues_200.json",
        "acdocs_GET_contact_trackingLogs_200.json",
        "acdocs_GET_import_info_200.json",
        "acdocs_POST_bulk_import_200.json",
        "acdocs_POST_contactTags_201.json",
        "acdocs2_webhook-create-response.json",
        "acdocs2_webhook-events-list.json",
        "acdocs2_contact-sync-response.json",
        "acdocs2_fieldvalue-create-response.json",
        "singer_GET_activities_empty_meta_total_string.json",
        "sourcelab_GET_contact_1_with_contactLists.json",
    ],
)
def test_success_samples_decode(name: str) -> None:
    text = (SAMPLES / name).read_text(encoding="utf-8")
    assert classify("GET", "x", 200, JSON, text) == json.loads(text)


def test_invalid_json_sample_is_not_taken_for_data() -> None:
    text = (SAMPLES / "acdocs_GET_activities_200.txt").read_text(encoding="utf-8")
    with pytest.raises(AcFatalError, match="not JSON"):
        classify("GET", "activities", 200, JSON, text)


def test_messages_from_odd_bodies() -> None:
    assert messages(None) == []
    assert messages({"errors": ["plain"]}) == ["plain"]
    assert messages({"errors": [{"code": "x"}]}) == ['{"code": "x"}']
