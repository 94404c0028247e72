"""Activity sources chosen per account, and a sync whose cost follows what changed."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from acsync.ac.errors import AcNotFound
from acsync.core.event import build_event
from acsync.core.rules import Match
from acsync.jobs import sources
from acsync.jobs.pull import backfill, record_own_write, sync
from acsync.sandbox import Sandbox, api
from acsync.sandbox.state import ac_time
from acsync.store import Store
from tests.sandbox_helpers import NOW, sandbox_and_client
from tests.test_ac_classify import SAMPLES, sample
from tests.test_sandbox_contract import call, check


def open_pixels(sb: Sandbox, camp: int) -> list[int]:
    return [
        i
        for i, link in sb.account.links.items()
        if link["campaignid"] == str(camp) and link["link"] == "open"
    ]


def content_links(sb: Sandbox, camp: int) -> list[int]:
    return [
        i
        for i, link in sb.account.links.items()
        if link["campaignid"] == str(camp) and link["link"] != "open"
    ]


# --- the sandbox follows AC's reference ----------------------------------------------------------------
def test_campaign_links_have_two_open_pixels_as_in_acs_example() -> None:
    sb, _, _ = sandbox_and_client(contacts=30, rate=None)
    status, body = call(sb, "GET", "campaigns/1/links")
    assert status == 200
    check(sample("acdocs3_GET_campaign_links_200.json"), body)
    pixels = [link for link in body["links"] if link["link"] == "open"]
    assert [p["messageid"] for p in pixels] == ["1", "0"]
    assert pixels[1]["message"] is None
    status, body = call(sb, "GET", "campaigns/999/links")
    assert status == 404
    first = (SAMPLES / "acdocs3_GET_campaign_links_404.txt").read_text().split("}{")[0] + "}"
    check(json.loads(first), body)


def test_campaign_counters_are_strings_and_follow_the_activity() -> None:
    sb, _, _ = sandbox_and_client(contacts=30, rate=None)
    real = sample("acdocs3_GET_campaigns_200.json")["campaigns"][0]
    _, body = call(sb, "GET", "campaigns", {"orders[sdate]": "DESC", "limit": "1"})
    camp = body["campaigns"][0]
    assert int(camp["id"]) == max(sb.account.campaigns)  # the last sent first
    for key in ("opens", "uniqueopens", "linkclicks", "uniquelinkclicks"):
        assert type(camp[key]) is type(real[key]) is str
    before = int(camp["opens"])
    sb.account.add_hit(3, open_pixels(sb, int(camp["id"]))[0], NOW)
    _, body = call(sb, "GET", "campaigns", {"orders[sdate]": "DESC", "limit": "1"})
    assert int(body["campaigns"][0]["opens"]) == before + 1


def test_opens_report_pages_like_acs_reference() -> None:
    sb, _, _ = sandbox_and_client(contacts=120, rate=None)
    camp = max(sb.account.campaigns, key=lambda c: len(sb.account.link_data[open_pixels(sb, c)[0]]))
    status, body = call(sb, "GET", f"campaigns/{camp}/opens", {"limit": "1000"})
    assert status == 200
    assert "meta" not in body  # no row count: page until a short page
    times = [r["tstamp"] for r in body["opens"]]
    assert times == sorted(times, reverse=True)  # the last open first
    assert len({r["contact"] for r in body["opens"]}) == len(body["opens"])  # one row per contact
    assert call(sb, "GET", f"campaigns/{camp}/opens", {"limit": "1001"})[0] == 422
    assert call(sb, "GET", f"campaigns/{camp}/opens", {"limit": "-1"})[0] == 422
    status, body = call(sb, "GET", "campaigns/999/opens")
    assert (status, body) == (404, {"message": "No Result found for Campaign with id 999"})


def test_link_clicks_report_flags_bot_clicks_and_counts_them_on_request() -> None:
    sb, _, _ = sandbox_and_client(contacts=120, rate=None)
    acct = sb.account
    camp = max(acct.campaigns)
    link = content_links(sb, camp)[0]
    acct.add_hit(4, link, NOW, bot=True)
    _, with_bots = call(sb, "GET", f"campaigns/{camp}/linkClicks")
    _, without = call(sb, "GET", f"campaigns/{camp}/linkClicks", {"includeBotClicks": "false"})
    row = next(r for r in with_bots["links"] if r["id"] == str(link))
    assert {"contact": "4", "is_bot": "1"}.items() <= next(
        i for i in row["info"] if i["contact"] == "4"
    ).items()
    other = next(r for r in without["links"] if r["id"] == str(link))
    assert int(other["a_total"]) < int(row["a_total"])  # the counts leave bots out…
    assert other["info"] == row["info"]  # …the nested contacts do not (AC's reference)


def test_a_deleted_contacts_tracking_logs_answer_404_as_in_acs_example() -> None:
    sb, _, _ = sandbox_and_client(contacts=30, rate=None)
    sb.account.delete_contact(7)
    status, body = call(sb, "GET", "contacts/7/trackingLogs")
    assert status == 404
    check(sample("acdocs3_GET_contact_trackingLogs_404.json"), body)
    quiet = next(c for c in sb.account.contacts if not sb.account.tracking_logs.get(c))
    check(
        sample("acdocs3_GET_contact_trackingLogs_200_empty.json"),
        call(sb, "GET", f"contacts/{quiet}/trackingLogs")[1],
    )


def test_site_visits_leave_udate_alone_as_contact_112_shows() -> None:
    real = sample("acdocs3_GET_trackingLog_contact_200.json")["contact"]
    assert real["udate"] < "2022-09-27"  # its trackingLogs are of 2022-09-27 (the shared example)
    sb, _, _ = sandbox_and_client(contacts=30, rate=None)
    before = sb.account.contacts[3]["udate"]
    sb.account.add_visit(3, "https://www.example.com/pricing", NOW + timedelta(hours=2))
    assert sb.account.contacts[3]["udate"] == before


# --- choosing the sources ---------------------------------------------------------------------------
def without_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = [r for r in api.COMPILED if r[2] not in ("campaigns/{id}/opens", "campaigns/{id}/linkClicks")]
    monkeypatch.setattr(api, "COMPILED", kept)


def test_probing_chooses_the_reports_and_records_the_choice(tmp_path: Path) -> None:
    _, client, _ = sandbox_and_client(contacts=40, rate=None)
    with Store.open(tmp_path / "a.db") as store:
        backfill(store, client, NOW)
        chosen = sources.stored(store)
    assert {k: c.source for k, c in chosen.items()} == {
        "opens": "v3-report",
        "clicks": "v3-report",
        "tracking": "per-contact",
        "orders": "by-update",
    }
    assert "trackingLogs list (404)" in chosen["tracking"].reason


def test_without_the_reports_linkdata_gives_the_same_opens_and_clicks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def events(name: str) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
        _, client, _ = sandbox_and_client(contacts=80, rate=None)
        with Store.open(tmp_path / name) as store:
            backfill(store, client, NOW)
            q = store.conn.execute
            opens = set(q("SELECT contact, campaign FROM events WHERE type = 'open'").fetchall())
            clicks = set(q("SELECT contact, campaign, url FROM events WHERE type = 'click'").fetchall())
            return opens, clicks

    reports = events("r.db")
    without_reports(monkeypatch)
    linkdata = events("l.db")
    assert reports == linkdata
    assert len(reports[0]) > 100


def test_backfill_keeps_acs_bot_flag_and_rules_can_leave_bot_clicks_out(tmp_path: Path) -> None:
    sb, client, _ = sandbox_and_client(contacts=150, rate=None)
    acct = sb.account
    flagged = {
        (h["contact"], acct.links[i]["campaignid"], acct.links[i]["link"])
        for i, hits in acct.link_data.items()
        for h in hits
        if h["id"] in acct.bot_hits
    }
    assert flagged
    with Store.open(tmp_path / "b.db") as store:
        backfill(store, client, NOW)
        bots = store.conn.execute(
            "SELECT c.ac_id, e.campaign, e.url FROM events e JOIN contacts c ON c.id = e.contact "
            "WHERE e.type = 'click' AND e.bot = 'yes'"
        ).fetchall()
        kinds = dict(store.conn.execute("SELECT bot, count(*) FROM events WHERE type = 'click' GROUP BY bot"))
    assert set(bots) == flagged
    assert kinds.keys() == {"yes", "no"}
    no_bots = Match({"bot": "[!y]*"})
    click = build_event("click", NOW, "5", None, {"campaign": "1", "url": "https://x/"})
    assert no_bots(click)  # a webhook's click: unknown, kept
    assert no_bots(click._replace(bot="no"))
    assert not no_bots(click._replace(bot="yes"))


# --- deleted contacts ------------------------------------------------------------------------------------
def test_a_contact_deleted_in_ac_does_not_stop_a_backfill(tmp_path: Path) -> None:
    sb, client, _ = sandbox_and_client(contacts=60, rate=None)
    with Store.open(tmp_path / "d.db") as store:
        backfill(store, client, NOW)
        sb.account.delete_contact(9)
        sb.account.delete_contact(21)
        again = backfill(store, client, NOW + timedelta(days=1))
        assert again.deleted == 2
        q = store.conn.execute
        assert q("SELECT value FROM cursors WHERE name = 'backfill:phase'").fetchone() == ("done",)
        assert {r[0] for r in q("SELECT ac_id FROM contacts WHERE deleted_in_ac_at IS NOT NULL")} == {
            "9",
            "21",
        }
        assert again.requests["GET contactTags"] >= 1  # orders and tags still pulled
        assert again.requests["GET ecomOrders"] >= 1
        third = backfill(store, client, NOW + timedelta(days=2))
        assert third.requests["GET contacts/{id}/trackingLogs"] == 58  # not asked again


def test_a_404_on_trackinglogs_marks_no_live_contact_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deleted only on proof: the contact's own ``GET /contacts/{id}`` answering 404."""
    sb, client, _ = sandbox_and_client(contacts=30, rate=None)
    pages = client.tracking_log_pages

    def not_found_for_9(contact_id: str) -> Any:
        if contact_id == "9":
            raise AcNotFound("No Result found", method="GET", path="contacts/9/trackingLogs", status=404)
        return pages(contact_id)

    monkeypatch.setattr(client, "tracking_log_pages", not_found_for_9)
    with Store.open(tmp_path / "d.db") as store:
        report = backfill(store, client, NOW)
        assert report.deleted == 0
        q = store.conn.execute
        assert q("SELECT count(*) FROM contacts WHERE deleted_in_ac_at IS NOT NULL").fetchone() == (0,)
        sb.account.delete_contact(9)
        again = backfill(store, client, NOW + timedelta(days=1))
        assert again.deleted == 1
        assert q("SELECT ac_id FROM contacts WHERE deleted_in_ac_at IS NOT NULL").fetchall() == [("9",)]


