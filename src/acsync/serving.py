"""Serving a WSGI app with waitress from a thread or the foreground (the sandbox, the receiver).

Waitress has no call that stops a server from another thread (its maintainers say so:
Pylons/waitress#343, #372), so stopping is built from its public parts only: the server is
made by ``create_server`` on a socket map we own (its ``map`` argument), with a wake-up
``waitress.trigger.trigger`` of our own in that map; ``close()`` pulls it, so the loop thread
itself closes every socket of the map (``wasyncore.close_all``) and its loop ends, and then the
server's ``task_dispatcher`` finishes the requests in hand.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

from waitress import wasyncore
from waitress.server import create_server
from waitress.trigger import trigger

LOOPBACK = "127.0.0.1"
# waitress warns "Task queue depth is N" whenever every thread is busy: routine under load.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)


class Server:
    """A waitress server for a WSGI app (loopback unless told); ``port=0`` picks a free port."""

    def __init__(self, app: Any, port: int = 0, threads: int = 8, host: str = LOOPBACK) -> None:
        self._map: dict[Any, Any] = {}  # every socket the server's loop watches: ours to close
        self._server = create_server(app, self._map, host=host, port=port, threads=threads, ident="acsync")
        self._wake = trigger(self._map)  # runs a function in the loop's own thread
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

        From another thread the loop is asked to close its own sockets (through our trigger),
        so no socket is closed under a running poll.
        """
        if self._closed:
            return
        self._closed = True
        if self._thread is not None and self._thread.is_alive():
            try:
                self._wake.pull_trigger(self._close_all)
                self._thread.join(timeout=5)
            except OSError:  # the trigger's pipe is gone: empty the map, the loop ends on its next turn
                dispatchers = list(self._map.values())
                self._map.clear()
                self._thread.join(timeout=5)
                for d in dispatchers:
                    with contextlib.suppress(OSError):
                        d.close()
        else:
            wasyncore.close_all(self._map, ignore_all=True)
        self._server.task_dispatcher.shutdown()

    def _close_all(self, _: None = None) -> None:  # the trigger calls it with no argument
        wasyncore.close_all(self._map)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def probe_health(host: str, port: int, timeout: float) -> str | None:
    """None when ``GET /healthz`` of the receiver on ``host:port`` answers 200, else why not."""
    import urllib.error
    import urllib.request

    if port == 0:
        return "webhook.port is 0 (any free port): set the port the daemon listens on to probe it"
    if host in ("", "0.0.0.0"):  # listening on every address: ask over loopback
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return None if answer.status == 200 else f"{url} answered {answer.status}"
    except urllib.error.HTTPError as e:
        reason = e.read(300).decode("utf-8", "replace").strip().splitlines()
        return f"{url} answered {e.code}: {reason[0] if reason else e.reason}"
    except (OSError, ValueError) as e:
        return f"nothing answers at {url} ({getattr(e, 'reason', e)}): is `acsync run` running there?"
