"""What makes up a score, in a few words for AC's contact page, and the points to the next segment.

``summary`` groups the entries that count at ``t`` by rule, largest share first:
``3× E-mail open +15 · Website visit +10 until 2 Mar · No opens in 60 days −50``, then the
reset that wiped older points and the floor or cap when they change the total. It is bounded to
``MAX_CHARS`` (what an AC text field holds is not documented; 255 is the common bound of a
one-line text input), dropping the smallest parts first and saying how many rules were left out
(``and 2 more rules``), and shortening the name of a rule too long to fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from acsync.core.ledger import AWARD, PENALTY, RESET, Entry
from acsync.core.rules import Ruleset, ScoreDef
from acsync.core.scoring import clamp, contributions, raw_score, round_score

MAX_CHARS = 255
SEP = " · "
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day(d: datetime, t: datetime) -> str:
    """``2 Mar``, with the year when it is not ``t``'s."""
    text = f"{d.day} {_MONTHS[d.month - 1]}"
    return text if d.year == t.year else f"{text} {d.year}"


def _points(x: float) -> str:
    r = round_score(x)
    return f"+{r}" if r >= 0 else f"−{-r}"


def summary(entries: Sequence[Entry], sdef: ScoreDef, t: datetime, limit: int = MAX_CHARS) -> str:
    """The score's make-up at ``t`` in plain words, at most ``limit`` characters."""
    groups: dict[str, list[tuple[Entry, float]]] = {}
    reset: Entry | None = None
    for e, (counts, value) in zip(entries, contributions(entries, t), strict=True):
        if e.kind == RESET and e.awarded_at <= t and (reset is None or e.awarded_at > reset.awarded_at):
            reset = e
        if counts and e.kind in (AWARD, PENALTY) and e.points:
            groups.setdefault(e.rule, []).append((e, value))
    parts: list[tuple[float, str, str]] = []  # (weight, the rule as named, what follows it)
    for rule, items in groups.items():
        total = sum(v for _, v in items)
        if round_score(total) == 0:
            continue
        name, rest = (rule if len(items) == 1 else f"{len(items)}× {rule}"), f" {_points(total)}"
        expiries = [e.expires_at for e, _ in items if e.expires_at is not None]
        if len(items) == 1 and expiries and items[0][0].kind == AWARD:
            rest += f" until {day(expiries[0], t)}"
        elif any(e.half_life for e, _ in items):
            rest += " (fading)"
        parts.append((abs(total), name, rest))
    parts.sort(key=lambda p: (-p[0], p[1]))  # largest first; ties by name, whatever the entry order
    texts = [(name, rest) for _, name, rest in parts]
    tail: list[str] = []
    if reset is not None:
        tail.append(f"reset {day(reset.awarded_at, t)} ({reset.rule})")
    raw = raw_score(entries, t)
    if sdef.floor is not None and raw < sdef.floor:
        tail.append(f"floor {sdef.floor:g}")
    if sdef.cap is not None and raw > sdef.cap:
        tail.append(f"cap {sdef.cap:g}")
    if not texts and not tail:
        return "no points yet"
    return _bounded(texts, tail, limit)


def _bounded(texts: list[tuple[str, str]], tail: list[str], limit: int) -> str:
    """Join, dropping the smallest parts (the last of ``texts``) until it fits, saying how many
    rules were left out; the largest part stays, its rule's name shortened if need be."""
    kept = list(texts)
    while True:
        more = len(texts) - len(kept)
        extra = [f"and {more} more {'rule' if more == 1 else 'rules'}"] if more else []
        line = SEP.join([*(n + r for n, r in kept), *extra, *tail])
        if len(line) <= limit:
            return line
        if len(kept) == 1:  # the largest part alone is too long: shorten its rule's name
            name, rest = kept[0]
            room = len(name) - (len(line) - limit) - 1
            if room >= 1:
                return SEP.join([f"{name[:room]}…{rest}", *extra, *tail])
            return line[: limit - 1] + "…"
        if not kept:
            return line[: limit - 1] + "…"
        kept.pop()


def to_next_segment(ruleset: Ruleset, sdef: ScoreDef, rounded: int) -> int:
    """Whole points the rounded score still needs to reach the next segment up (0 at the top)."""
    higher = [s.min for s in ruleset.segments if s.score == sdef.name and s.min > rounded]
    if not higher:
        return 0
    need = min(higher)
    whole = int(need) if float(need).is_integer() else int(need) + 1  # the rounded score must reach it
    return max(0, whole - rounded)


def fields_of(
    ruleset: Ruleset, entries: Sequence[Entry], t: datetime, rounded: dict[str, int]
) -> dict[str, str]:
    """Each score's ``reason_field`` and ``next_segment_field`` text at ``t`` (only those set)."""
    out: dict[str, str] = {}
    for sdef in ruleset.scores:
        if not (sdef.reason_field or sdef.next_segment_field):
            continue
        mine = entries if len(ruleset.scores) == 1 else [e for e in entries if e.score == sdef.name]
        if sdef.reason_field:
            out[sdef.reason_field] = summary(mine, sdef, t)
        if sdef.next_segment_field:
            value = rounded.get(sdef.name, round_score(clamp(0.0, sdef)))
            out[sdef.next_segment_field] = str(to_next_segment(ruleset, sdef, value))
    return out
