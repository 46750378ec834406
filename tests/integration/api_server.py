"""`tambour serve --port 0` as a subprocess on a test database, and an httpx client to it.

    with ApiServer(db_url, tmp_path) as server:
        server.get("/api/v1/me", token=token)

The server prints the address it bound; it is waited for until /healthz answers. Its stderr
(the JSON logs) is kept in a file: `server.log_lines()`. Stopped by SIGTERM (then killed).
"""

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from tests.integration.cli import Cli

_START_TIMEOUT = 30.0


class ApiServer:
    def __init__(
        self,
        db_url: str,
        folder: Path,
        *,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.db_url = db_url
        self.log_path = folder / f"serve-{time.monotonic_ns()}.log"
        self.env = {
            **os.environ,
            "TAMBOUR_DATABASE_URL": db_url,
            "TAMBOUR_ACTOR": "test:server",
            "TAMBOUR_API_RATE": "10000",
            "TAMBOUR_API_BURST": "10000",
            **(env or {}),
        }
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.client = httpx.Client(timeout=30)

    def __enter__(self) -> "ApiServer":
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tambour", "serve", "--port", "0", *self.args],
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        line = self._first_line()
        self.url = line.split("listening on ", 1)[1].split()[0]
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            try:
                if self.client.get(self.url + "/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"the server did not start: {self.log_path.read_text()}")
            time.sleep(0.05)

    def _first_line(self) -> str:
        assert self.process is not None and self.process.stdout is not None
        chosen = selectors.DefaultSelector()
        chosen.register(self.process.stdout, selectors.EVENT_READ)
        if not chosen.select(_START_TIMEOUT):
            self.stop()
            raise RuntimeError(f"the server printed no address: {self.log_path.read_text()}")
        line = self.process.stdout.readline().decode()
        if "listening on" not in line:
            self.stop()
            raise RuntimeError(f"the server said {line!r}: {self.log_path.read_text()}")
        return line

    def stop(self) -> None:
        self.client.close()
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        url = path if path.startswith("http") else self.url + path
        return self.client.request(method, url, headers=sent, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line]


def new_key(db_url: str, *args: str) -> str:
    """A token made by `tambour apikey create ARGS --json` (the real command line)."""
    made = Cli(db_url)("apikey", "create", *args, "--json").json()
    token: str = made["token"]
    return token


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem of `status` and `code`; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json", response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code, body
    assert body["type"] == f"urn:tambour:problem:{code}"
    assert body["title"] and body["detail"] and body["instance"].startswith("/")
    assert "Traceback" not in response.text
    return body
