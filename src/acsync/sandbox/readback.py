"""Reading the sandbox back: does the fake AC hold exactly what acsync wants it to hold?

Both sides in one shape, per AC contact id: ``{field title: value, "tag <name>": "on"}``, with
only the fields and tags acsync owns. The demo's final check and the tests' use the same
comparison.
"""

from __future__ import annotations

import sqlite3

from acsync.config import Settings
from acsync.sandbox.state import Account

State = dict[str, dict[str, str]]


def ac_holds(acct: Account, settings: Settings) -> State:
    """What the account holds, for every live contact holding anything acsync owns."""
    titles = {t for s in settings.scores for t in (s.field, s.segment_field) if t}
    owned = settings.ruleset().tags
    with acct.lock:
        fields = {f["id"]: f["title"] for f in acct.fields.values() if f["title"] in titles}
        out: State = {}
        for cid in acct.contacts:
            if cid in acct.deleted:
                continue
            row = {
                fields[fv["field"]]: fv["value"]
                for fv in acct.field_values.get(cid, {}).values()
                if fv["field"] in fields
            }
            row.update({f"tag {t}": "on" for t in acct.tags_of(cid) if t in owned})
            if row:
                out[str(cid)] = row
    return out


def acsync_wants(conn: sqlite3.Connection, settings: Settings) -> State:
    """The local desired state of every scored contact AC has not deleted."""
    fields = {s.name: (s.field, s.segment_field) for s in settings.scores}
    out: State = {}
    for ac_id, name, rounded, segment in conn.execute(
        "SELECT c.ac_id, s.score, s.rounded, s.segment FROM scores s JOIN contacts c ON c.id = s.contact "
        "WHERE c.ac_id IS NOT NULL AND c.deleted_in_ac_at IS NULL"
    ):
        field, segment_field = fields.get(name, (None, None))
        row = out.setdefault(ac_id, {})
        if field:
            row[field] = str(rounded)
        if segment_field:
            row[segment_field] = segment or ""
    for ac_id, tag in conn.execute(
        "SELECT c.ac_id, t.tag FROM tag_state t JOIN contacts c ON c.id = t.contact "
        "WHERE c.ac_id IS NOT NULL AND c.deleted_in_ac_at IS NULL"
    ):
        out.setdefault(ac_id, {})[f"tag {tag}"] = "on"
    return {k: v for k, v in out.items() if v}


def mismatches(conn: sqlite3.Connection, acct: Account, settings: Settings) -> list[str]:
    """One line per contact whose AC state differs from the local desired state."""
    have, want = ac_holds(acct, settings), acsync_wants(conn, settings)
    return [
        f"contact {k}: AC has {have.get(k, {})}, acsync wants {want.get(k, {})}"
        for k in sorted(have.keys() | want.keys(), key=int)
        if have.get(k, {}) != want.get(k, {})
    ]
