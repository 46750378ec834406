"""The SMPP transport: a message becomes its submit_sm parts (our splitter, GSM 03.38 or UCS-2,
UDH-concatenated), submitted in order on one bound transceiver session with registered_delivery
on every part; deliver_sm come back as receipts or replies. One that can never be read (a
receipt without its id, a reply without a source address, with a header or a data_coding that
cannot be read: dispatch/replies.py) is refused for good, ESME_RX_P_APPN, and logged without
its number or text; the SMSC does not deliver it again."""

import logging
import random
from collections.abc import Awaitable, Callable

from tambour.dispatch.inbound import InboundHandler, InboundRejectedError
from tambour.dispatch.receipts import ReceiptError, is_receipt, parse_receipt
from tambour.dispatch.replies import ReplyError, parse_reply
from tambour.dispatch.smpp.addresses import AddressError, recipient_address, sender_address
from tambour.dispatch.smpp.client import (
    Accepted,
    DeliverHandler,
    InDoubt,
    NotSent,
    SessionSettings,
    SmppSession,
    SubmitOutcome,
)
from tambour.dispatch.smpp.pdu import Address, DeliverSm, PduError, SubmitSm
from tambour.dispatch.smpp.status import is_transient, status_name
from tambour.dispatch.smpp.times import absolute_time
from tambour.dispatch.smpp.user_data import UserDataError, encode_text
from tambour.dispatch.transports.base import (
    PartResult,
    SubmitResult,
    SubmitStatus,
    TransportError,
    local_failure,
    submit_result,
)
from tambour.traffic import OutboundMessage

log = logging.getLogger(__name__)

REGISTERED_DELIVERY = 0x01  # a receipt on delivery and on failure


def part_result(outcome: SubmitOutcome) -> PartResult:
    """What one part's submit means for the message."""
    match outcome:
        case Accepted(message_id=message_id):
            return PartResult(SubmitStatus.ACCEPTED, message_id)
        case InDoubt(reason=reason, late=late):
            error = TransportError("smpp", None, reason)
            return PartResult(SubmitStatus.IN_DOUBT, None, error, late)
        case NotSent(reason=reason):
            return PartResult(SubmitStatus.RETRY, None, TransportError("smpp", None, reason))
    status = outcome.status
    verdict = SubmitStatus.RETRY if is_transient(status) else SubmitStatus.FAILED
    return PartResult(verdict, None, TransportError("smpp", status, status_name(status)))


def _too_many_in_flight() -> SubmitResult:
    error = TransportError("local", None, "256 messages in flight to one recipient: retry later")
    return SubmitResult(
        SubmitStatus.RETRY, (PartResult(SubmitStatus.RETRY, None, error),), 0, error
    )


class SmppTransport:
    kind = "smpp"

    def __init__(
        self,
        settings: SessionSettings,
        on_inbound: InboundHandler | None = None,
        short_ton: int = 3,
        short_npi: int = 0,
    ) -> None:
        self.session = SmppSession(settings, self._deliver_handler(on_inbound))
        self._short_ton = short_ton
        self._short_npi = short_npi
        self._reference = random.randrange(256)
        self._references: dict[str, set[int]] = {}  # recipient -> references in flight

    @property
    def available(self) -> bool:
        """Bound now: a carrier set sends through another carrier meanwhile."""
        return self.session.bound

    async def start(self) -> None:
        await self.session.start()

    async def close(self) -> None:
        await self.session.close()

    def set_tps_limit(self, tps: float) -> None:
        """At most `tps` submits a second from now on (0: none but what throttling teaches):
        this worker's share of its account's `tps`, never above the connection's own `tps`."""
        own = self.session.settings.tps
        self.session.set_tps_limit(min(tps, own) if own > 0 and tps > 0 else tps or own)

    async def submit(self, message: OutboundMessage) -> SubmitResult:
        try:
            source = sender_address(message.sender, self._short_ton, self._short_npi)
            destination = recipient_address(message.recipient)
        except AddressError as error:
            return local_failure(str(error))
        in_use = self._references.setdefault(destination.address, set())
        reference = self._free_reference(in_use)
        if reference is None:
            return _too_many_in_flight()
        in_use.add(reference)
        try:
            return await self._submit(message, source, destination, reference)
        finally:
            in_use.discard(reference)
            if not in_use:
                del self._references[destination.address]

    def _free_reference(self, in_use: set[int]) -> int | None:
        """The next concatenation reference not used by a message in flight to the same
        recipient (a handset reassembles parts by sender and reference)."""
        for _ in range(256):
            self._reference = (self._reference + 1) % 256
            if self._reference not in in_use:
                return self._reference
        return None

    async def _submit(
        self, message: OutboundMessage, source: Address, destination: Address, reference: int
    ) -> SubmitResult:
        try:
            encoded = encode_text(message.text, reference)
            validity = absolute_time(message.valid_until) if message.valid_until else ""
        except (UserDataError, ValueError) as error:
            return local_failure(str(error))
        parts: list[PartResult] = []
        # Only the first part asks: once it left, the others follow (half a message is worse).
        may_send = message.may_leave
        for payload in encoded.parts:
            pdu = SubmitSm(
                source,
                destination,
                payload,
                data_coding=encoded.data_coding,
                esm_class=encoded.esm_class,
                registered_delivery=REGISTERED_DELIVERY,
                validity_period=validity,
            )
            result = await self._submit_part(pdu, may_send)
            may_send = None
            parts.append(result)
            if result.status != SubmitStatus.ACCEPTED:
                break
        outcome = submit_result(parts, len(encoded.parts))
        if outcome.status != SubmitStatus.ACCEPTED:
            log.info("message %s: %s (%s)", message.reference, outcome.status, outcome.error)
        return outcome

    async def _submit_part(
        self, pdu: SubmitSm, may_send: Callable[[], bool] | None = None
    ) -> PartResult:
        try:
            return part_result(await self.session.submit(pdu, may_send))
        except PduError as error:  # a field SMPP cannot carry: nothing was sent
            return PartResult(
                SubmitStatus.FAILED, None, TransportError("local", error.status, str(error))
            )

    @staticmethod
    def _deliver_handler(on_inbound: InboundHandler | None) -> DeliverHandler | None:
        if on_inbound is None:
            return None

        def handle(pdu: DeliverSm) -> Awaitable[None] | None:
            if is_receipt(pdu):
                try:
                    inbound = parse_receipt(pdu)
                except ReceiptError as error:
                    log.warning("unreadable receipt, refused for good: %s", error)
                    raise InboundRejectedError(str(error)) from None
                return on_inbound(inbound)
            try:
                reply = parse_reply(pdu)
            except ReplyError as error:  # names what is wrong, never the number or the text
                log.warning("unreadable reply, refused for good: %s", error)
                raise InboundRejectedError(str(error)) from None
            return on_inbound(reply)

        return handle