# --- a sync that costs what changed ------------------------------------------------------------------------
def idle_cost(size: int, tmp_path: Path) -> dict[str, int]:
    sb, client, _ = sandbox_and_client(contacts=size, rate=None)
    with Store.open(tmp_path / f"i{size}.db") as store:
        backfill(store, client, NOW)
        first = sync(store, client, NOW + timedelta(minutes=5))
        sb.account.now = NOW + timedelta(minutes=10)
        second = sync(store, client, NOW + timedelta(minutes=10))
    assert first.new == second.new == 0
    assert second.requests["GET contacts/{id}/trackingLogs"] == 0
    return dict(second.requests)


def test_an_idle_cycle_costs_the_same_at_any_size(tmp_path: Path) -> None:
    small, large = idle_cost(60, tmp_path), idle_cost(400, tmp_path)
    assert sum(small.values()) <= 10
    assert sum(large.values()) <= 10
    assert small == large


def test_a_busy_cycle_reads_what_changed_and_the_sweep_finds_the_visits(tmp_path: Path) -> None:
    sb, client, _ = sandbox_and_client(contacts=200, rate=None)
    acct = sb.account
    with Store.open(tmp_path / "busy.db") as store:
        backfill(store, client, NOW)
        later = NOW + timedelta(minutes=5)
        acct.now = later
        camp = max(acct.campaigns)
        pixel, link = open_pixels(sb, camp)[0], content_links(sb, camp)[0]
        opened = {h["contact"] for i in open_pixels(sb, camp) for h in acct.link_data[i]}
        clicked = {h["contact"] for h in acct.link_data[link]}
        fresh = [c for c in range(1, 201) if str(c) not in opened | clicked][:30]
        for n, cid in enumerate(fresh):
            at = later - timedelta(seconds=n + 1)
            acct.add_hit(cid, pixel, at)
            acct.add_hit(cid, link, at)
            acct.add_visit(cid, "https://www.example.com/pricing", at)
        report = sync(store, client, later, sweep=200)
        assert (report.events["open"], report.events["click"], report.events["site_visit"]) == (30, 30, 30)
        assert report.requests["GET campaigns/{id}/opens"] == 1  # up to 1,000 rows a page
        assert report.requests["GET campaigns/{id}/linkClicks"] == 1
        quiet = sync(store, client, later + timedelta(minutes=5))
        assert quiet.new == 0
        assert sum(quiet.requests.values()) <= 10


