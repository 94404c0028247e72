"""Lost answers: only a failure that proves the request never left may resend a POST.

Each failure is produced for real on 127.0.0.1 where a socket can produce it (refused, dropped
after the request arrived, reset, an answer after the read timeout), so the exception types the
client relies on are the ones ``requests`` really raises.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
import responses

from acsync.ac import AcClient, AcMaybeSent, AcRetriableError
from acsync.ac.client import unsent
from acsync.sandbox import Sandbox, seed_account
from acsync.sandbox.server import serve_sandbox
from tests.sandbox_helpers import NOW, sandbox_and_client

BODY = {"contactTag": {"contact": "1", "tag": "1"}}


class RawServer:
    """Reads each HTTP request whole, counts it, then fails the way ``mode`` says."""

    def __init__(self, mode: str, wait: float = 0.0) -> None:
        self.mode, self.wait = mode, wait
        self.requests = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for _ in range(200):  # bounded: ten seconds at most
            if self.done.is_set():
                return
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(h.split(b":")[1])
                        for h in head.split(b"\r\n")
                        if h.lower().startswith(b"content-length")
                    ),
                    0,
                )
                while len(body) < length:
                    body += conn.recv(65536)
                self.requests += 1
                if self.mode == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                elif self.mode == "late":
                    self.done.wait(self.wait)  # past the client's read timeout, then gone

    def close(self) -> None:
        self.done.set()
        self.sock.close()
        self.thread.join(timeout=5)


@contextmanager
def raw_server(mode: str, wait: float = 0.0) -> Iterator[RawServer]:
    server = RawServer(mode, wait)
    try:
        yield server
    finally:
        server.close()


def client_for(url: str, **kw: float) -> AcClient:
    return AcClient(url, "t", sleep=lambda s: None, max_attempts=3, **kw)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- proof that nothing left: an unsafe call may be repeated ----------------------------------------
def test_connection_refused_is_unsent_and_a_post_is_repeated() -> None:
    client = client_for(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(AcRetriableError) as info:
        client.request("POST", "contactTags", body=BODY)
    assert info.value.not_sent
    assert not isinstance(info.value, AcMaybeSent)
    assert client.requests["POST contactTags"] == 3  # tried every attempt: nothing reached AC


def test_dns_failure_is_unsent(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: object, **kw: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    client = client_for("http://acct.api-us1.example")
    with pytest.raises(AcRetriableError) as info:
        client.request("POST", "contactTags", body=BODY)
    assert info.value.not_sent
    assert not isinstance(info.value, AcMaybeSent)
    assert "NameResolutionError" in str(info.value)
    assert client.requests["POST contactTags"] == 3


@responses.activate
def test_a_connect_timeout_is_unsent() -> None:
    url = "https://acct.api-us1.com/api/3/contactTags"
    responses.add(responses.POST, url, body=requests.ConnectTimeout("connect timed out"))
    responses.add(responses.POST, url, json={"contactTag": {"id": "9"}}, status=201)
    client = client_for("https://acct.api-us1.com")
    assert client.add_contact_tag("1", "1") == {"id": "9"}
    assert len(responses.calls) == 2


# --- the request may have arrived: AcMaybeSent, never repeated ---------------------------------------
@pytest.mark.parametrize("mode", ["drop", "reset"])
def test_a_connection_lost_after_the_request_arrived_is_maybe_sent(mode: str) -> None:
    with raw_server(mode) as server:
        client = client_for(server.url)
        with pytest.raises(AcMaybeSent, match="may have acted"):
            client.request("POST", "contactTags", body=BODY)
        assert server.requests == 1  # never sent again
        assert client.requests["POST contactTags"] == 1


def test_an_answer_after_the_read_timeout_is_maybe_sent() -> None:
    with raw_server("late", wait=2.0) as server:
        client = client_for(server.url, read_timeout=0.1)
        with pytest.raises(AcMaybeSent, match="did not answer in time"):
            client.request("POST", "contactTags", body=BODY)
        assert server.requests == 1


def test_idempotent_calls_are_still_retried_after_a_lost_answer() -> None:
    with raw_server("drop") as server:
        client = client_for(server.url)
        with pytest.raises(AcMaybeSent):
            client.request("GET", "users/me")
        assert server.requests == 3


@pytest.mark.parametrize("kind", ["500", "503"])
def test_a_5xx_on_a_post_is_maybe_sent_and_not_repeated(kind: str) -> None:
    sb, client, _ = sandbox_and_client(contacts=5)
    tag = client.create_tag("Inaktiv")
    sb.faults.set(kind, next=1)
    with pytest.raises(AcMaybeSent):
        client.add_contact_tag("1", tag["id"])
    assert sb.journal.counts["POST contactTags"] == 1
    sb.faults.set(kind, next=1)  # a GET is retried through it
    assert all(ct["tag"] != tag["id"] for ct in client.contact_tags("1"))  # AC did nothing here


def test_the_classification_of_exceptions_is_precise() -> None:
    from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

    refused = requests.ConnectionError(MaxRetryError(None, "/", NewConnectionError(None, "refused")))  # type: ignore[arg-type]
    dropped = requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError()))
    assert unsent(refused)
    assert unsent(requests.ConnectTimeout())
    assert not unsent(dropped)
    assert not unsent(requests.ReadTimeout())
    assert not unsent(requests.exceptions.SSLError())
    assert not unsent(requests.exceptions.ChunkedEncodingError())
    assert not unsent(requests.ConnectionError("no reason given"))


# --- the sandbox's lost-answer faults: AC acts first ------------------------------------------------
@pytest.mark.parametrize("kind", ["drop", "late"])
def test_sandbox_lost_answer_faults_act_first_in_process(kind: str) -> None:
    sb, client, _ = sandbox_and_client(contacts=5)
    tag = client.create_tag("Inaktiv")
    sb.faults.set(kind, next=1)
    with pytest.raises(AcMaybeSent):
        client.add_contact_tag("1", tag["id"])
    assert sb.journal.counts["POST contactTags"] == 1
    assert "Inaktiv" in sb.account.tags_of(1)  # AC acted; only the answer was lost


@pytest.mark.parametrize("kind", ["drop", "late"])
def test_sandbox_lost_answer_faults_act_first_over_http(kind: str) -> None:
    sb = Sandbox(seed_account(5, 1, NOW), rate_limit=None, timeout_seconds=0.5)
    server = serve_sandbox(sb).start()
    try:
        client = AcClient(server.url, "sandbox", read_timeout=0.2, max_attempts=3, sleep=lambda s: None)
        tag = client.create_tag("Inaktiv")
        sb.faults.set(kind, next=1)
        with pytest.raises(AcMaybeSent):
            client.add_contact_tag("2", tag["id"])
        assert sb.journal.counts["POST contactTags"] == 1
        assert "Inaktiv" in sb.account.tags_of(2)
    finally:
        server.close()
