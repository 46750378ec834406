"""Several binds to one carrier (`binds = N` in its table), as carriers allow to raise
throughput: each a session of its own with its own window. A recipient's messages always take
the same bind while it is up (chosen by the number), so that two long messages to one person
never share a concatenation reference from two sessions; a bind that is down hands its
recipients to the next one up. It starts when one bind can: the others keep trying."""

import asyncio
import logging
import zlib
from collections.abc import Sequence

from tambour.dispatch.transports.base import SubmitResult, Transport
from tambour.dispatch.transports.carriers import is_up
from tambour.traffic import OutboundMessage

log = logging.getLogger(__name__)


class BindPool:
    def __init__(self, binds: Sequence[Transport]) -> None:
        if not binds:
            raise ValueError("no bind")
        self.binds = tuple(binds)
        self.kind = self.binds[0].kind
        self._started: list[Transport] = []

    @property
    def available(self) -> bool:
        return any(is_up(bind) for bind in self._started)

    async def start(self) -> None:
        results = await asyncio.gather(*(b.start() for b in self.binds), return_exceptions=True)
        self._started = [b for b, r in zip(self.binds, results, strict=True) if r is None]
        if not self._started:
            error = next(r for r in results if isinstance(r, BaseException))
            raise error
        if len(self._started) < len(self.binds):
            log.warning(
                "%d of %d binds started",
                len(self._started),
                len(self.binds),
                extra={"event": "binds_partial", "binds": len(self._started)},
            )

    async def close(self) -> None:
        await asyncio.gather(*(b.close() for b in self._started), return_exceptions=True)

    def bind_for(self, recipient: str) -> Transport:
        """The recipient's bind: by its number, the next one up when that one is down."""
        started = self._started or list(self.binds)
        first = zlib.crc32(recipient.encode()) % len(started)
        for step in range(len(started)):
            bind = started[(first + step) % len(started)]
            if is_up(bind):
                return bind
        return started[first]

    def set_tps_limit(self, tps: float) -> None:
        """`tps` for the carrier from this worker: each bind its part."""
        for bind in self.binds:
            limit = getattr(bind, "set_tps_limit", None)
            if limit is not None:
                limit(tps / len(self.binds))

    async def submit(self, message: OutboundMessage) -> SubmitResult:
        return await self.bind_for(message.recipient).submit(message)
