"""From one contact's events to its ledger: every award, penalty and reset, with its expiry.

The ledger is a pure function of (events, ruleset, when the contact was first known): it does
not depend on when scoring runs. Inactivity episodes that have not started yet are in it too,
dated in the future, so a score at any instant is read off the ledger alone (``scoring``).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from acsync.core.event import Event
from acsync.core.rules import Inactivity, Ruleset

AWARD, PENALTY, RESET, FLAG = "award", "penalty", "reset", "flag"
EPISODE = "episode"  # the ref of inactivity entries: (rule, ref, awarded_at) is unique
DYNAMIC_RESET = "episode:dynamic"  # the ref of a reset that wipes only dynamic points


def wipes(reset: Entry, e: Entry) -> bool:
    """Does the reset ``reset`` wipe ``e``: awarded before it and, for a dynamic-only reset
    (``reset = "dynamic"``), an entry that expires or decays? Static points survive that one."""
    if e.awarded_at >= reset.awarded_at:
        return False
    return reset.ref != DYNAMIC_RESET or e.expires_at is not None or bool(e.half_life)


class Entry(NamedTuple):
    score: str
    rule: str
    kind: str  # award | penalty | reset | flag (an inactivity episode that only tags)
    ref: str  # the event key (awards) or "episode"; unique per rule with awarded_at
    points: float
    awarded_at: datetime
    expires_at: datetime | None  # the entry counts on [awarded_at, expires_at)
    half_life: float | None  # seconds
    event: str | None  # the event key behind an award
    tag: str | None  # an episode's tag
    ends_at: datetime | None  # when an episode ends (None: still open)

    def counts(self, t: datetime) -> bool:
        return self.awarded_at <= t and (self.expires_at is None or t < self.expires_at)

    def value(self, t: datetime) -> float:
        """What the entry is worth at ``t`` (0 outside its interval), decay applied."""
        if not self.counts(t):
            return 0.0
        if self.half_life:
            return self.points * math.exp2(-(t - self.awarded_at).total_seconds() / self.half_life)
        return self.points


def build_ledger(
    events: Sequence[Event], ruleset: Ruleset, created_at: datetime | None = None
) -> list[Entry]:
    """All entries for one contact. ``events`` must be sorted by (at, key).

    ``created_at`` is when AC created the contact; without it the contact is first known at its
    earliest event.
    """
    entries = awards(events, ruleset)
    first_known = created_at if created_at is not None else (events[0].at if events else None)
    if first_known is not None:
        for rule in ruleset.inactivity:
            entries.extend(episodes(events, rule, first_known))
    return entries


def awards(events: Sequence[Event], ruleset: Ruleset) -> list[Entry]:
    """One entry per matching event, within ``once``, ``once_per`` and ``max`` (in that order).

    An event over a limit gives nothing and uses up nothing. (A hot path: plain loops.)
    """
    out: list[Entry] = []
    once_done: set[str] = set()
    seen: dict[str, set[str | None]] = {}
    windows: dict[str, deque[datetime]] = {}
    by_type = ruleset.rules_by_type
    new = tuple.__new__
    for e in events:
        rules = by_type.get(e.type)
        if not rules:
            continue
        at = e.at
        for r in rules:
            if (r.once and r.name in once_done) or not (r.match.always or r.match(e)):
                continue
            if r.limited:
                per_value = None
                if r.once_per is not None:
                    per_value = getattr(e, r.once_per)
                    if per_value in seen.get(r.name, ()):
                        continue
                window = None
                if r.max_count is not None and r.max_within is not None:
                    window = windows.setdefault(r.name, deque())
                    start = r.max_within.before(at)  # awards in (at - within, at] share a window
                    while window and window[0] <= start:
                        window.popleft()
                    if len(window) >= r.max_count:
                        continue
                if r.once:
                    once_done.add(r.name)
                if r.once_per is not None:
                    seen.setdefault(r.name, set()).add(per_value)
                if window is not None:
                    window.append(at)
            exp = r.expires_after
            expires = None if exp is None else at + exp.fixed if exp.fixed is not None else exp.after(at)
            out.append(
                new(
                    Entry,
                    (r.score, r.name, AWARD, e.key, r.points, at, expires, r.half_life_s, e.key, None, None),
                )
            )
    return out


def episodes(events: Sequence[Event], rule: Inactivity, first_known: datetime) -> list[Entry]:
    """The rule's inactivity episodes, the last one open-ended (possibly in the future).

    An episode starts at ``s = last qualifying activity + for`` (or ``first_known + for``) when
    no qualifying activity falls in ``(last, s]``, and ends at the next qualifying activity.
    An activity at exactly ``s`` keeps the contact active: no zero-length episodes.
    """
    out: list[Entry] = []
    anchor = first_known
    start = rule.for_.after(anchor)
    without, match = rule.without, rule.match
    for e in events:
        if e.type not in without or not (match.always or match(e)):
            continue
        if e.at > start:
            out.append(_episode(rule, start, e.at))
        if e.at > anchor:
            anchor = e.at
            start = rule.for_.after(anchor)
    out.append(_episode(rule, start, None))
    return out


def _episode(rule: Inactivity, start: datetime, end: datetime | None) -> Entry:
    if rule.reset:
        kind, points, expires = RESET, 0.0, None
    elif rule.points:
        kind, points = PENALTY, rule.points
        expires = end if rule.penalty_lasts is None else rule.penalty_lasts.after(start)
    else:
        kind, points, expires = FLAG, 0.0, end
    return Entry(
        rule.score,
        rule.name,
        kind,
        DYNAMIC_RESET if rule.reset and rule.reset_dynamic_only else EPISODE,
        points,
        start,
        expires,
        None,
        None,
        rule.tag,
        end,
    )
