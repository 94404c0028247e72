"""Serving the sandbox over HTTP with waitress, on 127.0.0.1 only."""

from __future__ import annotations

import threading
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

from acsync.sandbox.app import Sandbox

HOST = "127.0.0.1"


class Server:
    """A waitress server for a WSGI app on loopback; ``port=0`` picks a free port."""

    def __init__(self, app: Any, port: int = 0, threads: int = 8) -> None:
        self._server = create_server(app, host=HOST, port=port, threads=threads, ident="acsync")
        port_attr = getattr(self._server, "effective_port", None)  # one socket: a TcpWSGIServer
        if port_attr is None:
            raise RuntimeError("waitress did not report the port it listens on")
        self.port = int(port_attr)
        self.url = f"http://{HOST}:{self.port}"
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Serve until closed (blocks)."""
        self._server.run()

    def start(self) -> Server:
        """Serve from a background thread."""
        self._thread = threading.Thread(target=self.run, name="acsync-http", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop listening, finish the requests in hand, close kept-alive connections, join."""
        server: Any = self._server
        server.close()
        server.task_dispatcher.shutdown()
        wasyncore.close_all(server._map)  # the loop runs while any channel is open
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve_sandbox(sandbox: Sandbox, port: int = 0, threads: int = 8) -> Server:
    return Server(sandbox, port, threads)
