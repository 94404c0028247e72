"""The account's request budget: a token bucket shared by every thread, and by every process.

AC allows 5 requests/s per account, shared by everything on it, and answers 429 beyond. So
one bucket paces every thread of a process and, given a ``path``, every acsync process that
uses the same database (the daemon, ``acsync setup`` and ``acsync backfill`` beside it): its
state is a few numbers in a small file beside the database, read and written under an OS file
lock (``fcntl.flock``), so the processes draw from one budget. A 429 pauses the whole bucket.

Time comes from an injected monotonic clock and sleep, so tests advance a fake clock; a shared
bucket uses the system-wide ``time.monotonic`` (state left by an earlier boot is dropped).
"""

from __future__ import annotations

import contextlib
import math
import os
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one process's bucket only
    fcntl = None  # type: ignore[assignment]

_EPSILON = 1e-9  # a token this close to whole is whole
_MIN_WAIT = 1e-4  # seconds
_IN_USE_SECONDS = 10.0  # the budget in use is a mean over about this long
_FORMAT = struct.Struct("<6d")  # tokens, stamp, paused_until, used (per second), used_stamp, written
_SHARED: dict[tuple[str, str, str], TokenBucket] = {}
_SHARED_LOCK = threading.Lock()


def bucket_path(db_path: Path | str, kind: str) -> Path:
    """The file beside the database that holds the budget of kind ``kind`` ("api", "bulk")."""
    db_path = Path(db_path)
    return db_path.with_name(f"{db_path.name}.ratelimit-{kind}")


def shared_bucket(
    account: str,
    kind: str,
    rate: float,
    sleep: Callable[[float], None] | None = None,
    path: Path | None = None,
) -> TokenBucket:
    """The process's one bucket for an account (``kind``: "api" or "bulk"), made on first use.

    Every client and thread of this process that talks to the same API root draws from it;
    with ``path`` (see ``bucket_path``) so does every other process using that file. ``sleep``
    replaces how it waits (the daemon's wait ends early when it is stopping).
    """
    key = (account, kind, str(path or ""))
    with _SHARED_LOCK:
        bucket = _SHARED.get(key)
        if bucket is None or bucket.rate != rate:
            bucket = _SHARED[key] = TokenBucket(rate, path=path)
        if sleep is not None:
            bucket._sleep = sleep
        return bucket


@dataclass
class _State:
    tokens: float
    stamp: float
    paused_until: float = 0.0
    used: float = 0.0  # acquisitions per second, exponentially weighted
    used_stamp: float = 0.0
    written: float = 0.0  # when a process last wrote it (its clock)


class TokenBucket:
    """At most ``rate`` acquisitions per second on average, at most ``burst`` at once."""

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        path: Path | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        now = clock()
        self._memory = _State(self.burst, now, used_stamp=now)
        self.path = path if fcntl is not None else None
        self._fd: int | None = None

    # --- the state: in memory, or in the shared file under its lock -------------------------------
    @contextlib.contextmanager
    def _state(self) -> Iterator[_State]:
        with self._lock:
            if self.path is None:
                yield self._memory
                return
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                state = self._read(self._fd)
                yield state
                state.written = self._clock()
                os.pwrite(self._fd, _FORMAT.pack(*_values(state)), 0)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _read(self, fd: int) -> _State:
        now = self._clock()
        data = os.pread(fd, _FORMAT.size, 0)
        if len(data) == _FORMAT.size:
            state = _State(*_FORMAT.unpack(data))
            if all(math.isfinite(v) for v in _values(state)) and state.written <= now + 1:
                return state
        # A new file, a torn one, or one from an earlier boot (its monotonic times are ahead).
        return _State(self.burst, now, used_stamp=now)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    # --- the budget ----------------------------------------------------------------------------------
    def _refill(self, state: _State, now: float) -> None:
        if now > state.stamp:
            state.tokens = min(self.burst, state.tokens + (now - state.stamp) * self.rate)
            state.stamp = now

    def acquire(self) -> float:
        """Take one token, waiting as long as needed; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._state() as state:
                now = self._clock()
                self._refill(state, now)
                wait = state.paused_until - now
                if wait <= 0:
                    if state.tokens >= 1 - _EPSILON:
                        state.tokens = max(0.0, state.tokens - 1)
                        _decay(state, now)
                        state.used += 1 / _IN_USE_SECONDS
                        return waited
                    wait = (1 - state.tokens) / self.rate
            # Never spin on a wait too small to move the clock (floating point leftovers).
            wait = max(wait, _MIN_WAIT)
            self._sleep(wait)
            waited += wait

    def pause(self, seconds: float) -> None:
        """Nobody gets a token for ``seconds`` (AC said 429), and the bucket restarts empty."""
        with self._state() as state:
            now = self._clock()
            state.paused_until = max(state.paused_until, now + seconds)
            state.tokens = 0.0
            state.stamp = max(state.stamp, state.paused_until)

    def in_use(self) -> float:
        """The share of the budget used lately, by every thread (and process) drawing from it."""
        with self._state() as state:
            _decay(state, self._clock())
            return state.used / self.rate


def _decay(state: _State, now: float) -> None:
    if now > state.used_stamp:
        state.used *= math.exp(-(now - state.used_stamp) / _IN_USE_SECONDS)
        state.used_stamp = now


def _values(state: _State) -> tuple[float, ...]:
    return (state.tokens, state.stamp, state.paused_until, state.used, state.used_stamp, state.written)
