"""One SMPP client sending to the local SMSC with a window of 64, receipts flowing back.

Target (issue 5): the whole worker path must reach 3,000 messages a second under 200 MB, so the
SMPP layer alone must be well above 3,000 submit_sm a second. The SMSC runs in a process of its
own (as a carrier would be another machine), acknowledging at once and sending a receipt for every
part with no delay; the client parses every receipt. Two runs, each on a fresh session:

- session: pre-built one-part submit_sm through SmppSession.submit (the SMPP layer itself);
- transport: OutboundMessage through SmppTransport.submit (addresses, our splitter, GSM 03.38
  encoding, parts in order), with a mix of one-part and three-part texts.

Printed: submits a second over the whole run and over each second (slowest and median: it must
be sustained, not a burst), receipts a second, the peak RSS of the client and of the SMSC.
Usage: python benches/bench_smpp.py [SUBMITS]   (default 100,000 a run)
"""

import asyncio
import multiprocessing
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection

from tambour.dispatch.inbound import Inbound
from tambour.dispatch.receipts import is_receipt, parse_receipt
from tambour.dispatch.smpp.client import Accepted, SessionSettings, SmppSession
from tambour.dispatch.smpp.pdu import Address, DeliverSm, SubmitSm
from tambour.dispatch.smsc import Smsc, SmscSettings
from tambour.dispatch.transports.base import SubmitStatus
from tambour.dispatch.transports.smpp import SmppTransport
from tambour.traffic import OutboundMessage

WINDOW = 64
PRODUCERS = 256  # more submitters than the window, so that it stays full
TARGET = 3_000
TYPICAL = (
    "Bonjour Marie, -20% sur toute la boutique ce week-end seulement ! "
    "Rendez-vous sur exemple.fr/promo STOP au 36111"
)
LONG = (
    "Bonjour Marie ! Les soldes d'été commencent demain : jusqu'à -50% sur les robes, "
    "les sandales et les maillots de bain, et la livraison est offerte dès 30 € d'achat. "
    "Profitez aussi de nos ventes privées réservées aux membres du club [code ETE24] "
    "sur exemple.fr/soldes avant dimanche minuit. A très vite ! STOP au 36111"
)


def serve(pipe: Connection) -> None:
    async def main() -> None:
        smsc = Smsc(SmscSettings(port=0, receipt_delay=0.0, record=False))
        await smsc.start()
        pipe.send(smsc.port)
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # until told to stop
        await smsc.close()
        pipe.send(smsc.stats.accepted)

    asyncio.run(main())


def peak_rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


class Meter:
    """Counts completions and keeps how many fell in each second."""

    def __init__(self) -> None:
        self.done = 0
        self.receipts = 0
        self.started = time.perf_counter()
        self.per_second: list[int] = [0]

    def tick(self) -> None:
        self.done += 1
        second = int(time.perf_counter() - self.started)
        while len(self.per_second) <= second:
            self.per_second.append(0)
        self.per_second[second] += 1

    def report(self, name: str, unit: str) -> float:
        elapsed = time.perf_counter() - self.started
        rate = self.done / elapsed
        full = self.per_second[:-1] or self.per_second  # the last second is partial
        print(
            f"{name:10} {self.done:>9,} {unit} in {elapsed:5.1f} s: {rate:>8,.0f}/s overall, "
            f"per second slowest {min(full):,}, median {statistics.median(full):,.0f}"
        )
        return rate


async def drive(total: int, submit: Callable[[int], Awaitable[int]], meter: Meter) -> None:
    """`PRODUCERS` coroutines submit `total` items between them; `submit` returns the parts."""
    counter = iter(range(total))

    async def producer() -> None:
        for n in counter:
            await submit(n)
            meter.tick()

    await asyncio.gather(*(producer() for _ in range(PRODUCERS)))


async def bench_session(port: int, total: int) -> float:
    meter = Meter()

    def on_deliver(pdu: DeliverSm) -> None:
        if is_receipt(pdu):
            parse_receipt(pdu)
            meter.receipts += 1

    session = SmppSession(
        SessionSettings("127.0.0.1", port, "tambour", "tambour", window=WINDOW), on_deliver
    )
    await session.start()
    pdu = SubmitSm(
        Address(5, 0, "MLUMIERE"),
        Address(1, 1, "33612345678"),
        TYPICAL.encode("ascii"),
        registered_delivery=1,
    )

    async def submit(_: int) -> int:
        outcome = await session.submit(pdu)
        assert isinstance(outcome, Accepted), outcome
        return 1

    meter.started = time.perf_counter()
    await drive(total, submit, meter)
    rate = meter.report("session", "submit_sm")
    while meter.receipts < total:
        await asyncio.sleep(0.01)
    receipts_rate = meter.receipts / (time.perf_counter() - meter.started)
    print(f"{'':10} {meter.receipts:>9,} receipts parsed: {receipts_rate:>8,.0f}/s")
    await session.close()
    return rate


async def bench_transport(port: int, total: int) -> float:
    meter = Meter()
    parts_sent = 0

    def on_inbound(inbound: Inbound) -> None:
        meter.receipts += 1

    transport = SmppTransport(
        SessionSettings("127.0.0.1", port, "tambour", "tambour", window=WINDOW), on_inbound
    )
    await transport.start()

    async def submit(n: int) -> int:
        nonlocal parts_sent
        text = LONG if n % 10 == 0 else TYPICAL  # one message in ten has three parts
        message = OutboundMessage(f"m{n}", "MLUMIERE", f"+3361{n % 10_000_000:08d}", text)
        result = await transport.submit(message)
        assert result.status == SubmitStatus.ACCEPTED, result
        parts_sent += result.total_parts
        return result.total_parts

    meter.started = time.perf_counter()
    await drive(total, submit, meter)
    rate = meter.report("transport", "messages")
    elapsed = time.perf_counter() - meter.started
    print(f"{'':10} {parts_sent:>9,} submit_sm:        {parts_sent / elapsed:>8,.0f}/s")
    while meter.receipts < parts_sent:
        await asyncio.sleep(0.01)
    await transport.close()
    return rate


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    parent, child = multiprocessing.Pipe()
    smsc = multiprocessing.Process(target=serve, args=(child,), daemon=True)
    smsc.start()
    port = parent.recv()
    print(f"SMPP: one client, window {WINDOW}, local SMSC in another process, receipts on")
    session_rate = asyncio.run(bench_session(port, total))
    transport_rate = asyncio.run(bench_transport(port, total))
    parent.send("stop")
    accepted = parent.recv()
    smsc.join(10)
    client_mb = peak_rss_mb(resource.RUSAGE_SELF)
    smsc_mb = peak_rss_mb(resource.RUSAGE_CHILDREN)
    print(f"SMSC accepted {accepted:,} submit_sm")
    print(f"peak RSS: client {client_mb:.0f} MB (target < 200 MB), SMSC {smsc_mb:.0f} MB")
    slowest = min(session_rate, transport_rate)
    verdict = "met" if slowest >= TARGET and client_mb < 200 else "NOT met"
    print(f"target >= {TARGET:,}/s under 200 MB: {verdict}")


if __name__ == "__main__":
    main()
