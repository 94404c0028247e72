"""``acsync run`` (and other acsync commands) in their own processes, as the benchmarks use them."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_TOKEN = "bench-daemon-token-0123456789"


def acsync_env(sandbox_url: str, rate: float, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACSYNC_")}
    env.update(
        {
            "ACSYNC_ACTIVECAMPAIGN__URL": sandbox_url,
            "ACSYNC_ACTIVECAMPAIGN__API_TOKEN": "sandbox",
            "ACSYNC_ACTIVECAMPAIGN__REQUESTS_PER_SECOND": str(rate),
            "ACSYNC_WEBHOOK__TOKEN": WEBHOOK_TOKEN,
            "ACSYNC_WEBHOOK__PORT": "0",
            **extra,
        }
    )
    return env


def acsync(db: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "acsync",
        "--config",
        str(ROOT / "config.example.toml"),
        "--db",
        str(db),
        *args,
    ]


class Daemon:
    """``acsync run`` with its JSON log lines collected as they come."""

    def __init__(self, db: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            acsync(db, "run"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()
        started = self.wait_for(lambda line: line.get("msg") == "acsync is running", 120)
        self.hook_url = started["webhooks"].replace("<token>", WEBHOOK_TOKEN)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for text in self.proc.stderr:
            try:
                self.lines.put(json.loads(text))
            except ValueError:
                self.lines.put({"msg": text.rstrip()})

    def drain(self) -> list[dict[str, Any]]:
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return self.seen

    def logged(self, pred: Callable[[dict[str, Any]], bool]) -> bool:
        return any(pred(line) for line in self.drain())

    def wait_for(self, pred: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.drain():
                if pred(line):
                    return line
            if self.proc.poll() is not None:
                raise RuntimeError(f"acsync run exited: {self.seen[-5:]}")
            time.sleep(0.05)
        raise RuntimeError(f"not logged within {timeout}s: {self.seen[-5:]}")

    def stop(self) -> float:
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        return time.monotonic() - t0
