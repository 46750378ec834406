"""The delivery-callback listener faces the network (real TCP on 127.0.0.1, port 0): it needs
its token, bounds how long a request may take to arrive, how many connections it serves, how
big and how deep a body may be, and logs no phone number nor message text."""

import asyncio
import json
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tambour.dispatch.config import ConfigError, read_config
from tambour.dispatch.inbound import Inbound
from tambour.dispatch.json_http import json_depth
from tambour.dispatch.transports.http import HttpSettings, HttpTransport
from tambour.dispatch.transports.http_callbacks import CallbackServer
from tambour.traffic import Reply
from tests.integration.smpp_peers import run

TOKEN = "cb-7f3a9d2e51c4b8a0"
REPLY = {"type": "reply", "from": "0612345678", "to": "36111", "text": "STOP merci Lumière"}


def http(port: int, raw: bytes, *, timeout: float = 5.0) -> bytes:
    """Send `raw` on a new connection and read until the server closes it or answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(raw)
        return read_answer(conn)


def read_answer(conn: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = conn.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        if _ and b"content-length:" in head.lower():
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            if len(body) >= length:
                return data


def post(body: bytes, token: str | None = TOKEN, extra: bytes = b"") -> bytes:
    auth = b"Authorization: Bearer " + token.encode() + b"\r\n" if token is not None else b""
    return (
        b"POST /callbacks HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n" + auth
        + extra + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )  # fmt: skip


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def serving(
    check: Callable[[int, list[Inbound]], None], **settings: Any
) -> Callable[[], Awaitable[None]]:
    """A scenario: a listener on port 0, `check(port, received)` run in a thread (blocking
    client sockets), then the listener closed."""
    received: list[Inbound] = []

    async def handler(inbound: Inbound) -> None:
        if isinstance(inbound, Reply) and "boom" in inbound.text:
            raise RuntimeError(f"the ledger is down for {inbound.sender}: {inbound.text}")
        received.append(inbound)

    async def scenario() -> None:
        server = CallbackServer("127.0.0.1", 0, handler, settings.pop("token", TOKEN), **settings)
        await server.start()
        try:
            await asyncio.to_thread(check, server.port, received)
        finally:
            await server.close()

    return scenario


def test_a_listener_needs_its_token(tmp_path: Path) -> None:
    async def nothing(_: Inbound) -> None:
        return None

    for token in (None, ""):
        with pytest.raises(ValueError, match="needs a token"):
            CallbackServer("127.0.0.1", 0, nothing, token)
        with pytest.raises(ValueError, match="needs a token"):
            HttpTransport(HttpSettings("http://127.0.0.1:9/", callback_port=0), nothing)
    config = tmp_path / "tambour.toml"
    config.write_text(
        '[transport]\nkind = "http"\nurl = "http://a.example/"\ncallback_port = 8081\n'
    )
    with pytest.raises(ConfigError, match="callback_token: required with callback_port"):
        read_config(config, env={})
    assert read_config(config, env={"TAMBOUR_HTTP_CALLBACK_TOKEN": TOKEN})


def test_only_the_token_gets_in_and_bad_bodies_are_refused() -> None:
    def check(port: int, received: list[Inbound]) -> None:
        body = json.dumps(REPLY).encode()
        assert status(http(port, post(body, token=None))) == 401
        assert status(http(port, post(body, token="cb-7f3a9d2e51c4b8a1"))) == 401
        assert status(http(port, post(body, token=TOKEN[:-1]))) == 401
        assert received == []  # nothing of theirs was read, let alone acted on
        assert status(http(port, post(body))) == 200
        assert [r.sender for r in received if isinstance(r, Reply)] == ["+33612345678"]

        refused = {
            "malformed": post(b'{"type": "receipt", "id": '),
            "not an object": post(b'["receipt"]'),
            "not UTF-8": post(b'{"type": "\xff\xfe"}'),
            "nested": post(json.dumps({**REPLY, "x": [[[[[1]]]]]}).encode()),
            "deeply nested": post(b"[" * 60_000 + b"]" * 0),
            "over 64 KiB": post(json.dumps({**REPLY, "pad": "x" * 70_000}).encode()),
            "chunked": (
                b"POST /callbacks HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + TOKEN.encode()
                + b"\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{}   \r\n0\r\n\r\n"
            ),
            "reply from nobody": post(json.dumps({**REPLY, "from": " "}).encode()),
            "reply to no short number": post(json.dumps({**REPLY, "to": "3" * 40}).encode()),
        }  # fmt: skip
        answers = {name: status(http(port, raw)) for name, raw in refused.items()}
        assert answers == {
            "malformed": 400, "not an object": 400, "not UTF-8": 400, "nested": 400,
            "deeply nested": 400, "over 64 KiB": 413, "chunked": 411,
            "reply from nobody": 400, "reply to no short number": 400,
        }  # fmt: skip
        assert len(received) == 1
        assert status(http(port, post(body))) == 200  # the listener is still whole

    run(serving(check))


def test_a_slow_request_is_cut_at_its_deadline() -> None:
    """A peer that trickles its headers (slowloris) is cut after the read deadline, however
    steady its trickle; others are served meanwhile."""

    def check(port: int, received: list[Inbound]) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as slow:
            slow.sendall(b"POST /callbacks HTTP/1.1\r\nHost: t\r\n")
            started = time.monotonic()
            answer = b""
            try:
                for tick in range(40):  # a byte every 0.1 s: no single read waits long
                    slow.sendall(b"X")
                    time.sleep(0.1)
                    if tick == 3:
                        assert status(http(port, post(json.dumps(REPLY).encode()))) == 200
            except (BrokenPipeError, ConnectionResetError):
                pass
            else:
                answer = read_answer(slow)
            cut_after = time.monotonic() - started
        assert answer == b"" and cut_after < 3.0
        assert len(received) == 1

    run(serving(check, read_timeout=1.0))


def test_connections_are_bounded() -> None:
    def check(port: int, received: list[Inbound]) -> None:
        idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(2)]
        try:
            time.sleep(0.2)  # both taken by the listener
            with socket.create_connection(("127.0.0.1", port), timeout=5) as third:
                answer = read_answer(third)
            assert status(answer) == 503 and b"Retry-After" in answer
        finally:
            for conn in idle:
                conn.close()
        time.sleep(0.2)  # their slots are free again
        assert status(http(port, post(json.dumps(REPLY).encode()))) == 200

    run(serving(check, max_connections=2, read_timeout=5.0))


def test_no_phone_number_nor_text_in_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    def check(port: int, received: list[Inbound]) -> None:
        for raw in (
            post(json.dumps(REPLY).encode()),
            post(json.dumps({**REPLY, "text": "boom Lumière"}).encode()),  # the handler fails
            post(json.dumps({**REPLY, "from": "pas un numéro 0612345678"}).encode()),
            post(json.dumps(REPLY).encode(), token="wrong"),
            b"GET /0612345678?to=0612345678 HTTP/1.1\r\nHost: t\r\n\r\n",
            b"POST /callbacks 0612345678 Lumiere\r\n\r\n",  # a broken request line
        ):
            http(port, raw)

    with caplog.at_level(logging.DEBUG):
        run(serving(check))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "POST /callbacks 200" in logged and "failed: RuntimeError" in logged
    for secret in ("612345678", "Lumi", "STOP merci", "boom", TOKEN):
        assert secret not in logged


def test_json_depth() -> None:
    assert json_depth(b'{"a": 1}') == 1
    assert json_depth(b'{"a": "[[[{{{", "b": [1, {"c": []}]}') == 4
    assert json_depth(b'"\\"[["') == 0
    assert json_depth(b"[" * 1000) == 1000
