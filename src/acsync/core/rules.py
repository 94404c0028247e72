"""The ruleset: plain data built from the config, and event matching.

A rule matches an event when the event's type is in ``on`` and every filter holds: strings are
shell-style globs (``*``, ``?``, ``[…]``), case-insensitive; ``min_value`` compares ``value``.
A ``url`` glob is matched part by part (``UrlGlob``): a ``*`` in the host stays in the host.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import unquote, urlsplit

from acsync.core.durations import Duration
from acsync.core.event import Event


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern), re.IGNORECASE)


_DEFAULT_PORTS = {"http": 80, "https": 443}


_SPECIAL = {"http", "https", "ws", "wss", "ftp"}  # WHATWG's special schemes: ``\`` is ``/`` there
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_C0_OR_SPACE = "".join(map(chr, range(33)))
_FORBIDDEN_IN_HOST = re.compile(r"[\x00-\x20/\\@:?#%<>\[\]^|]")
_DOT, _DOTDOT = {".", "%2e"}, {"..", ".%2e", "%2e.", "%2e%2e"}


def url_parts(url: str) -> tuple[str, str, str, str] | None:
    """(scheme, host[:port], path, query) of an absolute URL as a browser reads it (WHATWG):
    tabs and newlines removed, a backslash read as ``/`` in http(s), the host percent-decoded and
    without a final dot, dot segments (``%2e`` too) resolved; lower-cased where URLs are
    case-blind, the default port dropped, an empty path read as ``/``. None: not such a URL."""
    text = _TAB_OR_NEWLINE.sub("", url).strip(_C0_OR_SPACE)
    if "://" not in text.replace("\\", "/"):
        return None
    if text.split(":", 1)[0].lower() in _SPECIAL:
        text = text.replace("\\", "/")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme in _SPECIAL:  # a browser decodes the host and drops its final dot: the same site
        host = unquote(host).lower().removesuffix(".")
        if _FORBIDDEN_IN_HOST.search(host):  # good.com%2fevil.com: a browser refuses the URL
            return None
    if not scheme or not host:
        return None
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return scheme, host, _resolved(parts.path), parts.query


def _resolved(path: str) -> str:
    """``/blog/%2e%2e/pricing`` → ``/pricing``: the path a browser requests."""
    out: list[str] = []
    segments = path.split("/")[1:] if path.startswith("/") else path.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment.lower() in _DOT:
            if last:
                out.append("")
        elif segment.lower() in _DOTDOT:
            if out:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(segment)
    return "/" + "/".join(out)


class UrlGlob:
    """A ``match.url`` glob that means what it says.

    With ``://`` the pattern is matched part by part: scheme, host (with its port), path, and
    the query only when the pattern has one (from its first ``?``); never the fragment. In each
    part ``*`` runs only within that part (in the path it crosses ``/``). A host starting with
    ``*.`` is that domain or any subdomain of it. A pattern without a path accepts any path.
    Without ``://`` (``*/blog/*``) the glob is matched against the URL up to its query (the whole
    URL when the pattern has a ``?``).
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.parts: tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str] | None, re.Pattern[str] | None]
        self.plain: re.Pattern[str] | None = None
        if "://" not in pattern:
            self.plain = _glob(pattern)
            self.whole = "?" in pattern
            return
        scheme, rest = pattern.split("://", 1)
        rest, query = rest.split("?", 1) if "?" in rest else (rest, None)
        rest = rest.split("#", 1)[0]
        host, path = (rest.split("/", 1)[0], "/" + rest.split("/", 1)[1]) if "/" in rest else (rest, None)
        if host.startswith("*."):  # the domain itself or any subdomain
            host_re = re.compile(r"(?:[^/?#@]*\.)?" + fnmatch.translate(host[2:]), re.IGNORECASE)
        else:
            host_re = _glob(host)
        self.parts = (
            _glob(scheme),
            host_re,
            None if path is None else _glob(path),
            None if query is None else _glob(query.split("#", 1)[0]),
        )

    def __call__(self, url: str) -> bool:
        if self.plain is not None:
            subject = url if self.whole else url.split("#", 1)[0].split("?", 1)[0]
            return self.plain.match(subject) is not None
        got = url_parts(url)
        if got is None:
            return False
        scheme, host, path, query = got
        scheme_re, host_re, path_re, query_re = self.parts
        return (
            scheme_re.match(scheme) is not None
            and host_re.match(host) is not None
            and (path_re is None or path_re.match(path) is not None)
            and (query_re is None or query_re.match(query) is not None)
        )


class PlainGlob:
    """Any other attribute: one case-insensitive shell glob over the whole value."""

    def __init__(self, pattern: str) -> None:
        self.regex = _glob(pattern)

    def __call__(self, value: str) -> bool:
        return self.regex.match(value) is not None