def test_the_sweep_revisits_every_contact_within_its_stated_delay(tmp_path: Path) -> None:
    sb, client, _ = sandbox_and_client(contacts=90, rate=None)
    acct = sb.account
    with Store.open(tmp_path / "sw.db") as store:
        backfill(store, client, NOW)
        for cid in range(1, 91):
            acct.add_visit(cid, "https://www.example.com/blog/deliverability", NOW + timedelta(seconds=cid))
        budget, found = 20, 0
        cycles = 90 // (budget // 2)  # the half of the budget that goes round all contacts
        for n in range(cycles):
            report = sync(store, client, NOW + timedelta(minutes=5 * (n + 1)), sweep=budget)
            assert report.swept == budget
            found += report.events["site_visit"]
        assert found == 90


def test_acsyncs_own_writes_are_not_read_back_as_activity(tmp_path: Path) -> None:
    sb, client, _ = sandbox_and_client(contacts=60, rate=None)
    acct = sb.account
    with Store.open(tmp_path / "o.db") as store:
        backfill(store, client, NOW)
        wrote = NOW + timedelta(minutes=1)
        local = dict(store.conn.execute("SELECT ac_id, id FROM contacts"))
        with store.write() as conn:
            for cid in range(1, 41):  # what push records around its writes
                record_own_write(conn, local[str(cid)], wrote, wrote + timedelta(seconds=30))
        for cid in range(1, 41):
            acct.touch(cid, wrote + timedelta(seconds=10))  # the udate the write gave each
        acct.touch(50, wrote + timedelta(seconds=10))  # a change by someone else, at the same time
        acct.now = NOW + timedelta(minutes=5)
        report = sync(store, client, NOW + timedelta(minutes=5))
        assert report.own_writes == 40
        assert report.requests["GET contacts/{id}/trackingLogs"] == 1  # contact 50 only
        acct.touch(3, NOW + timedelta(minutes=7))  # a real change after the write
        again = sync(store, client, NOW + timedelta(minutes=10))
        assert again.requests["GET contacts/{id}/trackingLogs"] == 1


