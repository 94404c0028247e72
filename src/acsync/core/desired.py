"""What acsync wants ActiveCampaign to hold for a contact, and what must change to get there.

A contact's *desired* AC state is a mapping ``(kind, name) → value``: ``("field", title)`` → the
text AC gets (a rounded score, a segment's name, the score's make-up in words, the points to the
next segment), and ``("tag", name)`` → ``"add"`` for every
wanted tag. Only what acsync owns appears: the fields its scores name and the tags its rules
set. The *known* state (``ac_state``) has the same form: what acsync last wrote, or saw, in AC.

``diff`` turns the two into changes: a field whose value differs is set, a wanted tag AC lacks
is added (``"add"``), an owned tag AC holds that is no longer wanted is removed (``"remove"``).
A field acsync no longer writes (its score was removed from the config) is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from acsync.core.rules import Ruleset

Key = tuple[str, str]  # (field | tag, name)
State = dict[Key, str]
ADD, REMOVE = "add", "remove"


@dataclass(frozen=True)
class Target:
    """What a ruleset writes: ``fields`` as (field title, score, what) with what = value | segment
    | reason | to_next (the last two as computed by ``core.reasons.fields_of``)."""

    fields: tuple[tuple[str, str, str], ...]
    tags: frozenset[str]

    @classmethod
    def of(cls, ruleset: Ruleset) -> Target:
        fields: list[tuple[str, str, str]] = []
        for s in ruleset.scores:
            if s.field:
                fields.append((s.field, s.name, "value"))
            if s.segment_field:
                fields.append((s.segment_field, s.name, "segment"))
            if s.reason_field:
                fields.append((s.reason_field, s.name, "reason"))
            if s.next_segment_field:
                fields.append((s.next_segment_field, s.name, "to_next"))
        return cls(tuple(fields), ruleset.tags)


def desired(
    target: Target,
    rounded: Mapping[str, int],
    segments: Mapping[str, str | None],
    tags: Mapping[str, object] | frozenset[str],
    texts: Mapping[str, str] | None = None,
) -> State:
    """A contact's desired AC state from its evaluated scores and wanted tags; ``texts``: the
    reason and next-segment fields' values by field title (``core.reasons.fields_of``)."""
    out: State = {}
    for title, score, what in target.fields:
        if what == "value":
            out[("field", title)] = str(rounded.get(score, 0))
        elif what == "segment":
            out[("field", title)] = segments.get(score) or ""
        elif texts is not None and title in texts:
            out[("field", title)] = texts[title]
    for tag in target.tags:
        if tag in tags:
            out[("tag", tag)] = ADD
    return out


def diff(target: Target, want: State, known: Mapping[Key, str]) -> State:
    """The changes that take AC from ``known`` to ``want``: ``key → value | "add" | "remove"``."""
    changes = {key: value for key, value in want.items() if known.get(key) != value}
    for key in known:
        if key[0] == "tag" and key[1] in target.tags and key not in want:
            changes[key] = REMOVE
    return changes
