"""Pulling from AC: the mapping of real samples, and backfill/sync against the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from acsync.ac import AcClient
from acsync.core import ac_mapping
from acsync.jobs.pull import backfill, sync
from acsync.sandbox import Sandbox
from acsync.sandbox.state import ac_time, hit_record, tracking_record
from acsync.store import Store
from tests.sandbox_helpers import NOW, sandbox_and_client
from tests.test_ac_classify import sample


# --- mapping --------------------------------------------------------------------------------------
def test_contacts_sample() -> None:
    c = sample("acdocs_GET_contacts_200_list.json")["contacts"][0]
    rec = ac_mapping.contact_record(c)
    assert rec == ac_mapping.ContactRecord(
        "5", "adam@activecampaign.com", datetime(2018, 9, 12, 21, 53, 50, tzinfo=UTC)
    )


def test_tracking_logs_sample() -> None:
    events = [
        ac_mapping.tracking_log(t) for t in sample("acdocs_GET_contact_trackingLogs_200.json")["trackingLogs"]
    ]
    assert [(e.type, e.name, e.contact_id, e.at) for e in events if e] == [
        ("event", "Another event", "112", datetime(2022, 9, 27, 17, 39, 59, tzinfo=UTC)),
        ("event", "Yet Another Event", "112", datetime(2022, 9, 27, 18, 35, 1, tzinfo=UTC)),
    ]


def test_contact_lists_sample_with_zero_dates() -> None:
    lists = sample("sourcelab_GET_contact_1_with_contactLists.json")["contactLists"]
    events = [e for cl in lists for e in ac_mapping.contact_list(cl)]
    assert [(e.type, e.list, e.at) for e in events] == [
        ("subscribe", "1", datetime(2021, 6, 30, 9, 12, 14, tzinfo=UTC)),
        ("subscribe", "3", datetime(2021, 6, 30, 11, 40, 21, tzinfo=UTC)),
    ]
    assert ac_mapping.contact_list({**lists[0], "sdate": "0000-00-00 00:00:00"}) == []
    assert ac_mapping.contact_list({**lists[0], "form": "4"})[1].type == "form_submit"


def test_hits_and_tags() -> None:  # orders: tests/test_ac_mapping.py
    open_link = {"id": "1", "campaignid": "9", "link": "open"}
    click_link = {"id": "2", "campaignid": "9", "link": "https://x/pricing"}
    hit = {"contact": "5", "tstamp": "2026-03-01T04:30:00-05:00"}
    opened, clicked = ac_mapping.link_hit(hit, open_link), ac_mapping.link_hit(hit, click_link)
    assert opened is not None
    assert clicked is not None
    assert (opened.type, opened.campaign, opened.key) == ("open", "9", "open|5|9")
    assert (clicked.type, clicked.url, clicked.at) == (
        "click",
        "https://x/pricing",
        datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
    )
    assert ac_mapping.link_hit({"contact": "5", "tstamp": "0000-00-00 00:00:00"}, open_link) is None
    tag = ac_mapping.contact_tag(
        {"contact": "5", "tag": "3", "cdate": "2026-03-01T10:00:00-05:00"}, {"3": "VIP"}
    )
    assert tag is not None
    assert (tag.type, tag.tag) == ("tag_added", "VIP")
    assert (
        ac_mapping.contact_tag(
            {"contact": "5", "tag": "4", "cdate": "2026-03-01T10:00:00-05:00"}, {"3": "VIP"}
        )
        is None
    )


# --- backfill against the sandbox --------------------------------------------------------------------
def snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    q = store.conn.execute
    return {
        "events": q(
            "SELECT c.ac_id, e.key, e.type, e.at, e.campaign, e.url, e.tag, e.list, e.name, e.value "
            "FROM events e JOIN contacts c ON c.id = e.contact ORDER BY e.key"
        ).fetchall(),
        "contacts": q(
            "SELECT ac_id, email, created_at FROM contacts ORDER BY CAST(ac_id AS INTEGER)"
        ).fetchall(),
    }


def expected_counts(sb: Sandbox) -> dict[str, int]:
    acct = sb.account
    opens = sum(len(acct.link_data[i]) for i, link in acct.links.items() if link["link"] == "open")
    clicks = sum(len(acct.link_data[i]) for i, link in acct.links.items() if link["link"] != "open")
    logs = [log for logs in acct.tracking_logs.values() for log in logs]
    visits = sum(1 for log in logs if log["type"] == "__pagevisit")
    states = [int(o["state"]) for o in acct.orders.values()]
    joined = [cl for cl in acct.contact_lists if cl["status"] in ("1", "2", "3")]
    return {
        "open": opens,
        "click": clicks,
        "site_visit": visits,
        "event": len(logs) - visits,
        "order": sum(1 for s in states if s in (1, 3)),
        "cart_abandoned": states.count(2),
        "tag_added": len(acct.contact_tags),
        "subscribe": len(joined),
        "form_submit": sum(1 for cl in joined if cl["form"]),
        "unsubscribe": sum(1 for cl in joined if cl["status"] == "2"),
    }


def run_backfill(tmp: Path, name: str, client: AcClient) -> dict[str, list[tuple[Any, ...]]]:
    with Store.open(tmp / name) as store:
        backfill(store, client, NOW)
        return snapshot(store)


def test_backfill_reads_everything_the_account_holds(tmp_path: Path) -> None:
    sb, client, _ = sandbox_and_client(contacts=150, rate=None)
    with Store.open(tmp_path / "a.db") as store:
        report = backfill(store, client, NOW)
        assert report.contacts == 150
        assert dict(report.events) == expected_counts(sb)
        assert report.requests["GET contacts/{id}/trackingLogs"] == 150
        again = backfill(store, client, NOW)
        assert (again.new, again.duplicate) == (0, report.new)
        assert store.conn.execute("SELECT count(*) FROM contacts WHERE created_at IS NULL").fetchone() == (0,)


def test_backfill_with_twenty_percent_faults_ends_in_the_same_database(tmp_path: Path) -> None:
    _, clean, _ = sandbox_and_client(contacts=80, rate=None)
    sb, faulty, _ = sandbox_and_client(contacts=80, rate=None)
    for kind, rate in (("429", 0.07), ("503", 0.07), ("timeout", 0.06)):
        sb.faults.set(kind, rate=rate)
    assert run_backfill(tmp_path, "faulty.db", faulty) == run_backfill(tmp_path, "clean.db", clean)
    assert sum(sb.faults.fired.values()) > 10


class Killed(BaseException):
    """Stands for a kill -9: nothing after it runs, not even an except clause for Exception."""


@pytest.mark.parametrize("kill_at", [3, 12, 30, 61, 90])
def test_a_killed_backfill_resumes_to_the_same_database(
    tmp_path: Path, kill_at: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, reference, _ = sandbox_and_client(contacts=60, rate=None)
    expected = run_backfill(tmp_path, "ref.db", reference)
    _, client, _ = sandbox_and_client(contacts=60, rate=None)
    real = client._once
    calls = {"n": 0}

    def dying(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == kill_at:
            raise Killed
        return real(*args)

    monkeypatch.setattr(client, "_once", dying)
    with Store.open(tmp_path / "killed.db") as store, pytest.raises(Killed):
        backfill(store, client, NOW)
    monkeypatch.setattr(client, "_once", real)
    with Store.open(tmp_path / "killed.db") as store:
        resumed = backfill(store, client, NOW)
        assert snapshot(store) == expected
    total = sum(reference.requests.values())
    assert sum(resumed.requests.values()) < total  # it resumed, not restarted


def test_since_skips_older_activity(tmp_path: Path) -> None:
    _sb, client, _ = sandbox_and_client(contacts=60, rate=None)
    since = NOW - timedelta(days=60)
    with Store.open(tmp_path / "s.db") as store:
        backfill(store, client, NOW, since=since)
        oldest = store.conn.execute("SELECT min(at) FROM events").fetchone()[0]
    assert oldest >= "2026-09-21T12:00:00Z"


def test_sync_picks_up_what_changed(tmp_path: Path) -> None:
    sb, client, _clock = sandbox_and_client(contacts=60, rate=None)
    acct = sb.account
    with Store.open(tmp_path / "y.db") as store:
        backfill(store, client, NOW)
        before = store.conn.execute("SELECT count(*) FROM events").fetchone()[0]
        later = NOW + timedelta(hours=1)
        acct.now = later
        recent_open = next(
            i
            for i, link in acct.links.items()
            if link["link"] == "open" and link["campaignid"] == str(max(acct.campaigns))
        )
        who = next(
            c for c in range(1, 61) if all(h["contact"] != str(c) for h in acct.link_data[recent_open])
        )
        acct.link_data[recent_open].append(hit_record(99001, who, acct.links[recent_open], later))
        acct.tracking_logs[7].append(
            tracking_record(99002, 7, "__pagevisit", "https://www.example.com/pricing", later)
        )
        acct.touch(7, later)
        newcomer = acct.add_contact("new.person@example.com", "New", "Person", later)
        report = sync(store, client, later)
        assert report.events["open"] == 1
        assert report.events["site_visit"] == 1
        # every contact changed within the day's overlap is read; only the moved ones' trackingLogs
        assert report.contacts >= 2
        assert report.requests["GET contacts/{id}/trackingLogs"] == 2  # 7 (touched) and the newcomer
        assert store.conn.execute("SELECT count(*) FROM events").fetchone()[0] == before + 2
        assert store.conn.execute(
            "SELECT ac_id FROM contacts WHERE email = 'new.person@example.com'"
        ).fetchone() == (newcomer["id"],)
        cursor = store.conn.execute("SELECT value FROM cursors WHERE name = 'sync:updated_after'").fetchone()[
            0
        ]
        assert cursor == "2026-11-20T13:00:00Z"  # the cycle's start, never later
        quiet = sync(store, client, later + timedelta(minutes=5))
        assert quiet.new == 0
        assert quiet.requests["GET contacts/{id}/trackingLogs"] == 0  # their udate did not move again
        assert sum(quiet.requests.values()) <= 10


def test_ac_time_of_the_sandbox_is_what_ac_sends() -> None:
    assert ac_time(datetime(2026, 3, 1, 9, 30, tzinfo=UTC)) == "2026-03-01T04:30:00-05:00"


def test_a_killed_sync_resumes_at_its_last_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first sync after a long stop can be backfill-sized: killed, it goes on where it was."""
    sb, client, _clock = sandbox_and_client(contacts=350, rate=None)
    acct = sb.account
    with Store.open(tmp_path / "k.db") as store:
        backfill(store, client, NOW)
        later = NOW + timedelta(days=3)
        acct.now = later
        for cid in range(1, 351):  # every contact changed while acsync was down
            acct.tracking_logs[cid].append(
                tracking_record(98000 + cid, cid, "__pagevisit", "https://www.example.com/pricing", later)
            )
            acct.touch(cid, later)
        real = client._once
        pages = {"n": 0}

        def dying(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
            if path == "contacts":
                pages["n"] += 1
                if pages["n"] == 3:
                    raise Killed
            return real(method, path, *args, **kwargs)

        monkeypatch.setattr(client, "_once", dying)
        with pytest.raises(Killed):
            sync(store, client, later)
        monkeypatch.setattr(client, "_once", real)
        resumed = sync(store, client, later)
        assert resumed.requests["GET contacts"] == 2  # pages 3 and 4 of 4, not all four again
        sync(store, client, later + timedelta(minutes=5))  # the pages read before the kill
        visits = store.conn.execute(
            "SELECT count(DISTINCT contact) FROM events WHERE type = 'site_visit' AND at >= ?",
            ["2026-11-23T12:00:00Z"],
        ).fetchone()[0]
        assert visits == 350  # nothing lost: the contacts read before the kill, a cycle later
