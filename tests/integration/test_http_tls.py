"""The HTTP transport over HTTPS, against a tiny aggregator on 127.0.0.1 serving a test
certificate (tests/tls_certs.py): the certificate and the name are verified, against `ca_file`
when it is set; one that does not verify stops the transport at start, in words, and holds a
message back (nothing was sent) rather than sending it unverified."""

import asyncio
from typing import Any

import pytest

from tambour.dispatch.tls import TlsError, server_context
from tambour.dispatch.transports.base import SubmitStatus
from tambour.dispatch.transports.http import HttpSettings, HttpTransport
from tests.integration.http_peers import aggregator
from tests.integration.smpp_peers import run
from tests.integration.test_http_transport import MESSAGE
from tests.tls_certs import KeyPair, TlsFiles, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_pki(tmp_path_factory.mktemp("pki"))


def https_aggregator(pair: KeyPair, *answers: tuple[int, object]) -> Any:
    """The test aggregator serving HTTPS with `pair`, at https://127.0.0.1:<port>/..."""
    return aggregator(*answers, tls=server_context(str(pair.cert), str(pair.key)))


def start_and_submit(settings: HttpSettings) -> Any:
    results: list[Any] = []

    async def scenario() -> None:
        transport = HttpTransport(settings)
        try:
            await transport.start()
            results.append(await transport.submit(MESSAGE))
        finally:
            await transport.close()

    run(scenario)
    return results[0]


def submit_without_start(settings: HttpSettings) -> Any:
    results: list[Any] = []

    async def scenario() -> None:
        transport = HttpTransport(settings)
        results.append(await transport.submit(MESSAGE))
        await transport.close()

    run(scenario)
    return results[0]


def test_https_with_the_ca_file_is_accepted(pki: TlsFiles) -> None:
    with https_aggregator(pki.server, (200, {"id": "agg-1"})) as peer:
        result = start_and_submit(HttpSettings(peer.url, ca_file=str(pki.ca)))
        assert result.status == SubmitStatus.ACCEPTED
        assert result.carrier_ids == ("agg-1",)
        assert len(peer.requests) == 1
    with https_aggregator(pki.server, (200, {"id": "agg-2"})) as peer:
        by_name = peer.url.replace("127.0.0.1", "localhost")
        assert start_and_submit(HttpSettings(by_name, ca_file=str(pki.ca))).status == (
            SubmitStatus.ACCEPTED
        )


def test_a_certificate_that_does_not_verify_stops_the_start(pki: TlsFiles) -> None:
    with https_aggregator(pki.server) as peer:
        # The system's trust store does not know the test CA.
        with pytest.raises(TlsError) as caught:
            start_and_submit(HttpSettings(peer.url))
        assert str(caught.value) == (
            "TLS: the aggregator's certificate could not be verified (unable to get local issuer "
            "certificate); ca_file names the CA that signed it, when it is not in the system's "
            "trust store"
        )
        assert peer.requests == []
    with https_aggregator(pki.other_name_server) as peer, pytest.raises(TlsError) as caught:
        start_and_submit(HttpSettings(peer.url, ca_file=str(pki.ca)))
    assert str(caught.value).startswith(
        "TLS: the aggregator's certificate is not for 127.0.0.1 (IP address mismatch"
    )


def test_a_message_is_held_back_when_the_certificate_fails_later(pki: TlsFiles) -> None:
    """Past the start (the aggregator's certificate changed): nothing was sent, so the message
    is to be tried again, and the error says why."""
    with https_aggregator(pki.untrusted_server) as peer:
        result = submit_without_start(HttpSettings(peer.url, ca_file=str(pki.ca)))
        assert result.status == SubmitStatus.RETRY
        assert result.error.detail.startswith(
            "no connection: TLS: the aggregator's certificate could not be verified"
        )
        assert peer.requests == []


def test_an_unreachable_aggregator_does_not_stop_the_start(pki: TlsFiles) -> None:
    with https_aggregator(pki.server) as peer:
        url = peer.url
    result = start_and_submit(HttpSettings(url, ca_file=str(pki.ca)))
    assert result.status == SubmitStatus.RETRY
    assert "no connection" in result.error.detail


def test_a_ca_file_that_cannot_be_read_is_named(pki: TlsFiles) -> None:
    with https_aggregator(pki.server) as peer:
        settings = HttpSettings(peer.url, ca_file=str(pki.client.key))
        with pytest.raises(
            TlsError, match=r"^TLS: ca_file: .*client.key holds no PEM certificate$"
        ):
            asyncio.run(HttpTransport(settings).start())
