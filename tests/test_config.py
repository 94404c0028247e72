from __future__ import annotations

from pathlib import Path

import pytest

from acsync.config import load_config, validate
from acsync.core.durations import Duration
from acsync.errors import ConfigError
from tests.conftest import ROOT


def problems(data: dict[str, object], env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        validate(data, env or {})
    assert info.value.exit_code == 2
    return info.value.problems


def test_the_example_config_is_valid_and_holds_the_seed_ruleset() -> None:
    rs = load_config(ROOT / "config.example.toml", {}).ruleset()
    rules = {r.name: r for r in rs.rules}
    assert {n: (r.points, r.once) for n, r in rules.items() if r.once} == {
        "Newsletter signup": (5, True),
        "Purchase": (50, True),
        "Contact form": (10, True),
    }
    assert rules["Website visit"].expires_after == Duration(90, "d")
    assert rules["Link click"].expires_after == Duration(3, "mo")
    assert rules["E-mail open"].expires_after == Duration(90, "d")
    inactive = {i.name: i for i in rs.inactivity}
    assert inactive["No opens or clicks in 60 days"].points == -50
    assert inactive["No site visit in 90 days"].reset
    assert {i.tag for i in rs.inactivity} == {"Inaktiv"}


def test_every_problem_is_listed_at_once_with_key_value_and_allowed() -> None:
    found = problems(
        {
            "rules": [
                {
                    "name": "Visit",
                    "on": "site-visit",
                    "points": "ten",
                    "expires_after": "90 days",
                    "onse": True,
                },
                {"name": "Visit", "on": "open", "points": 1, "score": "nope"},
            ],
            "inactivity": [{"name": "Q", "without": ["open"], "for": "60d", "reset": True, "points": -5}],
            "thresholds": [{"name": "Hot", "at_least": 10, "release_below": 20, "tag": "Hot"}],
            "store": {"pth": "x.db"},
        }
    )
    text = "\n".join(found)
    assert "rules[0] ('Visit').on = 'site-visit': unknown event type 'site-visit'; allowed:" in text
    assert "rules[0] ('Visit').points = 'ten'" in text
    assert "rules[0] ('Visit').expires_after = '90 days': expected a whole number and a unit" in text
    assert "rules[0] ('Visit').onse: unknown key; allowed here: name, score, on, points" in text
    assert "rules[1] ('Visit').score = 'nope': no such score; defined: lead_score" in text
    assert "another rule is named 'Visit'" in text
    assert "inactivity[0] ('Q'): choose points (a penalty) or reset = true, not both" in text
    assert "release_below (20.0) must not be above at_least (10.0)" in text
    assert "store.pth: unknown key; allowed here: path, busy_timeout" in text
    assert len(found) == 9


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"half_life": "1mo"}, "half_life must be in s, min, h, d or w"),
        ({"once": True, "once_per": "campaign"}, "once = true already allows one award ever"),
        ({"max": {"count": 0, "within": "1d"}}, "greater than 0"),
        ({"once_per": "color"}, "once_per = 'color'"),
        ({"match": {"colour": "x"}}, "match.colour: unknown key"),
    ],
)
def test_rule_problems(rule: dict[str, object], message: str) -> None:
    found = problems({"rules": [{"name": "R", "on": "open", "points": 1, **rule}]})
    assert any(message in p for p in found), found


@pytest.mark.parametrize(
    ("inactivity", "message"),
    [
        (
            {"reset": "static"},
            "reset = 'static': 'static' is not a reset: use true (wipe the score), \"dynamic\"",
        ),
        ({"reset": "Dynamic"}, "'Dynamic' is not a reset"),
        ({"reset": "dynamic", "points": -5}, 'choose points (a penalty) or reset = "dynamic", not both'),
        ({}, 'needs points, reset = true (or "dynamic") or a tag'),
    ],
)
def test_inactivity_problems_are_one_line_each(inactivity: dict[str, object], message: str) -> None:
    found = problems({"inactivity": [{"name": "I", "without": "open", "for": "60d", **inactivity}]})
    assert len(found) == 1, found  # one problem, not one per member of the type's union
    assert message in found[0], found


def test_fields_named_twice_are_named() -> None:
    found = problems({"scores": [{"name": "a", "field": "Lead Score", "segment_field": "lead score"}]})
    assert found == [
        "scores[0] ('a').field and scores[0] ('a').segment_field name the same AC field: every field, "
        "segment_field, reason_field and next_segment_field must name a different one"
    ]
    assert problems({"scores": [{"name": "a", "field": "A"}, {"name": "a", "field": "B"}]}) == [
        "scores: score names must be unique; 'a' is used twice"
    ]


def test_several_scores_need_rules_to_name_theirs() -> None:
    found = problems(
        {"scores": [{"name": "a"}, {"name": "b"}], "rules": [{"name": "R", "on": "open", "points": 1}]}
    )
    assert found == ["rules[0] ('R'): name its score (one of a, b)"]


def test_environment_overrides_the_file_and_typos_in_it_are_errors() -> None:
    s = validate({"store": {"path": "a.db"}}, {"ACSYNC_STORE__PATH": "/data/b.db", "ACSYNC_CONFIG": "x"})
    assert s.store.path == "/data/b.db"
    found = problems({}, {"ACSYNC_STROE__PATH": "x"})
    assert found == [
        "environment variable ACSYNC_STROE__PATH: no config section 'stroe'; sections: "
        "scores, rules, inactivity, thresholds, segments, content, store, activecampaign, webhook, push, "
        "schedule, metrics"
    ]


