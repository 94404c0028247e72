"""One token bucket per process, shared by every thread; a 429 pauses the whole bucket.

Time comes from an injected monotonic clock and sleep, so tests advance a fake clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

_EPSILON = 1e-9  # a token this close to whole is whole
_MIN_WAIT = 1e-4  # seconds
_SHARED: dict[tuple[str, str], TokenBucket] = {}
_SHARED_LOCK = threading.Lock()


def shared_bucket(
    account: str, kind: str, rate: float, sleep: Callable[[float], None] | None = None
) -> TokenBucket:
    """The process's one bucket for an account (``kind``: "api" or "bulk"), made on first use.

    AC's limit is per account and shared by everything on it, so every client and thread of
    this process that talks to the same API root draws from the same bucket. ``sleep`` replaces
    how it waits (the daemon's wait ends early when it is stopping).
    """
    with _SHARED_LOCK:
        bucket = _SHARED.get((account, kind))
        if bucket is None or bucket.rate != rate:
            bucket = _SHARED[(account, kind)] = TokenBucket(rate)
        if sleep is not None:
            bucket._sleep = sleep
        return bucket


class TokenBucket:
    """At most ``rate`` acquisitions per second on average, at most ``burst`` at once."""

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._stamp = clock()
        self._paused_until = 0.0

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now

    def acquire(self) -> float:
        """Take one token, waiting as long as needed; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._refill(now)
                wait = self._paused_until - now
                if wait <= 0:
                    if self._tokens >= 1 - _EPSILON:
                        self._tokens = max(0.0, self._tokens - 1)
                        return waited
                    wait = (1 - self._tokens) / self.rate
            # Never spin on a wait too small to move the clock (floating point leftovers).
            wait = max(wait, _MIN_WAIT)
            self._sleep(wait)
            waited += wait

    def pause(self, seconds: float) -> None:
        """Nobody gets a token for ``seconds`` (AC said 429), and the bucket restarts empty."""
        with self._lock:
            now = self._clock()
            self._paused_until = max(self._paused_until, now + seconds)
            self._tokens = 0.0
            self._stamp = max(self._stamp, self._paused_until)
