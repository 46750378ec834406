"""SMPP over TLS, over real TCP on 127.0.0.1, with test certificates made for the run
(tests/tls_certs.py): the local SMSC serves TLS (`tls_cert`, `tls_key`, and `tls_client_ca` to
require a client certificate); the client always verifies the SMSC's certificate and name, and
a certificate that does not verify stops it at start in one line, as a wrong password does."""

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tambour.cli.smsc_cmd import app as smsc_app
from tambour.dispatch.receipts import is_receipt, parse_receipt
from tambour.dispatch.smpp.client import Accepted, SmppSession
from tambour.dispatch.smpp.pdu import Address, DeliverSm, SubmitSm
from tambour.dispatch.tls import TlsError, TlsSettings
from tests.integration.smpp_peers import (
    SmscThread,
    bound_session,
    eventually,
    run,
    running_smsc,
    session_settings,
)
from tests.tls_certs import KeyPair, TlsFiles, make_pki

BRAND = Address(5, 0, "BRAND")
MOBILE = Address(1, 1, "33612345678")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_pki(tmp_path_factory.mktemp("pki"))


def serving(pair: KeyPair, client_ca: Path | None = None) -> dict[str, str | None]:
    """The SMSC's settings to serve TLS with `pair`."""
    return {
        "tls_cert": str(pair.cert),
        "tls_key": str(pair.key),
        "tls_client_ca": str(client_ca) if client_ca else None,
    }


def trusting(pki: TlsFiles, **more: str) -> TlsSettings:
    return TlsSettings(ca_file=str(pki.ca), **more)


def start_fails(port: int, tls: TlsSettings, host: str = "127.0.0.1") -> str:
    """Start a session that must fail; what it said."""
    message: list[str] = []

    async def scenario() -> None:
        session = SmppSession(session_settings(port, host=host, tls=tls))
        with pytest.raises(OSError) as caught:
            await session.start()
        message.append(str(caught.value))

    run(scenario)
    return message[0]


def test_a_session_over_tls_submits_and_gets_its_receipt(pki: TlsFiles) -> None:
    receipts: list[DeliverSm] = []

    async def scenario() -> None:
        async with (
            running_smsc(**serving(pki.server)) as smsc,
            bound_session(smsc, receipts.append, tls=trusting(pki)) as session,
        ):
            outcome = await session.submit(
                SubmitSm(BRAND, MOBILE, b"Bonjour", registered_delivery=1)
            )
            assert isinstance(outcome, Accepted)
            await eventually(lambda: len(receipts) == 1, what="the receipt, over TLS")
            assert is_receipt(receipts[0])
            assert parse_receipt(receipts[0]).message_id == outcome.message_id
            assert [m.text for m in smsc.messages] == ["Bonjour"]

    run(scenario)


def test_the_name_verified_may_be_set_apart_from_the_host(pki: TlsFiles) -> None:
    """A carrier reached at an address whose certificate names its domain."""

    async def scenario() -> None:
        async with running_smsc(**serving(pki.other_name_server)) as smsc:
            tls = trusting(pki, server_name="smsc.example")
            async with bound_session(smsc, tls=tls) as session:
                assert session.bound
            async with bound_session(smsc, tls=trusting(pki, server_name="localhost")):
                pass

    with pytest.raises(TlsError, match="not for localhost"):
        run(scenario)


def test_localhost_is_verified_by_name(pki: TlsFiles) -> None:
    async def scenario() -> None:
        async with (
            running_smsc(**serving(pki.server)) as smsc,
            bound_session(smsc, host="localhost", tls=trusting(pki)) as session,
        ):
            assert session.bound

    run(scenario)


def test_a_certificate_from_an_unknown_ca_is_refused_in_words(pki: TlsFiles) -> None:
    with SmscThread(**serving(pki.untrusted_server)) as smsc:
        said = start_fails(smsc.port, trusting(pki))
        assert said.startswith("TLS: the SMSC's certificate could not be verified (unable to get")
        assert "ca_file names the CA that signed it" in said
        # Without ca_file, the system's trust store: our test CA is not in it either.
        said = start_fails(smsc.port, TlsSettings())
        assert said.startswith("TLS: the SMSC's certificate could not be verified")
        assert smsc.call(lambda s: s.stats.binds) == 0


def test_a_certificate_for_another_name_is_refused(pki: TlsFiles) -> None:
    with SmscThread(**serving(pki.other_name_server)) as smsc:
        said = start_fails(smsc.port, trusting(pki))
        assert said.startswith("TLS: the SMSC's certificate is not for 127.0.0.1 (IP address")
        assert "tls_server_name sets the name to verify" in said
        said = start_fails(smsc.port, trusting(pki), host="localhost")
        assert said.startswith("TLS: the SMSC's certificate is not for localhost (Hostname")