def test_missing_file_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "acsync.toml", {})
    assert "copy config.example.toml to acsync.toml" in info.value.problems[0]


def test_broken_toml_says_where(tmp_path: Path) -> None:
    path = tmp_path / "acsync.toml"
    path.write_text("[[rules]]\nname = \n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert "not valid TOML" in str(info.value)
    assert "line 2" in info.value.problems[0]


def test_fingerprints_separate_ledger_and_score_changes() -> None:
    base = {"rules": [{"name": "R", "on": "open", "points": 1}]}
    a = validate(base, {}).fingerprints()
    b = validate({**base, "segments": [{"name": "Cold", "min": 0}]}, {}).fingerprints()
    c = validate({"rules": [{"name": "R", "on": "open", "points": 2}]}, {}).fingerprints()
    assert a.ledger == b.ledger
    assert a.scores != b.scores
    assert a.ledger != c.ledger
    assert validate(base, {}).fingerprints() == a


def test_environment_values_parse_like_the_same_values_in_the_file() -> None:
    env = {
        "ACSYNC_PUSH__RETRY_AFTER": "1s",
        "ACSYNC_PUSH__SEEN_WITHIN": "2d",
        "ACSYNC_SCHEDULE__SYNC": "5min",
        "ACSYNC_WEBHOOK__PORT": "9000",
        "ACSYNC_WEBHOOK__EVENTS": '["open", "click"]',
    }
    s = validate({}, env)
    from_file = validate(
        {
            "push": {"retry_after": "1s", "seen_within": "2d"},
            "schedule": {"sync": "5min"},
            "webhook": {"port": 9000, "events": ["open", "click"]},
        },
        {},
    )
    assert s == from_file
    assert problems({}, {"ACSYNC_PUSH__RETRY_AFTER": "1 sec", "ACSYNC_WEBHOOK__EVENTS": "open"}) == [
        "ACSYNC_WEBHOOK__EVENTS (webhook.events) = 'open': Input should be a valid list",
        "ACSYNC_PUSH__RETRY_AFTER (push.retry_after) = '1 sec': expected a whole number and a unit, "
        "e.g. 90d, 3mo, 12h; units: s, min, h, d, w, mo, y",
    ]
    assert problems({}, {"ACSYNC_WEBHOOK__PROT": "1"})[0].startswith(
        "ACSYNC_WEBHOOK__PROT (webhook.prot): unknown key; allowed here:"
    )


def test_config_uses_only_public_pydantic_settings_api() -> None:
    import ast

    tree = ast.parse((ROOT / "src" / "acsync" / "config.py").read_text(encoding="utf-8"))
    modules = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    assert [m for m in modules if m.startswith("pydantic_settings")] == ["pydantic_settings"]


def test_secrets_come_from_the_secrets_directory_and_the_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "acsync.toml"
    config.write_text("", encoding="utf-8")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "ACSYNC_ACTIVECAMPAIGN__API_TOKEN").write_text("key-from-a-file\n", encoding="utf-8")
    (secrets / "acsync_webhook__token").write_text("  webhook-token-from-a-file  \n", encoding="utf-8")
    (secrets / "ACSYNC_UNRELATED").write_text("not read", encoding="utf-8")  # not a secret of ours
    s = load_config(config, {"ACSYNC_SECRETS_DIR": str(secrets)})
    assert s.activecampaign.api_token is not None
    assert s.activecampaign.api_token.get_secret_value() == "key-from-a-file"
    assert s.webhook.token is not None
    assert s.webhook.token.get_secret_value() == "webhook-token-from-a-file"
    env = {"ACSYNC_SECRETS_DIR": str(secrets), "ACSYNC_ACTIVECAMPAIGN__API_TOKEN": "key-from-the-env"}
    s = load_config(config, env)
    assert s.activecampaign.api_token is not None
    assert s.activecampaign.api_token.get_secret_value() == "key-from-the-env"
    with pytest.raises(ConfigError) as info:
        load_config(config, {"ACSYNC_SECRETS_DIR": str(tmp_path / "nope")})
    assert info.value.problems == [
        f"ACSYNC_SECRETS_DIR = '{tmp_path / 'nope'}': no such directory; unset it or create it"
    ]


def test_a_config_in_a_directory_acsync_cannot_enter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "closed" / "acsync.toml"
    real_stat = Path.stat

    def stat(self: Path, **kwargs: bool) -> object:
        if self == config:  # what a directory without x permission gives (root enters anyway)
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    with pytest.raises(ConfigError) as info:
        load_config(config, {})
    assert str(info.value) == f"cannot read {config}"
    assert info.value.problems == [
        f"Permission denied: let acsync's user enter {config.parent} and read the file, or pass --config PATH"
    ]


def test_a_bad_value_from_the_environment_names_the_variable() -> None:
    with pytest.raises(ConfigError) as e:
        validate({}, {"ACSYNC_PUSH__RETRY_AFTER": "bogus", "ACSYNC_PUSH__MAX_ATTEMPTS": "abc"})
    assert any(
        p.startswith("ACSYNC_PUSH__RETRY_AFTER (push.retry_after) = 'bogus'") for p in e.value.problems
    )
    assert any(p.startswith("ACSYNC_PUSH__MAX_ATTEMPTS (push.max_attempts)") for p in e.value.problems)
    with pytest.raises(ConfigError) as e:
        validate({"push": {"retry_after": "bogus"}}, {})
    assert e.value.problems[0].startswith("push.retry_after = 'bogus'")  # from the file: its key
