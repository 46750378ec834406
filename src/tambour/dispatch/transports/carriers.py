"""Several carriers behind one transport: each message goes through the carriers its routing
rules allow (dispatch/routing.py), first choice first; a carrier that is down (its session not
bound) is skipped, and one that refuses for now (a temporary refusal, throttling it gives up
on, a message that never left) hands the message to the next. A message in doubt or refused for
good never fails over: the first might have sent it, or it would be refused again.

Receipts are tagged with the carrier they came from: carriers' ids are their own, and two may
give the same. A carrier that cannot start (down, refusing the bind) does not stop the others:
it is started again in the background, and the worker stops only when none can start.
`submitted_by` counts what each carrier took, for the worker's report and the metrics.
"""

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace

from tambour.dispatch.inbound import Inbound, InboundHandler
from tambour.dispatch.routing import Route, Routed, carriers_for
from tambour.dispatch.transports.base import (
    PartResult,
    SubmitResult,
    SubmitStatus,
    Transport,
    TransportError,
)
from tambour.traffic import OutboundMessage, Receipt

log = logging.getLogger(__name__)

RESTART_FIRST = 1.0  # seconds before a carrier that could not start is tried again
RESTART_LONGEST = 60.0

MakeTransport = Callable[[InboundHandler], Transport]


def _tagged(name: str, on_inbound: InboundHandler) -> InboundHandler:
    def handle(inbound: Inbound) -> Awaitable[None] | None:
        if isinstance(inbound, Receipt):
            inbound = replace(inbound, carrier=name)
        return on_inbound(inbound)

    return handle


def _no_carrier(detail: str) -> SubmitResult:
    error = TransportError("local", None, detail)
    return SubmitResult(
        SubmitStatus.RETRY, (PartResult(SubmitStatus.RETRY, None, error),), 0, error
    )


def is_up(transport: Transport) -> bool:
    """Whether a transport can send now (an SMPP session bound); True when it cannot tell."""
    return bool(getattr(transport, "available", True))


class CarrierSet:
    kind = "carriers"

    def __init__(
        self,
        carriers: Sequence[tuple[str, MakeTransport]],
        routes: Sequence[Route],
        on_inbound: InboundHandler,
        account_tps: Mapping[str, float] | None = None,
    ) -> None:
        if not carriers:
            raise ValueError("no carrier")
        self.names = tuple(name for name, _ in carriers)
        self.transports = {name: make(_tagged(name, on_inbound)) for name, make in carriers}
        self.routes = tuple(routes)
        # A carrier's limit for the whole account, shared by every worker sending through it
        self.account_tps = {k: v for k, v in (account_tps or {}).items() if v > 0}
        self.submitted_by: Counter[str] = Counter()
        self.failovers = 0
        self._started: set[str] = set()
        self._restarts: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        results = await asyncio.gather(
            *(self.transports[name].start() for name in self.names), return_exceptions=True
        )
        failed: list[tuple[str, BaseException]] = []
        for name, result in zip(self.names, results, strict=True):
            if isinstance(result, BaseException):
                failed.append((name, result))
            else:
                self._started.add(name)
        if not self._started:
            for name, error in failed:
                log.error(
                    "carrier %s cannot start (%s)",
                    name,
                    error or type(error).__name__,
                    extra={"event": "carrier_down", "carrier": name},
                )
            raise failed[0][1]
        for name, error in failed:
            log.warning(
                "carrier %s cannot start (%s); its messages go through the others meanwhile",
                name,
                error or type(error).__name__,
                extra={"event": "carrier_down", "carrier": name},
            )
            task = asyncio.create_task(self._restart(name))
            self._restarts.add(task)
            task.add_done_callback(self._restarts.discard)

    async def _restart(self, name: str) -> None:
        wait = RESTART_FIRST
        while True:
            await asyncio.sleep(wait)
            try:
                await self.transports[name].start()
            except Exception:  # still down: later
                wait = min(wait * 2, RESTART_LONGEST)
                continue
            self._started.add(name)
            log.warning("carrier %s started", name, extra={"event": "carrier_up", "carrier": name})
            return

    async def close(self) -> None:
        for task in list(self._restarts):
            task.cancel()
        for task in list(self._restarts):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.gather(
            *(self.transports[name].close() for name in self._started), return_exceptions=True
        )

    def share_accounts(self, workers: Mapping[str, int]) -> None:
        """This worker's part of each account's `tps`, now that `workers` (by carrier) send
        through it (the worker tells at each heartbeat)."""
        for name, tps in self.account_tps.items():
            limit = getattr(self.transports[name], "set_tps_limit", None)
            if limit is not None:
                limit(tps / max(1, workers.get(name, 1)))

    def order(self, message: OutboundMessage) -> tuple[str, ...]:
        """The carriers to try for `message`: those its route allows, the ones up first."""
        allowed = carriers_for(
            Routed(message.recipient, message.sender, message.territory, message.campaign),
            self.routes,
            self.names,
        )
        started = [name for name in allowed if name in self._started]
        up = [name for name in started if is_up(self.transports[name])]
        return tuple(up + [name for name in started if name not in up])

    async def submit(self, message: OutboundMessage) -> SubmitResult:
        order = self.order(message)
        if not order:
            return _no_carrier("no carrier its routes allow is started: retry later")
        result: SubmitResult | None = None
        for attempt, name in enumerate(order):
            if attempt:
                self.failovers += 1
                log.info(
                    "message %s: carrier %s refused it for now; trying %s",
                    message.reference,
                    order[attempt - 1],
                    name,
                    extra={"event": "failover", "carrier": name},
                )
            result = replace(await self.transports[name].submit(message), carrier=name)
            if result.status is not SubmitStatus.RETRY:
                if result.status is SubmitStatus.ACCEPTED:
                    self.submitted_by[name] += 1
                return result
        assert result is not None
        return result
