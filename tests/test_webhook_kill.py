"""`acsync serve` for real on loopback: a kill -9 in a burst loses no webhook that was answered 200."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from contextlib import closing
from pathlib import Path
from urllib.parse import parse_qsl

import requests

from tests.conftest import acsync_command

TOKEN = "kill-test-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_kill_9_during_a_burst_loses_nothing_answered(tmp_path: Path) -> None:
    port, db = free_port(), tmp_path / "hooks.db"
    env = {
        **os.environ,
        "ACSYNC_WEBHOOK__TOKEN": TOKEN,
        "ACSYNC_WEBHOOK__PORT": str(port),
        "ACSYNC_WEBHOOK__HOST": "127.0.0.1",
        "ACSYNC_WEBHOOK__THREADS": "4",
    }
    cmd = acsync_command(db, "serve")
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/webhooks/activecampaign/{TOKEN}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "acsync serve did not start"
                time.sleep(0.05)
        answered: list[str] = []
        lock = threading.Lock()

        def burst(worker: int) -> None:
            session = requests.Session()
            for n in range(400):  # bounded: at most 1,600 posts in all
                marker = f"{worker}-{n}"
                body = f"type=open&contact[id]={worker}&campaign[id]={n}&marker={marker}"
                try:
                    r = session.post(
                        url,
                        data=body,
                        headers={"Content-Type": "application/x-www-form-urlencoded"},
                        timeout=5,
                    )
                except requests.RequestException:
                    return  # the server is gone
                if r.status_code == 200:
                    with lock:
                        answered.append(marker)

        workers = [threading.Thread(target=burst, args=(w,)) for w in range(4)]
        for w in workers:
            w.start()
        while len(answered) < 200 and any(w.is_alive() for w in workers):
            time.sleep(0.01)
        server.send_signal(signal.SIGKILL)
        for w in workers:
            w.join(timeout=30)
        assert len(answered) >= 200
    finally:
        server.kill()
        server.wait(timeout=10)
    with closing(sqlite3.connect(db)) as conn:
        stored = {
            dict(parse_qsl(bytes(b).decode()))["marker"] for (b,) in conn.execute("SELECT body FROM inbox")
        }
    missing = set(answered) - stored
    assert not missing, f"{len(missing)} webhooks answered 200 were lost"
