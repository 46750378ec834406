"""What comes back from a carrier, whatever the transport: receipts and replies, and the
handler they go to. The carrier is answered only once the handler is done, so nothing is lost:
a handler that raises has the carrier deliver it again, one that raises InboundRejectedError
tells the carrier never to (the traffic can never be read)."""

from collections.abc import Awaitable, Callable

from tambour.traffic import Receipt, Reply

Inbound = Receipt | Reply
InboundHandler = Callable[[Inbound], Awaitable[None] | None]


class InboundRejectedError(Exception):
    """Raised by a handler for inbound traffic that must not be delivered again."""


class InboundDeferredError(Exception):
    """Raised by a handler for inbound traffic it cannot record now (its database is away): the
    carrier delivers it again later. Expected, so not an error to log each time."""
