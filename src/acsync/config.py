"""Configuration: one TOML file plus ``ACSYNC_<SECTION>__<KEY>`` environment overrides.

``load_config`` validates everything at once and raises ``ConfigError`` with one line per
problem (its key, the value and what is allowed). Unknown keys are errors: a typo must not
silently disable a rule. ``Settings.ruleset()`` turns the validated config into the core's
plain ``Ruleset``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from datetime import timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    PositiveInt,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from acsync import masking
from acsync.core import rules as core
from acsync.core.durations import Duration, parse_duration
from acsync.core.event import ATTRIBUTES, EVENT_TYPES
from acsync.errors import ConfigError

ENV_PREFIX = "ACSYNC_"
DEFAULT_PATH = "acsync.toml"
SECRETS_DIR_ENV = "ACSYNC_SECRETS_DIR"
DEFAULT_SECRETS_DIR = "/run/secrets"  # where Docker and Kubernetes mount secrets
# Bumped when the same config is read differently (2: URL patterns part by part, exact decay steps;
# 3: URLs read as a browser does, decay steps solved per step): the ledger fingerprint changes, so
# the first `acsync score` after an upgrade rebuilds everything.
ENGINE = 3

# Environment variables of acsync's own that are not config keys.
OWN_ENV = {"ACSYNC_CONFIG", "ACSYNC_DB", SECRETS_DIR_ENV}
# The secrets: only from the environment or a file in the secrets directory, never the config file.
SECRET_ENV = ("ACSYNC_ACTIVECAMPAIGN__API_TOKEN", "ACSYNC_WEBHOOK__TOKEN")

# The environment a validation reads: os.environ unless a caller (a test) passes its own.
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("acsync_environ", default=None)


class _Environment(PydanticBaseSettingsSource):
    """``ACSYNC_<SECTION>__<KEY>`` variables as nested data, through public pydantic-settings API.

    A value is JSON only where the key holds a list or a table (``ACSYNC_WEBHOOK__EVENTS='["open"]'``);
    anything else (a duration, a number, a path) stays text and is validated like the same value in
    the file, so ``ACSYNC_PUSH__RETRY_AFTER=1s`` means what ``retry_after = "1s"`` does.
    """

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ reads every variable at once

    def __call__(self) -> dict[str, Any]:
        environ = _ENVIRON.get()
        return environment_data(os.environ if environ is None else environ)


def environment_data(environ: Mapping[str, str]) -> dict[str, Any]:
    """The config data that ``ACSYNC_*`` variables give (names are case-insensitive)."""
    out: dict[str, Any] = {}
    for name, value in sorted(environ.items()):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in OWN_ENV:
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        if path[0] not in SECTIONS or not all(path):
            continue  # _unknown_env reports it
        node = out
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[path[-1]] = _json_if_structured(path, value)
    return out


def _json_if_structured(path: list[str], value: str) -> Any:
    model: Any = Settings
    annotation: Any = None
    for part in path:
        fields = getattr(model, "model_fields", None)
        field = fields.get(part) if isinstance(fields, dict) else None
        if field is None:
            return value  # an unknown key: pydantic says so, with the allowed ones
        annotation = field.annotation
        model = next(
            (
                a
                for a in (annotation, *get_args(annotation))
                if isinstance(a, type) and issubclass(a, BaseModel)
            ),
            None,
        )
    candidates = (annotation, *get_args(annotation))
    if any(get_origin(a) in (list, dict, tuple, set) or a in (list, dict) for a in candidates) or model:
        try:
            return json.loads(value)
        except ValueError:
            return value  # pydantic reports it as the wrong type, with the key
    return value


DurationField = Annotated[Duration, PlainValidator(parse_duration), PlainSerializer(str)]


def _event_types(value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(x, str) for x in items):
        raise ValueError("expected an event type or a list of them")
    unknown = [x for x in items if x not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event type {unknown[0]!r}; allowed: {', '.join(sorted(EVENT_TYPES))}")
    return items


EventTypes = Annotated[list[str], PlainValidator(_event_types)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ScoreConfig(_Section):
    name: str = Field(min_length=1)
    field: str | None = None
    segment_field: str | None = None
    reason_field: str | None = None
    next_segment_field: str | None = None
    floor: float | None = None
    cap: float | None = None

    @model_validator(mode="after")
    def _range(self) -> ScoreConfig:
        if self.floor is not None and self.cap is not None and self.floor > self.cap:
            raise ValueError(f"floor ({self.floor}) must not be above cap ({self.cap})")
        return self


class MatchConfig(_Section):
    campaign: str | None = None
    url: str | None = None
    tag: str | None = None
    form: str | None = None
    list: str | None = None
    name: str | None = None
    bot: str | None = None  # a click's bot flag: yes, no, unknown
    min_value: float | None = None

    def build(self) -> core.Match:
        globs = {a: getattr(self, a) for a in (*ATTRIBUTES, "bot") if getattr(self, a) is not None}
        return core.Match(globs, self.min_value)


class MaxConfig(_Section):
    count: PositiveInt
    within: DurationField


class RuleConfig(_Section):
    name: str = Field(min_length=1)
    score: str | None = None
    on: EventTypes
    points: float
    match: MatchConfig = MatchConfig()
    once: bool = False
    once_per: Literal["campaign", "url", "tag", "form", "list", "name"] | None = None
    max: MaxConfig | None = None
    expires_after: DurationField | None = None
    half_life: DurationField | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RuleConfig:
        if self.half_life is not None and self.half_life.is_calendar:
            raise ValueError("half_life must be in s, min, h, d or w (a month has no fixed length)")
        if self.once and (self.once_per or self.max):
            raise ValueError("once = true already allows one award ever; drop once_per / max")
        return self


class InactivityConfig(_Section):
    name: str = Field(min_length=1)
    score: str | None = None
    without: EventTypes
    for_: DurationField = Field(alias="for")
    match: MatchConfig = MatchConfig()
    tag: str | None = None
    points: float = 0
    penalty_lasts: DurationField | None = None
    reset: bool | Literal["dynamic"] = False  # "dynamic": wipe only points that expire or decay

    @field_validator("reset", mode="before")
    @classmethod
    def _reset(cls, value: object) -> object:
        """One problem, in words, for anything but true, false or "dynamic" (pydantic would list
        one line per member of the union)."""
        if isinstance(value, bool) or value == "dynamic":
            return value
        raise ValueError(
            f'{value!r} is not a reset: use true (wipe the score), "dynamic" (wipe only the points '
            "that expire or decay) or false"
        )

    @model_validator(mode="after")
    def _consistent(self) -> InactivityConfig:
        if self.reset and self.points:
            raise ValueError(f"choose points (a penalty) or reset = {_toml_value(self.reset)}, not both")
        if self.penalty_lasts is not None and not self.points:
            raise ValueError("penalty_lasts needs points (the penalty)")
        if not (self.reset or self.points or self.tag):
            raise ValueError('an inactivity rule needs points, reset = true (or "dynamic") or a tag')
        return self


def _toml_value(value: bool | str) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else f'"{value}"'


class ThresholdConfig(_Section):
    name: str = Field(min_length=1)
    score: str | None = None
    at_least: float
    release_below: float | None = None
    tag: str = Field(min_length=1)

    @model_validator(mode="after")
    def _hysteresis(self) -> ThresholdConfig:
        if self.release_below is not None and self.release_below > self.at_least:
            raise ValueError(
                f"release_below ({self.release_below}) must not be above at_least ({self.at_least})"
            )
        return self


class SegmentConfig(_Section):
    name: str = Field(min_length=1)
    min: float
    score: str | None = None


class ContentConfig(_Section):
    name: str = Field(min_length=1)
    on: EventTypes | None = None
    match: MatchConfig = MatchConfig()


class ActiveCampaignConfig(_Section):
    url: str | None = None
    api_token: SecretStr | None = None
    requests_per_second: float = Field(default=5.0, gt=0, le=100)
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=6, ge=1, le=20)
    timezone: str = "UTC"  # the account's, for webhook times without an offset

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone_of(value)
        return value.strip()

    @property
    def zone(self) -> tzinfo:
        return zone_of(self.timezone)

    @field_validator("api_token", mode="before")
    @classmethod
    def _trim_token(cls, value: Any) -> Any:
        return _trim_secret(value)

    sweep_share: float = Field(default=0.1, ge=0, le=1, description="of requests_per_second")

    @field_validator("url")
    @classmethod
    def _api_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        url = value.strip().rstrip("/")
        host = urlsplit(url).hostname or ""
        # Plain http only for the sandbox: on this machine, or a container beside it ("sandbox").
        local = url.startswith("http://") and (host in ("127.0.0.1", "localhost", "::1") or "." not in host)
        if not (url.startswith("https://") or local):
            raise ValueError(
                "expected the API URL from AC → Settings → Developer, e.g. https://youraccount.api-us1.com "
                "(https; plain http only for the sandbox, on this machine or a compose service)"
            )
        return url


def _trim_secret(value: Any) -> Any:
    """Secrets lose surrounding spaces (a pasted token, a secrets file's newline): acsync uses and
    masks the same value."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return value.strip() if isinstance(value, str) else value


DEFAULT_WEBHOOK_EVENTS = [
    "subscribe",
    "unsubscribe",
    "open",
    "click",
    "forward",
    "share",
    "bounce",
    "reply",
    "sent",
    "update",
    "contact_tag_added",
    "contact_tag_removed",
]


WebhookSource = Literal["public", "admin", "api", "system"]
WEBHOOK_SOURCES: tuple[WebhookSource, ...] = ("public", "admin", "api", "system")


class WebhookConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535, description="0: any free port")
    threads: int = Field(default=8, ge=1, le=64)
    max_body: int = Field(default=65536, ge=1024, description="bytes")
    token: SecretStr | None = None
    public_url: str | None = None
    events: list[str] = Field(default_factory=lambda: list(DEFAULT_WEBHOOK_EVENTS), min_length=1)
    sources: list[WebhookSource] = Field(default_factory=lambda: list(WEBHOOK_SOURCES), min_length=1)
    stale_after: float = Field(default=900, gt=0, description="seconds an inbox row may wait")

    @field_validator("token", mode="before")
    @classmethod
    def _trim_token(cls, value: Any) -> Any:
        return _trim_secret(value)

    @field_validator("public_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError(
                "expected the https:// address AC will post to (AC sends HTTPS webhooks to port 443 only)"
            )
        return None if value is None else value.rstrip("/")


