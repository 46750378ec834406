"""`tambour smsc`: a local SMSC (SMPP v3.4 server) for the demo and the tests, and
`tambour smsc mo` to inject a reply into it through its admin port."""

import asyncio
import contextlib
import math
import signal
from pathlib import Path
from typing import Annotated

import typer

from tambour.cli.context import running_clock
from tambour.cli.output import fail, print_json
from tambour.dispatch.smsc import Smsc, SmscSettings
from tambour.dispatch.smsc_admin import SmscAdmin, inject_mo
from tambour.dispatch.tls import TlsSetupError

app = typer.Typer(help="A local SMSC (SMPP server) for the demo and the tests.")

DEFAULT_PORT = 2775
TLS_OPTIONS = {"cert": "--tls-cert", "key": "--tls-key", "client_ca": "--tls-client-ca"}


@app.callback(invoke_without_command=True)
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="SMPP port (0: any free port).")] = DEFAULT_PORT,
    admin_port: Annotated[
        int | None, typer.Option(help="Admin HTTP port; default: the SMPP port + 1.")
    ] = None,
    system_id: Annotated[str, typer.Option(help="The system_id ESMEs bind with.")] = "tambour",
    password: Annotated[
        str,
        typer.Option(envvar="TAMBOUR_SMPP_PASSWORD", help="The password ESMEs bind with."),
    ] = "tambour",
    receipt_delay: Annotated[
        float, typer.Option(help="Seconds between a submit and its receipt.")
    ] = 1.0,
    failure_rate: Annotated[
        float, typer.Option(help="Share of parts whose receipt says UNDELIV, 0 to 1.")
    ] = 0.0,
    tps: Annotated[
        float, typer.Option(help="Submits a second per session before ESME_RTHROTTLED; 0: none.")
    ] = 0.0,
    tps_burst: Annotated[
        float,
        typer.Option(help="Submits taken at once above --tps, in seconds' worth of it."),
    ] = 0.1,
    tls_cert: Annotated[
        Path | None,
        typer.Option(help="Serve SMPP over TLS with this certificate (PEM; with --tls-key)."),
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(help="The private key of --tls-cert (PEM, not encrypted).")
    ] = None,
    tls_client_ca: Annotated[
        Path | None,
        typer.Option(help="Require ESMEs to show a certificate signed by this CA (PEM)."),
    ] = None,
    receipt_tlvs: Annotated[
        bool,
        typer.Option(help="Send receipted_message_id and message_state TLVs with the text."),
    ] = True,
    seed: Annotated[int | None, typer.Option(help="Seed of the failure draw.")] = None,
) -> None:
    """Run the SMSC until interrupted (Ctrl-C or SIGTERM)."""
    if ctx.invoked_subcommand is not None:
        return
    if not 0.0 <= failure_rate <= 1.0:
        fail(f"--failure-rate: {failure_rate} is not between 0 and 1")
    for option, value in (
        ("--receipt-delay", receipt_delay),
        ("--tps", tps),
        ("--tps-burst", tps_burst),
    ):
        if not math.isfinite(value) or value < 0:
            fail(f"{option}: {value} cannot be negative: a number, 0 or more")
    if not 0 <= port <= 65535 or (admin_port is not None and not 0 <= admin_port <= 65535):
        fail("a port is a number from 0 to 65535")
    if (tls_cert is None) != (tls_key is None):
        fail("--tls-cert and --tls-key go together (a certificate and its key)")
    if tls_client_ca is not None and tls_cert is None:
        fail("--tls-client-ca needs --tls-cert and --tls-key (TLS to require a certificate in)")
    settings = SmscSettings(
        host=host,
        port=port,
        system_id=system_id,
        password=password,
        receipt_delay=receipt_delay,
        failure_rate=failure_rate,
        tps=tps,
        tps_burst=tps_burst,
        receipt_tlvs=receipt_tlvs,
        seed=seed,
        tls_cert=str(tls_cert) if tls_cert else None,
        tls_key=str(tls_key) if tls_key else None,
        tls_client_ca=str(tls_client_ca) if tls_client_ca else None,
    )
    if admin_port is None:
        admin_port = port + 1 if port else 0
    try:
        asyncio.run(_serve(settings, admin_port))
    except TlsSetupError as error:
        fail(f"{TLS_OPTIONS[error.key]}: {error.problem}")
    except OSError as error:
        fail(f"cannot listen: {error}")


async def _serve(settings: SmscSettings, admin_port: int) -> None:
    smsc = Smsc(settings, clock=running_clock())
    await smsc.start()
    admin = SmscAdmin(smsc, settings.host, admin_port)
    try:
        await admin.start()
    except OSError:
        await smsc.close()
        raise
    tls = ", TLS" + (" with client certificates" if settings.tls_client_ca else "")
    typer.echo(
        f"SMSC listening on {settings.host}:{smsc.port} (system_id {settings.system_id}"
        f"{tls if settings.tls_cert else ''}), admin on http://{settings.host}:{admin.port}",
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await admin.close()
    await smsc.close()
    stats = smsc.stats
    typer.echo(
        f"SMSC stopped: {stats.accepted:,} parts accepted, {stats.throttled:,} throttled, "
        f"{stats.refused:,} refused, {len(smsc.messages):,} messages, "
        f"{stats.deliveries_acked:,} receipts and replies acknowledged"
    )


@app.command("mo")
def mo(
    source: Annotated[str, typer.Option("--from", help="The person's number.")],
    short_number: Annotated[str, typer.Option("--to", help="The short number written to.")],
    text: Annotated[str, typer.Option("--text", help="What the person wrote.")],
    host: Annotated[str, typer.Option(help="The SMSC's admin address.")] = "127.0.0.1",
    admin_port: Annotated[int, typer.Option(help="The SMSC's admin port.")] = DEFAULT_PORT + 1,
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for the ESME's acknowledgement.")
    ] = 5.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Deliver a reply (MO message) into the SMSC's bound session. Exit 0 when an ESME
    acknowledged it, 1 when it is only queued (no ESME bound), 2 on bad input."""
    if not 0 <= wait <= 60:
        fail("--wait: seconds from 0 to 60")
    try:
        status, answer = inject_mo(host, admin_port, source, short_number, text, wait)
    except OSError as error:
        fail(f"no SMSC admin port at {host}:{admin_port} ({error}); is `tambour smsc` running?")
    if status >= 400:
        message = answer.get("error") if isinstance(answer, dict) else answer
        fail(f"the SMSC refused the reply: {message}")
    if as_json:
        print_json(answer)
    elif answer.get("delivered"):
        typer.echo("reply delivered to the bound session")
    else:
        typer.echo(
            f"reply queued: no ESME acknowledged it within {wait:g} s "
            f"({answer.get('bound_sessions', 0)} session(s) bound); it goes when one binds"
        )
    if not answer.get("delivered"):
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
