"""Serving a WSGI app with waitress from a thread or the foreground (the sandbox, the receiver)."""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

LOOPBACK = "127.0.0.1"
# waitress warns "Task queue depth is N" whenever every thread is busy: routine under load.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)


class Server:
    """A waitress server for a WSGI app (loopback unless told); ``port=0`` picks a free port."""

    def __init__(self, app: Any, port: int = 0, threads: int = 8, host: str = LOOPBACK) -> None:
        self._server = create_server(app, host=host, port=port, threads=threads, ident="acsync")
        port_attr = getattr(self._server, "effective_port", None)  # one socket: a TcpWSGIServer
        if port_attr is None:
            raise RuntimeError("waitress did not report the port it listens on")
        self.port = int(port_attr)
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None
        self._closed = False

    def run(self) -> None:
        """Serve until closed (blocks)."""
        self._server.run()

    def start(self) -> Server:
        """Serve from a background thread."""
        self._thread = threading.Thread(target=self.run, name="acsync-http", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop listening, close every connection, finish the requests in hand.

        From another thread the loop is asked to close its own sockets (through waitress's
        trigger), so no socket is closed under a running poll.
        """
        server: Any = self._server
        if self._closed:
            return
        self._closed = True
        if self._thread is not None and self._thread.is_alive():
            try:
                server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
                self._thread.join(timeout=5)
            except OSError:  # the trigger's pipe is gone: empty the map, the loop ends on its next turn
                dispatchers = list(server._map.values())
                server._map.clear()
                self._thread.join(timeout=5)
                for d in dispatchers:
                    with contextlib.suppress(OSError):
                        d.close()
        else:
            wasyncore.close_all(server._map, ignore_all=True)
        server.task_dispatcher.shutdown()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