def _matcher(attr: str, glob: str) -> Callable[[str], bool]:
    return UrlGlob(glob) if attr == "url" else PlainGlob(glob)


@dataclass(frozen=True)
class Match:
    """Filters on an event's attributes. Empty matches everything."""

    globs: Mapping[str, str] = field(default_factory=dict)
    min_value: float | None = None
    _compiled: tuple[tuple[str, Callable[[str], bool]], ...] = field(init=False, repr=False, compare=False)
    always: bool = field(init=False, repr=False)  # no filters: every event matches

    def __post_init__(self) -> None:
        compiled = tuple((attr, _matcher(attr, glob)) for attr, glob in sorted(self.globs.items()))
        object.__setattr__(self, "_compiled", compiled)
        object.__setattr__(self, "always", not compiled and self.min_value is None)

    def accepts(self, attr: str, value: str) -> bool:
        """Does ``value`` pass this match's glob for ``attr`` (True when it has none)?"""
        return all(matches(value) for a, matches in self._compiled if a == attr)

    def __call__(self, e: Event) -> bool:
        for attr, matches in self._compiled:
            v = getattr(e, attr)
            if v is None and attr == "bot":
                v = "unknown"  # a click AC said nothing about (a webhook's)
            if v is None or not matches(v):
                return False
        if self.min_value is not None:
            return e.value is not None and e.value >= self.min_value
        return True


@dataclass(frozen=True)
class Rule:
    """Points for each matching event, within the limits."""

    name: str
    score: str
    on: frozenset[str]
    points: float
    match: Match = field(default_factory=Match)
    once: bool = False
    once_per: str | None = None
    max_count: int | None = None
    max_within: Duration | None = None
    expires_after: Duration | None = None
    half_life: timedelta | None = None
    limited: bool = field(init=False, repr=False, compare=False)  # once, once_per or max
    half_life_s: float | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "limited", bool(self.once or self.once_per or self.max_count))
        object.__setattr__(self, "half_life_s", self.half_life.total_seconds() if self.half_life else None)


@dataclass(frozen=True)
class Inactivity:
    """An episode starts ``for_`` after the last qualifying activity (or first known) and
    ends at the next one; it applies ``points`` or a reset, and wants ``tag`` while open."""

    name: str
    score: str
    without: frozenset[str]
    for_: Duration
    match: Match = field(default_factory=Match)
    tag: str | None = None
    points: float = 0.0
    penalty_lasts: Duration | None = None
    reset: bool = False
    reset_dynamic_only: bool = False  # the reset wipes only entries with an expiry or a half-life


@dataclass(frozen=True)
class Threshold:
    """``tag`` is wanted from when the score reaches ``at_least`` until it drops below
    ``release_below``."""

    name: str
    score: str
    at_least: float
    release_below: float
    tag: str


@dataclass(frozen=True)
class ScoreDef:
    name: str
    field: str | None = None
    floor: float | None = None
    cap: float | None = None
    segment_field: str | None = None
    reason_field: str | None = None  # a text field: what makes up the score, in words
    next_segment_field: str | None = None  # a number field: points still needed to the next segment


@dataclass(frozen=True)
class Segment:
    name: str
    min: float
    score: str


@dataclass(frozen=True)
class ContentType:
    name: str
    on: frozenset[str]
    match: Match = field(default_factory=Match)

    def __call__(self, e: Event) -> bool:
        return (not self.on or e.type in self.on) and self.match(e)


@dataclass(frozen=True)
class Fingerprints:
    """Hashes of what ledgers, and scores, depend on: a change means recomputing them."""

    ledger: str
    scores: str


@dataclass(frozen=True)
class Ruleset:
    scores: tuple[ScoreDef, ...]
    rules: tuple[Rule, ...] = ()
    inactivity: tuple[Inactivity, ...] = ()
    thresholds: tuple[Threshold, ...] = ()
    segments: tuple[Segment, ...] = ()
    content: tuple[ContentType, ...] = ()
    rules_by_type: Mapping[str, tuple[Rule, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        by_type: dict[str, list[Rule]] = {}
        for rule in self.rules:
            for t in sorted(rule.on):
                by_type.setdefault(t, []).append(rule)
        object.__setattr__(self, "rules_by_type", {t: tuple(r) for t, r in by_type.items()})

    def segment_of(self, score: str, value: int) -> str | None:
        """The band with the highest ``min`` at or below ``value``."""
        best: Segment | None = None
        for seg in self.segments:
            if seg.score == score and seg.min <= value and (best is None or seg.min > best.min):
                best = seg
        return None if best is None else best.name

    @property
    def tags(self) -> frozenset[str]:
        """Every tag this ruleset may want: acsync owns exactly these."""
        names = {r.tag for r in self.inactivity if r.tag} | {t.tag for t in self.thresholds}
        return frozenset(names)