def test_push_records_its_writes_so_the_next_syncs_stay_idle(tmp_path: Path) -> None:
    from tests.test_push import World

    with Store.open(tmp_path / "p.db") as store:
        w = World(store, contacts=60)
        pushed = w.push_until_done()
        assert sum(r.fields for r in pushed) > 10
        later = NOW + timedelta(minutes=5)
        w.sb.account.now = later
        report = sync(store, w.client, later)
        assert report.own_writes >= sum(r.fields for r in pushed) - 5
        assert report.requests["GET contacts/{id}/trackingLogs"] == 0
        assert sum(report.requests.values()) <= 10


def test_sandbox_time_helper() -> None:
    assert ac_time(NOW).endswith("-05:00")


# --- acsync doctor ----------------------------------------------------------------------------------------
def test_doctor_probes_chooses_estimates_and_records_redacted_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from acsync.cli import cli
    from acsync.sandbox import seed_account
    from acsync.sandbox.server import serve_sandbox
    from tests.conftest import ROOT

    secret = "doctor-test-token-5f3a9c"
    sb = Sandbox(seed_account(50, 2, NOW), rate_limit=None, token=secret)
    sb.account.contacts[1]["ip"] = "198.51.100.23"
    hook_secret = "webhook-secret-of-the-doctor-0123"
    old_secret = "an-older-deployments-secret-77"  # registered in AC, known to nobody here
    for n, path_secret in enumerate((hook_secret, old_secret)):
        sb.account.webhooks[900 + n] = {
            "id": str(900 + n),
            "name": f"acsync {n}",
            "url": f"https://acsync.example.com/webhooks/activecampaign/{path_secret}",
            "events": ["open"],
            "sources": ["public"],
        }
    with serve_sandbox(sb) as server:
        monkeypatch.setenv("ACSYNC_ACTIVECAMPAIGN__URL", server.url)
        monkeypatch.setenv("ACSYNC_ACTIVECAMPAIGN__API_TOKEN", secret)
        monkeypatch.setenv("ACSYNC_WEBHOOK__TOKEN", hook_secret)
        args = ["--config", str(ROOT / "config.example.toml"), "--db", str(tmp_path / "d.db"), "doctor"]
        result = CliRunner().invoke(cli, [*args, "--record", str(tmp_path / "rec")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    for words in ("campaigns/{id}/opens", "v3-report", "orders[updated_date]", "backfill", "contacts 50"):
        assert words in out
    with Store.open(tmp_path / "d.db") as store:
        assert sources.stored(store)["clicks"].source == "v3-report"  # recorded for backfill and sync
    files = sorted((tmp_path / "rec").glob("*.json"))
    assert len(files) >= 12
    text = "".join(f.read_text() for f in files)
    for secretly in ("@example.com", secret, "198.51.100.23", hook_secret, old_secret):
        assert secretly not in text
    assert "/webhooks/activecampaign/<webhook token>" in text
    assert '"firstName": "<redacted>"' in text
    contacts = json.loads(next(f for f in files if f.name.endswith("_contacts.json")).read_text())
    assert (contacts["status"], contacts["answer"]["meta"]["total"]) == ("200", "50")


def test_doctor_without_a_report_endpoint_says_why_it_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from acsync.config import ActiveCampaignConfig
    from acsync.jobs.doctor import diagnose

    without_reports(monkeypatch)
    _, client, _ = sandbox_and_client(contacts=40, rate=None)
    with Store.open(tmp_path / "f.db") as store:
        d = diagnose(store, client, NOW, ActiveCampaignConfig(), 300)
    assert d.choices["opens"].source == "linkdata"
    assert "campaigns/{id}/opens: 404" in d.choices["opens"].reason
    assert d.counts["contacts"] == 40


def test_orders_are_read_by_update_time_until_the_cursor(tmp_path: Path) -> None:
    sb, client, _ = sandbox_and_client(contacts=60, rate=None)
    acct = sb.account
    for k in range(250):  # old orders: three pages of them
        acct.add_order(acct.contacts[1 + k % 60]["email"], 1000 + k, NOW - timedelta(days=40, hours=k))
    with Store.open(tmp_path / "o.db") as store:
        backfill(store, client, NOW)
        later = NOW + timedelta(minutes=5)
        changed = acct.orders[max(acct.orders) - 7]
        changed["updatedDate"] = ac_time(later - timedelta(minutes=1))  # e.g. a state change
        report = sync(store, client, later)
        assert report.requests["GET ecomOrders"] == 1  # the newest first: the first page passes the cursor
        with store.write() as conn:  # an account where AC ignored the order: every page, each cycle
            conn.execute("UPDATE pull_sources SET source = 'full' WHERE phase = 'orders'")
        full = sync(store, client, later + timedelta(minutes=5))
        assert full.requests["GET ecomOrders"] == len(acct.orders) // 100 + 1
