"""Serving the sandbox over HTTP: on 127.0.0.1 unless told (a compose network needs 0.0.0.0)."""

from __future__ import annotations

from acsync.sandbox.app import Sandbox
from acsync.serving import LOOPBACK, Server


def serve_sandbox(sandbox: Sandbox, port: int = 0, threads: int = 8, host: str = LOOPBACK) -> Server:
    return Server(sandbox, port, threads, host=host)
