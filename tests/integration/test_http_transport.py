"""The HTTP aggregator transport against a tiny aggregator on 127.0.0.1 (a real HTTP peer). Its
delivery callbacks go to `tambour serve`: test_http_callbacks.py, test_worker_http.py."""

import asyncio
import socket
import threading
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tambour.dispatch.transports.base import SubmitStatus
from tambour.dispatch.transports.http import HttpSettings, HttpTransport
from tambour.traffic import OutboundMessage
from tests.integration.http_peers import aggregator
from tests.integration.smpp_peers import run

UNTIL = datetime(2026, 11, 28, 20, 0, tzinfo=ZoneInfo("Europe/Paris"))
MESSAGE = OutboundMessage("msg-7", "MLUMIERE", "+33612345678", "Bonjour Léa ! STOP au 36111", UNTIL)


def submit_once(settings: HttpSettings) -> Any:
    results: list[Any] = []

    async def scenario() -> None:
        transport = HttpTransport(settings)
        await transport.start()
        results.append(await transport.submit(MESSAGE))
        await transport.close()

    run(scenario)
    return results[0]


def test_an_accepted_message_and_what_the_aggregator_receives() -> None:
    with aggregator((200, {"ids": ["agg-1", "agg-2"]})) as peer:
        settings = HttpSettings(peer.url, token="t0k", callback_url="https://t.example/callbacks")
        result = submit_once(settings)
        assert result.status == SubmitStatus.ACCEPTED
        assert result.carrier_ids == ("agg-1", "agg-2")
        [(headers, body)] = peer.requests
        assert body == {
            "reference": "msg-7",
            "from": "MLUMIERE",
            "to": "+33612345678",
            "text": "Bonjour Léa ! STOP au 36111",
            "valid_until": "2026-11-28T20:00:00+01:00",
            "callback_url": "https://t.example/callbacks",
        }
        assert headers["Authorization"] == "Bearer t0k"
        assert headers["Idempotency-Key"] == "msg-7"
        assert headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (429, SubmitStatus.RETRY),
        (503, SubmitStatus.RETRY),
        (400, SubmitStatus.FAILED),
        (502, SubmitStatus.IN_DOUBT),
        (0, SubmitStatus.IN_DOUBT),  # the request went, no answer came
    ],
)
def test_answers_as_what_to_do_next(status: int, expected: SubmitStatus) -> None:
    with aggregator((status, {"error": "x"})) as peer:
        result = submit_once(HttpSettings(peer.url))
        assert result.status == expected
        assert result.error.system == "http"
        assert result.error.code == (status or None)
        assert len(peer.requests) == 1


def test_window_requests_go_at_once() -> None:
    """Eight requests must be in the aggregator together: it answers none before all arrived."""
    barrier = threading.Barrier(8, timeout=5)

    with aggregator(*[(200, {"id": str(n)}) for n in range(8)]) as peer:
        peer.before_answer = barrier.wait

        async def scenario() -> None:
            transport = HttpTransport(HttpSettings(peer.url, window=8))
            await transport.start()
            results = await asyncio.gather(*(transport.submit(MESSAGE) for _ in range(8)))
            assert {r.status for r in results} == {SubmitStatus.ACCEPTED}
            await transport.close()

        run(scenario)
        assert not barrier.broken


def test_no_connection_means_nothing_was_sent() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = submit_once(HttpSettings(f"http://127.0.0.1:{port}/"))
    assert result.status == SubmitStatus.RETRY
    assert "no connection" in result.error.detail


def test_the_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="http"):
        HttpTransport(HttpSettings("ftp://example/x"))
