"""The sandbox in its own process, as the benchmarks use it: AC's side never competes with
acsync's for this process's interpreter."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def sandbox_process(contacts: int, rate: float, seed: int = 1) -> Iterator[str]:
    """``acsync sandbox`` on a free port; yields its URL and stops it afterwards."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "acsync",
            "sandbox",
            "--port",
            "0",
            "--contacts",
            str(contacts),
            "--seed",
            str(seed),
            "--rate-limit",
            str(rate),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = ""
        for line in proc.stdout:
            m = re.search(r"API URL\s+(\S+)", line)
            if m:
                url = m.group(1)
                break
        if not url:
            raise RuntimeError("the sandbox did not start")
        time.sleep(1.0)  # a full bucket
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
