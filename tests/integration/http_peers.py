"""A tiny HTTP aggregator on 127.0.0.1 (a real HTTP peer) for the HTTP transport's tests (its
delivery callbacks go to `tambour serve`: test_worker_http.py posts them as it would)."""

import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Aggregator:
    """Answers each POST with the next (status, body) of `answers`, or what `answer` says of
    its JSON body, and records the requests."""

    def __init__(
        self,
        answers: list[tuple[int, object]],
        answer: Callable[[Any], tuple[int, object]] | None = None,
    ) -> None:
        self.answers = answers
        self.answer = answer
        self.requests: list[tuple[dict[str, str], Any]] = []
        self.before_answer: Callable[[], object] = lambda: None
        aggregator = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                request = json.loads(self.rfile.read(length))
                aggregator.requests.append((dict(self.headers), request))
                aggregator.before_answer()
                if aggregator.answer is not None:
                    status, body = aggregator.answer(request)
                else:
                    status, body = aggregator.answers.pop(0)
                if status == 0:  # read the request, then hang up without an answer
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/messages?account=7"


@contextmanager
def aggregator(
    *answers: tuple[int, object],
    answer: Callable[[Any], tuple[int, object]] | None = None,
    tls: ssl.SSLContext | None = None,
) -> Iterator[Aggregator]:
    """The test aggregator in a thread; over HTTPS with the server context `tls`."""
    peer = Aggregator(list(answers), answer)
    if tls is not None:
        peer.server.socket = tls.wrap_socket(peer.server.socket, server_side=True)
        peer.url = peer.url.replace("http://", "https://")
    thread = threading.Thread(target=peer.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        peer.server.shutdown()
        peer.server.server_close()
