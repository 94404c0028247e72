"""The keys of AC's answers that the sandbox's records do not model, filled in on the way out.

AC's campaign answer has some eighty keys (``acdocs3_GET_campaigns_200.json``); the sandbox's
records keep the ones acsync or its tests read, and these defaults (AC's example values for a
plain campaign, counters as strings) complete the answer, so its shape is AC's.
"""

from __future__ import annotations

from typing import Any

CAMPAIGN_DEFAULTS: dict[str, Any] = {
    "segmentid": "0",
    "bounceid": "-1",
    "realcid": "0",
    "sendid": "0",
    "threadid": "0",
    "seriesid": "0",
    "formid": "1",
    "basetemplateid": "90a1d1ab6ad33e95708caf6472dc1724f698c694",
    "basemessageid": "0",
    "addressid": "0",
    "source": "web",
    "send_amt": "0",
    "total_amt": "0",
    "opens": "0",
    "uniqueopens": "0",
    "linkclicks": "0",
    "uniquelinkclicks": "0",
    "subscriberclicks": "0",
    "forwards": "0",
    "uniqueforwards": "0",
    "hardbounces": "0",
    "softbounces": "0",
    "unsubscribes": "0",
    "unsubreasons": "0",
    "updates": "0",
    "socialshares": "0",
    "replies": "0",
    "uniquereplies": "0",
    "public": "1",
    "mail_transfer": "0",
    "mail_send": "0",
    "mail_cleanup": "0",
    "mailer_log_file": "0",
    "tracklinks": "all",
    "tracklinksanalytics": "0",
    "trackreads": "1",
    "trackreadsanalytics": "1",
    "analytics_campaign_name": "",
    "tweet": "0",
    "facebook": "0",
    "survey": "",
    "embed_images": "0",
    "htmlunsub": "0",
    "textunsub": "0",
    "htmlunsubdata": None,
    "textunsubdata": None,
    "recurring": "day1",
    "willrecur": "0",
    "split_type": "even",
    "split_content": "0",
    "split_offset": "2",
    "split_offset_type": "day",
    "split_winner_messageid": "0",
    "split_winner_awaiting": "0",
    "responder_offset": "0",
    "responder_type": "subscribe",
    "responder_existing": "0",
    "reminder_field": "sdate",
    "reminder_format": None,
    "reminder_type": "month_day",
    "reminder_offset": "0",
    "reminder_offset_type": "day",
    "reminder_offset_sign": "+",
    "reminder_last_cron_run": None,
    "activerss_interval": "day1",
    "activerss_url": None,
    "activerss_items": "10",
    "ip4": "643992596",
    "laststep": "designer",
    "managetext": "0",
    "schedule": "0",
    "scheduleddate": None,
    "waitpreview": "0",
    "deletestamp": None,
    "replysys": "0",
}
CAMPAIGN_LINKS = ("user", "automation", "campaignMessage", "campaignMessages", "links", "campaignLists")


def campaign(c: dict[str, Any]) -> dict[str, Any]:
    """A campaign record as AC answers it: every key of AC's example, the record's values first."""
    base = f"https://sandbox/api/3/campaigns/{c['id']}"
    links = {name: f"{base}/{name}" for name in CAMPAIGN_LINKS} | c.get("links", {})
    return {**CAMPAIGN_DEFAULTS, **c, "links": links, "user": c.get("userid", "1"), "automation": None}


def link(rec: dict[str, Any]) -> dict[str, Any]:
    """A campaign link as AC answers it: its ``links`` name the campaign and the message."""
    links = {"message": f"https://sandbox/api/3/links/{rec['id']}/message"} | rec.get("links", {})
    return {**rec, "links": links}