def test_a_client_certificate_when_the_smsc_requires_one(pki: TlsFiles) -> None:
    with SmscThread(**serving(pki.server, client_ca=pki.ca)) as smsc:
        with_certificate = trusting(
            pki, client_cert=str(pki.client.cert), client_key=str(pki.client.key)
        )

        async def scenario() -> None:
            session = SmppSession(session_settings(smsc.port, tls=with_certificate))
            await session.start()
            outcome = await session.submit(SubmitSm(BRAND, MOBILE, b"Bonjour"))
            assert isinstance(outcome, Accepted)
            await session.close()

        run(scenario)
        assert smsc.call(lambda s: s.stats.accepted) == 1

        # Without one: TLS 1.3 tells only by closing the connection, which the error says.
        said = start_fails(smsc.port, trusting(pki))
        assert said == (
            "the SMSC closed the connection during the bind (over TLS: does it want a client "
            "certificate? client_cert, client_key)"
        )
        # One the SMSC's CA did not sign.
        untrusted = trusting(
            pki,
            client_cert=str(pki.untrusted_server.cert),
            client_key=str(pki.untrusted_server.key),
        )
        assert "closed the connection during the bind" in start_fails(smsc.port, untrusted)
        assert smsc.call(lambda s: s.stats.binds) == 1


def test_tls_to_an_smsc_that_does_not_serve_it(pki: TlsFiles) -> None:
    with SmscThread() as smsc:
        said = start_fails(smsc.port, trusting(pki))
        assert said == (
            "TLS handshake with the SMSC at 127.0.0.1 failed (WRONG_VERSION_NUMBER): does it "
            "serve TLS?"
        )


def test_a_file_that_cannot_be_used_is_named(pki: TlsFiles, tmp_path: Path) -> None:
    with SmscThread(**serving(pki.server)) as smsc:
        said = start_fails(smsc.port, TlsSettings(ca_file=str(tmp_path / "absent.pem")))
        assert said == f"TLS: ca_file: no such file: {tmp_path / 'absent.pem'}"


# `tambour smsc` and `tambour worker` as a user runs them ---------------------------------------

LISTENING = re.compile(r"SMSC listening on 127\.0\.0\.1:(\d+) \(system_id tambour, TLS\)")


@pytest.fixture
def smsc_over_tls(pki: TlsFiles) -> Iterator[int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tambour.cli.smsc_cmd", "--port", "0", "--receipt-delay", "0",
         "--password", "pw", "--tls-cert", str(pki.server.cert), "--tls-key",
         str(pki.server.key)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = LISTENING.search(line)
        assert found, f"unexpected first line: {line!r}"
        yield int(found.group(1))
    finally:
        process.terminate()
        process.wait(10)


def test_the_smsc_command_serves_tls(pki: TlsFiles, smsc_over_tls: int) -> None:
    async def scenario() -> None:
        settings = session_settings(smsc_over_tls, password="pw", tls=trusting(pki))
        session = SmppSession(settings)
        await session.start()
        assert isinstance(await session.submit(SubmitSm(BRAND, MOBILE, b"Bonjour")), Accepted)
        await session.close()

    run(scenario)


def test_the_smsc_command_names_a_tls_file_it_cannot_use(pki: TlsFiles, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        smsc_app, ["--port", "0", "--tls-cert", str(pki.server.cert), "--tls-key", str(pki.ca)]
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: --tls-key: {pki.ca} holds no PEM private key"
    result = runner.invoke(smsc_app, ["--port", "0", "--tls-cert", str(pki.server.cert)])
    assert result.exit_code == 2
    assert "--tls-cert and --tls-key go together" in result.stderr


def test_the_worker_stops_at_start_on_a_certificate_it_cannot_verify(
    pki: TlsFiles, db_url: str, tmp_path: Path
) -> None:
    with SmscThread(**serving(pki.untrusted_server)) as smsc:
        config = tmp_path / "tls.toml"
        config.write_text(
            f'[transport]\nkind = "smpp"\nhost = "127.0.0.1"\nport = {smsc.port}\n'
            f'system_id = "tambour"\npassword = "s3cret"\ntls = true\nca_file = "{pki.ca}"\n'
        )
        env = {**os.environ, "TAMBOUR_DATABASE_URL": db_url, "TAMBOUR_CONFIG": str(config)}
        done = subprocess.run(
            [sys.executable, "-m", "tambour", "worker", "--until-idle"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: the transport cannot start: TLS: the SMSC's certificate could not be verified "
        "(unable to get local issuer certificate); ca_file names the CA that signed it, when it "
        "is not in the system's trust store"
    ]
    assert "Traceback" not in done.stderr