class StoreConfig(_Section):
    path: str = "acsync.db"
    busy_timeout: float = Field(default=30.0, gt=0, description="seconds to wait for a lock")


class PushConfig(_Section):
    bulk_from: int = Field(default=10, ge=1, description="contacts")
    batch_size: int = Field(default=250, ge=1, le=250, description="contacts")
    seen_within: DurationField = parse_duration("1d")
    max_attempts: int = Field(default=5, ge=1, le=50)
    retry_after: DurationField = parse_duration("1min")
    poll_interval: float = Field(default=2.0, gt=0, description="seconds")
    poll_timeout: float = Field(default=600.0, gt=0, description="seconds")


def zone_of(name: str) -> tzinfo:
    """An IANA time zone by name; ValueError naming what is allowed."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            "expected an IANA time zone name, e.g. UTC, America/Chicago, Europe/Berlin "
            "(the one in AC → Settings → Account → Timezone)"
        ) from None


def _seconds(value: object) -> float:
    """A fixed duration (``"30s"``, ``"5min"``) or a number of seconds, in seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return float(str(value))  # from the environment, numbers arrive as text
    except ValueError:
        pass
    d = parse_duration(value)
    if d.fixed is None:
        raise ValueError("use s, min, h, d or w here: months and years have no fixed length")
    return d.fixed.total_seconds()


