"""A small JSON-over-HTTP server for the asyncio side of Tambour: the local SMSC's admin port
(until issue 15, the HTTP transport's delivery callbacks too: `tambour serve` takes them now).
The standard library's ThreadingHTTPServer runs in
a thread of its own; each request is handed to an async route on the caller's event loop, and
answered with what the route returns once it completes.

Routes take the JSON body (None for GET) and the request headers, and return (status, payload).
What a peer on the network can do to it is bounded:
- with a `token`, a request without `Authorization: Bearer <token>` (compared in constant time)
  is answered 401 before its body is read;
- a request (its line, headers and body) must arrive within `read_timeout` seconds, whatever
  the pace of its bytes (a slow sender no longer holds a thread: slowloris), and an idle
  kept-alive connection is closed after as long;
- at most `max_connections` connections are served at once; the next ones get a 503 and are
  closed at once;
- a POST body needs a Content-Length (no chunked encoding) of at most 64 KiB (413), and must be
  a JSON object (400) nested at most `max_depth` deep (400, checked before it is parsed: a
  deep one would exhaust the parser's recursion).
A route that raises answers 500 (the caller may try again). Requests are logged at debug
level, method, path (no query string) and status only: never a header or a body, which hold
phone numbers and messages.
"""

import asyncio
import contextlib
import hmac
import json
import logging
import re
import socket
import sys
import threading
from collections.abc import Awaitable, Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

log = logging.getLogger(__name__)

MAX_BODY: Final = 64 * 1024
MAX_DEPTH: Final = 8
JsonRoute = Callable[[dict[str, Any] | None, Mapping[str, str]], Awaitable[tuple[int, object]]]

