"""One SMPP connection as an asyncio protocol: frames in, PDUs out, for both ends (our client
session and the local SMSC).

Writes are coalesced: the PDUs sent during one turn of the event loop leave in one
`transport.write` (one system call instead of one per PDU, which is most of the cost at
thousands of PDUs a second). `queued` and `flushed` count PDUs, so that an end which loses the
connection can tell the PDUs that were never handed to the socket (safe to send again) from those
that were (the peer may have acted on them).

A malformed PDU is answered as SMPP v3.4 says (the request's response with an error status when
the command is known, else generic_nack); a stream whose framing is broken cannot be read any
further and is closed.
"""

import asyncio
import logging
from typing import Final

from tambour.dispatch.smpp.pdu import (
    BindMode,
    BindResp,
    Body,
    CommandId,
    DeliverSmResp,
    EnquireLinkResp,
    FrameReader,
    GenericNack,
    Pdu,
    PduError,
    SubmitSmResp,
    UnbindResp,
    decode,
    encode,
    is_response,
)
from tambour.dispatch.smpp.status import status_name

log = logging.getLogger(__name__)

# The empty response body of each request Tambour may receive, to answer a malformed one.
_ERROR_RESPONSES: Final[dict[int, Body]] = {
    CommandId.SUBMIT_SM: SubmitSmResp(),
    CommandId.DELIVER_SM: DeliverSmResp(),
    CommandId.ENQUIRE_LINK: EnquireLinkResp(),
    CommandId.UNBIND: UnbindResp(),
    **{mode: BindResp(mode) for mode in BindMode},
}


class SmppConnection(asyncio.Protocol):
    """Subclasses implement `pdu_received` and may extend `connection_lost`."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.queued = 0  # PDUs handed to `send` since the connection opened
        self.flushed = 0  # of those, PDUs written to the socket
        self._reader = FrameReader()
        self._outgoing: list[bytes] = []
        self._loop = asyncio.get_running_loop()

    # asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            frames = self._reader.feed(data)
        except PduError as error:
            log.warning("SMPP stream broken, closing the connection: %s", error)
            self._answer_malformed(error)
            self.abort(flush=True)
            return
        for frame in frames:
            try:
                pdu = decode(frame)
            except PduError as error:
                log.warning("malformed PDU: %s", error)
                self._answer_malformed(error)
                continue
            self.pdu_received(pdu)
            if not self.is_open:  # closed by what that PDU said (an unbind, say)
                return

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._outgoing.clear()
        if not self.closed.done():
            self.closed.set_result(None)

    # for subclasses ------------------------------------------------------------------------

    def pdu_received(self, pdu: Pdu) -> None:
        raise NotImplementedError

    def send(self, body: Body, sequence: int, status: int = 0) -> None:
        """Queue one PDU; it leaves with the others of this loop turn. Raises PduError when
        `body` does not fit SMPP v3.4 (nothing is queued then)."""
        frame = encode(body, sequence, status)
        if self.transport is None:
            return
        if not self._outgoing:
            self._loop.call_soon(self._flush)
        self._outgoing.append(frame)
        self.queued += 1

    def abort(self, flush: bool = False) -> None:
        """Close the connection now; with `flush`, the queued PDUs are written first."""
        transport = self.transport
        if transport is None:
            return
        if flush:
            self._flush()
            transport.close()
        else:
            transport.abort()

    @property
    def is_open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    # internals -----------------------------------------------------------------------------

    def _flush(self) -> None:
        if not self._outgoing:
            return
        transport = self.transport
        if transport is None or transport.is_closing():
            self._outgoing.clear()
            return
        data = b"".join(self._outgoing) if len(self._outgoing) > 1 else self._outgoing[0]
        self.flushed += len(self._outgoing)
        self._outgoing.clear()
        transport.write(data)

    def _answer_malformed(self, error: PduError) -> None:
        """Answer a PDU we could not read. Responses are never answered (no loops)."""
        command_id, sequence = error.command_id, error.sequence
        if command_id is not None and is_response(command_id):
            return
        response = _ERROR_RESPONSES.get(command_id) if command_id is not None else None
        body: Body = response if response is not None else GenericNack()
        try:
            self.send(body, sequence or 0, error.status)
        except PduError:  # a sequence number out of range: nack with 0
            self.send(GenericNack(), 0, error.status)
        log.debug("answered with %s", status_name(error.status))
