"""Sign-ups, form submissions and orders pulled from the sandbox, attributed as AC documents."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from acsync.jobs.pull import backfill, sync
from acsync.jobs.pull_lists import SYNC_CURSOR
from acsync.store import Store
from tests.sandbox_helpers import NOW, sandbox_and_client


def events_of(store: Store, type_: str) -> list[tuple[str | None, str | None, str | None, str | None]]:
    return store.conn.execute(
        "SELECT c.ac_id, c.email, e.list, e.form FROM events e JOIN contacts c ON c.id = e.contact "
        "WHERE e.type = ? ORDER BY e.key",
        [type_],
    ).fetchall()


def test_backfill_pulls_sign_ups_and_forms_at_a_page_per_hundred_memberships(tmp_path: Path) -> None:
    sb, client, _ = sandbox_and_client(contacts=150, rate=None)
    rows = sb.account.contact_lists
    with Store.open(tmp_path / "l.db") as store:
        report = backfill(store, client, NOW)
        assert report.requests["GET contactLists"] == len(rows) // 100 + 1
        signed = events_of(store, "subscribe")
        assert len(signed) == len(rows)  # every membership was a subscription at its sdate
        forms = events_of(store, "form_submit")
        assert {f for *_, f in forms} == {"1", "2"}  # the newsletter and the contact form
        assert len(forms) == sum(1 for cl in rows if cl["form"])
        assert len(events_of(store, "unsubscribe")) == sum(1 for cl in rows if cl["status"] == "2")
        # each membership's event belongs to its contact, known by id and e-mail
        assert all(ac_id is not None and email is not None for ac_id, email, *_ in signed)


def test_sync_reads_only_new_memberships_and_an_idle_cycle_costs_one_request(tmp_path: Path) -> None:
    sb, client, _ = sandbox_and_client(contacts=150, rate=None)
    acct = sb.account
    with Store.open(tmp_path / "s.db") as store:
        backfill(store, client, NOW)
        idle = sync(store, client, NOW + timedelta(minutes=5))
        assert idle.requests["GET contactLists"] == 1
        assert idle.events["subscribe"] == 0
        later = NOW + timedelta(minutes=10)
        acct.now = later
        acct.subscribe(7, 3, later, form=2)  # a contact-form enquiry
        busy = sync(store, client, later)
        assert busy.requests["GET contactLists"] == 1
        assert (busy.events["subscribe"], busy.events["form_submit"]) == (1, 1)
        assert ("7", "3", "2") in [(a, lst, f) for a, _, lst, f in events_of(store, "form_submit")]
        cursor = json.loads(
            store.conn.execute("SELECT value FROM cursors WHERE name = ?", [SYNC_CURSOR]).fetchone()[0]
        )
        assert cursor == {
            "offset": len(acct.contact_lists),
            "last": len(acct.contact_lists),
            "unordered": False,
        }


def test_sync_reads_all_memberships_again_when_rows_before_the_cursor_went(tmp_path: Path) -> None:
    sb, client, _ = sandbox_and_client(contacts=150, rate=None)
    acct = sb.account
    with Store.open(tmp_path / "m.db") as store:
        backfill(store, client, NOW)
        del acct.contact_lists[0]  # AC forgot a membership: every later row moved up one place
        later = NOW + timedelta(minutes=10)
        newcomer = acct.subscribe(9, 3, later)
        newcomer["id"] = str(int(acct.contact_lists[-2]["id"]) + 1)
        report = sync(store, client, later)
        assert report.events["subscribe"] == 1  # the new one, found by reading from the start
        assert report.requests["GET contactLists"] == 1 + len(acct.contact_lists) // 100 + 1


def test_memberships_out_of_id_order_stop_the_tail_and_say_so(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    sb, client, _ = sandbox_and_client(contacts=150, rate=None)
    acct = sb.account
    with Store.open(tmp_path / "u.db") as store:
        backfill(store, client, NOW)
        acct.contact_lists.reverse()
        sync(store, client, NOW + timedelta(minutes=5))
        assert "out of id order" in caplog.text
        again = sync(store, client, NOW + timedelta(minutes=10))
        assert again.requests["GET contactLists"] == 0  # sign-ups now come from the webhook


def test_orders_are_attributed_by_email_and_only_completed_ones_are_orders(tmp_path: Path) -> None:
    sb, client, _ = sandbox_and_client(contacts=300, rate=None)
    acct = sb.account
    with Store.open(tmp_path / "o.db") as store:
        backfill(store, client, NOW)
        by_email = {c["email"].lower(): c["id"] for c in acct.contacts.values()}
        wanted = {
            (by_email[o["email"].lower()], f"ac-order-{o['id']}")
            for o in acct.orders.values()
            if o["state"] in (1, 3)
        }
        got = store.conn.execute(
            "SELECT c.ac_id, e.name FROM events e JOIN contacts c ON c.id = e.contact WHERE e.type = 'order'"
        ).fetchall()
        assert set(got) == wanted
        assert any(o["customerid"] != by_email[o["email"].lower()] for o in acct.orders.values())
        carts = store.conn.execute("SELECT count(*) FROM events WHERE type = 'cart_abandoned'").fetchone()[0]
        assert carts == sum(1 for o in acct.orders.values() if o["state"] == 2)
        # no contact was made up from an ecomCustomer id or an upper-case e-mail
        assert store.conn.execute("SELECT count(*) FROM contacts").fetchone()[0] == 300


def test_a_pending_order_becomes_an_order_once_completed(tmp_path: Path) -> None:
    sb, client, _ = sandbox_and_client(contacts=60, rate=None)
    acct = sb.account
    email = acct.contacts[4]["email"]
    with Store.open(tmp_path / "p.db") as store:
        backfill(store, client, NOW)
        later = NOW + timedelta(minutes=10)
        acct.now = later
        pending = acct.add_order(email, 12900, later, state=0)
        first = sync(store, client, later)
        assert first.events["order"] == 0
        acct.set_order_state(int(pending["id"]), 1, later + timedelta(hours=2))
        done = sync(store, client, later + timedelta(hours=3))
        assert done.events["order"] == 1
        again = sync(store, client, later + timedelta(hours=4))
        assert again.events["order"] == 0
        row = store.conn.execute(
            "SELECT c.ac_id, e.value, e.at FROM events e JOIN contacts c ON c.id = e.contact "
            "WHERE e.name = ?",
            [f"ac-order-{pending['id']}"],
        ).fetchall()
        assert row == [("4", 129.0, "2026-11-20T12:10:00Z")]  # dated when ordered, not paid


def test_memberships_of_deleted_contacts_make_no_contacts(tmp_path: Path) -> None:
    sb, client, _ = sandbox_and_client(contacts=60, rate=None)
    acct = sb.account
    acct.delete_contact(12)  # AC forgot the contact; its memberships and orders stay
    for hits in acct.link_data.values():  # (its opens and clicks: another phase's concern)
        hits[:] = [h for h in hits if h["contact"] != "12"]
    acct.tracking_logs.pop(12, None)
    assert any(cl["contact"] == "12" for cl in acct.contact_lists)
    with Store.open(tmp_path / "d.db") as store:
        report = backfill(store, client, NOW)
        assert store.conn.execute("SELECT count(*) FROM contacts WHERE ac_id = '12'").fetchone() == (0,)
        assert report.events["subscribe"] == sum(1 for cl in acct.contact_lists if cl["contact"] != "12")


def test_an_order_known_only_by_email_joins_its_contact_once_ac_shows_it(tmp_path: Path) -> None:
    sb, client, _ = sandbox_and_client(contacts=30, rate=None)
    acct = sb.account
    with Store.open(tmp_path / "j.db") as store:
        backfill(store, client, NOW)
        later = NOW + timedelta(minutes=10)
        acct.now = later
        acct.add_order("Newcomer@Example.com", 5000, later)  # the shop is quicker than the contact
        sync(store, client, later)
        assert store.conn.execute(
            "SELECT ac_id FROM contacts WHERE email = 'newcomer@example.com'"
        ).fetchall() == [(None,)]
        newcomer = acct.add_contact("newcomer@example.com", "New", "Comer", later + timedelta(minutes=1))
        sync(store, client, later + timedelta(minutes=5))
        rows = store.conn.execute(
            "SELECT c.ac_id, e.type FROM events e JOIN contacts c ON c.id = e.contact "
            "WHERE c.email = 'newcomer@example.com'"
        ).fetchall()
        assert rows == [(newcomer["id"], "order")]
        assert store.conn.execute(
            "SELECT count(*) FROM contacts WHERE email = 'newcomer@example.com'"
        ).fetchone() == (1,)


class Killed(BaseException):
    """Stands for a kill -9 in the middle of the lists phase."""


def test_a_backfill_killed_in_the_lists_phase_resumes_where_it_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, reference, _ = sandbox_and_client(contacts=250, rate=None)
    with Store.open(tmp_path / "ref.db") as store:
        backfill(store, reference, NOW)
        expected = store.conn.execute("SELECT key, at FROM events ORDER BY key").fetchall()
    _, client, _ = sandbox_and_client(contacts=250, rate=None)
    real = client._once
    pages = {"n": 0}

    def dying(method: str, path: str, *args: Any) -> Any:
        if path == "contactLists":
            pages["n"] += 1
            if pages["n"] == 3:
                raise Killed
        return real(method, path, *args)

    monkeypatch.setattr(client, "_once", dying)
    with Store.open(tmp_path / "k.db") as store, pytest.raises(Killed):
        backfill(store, client, NOW)
    monkeypatch.setattr(client, "_once", real)
    with Store.open(tmp_path / "k.db") as store:
        resumed = backfill(store, client, NOW)
        assert store.conn.execute("SELECT key, at FROM events ORDER BY key").fetchall() == expected
    assert resumed.requests["GET contactLists"] == reference.requests["GET contactLists"] - 2
