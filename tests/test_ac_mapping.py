"""AC's records → events, on AC's own samples (tests/samples/ac): orders, list memberships, forms."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from acsync.core import ac_mapping
from acsync.core.ac_values import ac_time, as_number
from tests.test_ac_classify import SAMPLES, sample


def lenient(name: str) -> Any:
    """A ``.txt`` sample that is not JSON only because of trailing commas (SOURCES.md)."""
    return json.loads(re.sub(r",(\s*[\]}])", r"\1", (SAMPLES / name).read_text(encoding="utf-8")))


# --- values ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-09-06T2:10:00-05:00", datetime(2019, 9, 6, 7, 10, tzinfo=UTC)),  # AC's one-digit hour
        ("2019-09-06T12:10:00-05:00", datetime(2019, 9, 6, 17, 10, tzinfo=UTC)),
        ("2021-06-30 04:12:14", datetime(2021, 6, 30, 4, 12, 14, tzinfo=UTC)),
        ("0000-00-00 00:00:00", None),
        ("", None),
        (None, None),
        ("yesterday", None),
    ],
)
def test_ac_time(text: str | None, expected: datetime | None) -> None:
    assert ac_time(text) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (9111, 9111.0),
        ("1000", 1000.0),
        ("10.50", 10.5),
        (None, None),
        ("", None),
        ("nan", None),
        (True, None),
    ],
)
def test_amounts_come_as_integers_or_strings(raw: object, expected: float | None) -> None:
    assert as_number(raw) == expected


# --- orders ---------------------------------------------------------------------------------------
def test_orders_list_sample_is_attributed_by_email_not_customerid() -> None:
    orders = lenient("acdocs3_GET_ecomOrders_200.txt")["ecomOrders"]
    assert [type(o["totalPrice"]) for o in orders] == [int, int]
    events = [ac_mapping.order(o) for o in orders]
    assert [(e.type, e.contact_id, e.email, e.name, e.value, e.at) for e in events if e] == [
        (
            "order",
            None,
            "alice@example.com",
            "ac-order-1",
            91.11,
            datetime(2016, 9, 13, 21, 41, 39, tzinfo=UTC),
        ),
        ("order", None, "example@example.com", "ac-order-2", 34.5, datetime(2019, 9, 6, 7, 10, tzinfo=UTC)),
    ]
    assert events[0] is not None
    assert events[0].key == "order|email:alice@example.com|ac-order-1"  # not customer "1"


def test_single_order_sample_with_string_price_and_state() -> None:
    o = sample("acdocs3_GET_ecomOrder_200_single.json")["ecomOrder"]
    assert (o["totalPrice"], o["state"]) == ("1000", "1")
    e = ac_mapping.order(o)
    assert e is not None
    assert (e.type, e.email, e.value, e.name) == ("order", "alice@example.com", 10.0, "ac-order-1")
    assert e.at == datetime(2019, 6, 29, 19, 44, 49, tzinfo=UTC)  # the shop's time of the order


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (1, "order"),
        ("1", "order"),
        (3, "order"),
        (2, "cart_abandoned"),
        ("2", "cart_abandoned"),
        (0, None),
        (4, None),
    ],
)
def test_order_states(state: object, expected: str | None) -> None:
    o = {**sample("acdocs3_GET_ecomOrder_200_single.json")["ecomOrder"], "state": state}
    e = ac_mapping.order(o)
    assert (e and e.type) == expected


def test_abandoned_cart_is_one_event_from_the_list_and_the_single_answer() -> None:
    single = {
        **sample("acdocs3_GET_ecomOrder_200_single.json")["ecomOrder"],
        "state": "2",
        "abandonedDate": "2019-06-29T16:00:00-05:00",
    }
    listed = {k: v for k, v in single.items() if k != "abandonedDate"} | {"state": 2, "totalPrice": 1000}
    a, b = ac_mapping.order(single), ac_mapping.order(listed)
    assert a is not None
    assert b is not None
    assert (a.type, a.at, a.value) == ("cart_abandoned", datetime(2019, 6, 29, 19, 44, 49, tzinfo=UTC), 10.0)
    assert a == b


def test_a_pending_order_that_completes_is_one_order() -> None:
    o = sample("acdocs3_GET_ecomOrder_200_single.json")["ecomOrder"]
    assert ac_mapping.order({**o, "state": 0}) is None
    done = ac_mapping.order({**o, "state": 1, "updatedDate": "2019-07-02T09:00:00-05:00"})
    again = ac_mapping.order({**o, "state": "1"})
    assert done is not None
    assert again is not None
    assert done.key == again.key


def test_orders_without_email_or_time_give_nothing() -> None:
    o = sample("acdocs3_GET_ecomOrder_200_single.json")["ecomOrder"]
    assert ac_mapping.order({**o, "email": ""}) is None
    assert ac_mapping.order({**o, "externalCreatedDate": None, "createdDate": "0000-00-00 00:00:00"}) is None
    no_state = {k: v for k, v in o.items() if k != "state"}
    assert (ac_mapping.order(no_state) or o).type == "order"  # type: ignore[union-attr]
    assert ac_mapping.order({**o, "email": "Alice@Example.COM "}).email == "alice@example.com"  # type: ignore[union-attr]


# --- list memberships and forms -----------------------------------------------------------------------
def test_contact_lists_sample_unsubscribed_membership() -> None:
    (cl,) = sample("acdocs4_GET_contact_contactLists_200.json")["contactLists"]
    assert cl["status"] == "3"  # bounced: the contact did subscribe at sdate
    events = ac_mapping.contact_list(cl)
    assert [(e.type, e.contact_id, e.list, e.at) for e in events] == [
        ("subscribe", "19", "1", datetime(2021, 4, 8, 16, 17, 44, tzinfo=UTC))
    ]
    left = ac_mapping.contact_list({**cl, "status": "2"})
    assert [(e.type, e.at) for e in left] == [
        ("subscribe", datetime(2021, 4, 8, 16, 17, 44, tzinfo=UTC)),
        ("unsubscribe", datetime(2021, 5, 12, 16, 10, 6, tzinfo=UTC)),
    ]
    assert ac_mapping.contact_list({**cl, "status": "0"}) == []  # unconfirmed: not yet subscribed


def test_contact_lists_of_the_live_sample_and_the_docs_contact() -> None:
    live = sample("sourcelab_GET_contact_1_with_contactLists.json")["contactLists"]
    assert [(e.type, e.list) for cl in live for e in ac_mapping.contact_list(cl)] == [
        ("subscribe", "1"),
        ("subscribe", "3"),
    ]
    (docs,) = sample("acdocs_GET_contact_200_single.json")["contactLists"]
    assert docs["sdate"] is None
    assert ac_mapping.contact_list(docs) == []  # no subscription date: no event to date it


def test_a_membership_through_a_form_is_also_a_form_submission() -> None:
    (cl,) = sample("acdocs4_GET_contact_contactLists_200.json")["contactLists"]
    events = ac_mapping.contact_list({**cl, "status": "1", "form": "4"})
    assert [(e.type, e.form, e.list) for e in events] == [("subscribe", None, "1"), ("form_submit", "4", "1")]
    assert [e.type for e in ac_mapping.contact_list({**cl, "status": 1, "form": 0})] == ["subscribe"]


@pytest.mark.parametrize(
    "stamp", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+01:00", "2300-01-01T00:00:00Z"]
)
def test_an_ac_time_outside_the_supported_range_is_no_time(stamp: str) -> None:
    assert ac_time(stamp) is None
    assert (
        ac_mapping.order({"id": "1", "email": "a@example.com", "state": 1, "externalCreatedDate": stamp})
        is None
    )
