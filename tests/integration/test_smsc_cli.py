"""`tambour smsc` and `tambour smsc mo`, through the Typer app (tambour.cli.smsc_cmd): the server
runs as its own process, the client binds to it over TCP, replies go in through the admin port."""

import asyncio
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import typer
from typer.testing import CliRunner, Result

from tambour.cli.smsc_cmd import app
from tambour.dispatch.smpp.client import Accepted, BindRefusedError, SmppSession
from tambour.dispatch.smpp.pdu import Address, DeliverSm, SubmitSm
from tambour.dispatch.smpp.status import Status
from tests.integration.smpp_peers import eventually, run, session_settings

runner = CliRunner()
LISTENING = re.compile(
    r"SMSC listening on 127\.0\.0\.1:(\d+) .* admin on http://127\.0\.0\.1:(\d+)"
)


def mo(admin: int, text: str, *options: str, source: str = "0612345678") -> Result:
    """`tambour smsc mo` through the Typer app."""
    args = ["mo", "--from", source, "--to", "36111", "--text", text, "--admin-port", str(admin)]
    return runner.invoke(app, [*args, *options])


@contextmanager
def smsc_process(*options: str) -> Iterator[tuple[int, int, subprocess.Popen[str]]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tambour.cli.smsc_cmd", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = LISTENING.search(line)
        assert match, f"unexpected first line: {line!r} {process.stderr.read() if not line else ''}"
        yield int(match.group(1)), int(match.group(2)), process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def test_the_smsc_command_serves_until_sigterm_and_takes_injected_replies() -> None:
    with smsc_process("--password", "pw", "--receipt-delay", "0") as (port, admin, process):
        replies: list[DeliverSm] = []

        async def scenario() -> None:
            settings = session_settings(port, password="pw")
            session = SmppSession(settings, replies.append)
            await session.start()
            outcome = await session.submit(
                SubmitSm(Address(5, 0, "BRAND"), Address(1, 1, "33612345678"), b"Bonjour", 0, 0, 1)
            )
            assert isinstance(outcome, Accepted)
            await eventually(lambda: len(replies) == 1, what="the receipt")
            result = await asyncio.to_thread(mo, admin, "STOP", source="+33612345678")
            assert result.exit_code == 0, result.output
            assert "reply delivered to the bound session" in result.stdout
            assert len(replies) == 2
            assert replies[1].short_message == b"STOP"
            assert replies[1].destination == Address(3, 0, "36111")
            await session.close()

        run(scenario)
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=10)
        assert process.returncode == 0
        assert "SMSC stopped: 1 parts accepted" in out
        assert "2 receipts and replies acknowledged" in out


def test_the_smsc_command_checks_the_password() -> None:
    with smsc_process("--password", "pw") as (port, _, __):

        async def scenario() -> None:
            with pytest.raises(BindRefusedError) as caught:
                await SmppSession(session_settings(port, password="other")).start()
            assert caught.value.status == Status.ESME_RINVPASWD

        run(scenario)


def test_a_reply_with_nobody_bound_is_queued_and_says_so() -> None:
    with smsc_process() as (_, admin, __):
        result = mo(admin, "STOP", "--wait", "0.2", "--json")
        assert result.exit_code == 1
        assert '"queued": true' in result.stdout
        assert '"bound_sessions": 0' in result.stdout


def test_mo_errors() -> None:
    with smsc_process() as (_, admin, __):
        empty = mo(admin, "")
        assert empty.exit_code == 2
        assert "text: a non-empty string is required" in empty.stderr
    gone = mo(admin, "STOP")
    assert gone.exit_code == 2
    assert "is `tambour smsc` running?" in gone.stderr


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--failure-rate", "2"], "--failure-rate: 2.0 is not between 0 and 1"),
        (["--tps", "-1"], "cannot be negative"),
        (["--port", "70000"], "a port is a number from 0 to 65535"),
    ],
)
def test_serve_refuses_bad_options(options: list[str], message: str) -> None:
    result = runner.invoke(app, options)
    assert result.exit_code == 2
    assert message in result.stderr


def test_registered_under_a_parent_app_as_tambour_smsc() -> None:
    """The line that registers it in tambour.cli: app.add_typer(smsc_cmd.app, name="smsc")."""
    parent = typer.Typer()
    parent.add_typer(app, name="smsc")
    refused = runner.invoke(parent, ["smsc", "--failure-rate", "-1"])
    assert refused.exit_code == 2
    assert "--failure-rate: -1.0 is not between 0 and 1" in refused.stderr
    helped = runner.invoke(parent, ["smsc", "mo", "--help"])
    assert helped.exit_code == 0
    assert "--from" in helped.stdout and "--text" in helped.stdout
