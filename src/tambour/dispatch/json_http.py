"""A small JSON-over-HTTP server for the asyncio side of Tambour: the HTTP transport's delivery
callbacks and the local SMSC's admin port. The standard library's ThreadingHTTPServer runs in
a thread of its own; each request is handed to an async route on the caller's event loop, and
answered with what the route returns once it completes.

Routes take the JSON body (None for GET) and the request headers, and return (status, payload).
Bodies over 64 KiB and bodies that are not a JSON object are refused with 400/413; a route that
raises answers 500 (the caller may try again). Requests are logged at debug level, paths only.
"""

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

log = logging.getLogger(__name__)

MAX_BODY: Final = 64 * 1024
JsonRoute = Callable[[dict[str, Any] | None, Mapping[str, str]], Awaitable[tuple[int, object]]]


class JsonHttpServer:
    def __init__(
        self,
        host: str,
        port: int,
        routes: Mapping[tuple[str, str], JsonRoute],
        timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self._routes = dict(routes)
        self._timeout = timeout
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = ThreadingHTTPServer((self.host, self.port), self._handler_class(loop))
        self._server.daemon_threads = True
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
        routes, timeout = self._routes, self._timeout

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def _serve(self, method: str) -> None:
                route = routes.get((method, self.path.split("?", 1)[0]))
                if route is None:
                    self._answer(404, {"error": f"no {method} {self.path}"})
                    return
                payload: dict[str, Any] | None = None
                if method == "POST":
                    try:
                        length = int(self.headers.get("Content-Length") or 0)
                    except ValueError:
                        length = -1
                    if length < 0:
                        self._answer(400, {"error": "Content-Length must be a byte count"})
                        return
                    if length > MAX_BODY:
                        self._answer(413, {"error": f"a body has at most {MAX_BODY} bytes"})
                        return
                    try:
                        payload = json.loads(self.rfile.read(length) or b"null")
                    except ValueError:
                        payload = None
                    if not isinstance(payload, dict):
                        self._answer(400, {"error": "the body must be a JSON object"})
                        return
                headers = {k.lower(): v for k, v in self.headers.items()}
                future = asyncio.run_coroutine_threadsafe(_call(route, payload, headers), loop)
                try:
                    status, answer = future.result(timeout)
                except Exception as error:  # the route failed: the caller may try again
                    future.cancel()
                    log.error("%s %s failed: %s", method, self.path, type(error).__name__)
                    self._answer(500, {"error": type(error).__name__})
                    return
                self._answer(status, answer)

            def _answer(self, status: int, payload: object) -> None:
                body = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("http: " + format, *args)

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