Seconds = Annotated[float, PlainValidator(_seconds)]


class ScheduleConfig(_Section):
    ingest: Seconds = 5.0
    sync: Seconds = 300.0
    score: Seconds = 30.0
    score_at_least: Seconds = 3600.0
    push: Seconds = 60.0

    @model_validator(mode="after")
    def _positive(self) -> ScheduleConfig:
        for name in ("ingest", "sync", "score", "score_at_least", "push"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be longer than 0s")
        return self


class MetricsConfig(_Section):
    account: str = Field(default="", description="an `account` label on every metric; empty: none")
    port: int | None = Field(default=None, ge=0, le=65535, description="own port for /metrics")


SECTIONS = (
    "scores",
    "rules",
    "inactivity",
    "thresholds",
    "segments",
    "content",
    "store",
    "activecampaign",
    "webhook",
    "push",
    "schedule",
    "metrics",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    scores: list[ScoreConfig] = [ScoreConfig(name="lead_score", floor=0)]
    rules: list[RuleConfig] = []
    inactivity: list[InactivityConfig] = []
    thresholds: list[ThresholdConfig] = []
    segments: list[SegmentConfig] = []
    content: list[ContentConfig] = []
    store: StoreConfig = StoreConfig()
    activecampaign: ActiveCampaignConfig = ActiveCampaignConfig()
    webhook: WebhookConfig = WebhookConfig()
    push: PushConfig = PushConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    metrics: MetricsConfig = MetricsConfig()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the file, which arrives as init arguments.
        return _Environment(settings_cls), init_settings

    def fingerprints(self) -> core.Fingerprints:
        dump = self.model_dump(mode="json", by_alias=True)
        ledger = {"rules": dump["rules"], "inactivity": dump["inactivity"]}
        ledger["scores"] = [s["name"] for s in dump["scores"]]
        ledger["engine"] = ENGINE  # how rules are read: a new reading rebuilds every ledger once
        scores = {k: dump[k] for k in ("scores", "rules", "inactivity", "thresholds", "segments")}
        return core.Fingerprints(_digest(ledger), _digest(scores))

    def ruleset(self) -> core.Ruleset:
        default = self.scores[0].name

        def sc(name: str | None) -> str:
            return name or default

        return core.Ruleset(
            scores=tuple(
                core.ScoreDef(
                    s.name, s.field, s.floor, s.cap, s.segment_field, s.reason_field, s.next_segment_field
                )
                for s in self.scores
            ),
            rules=tuple(
                core.Rule(
                    name=r.name,
                    score=sc(r.score),
                    on=frozenset(r.on),
                    points=r.points,
                    match=r.match.build(),
                    once=r.once,
                    once_per=r.once_per,
                    max_count=r.max.count if r.max else None,
                    max_within=r.max.within if r.max else None,
                    expires_after=r.expires_after,
                    half_life=_fixed(r.half_life),
                )
                for r in self.rules
            ),
            inactivity=tuple(
                core.Inactivity(
                    name=i.name,
                    score=sc(i.score),
                    without=frozenset(i.without),
                    for_=i.for_,
                    match=i.match.build(),
                    tag=i.tag,
                    points=i.points,
                    penalty_lasts=i.penalty_lasts,
                    reset=bool(i.reset),
                    reset_dynamic_only=i.reset == "dynamic",
                )
                for i in self.inactivity
            ),
            thresholds=tuple(
                core.Threshold(
                    t.name,
                    sc(t.score),
                    t.at_least,
                    t.at_least if t.release_below is None else t.release_below,
                    t.tag,
                )
                for t in self.thresholds
            ),
            segments=tuple(core.Segment(s.name, s.min, sc(s.score)) for s in self.segments),
            content=tuple(
                core.ContentType(c.name, frozenset(c.on or ()), c.match.build()) for c in self.content
            ),
        )


def _digest(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _fixed(d: Duration | None) -> timedelta | None:
    return None if d is None else d.fixed


def config_path(explicit: str | None) -> Path:
    return Path(explicit or os.environ.get("ACSYNC_CONFIG") or DEFAULT_PATH)


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, merge and validate; raise ConfigError listing every problem.

    Precedence: ``ACSYNC_*`` environment variables, then secret files in the secrets directory
    (``$ACSYNC_SECRETS_DIR``, default ``/run/secrets``), then the file.
    """
    environ = os.environ if environ is None else environ
    try:
        found = path.is_file()
    except OSError as e:  # e.g. a directory acsync's user cannot enter
        raise ConfigError(
            f"cannot read {path}",
            [f"{e.strerror}: let acsync's user enter {path.parent} and read the file, or pass --config PATH"],
        ) from None
    if not found:
        raise ConfigError(
            f"no config file at {path}",
            ["copy config.example.toml to acsync.toml and edit it, or pass --config PATH"],
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML", [str(e)]) from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"cannot read {path}", [f"not UTF-8 ({e.reason}): save it as UTF-8"]) from None
    except OSError as e:
        raise ConfigError(
            f"cannot read {path}", [f"{e.strerror}: let acsync's user read it, or pass --config PATH"]
        ) from None
    secrets, problems = read_secrets(environ)
    return validate(data, {**secrets, **environ}, source=str(path), problems=problems)


def read_secrets(environ: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The secrets found as files in the secrets directory, each named after its variable
    (``ACSYNC_ACTIVECAMPAIGN__API_TOKEN``, or the same in lower case); surrounding whitespace
    (a trailing newline) is dropped. Returns them and the problems met reading them."""
    given = environ.get(SECRETS_DIR_ENV)
    directory = Path(given or DEFAULT_SECRETS_DIR)
    found: dict[str, str] = {}
    problems: list[str] = []
    try:
        exists = directory.is_dir()
    except OSError as e:
        return found, [f"{SECRETS_DIR_ENV} = {str(directory)!r}: {e.strerror}: let acsync's user enter it"]
    if not exists:
        if given:
            problems.append(f"{SECRETS_DIR_ENV} = {given!r}: no such directory; unset it or create it")
        return found, problems
    for name in SECRET_ENV:
        for file in (directory / name, directory / name.lower()):
            try:
                if not file.is_file():
                    continue
                value = file.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as e:
                reason = e.strerror if isinstance(e, OSError) else "not UTF-8"
                problems.append(f"secret file {file}: {reason}: let acsync's user read it, or set {name}")
                break
            if value:
                found[name] = value
            break
    return found, problems


def validate(
    data: dict[str, Any],
    environ: Mapping[str, str],
    source: str = "config",
    problems: list[str] | None = None,
) -> Settings:
    masking.register(*(v for k, v in environ.items() if k.upper() in SECRET_ENV))  # never printed
    problems = [*(problems or []), *_unknown_env(environ), *_reference_problems(data)]
    settings: Settings | None = None
    try:
        settings = _with_env(environ, data)
    except ValidationError as e:
        problems = [_describe(err, data, environ) for err in e.errors()] + problems
    if problems or settings is None:
        raise ConfigError(f"{source} has {len(problems)} problem(s)", problems)
    return settings


def _with_env(environ: Mapping[str, str], data: dict[str, Any]) -> Settings:
    token = _ENVIRON.set(environ)
    try:
        return Settings(**data)
    finally:
        _ENVIRON.reset(token)


def _unknown_env(environ: Mapping[str, str]) -> list[str]:
    out = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in OWN_ENV:
            continue
        section = name[len(ENV_PREFIX) :].split("__", 1)[0].lower()
        if section not in SECTIONS:
            out.append(
                f"environment variable {name}: no config section {section!r}; sections: {', '.join(SECTIONS)}"
            )
    return out


def _loc(loc: Iterable[int | str], data: Any) -> str:
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                out += f" ({node['name']!r})"
        else:
            out += f".{part}" if out else part
            node = node.get(part) if isinstance(node, dict) else None
    return out


def _allowed(loc: tuple[int | str, ...]) -> list[str]:
    model: Any = Settings
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        model = next((a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if model is None:
            return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _describe(err: Any, data: dict[str, Any], environ: Mapping[str, str] | None = None) -> str:
    loc = tuple(err["loc"])
    where = _loc(loc, data) or "(top level)"
    if len(loc) >= 2 and all(isinstance(part, str) for part in loc[:2]):
        variable = f"ACSYNC_{loc[0]}__{loc[1]}".upper()
        if variable in {k.upper() for k in (environ or {})}:
            where = f"{variable} ({where})"  # the environment overrode the file: say where to fix it
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        allowed = _allowed(loc)
        hint = f"; allowed here: {', '.join(allowed)}" if allowed else ""
        return f"{where}: unknown key{hint}"
    if err["type"] == "missing":
        return f"{where}: required key is missing"
    value = err.get("input")
    shown = "" if isinstance(value, dict | list) or value is None else f" = {value!r}"
    return f"{where}{shown}: {msg}"


def _reference_problems(data: dict[str, Any]) -> list[str]:
    """Cross-section checks, tolerant of malformed input (pydantic reports that)."""
    problems: list[str] = []
    for section, key, env in (
        ("activecampaign", "api_token", "ACSYNC_ACTIVECAMPAIGN__API_TOKEN"),
        ("webhook", "token", "ACSYNC_WEBHOOK__TOKEN"),
    ):
        table = data.get(section)
        if isinstance(table, dict) and key in table:
            problems.append(
                f"{section}.{key}: keep secrets out of the file; set the environment variable {env} instead"
            )
    scores = data.get("scores", [{"name": "lead_score"}])
    names = [s.get("name") for s in scores if isinstance(s, dict)] if isinstance(scores, list) else []
    if len(set(names)) != len(names):
        twice = sorted({str(n) for n in names if names.count(n) > 1})
        problems.append(f"scores: score names must be unique; {', '.join(map(repr, twice))} is used twice")
    titles: dict[str, list[str]] = {}  # an AC field (case-insensitively) → the keys naming it
    for i, s in enumerate(scores if isinstance(scores, list) else []):
        if isinstance(s, dict):
            for key in ("field", "segment_field", "reason_field", "next_segment_field"):
                if isinstance(s.get(key), str):
                    titles.setdefault(s[key].lower(), []).append(f"{_loc(('scores', i), data)}.{key}")
    for keys in titles.values():
        if len(keys) > 1:
            problems.append(
                f"{' and '.join(keys)} name the same AC field: every field, segment_field, "
                "reason_field and next_segment_field must name a different one"
            )
    rule_names: list[str] = []
    for section in ("rules", "inactivity", "thresholds", "segments"):
        items = data.get(section, [])
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            ref = item.get("score")
            where = _loc((section, i), data)
            if ref is None and len(names) > 1:
                problems.append(f"{where}: name its score (one of {', '.join(map(str, names))})")
            elif ref is not None and ref not in names:
                problems.append(
                    f"{where}.score = {ref!r}: no such score; defined: {', '.join(map(str, names))}"
                )
            if section in ("rules", "inactivity") and isinstance(item.get("name"), str):
                if item["name"] in rule_names:
                    problems.append(f"{where}: another rule is named {item['name']!r}; names must be unique")
                rule_names.append(item["name"])
    return problems
