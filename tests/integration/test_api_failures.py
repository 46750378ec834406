"""An unexpected exception in a route: 500 problem+json with no traceback nor the error's words
to the client, the error in the log (its phone number masked), and the Idempotency-Key of the
failed request released so that a retry runs. The app is tambour's own (`create_app`), with
one route that fails, served by uvicorn on a free port in this process: no route of the product
fails on purpose."""

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from tambour.api.app import create_app
from tambour.api.auth import Caller
from tambour.api.routing import V1, V1Router
from tambour.api.settings import ApiSettings
from tambour.logs import JsonLines
from tambour.settings import Settings
from tests.integration.api_server import assert_problem, new_key


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()


def test_an_unexpected_error_is_a_500_problem_and_logged(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []
    router = V1Router(prefix=V1)

    @router.post("/failing")
    def failing(caller: Caller) -> dict[str, str]:
        calls.append(caller.key_id)
        raise RuntimeError("the driver said: no route to 06 12 34 56 78")

    app = create_app(ApiSettings(base=Settings(database_url=db_url)))
    app.include_router(router)
    token = new_key(db_url, "--operator")
    auth = {"Authorization": f"Bearer {token}", "Idempotency-Key": "essai-1"}
    with caplog.at_level(logging.INFO), served(app) as url, httpx.Client(base_url=url) as client:
        first = client.post("/api/v1/failing", headers=auth, json={"a": 1})
        retry = client.post("/api/v1/failing", headers=auth, json={"a": 1})
    for response in (first, retry):
        body = assert_problem(response, 500, "internal_error")
        assert "06 12" not in response.text and "RuntimeError" not in response.text
        assert body["detail"].startswith("Une erreur interne")
        assert "idempotent-replayed" not in response.headers
    assert len(calls) == 2  # the key was released: the retry ran
    errors = [record for record in caplog.records if getattr(record, "event", "") == "api_error"]
    assert len(errors) == 2 and errors[0].exc_info is not None
    logged = JsonLines().format(errors[0])
    assert "RuntimeError" in logged and "06 12 34 56 78" not in logged
    assert '"route": "/api/v1/failing"' in logged
    access = [r for r in caplog.records if getattr(r, "event", "") == "http_request"]
    assert [getattr(r, "status", None) for r in access] == [500, 500]