_STRING: Final = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS: Final = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(body: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (its strings skipped), without
    parsing it."""
    depth = deepest = 0
    for bracket in _STRING.sub(b"", body).translate(None, _NOT_BRACKETS):
        if bracket in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


class _BoundedServer(ThreadingHTTPServer):
    """One thread a connection, at most `max_connections` of them; over that, a 503 and the
    connection is closed without reading the request."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], limit: int
    ) -> None:
        self._slots = threading.BoundedSemaphore(limit)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Not the standard library's traceback on stderr: a peer that hangs up early is no
        # error of ours, and nothing the peer sent is repeated.
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            log.debug("http: connection ended early (%s)", type(error).__name__)
        else:
            log.warning("http: a request failed (%s)", type(error).__name__)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def _refuse_busy(connection: socket.socket) -> None:
    body = b'{"error": "too many connections, try again later"}'
    with contextlib.suppress(OSError):
        connection.settimeout(1.0)
        connection.sendall(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            b"Retry-After: 1\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )


class JsonHttpServer:
    def __init__(
        self,
        host: str,
        port: int,
        routes: Mapping[tuple[str, str], JsonRoute],
        timeout: float = 30.0,
        *,
        token: str | None = None,
        read_timeout: float = 10.0,
        max_connections: int = 32,
        max_depth: int = MAX_DEPTH,
    ) -> None:
        if token is not None and not token:
            raise ValueError("an empty token would let anyone in")
        self.host = host
        self.port = port
        self._routes = dict(routes)
        self._timeout = timeout  # for a route to answer
        self._token = token
        self._read_timeout = read_timeout
        self._max_connections = max_connections
        self._max_depth = max_depth
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = _BoundedServer(
            (self.host, self.port), self._handler_class(loop), self._max_connections
        )
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"http-{self.port}", daemon=True
        )
        self._thread.start()

    async def close(self) -> None:
        server = self._server
        if server is None:
            return
        await asyncio.to_thread(server.shutdown)
        server.server_close()
        self._server = None

    def _handler_class(self, loop: asyncio.AbstractEventLoop) -> type[BaseHTTPRequestHandler]:
        routes, timeout, token = self._routes, self._timeout, self._token
        read_timeout, max_depth = self._read_timeout, self._max_depth
        expected = f"Bearer {token}".encode() if token is not None else None

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = read_timeout  # each read of the socket; the deadline bounds them all
            _deadline: threading.Timer

            def handle_one_request(self) -> None:
                # The request must be read by the deadline, however slowly its bytes come:
                # past it the socket is shut and the blocked read ends.
                self._deadline = threading.Timer(read_timeout, self._expire)
                self._deadline.daemon = True
                self._deadline.start()
                try:
                    super().handle_one_request()
                finally:
                    self._deadline.cancel()

            def _expire(self) -> None:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def _serve(self, method: str) -> None:
                route = routes.get((method, self._path()))
                if route is None:
                    self._refuse(404, f"no {method} {self._path()}")
                    return
                if expected is not None:
                    given = self.headers.get("Authorization", "").encode()
                    if not hmac.compare_digest(given, expected):
                        self._refuse(401, "this needs Authorization: Bearer <token>")
                        return
                payload: dict[str, Any] | None = None
                if method == "POST":
                    payload = self._json_body()
                    if payload is None:
                        return
                self._deadline.cancel()  # read in time: the route has `timeout` of its own
                headers = {k.lower(): v for k, v in self.headers.items()}
                future = asyncio.run_coroutine_threadsafe(_call(route, payload, headers), loop)
                try:
                    status, answer = future.result(timeout)
                except Exception as error:  # the route failed: the caller may try again
                    future.cancel()
                    log.error("%s %s failed: %s", method, self._path(), type(error).__name__)
                    self._answer(500, {"error": type(error).__name__})
                    return
                self._answer(status, answer)

            def _json_body(self) -> dict[str, Any] | None:
                """The body as a JSON object, or None once an error is answered."""
                if self.headers.get("Transfer-Encoding"):
                    self._refuse(411, "send the body with a Content-Length")
                    return None
                try:
                    length = int(self.headers.get("Content-Length") or "")
                except ValueError:
                    length = -1
                if length < 0:
                    self._refuse(411, "Content-Length must be a byte count")
                    return None
                if length > MAX_BODY:
                    self._refuse(413, f"a body has at most {MAX_BODY} bytes")
                    return None
                try:
                    body = self.rfile.read(length)
                except OSError:  # timed out, or shut at the deadline
                    self.close_connection = True
                    return None
                if len(body) < length:  # the peer left, or the deadline passed
                    self.close_connection = True
                    return None
                if json_depth(body) > max_depth:
                    self._answer(400, {"error": f"the body nests deeper than {max_depth}"})
                    return None
                try:
                    payload = json.loads(body)
                except (ValueError, RecursionError):
                    payload = None
                if not isinstance(payload, dict):
                    self._answer(400, {"error": "the body must be a JSON object"})
                    return None
                return payload

            def _path(self) -> str:
                return str(getattr(self, "path", "")).split("?", 1)[0]

            def _refuse(self, status: int, message: str) -> None:
                """Answer before reading the body: the connection cannot serve another."""
                self.close_connection = True
                self._answer(status, {"error": message}, close=True)

            def _answer(self, status: int, payload: object, *, close: bool = False) -> None:
                body = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if status == 401:
                    self.send_header("WWW-Authenticate", "Bearer")
                if close:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                # Only a known route is named: any other path is the peer's text.
                method = getattr(self, "command", None)
                path = self._path() if (method, self._path()) in routes else "(other)"
                log.debug("http %s %s %s", method if path != "(other)" else "-", path, code)

            def log_message(self, format: str, *args: Any) -> None:
                # The standard messages quote the request line and what the peer sent: no.
                log.debug("http: %s", format.split(" ", 1)[0])

        return Handler


async def _call(
    route: JsonRoute, payload: dict[str, Any] | None, headers: Mapping[str, str]
) -> tuple[int, object]:
    return await route(payload, headers)


def post_json(url: str, payload: object, timeout: float = 10.0) -> tuple[int, Any]:
    """POST `payload` as JSON to `url` (blocking); the status and the decoded answer."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url,
        json.dumps(payload).encode(),
        {"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return error.code, json.loads(body or b"null")
        except ValueError:
            return error.code, body.decode("utf-8", "replace")
