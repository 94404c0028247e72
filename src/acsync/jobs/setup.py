"""``acsync setup``: find or create, in ActiveCampaign, the custom fields and tags acsync owns.

The fields are each score's ``field`` (a number field), its optional ``segment_field`` and
``reason_field`` (text fields) and ``next_segment_field`` (a number field); the tags are every
inactivity and threshold tag. Their AC ids are kept in ``ac_ids``. Idempotent: what exists is
found (by exact title or name) and reused, never duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass

from acsync.ac.client import AcClient
from acsync.config import Settings
from acsync.store import Store


@dataclass(frozen=True)
class Wanted:
    kind: str  # field or tag
    name: str
    field_type: str = ""  # for fields: number or text


def wanted(settings: Settings) -> list[Wanted]:
    out = []
    for s in settings.scores:
        if s.field:
            out.append(Wanted("field", s.field, "number"))
        if s.segment_field:
            out.append(Wanted("field", s.segment_field, "text"))
        if s.reason_field:
            out.append(Wanted("field", s.reason_field, "text"))
        if s.next_segment_field:
            out.append(Wanted("field", s.next_segment_field, "number"))
    out += [Wanted("tag", name) for name in sorted(settings.ruleset().tags)]
    return out


def setup(store: Store | None, client: AcClient, settings: Settings, *, dry_run: bool) -> list[str]:
    """What was found, created or (``dry_run``) would be created, one line each."""
    plan = wanted(settings)
    fields = {}
    if any(w.kind == "field" for w in plan):
        fields = {str(f.get("title", "")).lower(): f for page in client.field_pages() for f in page}
    lines: list[str] = []
    found: list[tuple[str, str, str]] = []
    for w in plan:
        existing = fields.get(w.name.lower()) if w.kind == "field" else client.find_tag(w.name)
        what = f"{w.name!r}" + (f" ({w.field_type})" if w.field_type else "")
        if existing is not None:
            lines.append(f"{w.kind}: found {w.name!r} (#{existing['id']})")
        elif dry_run:
            lines.append(f"{w.kind}: would create {what}")
            continue
        else:
            existing = (
                client.create_field(w.name, w.field_type, "written by acsync")
                if w.kind == "field"
                else client.create_tag(w.name, "set and removed by acsync")
            )
            lines.append(f"{w.kind}: created {what} (#{existing['id']})")
        found.append((w.kind, w.name, str(existing["id"])))
    if store is not None and not dry_run:
        with store.write() as conn:
            conn.executemany(
                "INSERT INTO ac_ids (kind, name, ac_id) VALUES (?, ?, ?) "
                "ON CONFLICT(kind, name) DO UPDATE SET ac_id = excluded.ac_id",
                found,
            )
    return lines
