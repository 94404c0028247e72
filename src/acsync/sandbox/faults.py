"""Fault switches: a rate (a share of requests) or the next N requests, per kind of fault.

Most kinds answer *instead of* AC (``timeout``, ``429``, ``503``, ``500``, ``403``, ``html``):
AC did nothing. The *lost answer* kinds let the sandbox act first and then lose the answer, the
way a network does after AC acted: ``drop`` (the connection closes before the answer arrives)
and ``late`` (the answer comes after the client's read timeout). ``lost_answer`` is the
exception ``requests`` raises for each, so an in-process client meets exactly what it would
meet over a socket (the client tests check those types against real sockets).

``bulk_item`` is not a request fault: it fails single contacts inside a bulk import, which AC
reports in the batch status's ``failure`` list while the rest of the batch succeeds.
"""

from __future__ import annotations

import http.client
import random
import threading
from dataclasses import dataclass

import requests
from urllib3.exceptions import ProtocolError, ReadTimeoutError

LOST_ANSWER = ("drop", "late")
REQUEST_KINDS = ("timeout", "429", "503", "500", "403", "html", *LOST_ANSWER)
KINDS = (*REQUEST_KINDS, "bulk_item")


def lost_answer(kind: str, request: requests.PreparedRequest) -> requests.RequestException:
    """What ``requests`` raises when AC acted but its answer was lost this way."""
    if kind == "drop":
        cause = http.client.RemoteDisconnected("Remote end closed connection without response")
        return requests.ConnectionError(ProtocolError("Connection aborted.", cause), request=request)
    if kind == "late":
        inner = ReadTimeoutError(None, request.url, "Read timed out.")  # type: ignore[arg-type]
        return requests.ReadTimeout(inner, request=request)
    raise ValueError(f"not a lost-answer fault: {kind!r}")


@dataclass
class _Switch:
    rate: float = 0.0
    remaining: int = 0


class Faults:
    def __init__(self, seed: int = 0) -> None:
        self._switches: dict[str, _Switch] = {k: _Switch() for k in KINDS}
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.fired: dict[str, int] = dict.fromkeys(KINDS, 0)

    def set(self, kind: str, *, rate: float | None = None, next: int | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; kinds: {', '.join(KINDS)}")
        with self._lock:
            switch = self._switches[kind]
            if rate is not None:
                if not 0 <= rate <= 1:
                    raise ValueError("a fault rate is between 0 and 1")
                switch.rate = rate
            if next is not None:
                switch.remaining = max(0, next)

    def clear(self) -> None:
        with self._lock:
            for switch in self._switches.values():
                switch.rate, switch.remaining = 0.0, 0

    def draw(self, kinds: tuple[str, ...] = REQUEST_KINDS) -> str | None:
        """The fault this request (or, with ``("bulk_item",)``, this imported contact) meets."""
        with self._lock:
            for kind in kinds:
                switch = self._switches[kind]
                if switch.remaining > 0:
                    switch.remaining -= 1
                    self.fired[kind] += 1
                    return kind
            for kind in kinds:
                switch = self._switches[kind]
                if switch.rate and self._rng.random() < switch.rate:
                    self.fired[kind] += 1
                    return kind
        return None

    def as_json(self) -> dict[str, object]:
        with self._lock:
            return {
                k: {"rate": s.rate, "next": s.remaining, "fired": self.fired[k]}
                for k, s in self._switches.items()
            }
