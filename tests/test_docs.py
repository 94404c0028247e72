"""The docs match the code: every command in the README, every config key in the example."""

from __future__ import annotations

import re
from typing import Any

import click
import pytest
from pydantic import BaseModel

from acsync.cli import cli
from acsync.config import Settings
from tests.conftest import ROOT
from tests.test_cli import all_commands

README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE = (ROOT / "config.example.toml").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands() -> None:
    first = re.search(r"```sh\n(.*?)```", README, re.S)
    assert first is not None
    commands = [line.split("#")[0].strip() for line in first.group(1).splitlines()]
    assert commands == ["make demo", "make test"]


@pytest.mark.parametrize("command", all_commands(cli))
def test_every_command_is_in_the_readme(command: tuple[str, ...]) -> None:
    assert f"acsync {' '.join(command)}" in README


def _options(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    out = []
    for name, cmd in group.commands.items():
        for param in cmd.params:
            if isinstance(param, click.Option) and not param.hidden:
                out.append((" ".join((*prefix, name)), max(param.opts, key=len)))
        if isinstance(cmd, click.Group):
            out.extend(_options(cmd, (*prefix, name)))
    return out


@pytest.mark.parametrize(("command", "option"), _options(cli))
def test_every_option_is_in_the_readme(command: str, option: str) -> None:
    assert option in README, f"{command} {option}"


def _section_keys() -> list[tuple[str, str]]:
    """(section, key) for every config key; match.* filters as ("match", name)."""
    out = []
    for section, field in Settings.model_fields.items():
        ann: Any = field.annotation
        model = next(
            a
            for a in (ann, *getattr(ann, "__args__", ()))
            if isinstance(a, type) and issubclass(a, BaseModel)
        )
        for name, sub in model.model_fields.items():
            key = sub.alias or name
            if key == "match":
                out.extend(("match", k) for k in sub.annotation.model_fields)  # type: ignore[union-attr]
            else:
                out.append((section, key))
    return sorted(set(out))


@pytest.mark.parametrize(("section", "key"), _section_keys())
def test_every_config_key_is_in_the_example_and_the_readme(section: str, key: str) -> None:
    if section == "match":
        assert re.search(rf"^# match\.<key>.*\b{key}\b|^#.*\bmatch\.{key}\b", EXAMPLE, re.M), key
        assert re.search(rf"`match\.\*` filters are .*`{key}`", README, re.S), key
        return
    assert re.search(rf"^#? ?{key}\s*(=|\s)", EXAMPLE, re.M), f"{section}.{key} not in config.example.toml"
    row = next(line for line in README.splitlines() if re.match(rf"\| `\[\[?{section}\]\]?`", line))
    assert f"`{key}" in row, f"{section}.{key} not in the README's config table"


def test_no_table_of_the_readme_is_split_by_a_blank_line() -> None:
    """A blank line ends a Markdown table: the rows after it render as text."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    split = [
        n + 1
        for n in range(1, len(lines) - 1)
        if lines[n] == "" and lines[n - 1].startswith("|") and lines[n + 1].startswith("| `")
    ]
    assert split == []


def test_every_module_of_the_command_line_stays_a_room_not_a_house() -> None:
    """The CLI is one module per group of commands, each under 300 lines (issue: cli.py grew to
    1,500); what they share lives in cli/common.py."""
    package = ROOT / "src" / "acsync" / "cli"
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in package.glob("*.py")}
    assert {"common.py", "pipeline.py", "writeback.py", "reports.py", "operations.py"} <= set(sizes)
    assert not {name: n for name, n in sizes.items() if n > 300}, sizes
