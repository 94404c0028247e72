"""One rate budget per database: the token bucket shared by threads and by processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from acsync.ac.ratelimit import TokenBucket, bucket_path


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_two_buckets_on_one_file_share_one_budget(tmp_path: Path) -> None:
    clock = FakeClock()
    path = bucket_path(tmp_path / "acsync.db", "api")
    a = TokenBucket(5, 1, clock, clock.sleep, path=path)
    b = TokenBucket(5, 1, clock, clock.sleep, path=path)
    start = clock.now
    for _ in range(25):  # 50 acquisitions, alternating: one budget of 5/s, not two
        a.acquire()
        b.acquire()
    assert clock.now - start == pytest.approx(49 / 5, abs=1e-6)
    assert path.name == "acsync.db.ratelimit-api"
    assert a.in_use() == pytest.approx(b.in_use())
    assert 0.5 < a.in_use() <= 1.0  # the budget was in full use


def test_a_pause_in_one_process_holds_the_other(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "x.ratelimit-api"
    a = TokenBucket(5, 1, clock, clock.sleep, path=path)
    b = TokenBucket(5, 1, clock, clock.sleep, path=path)
    a.pause(3.0)  # AC answered a's request with 429, Retry-After: 3
    waited = b.acquire()
    assert waited == pytest.approx(3.0 + 1 / 5, abs=0.01)  # the pause, then an empty bucket refills


@pytest.mark.parametrize("content", [b"", b"torn", b"\xff" * 48])
def test_a_torn_or_foreign_file_starts_a_fresh_budget(tmp_path: Path, content: bytes) -> None:
    clock = FakeClock()
    path = tmp_path / "x.ratelimit-api"
    path.write_bytes(content)
    bucket = TokenBucket(5, 1, clock, clock.sleep, path=path)
    assert bucket.acquire() == 0.0
    assert bucket.acquire() == pytest.approx(0.2)


def test_state_from_an_earlier_boot_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "x.ratelimit-api"
    later = FakeClock()
    later.now = 1e6
    TokenBucket(5, 1, later, later.sleep, path=path).pause(100)  # times far ahead of this boot's clock
    clock = FakeClock()
    assert TokenBucket(5, 1, clock, clock.sleep, path=path).acquire() == 0.0


_DRAW = """
import json, sys, time
from pathlib import Path
from acsync.ac.ratelimit import TokenBucket
bucket = TokenBucket(float(sys.argv[2]), 1, path=Path(sys.argv[1]))
time.sleep(max(0.0, float(sys.argv[4]) - time.monotonic()))  # both start at once
print(json.dumps([(bucket.acquire(), time.monotonic())[1] for _ in range(int(sys.argv[3]))]))
"""


def test_two_processes_draw_from_one_budget(tmp_path: Path) -> None:
    """Two processes, 20 tokens each at 40/s: together they take about a second, not half."""
    path = tmp_path / "acsync.db.ratelimit-api"
    rate, each = 40.0, 20
    start = time.monotonic() + 2.0  # system-wide: both children wait for the same instant
    argv = [sys.executable, "-c", _DRAW, str(path), str(rate), str(each), str(start)]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    stamps: list[float] = []
    for proc in procs:
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0
        stamps.extend(json.loads(out))
    stamps.sort()
    assert len(stamps) == 2 * each
    assert stamps[0] >= start
    # Started together, they draw from one budget: 40 tokens (one of them the burst) take ≥ 39/40 s;
    # two budgets would take half that, and twice as many tokens would fall in a window.
    span = stamps[-1] - stamps[0]
    assert span >= 0.98 * (2 * each - 1) / rate
    window = 0.25
    most = max(sum(1 for t in stamps if s <= t < s + window) for s in stamps)
    assert most <= rate * window + 2
