"""The one interface every way out implements (SMPP, HTTP aggregator, local outbox), and what a
submit returns: the carrier's id of each part, or why not, kept apart by what may be done next.

- ACCEPTED: every part was taken; `parts` carry the carrier ids that receipts will name.
- RETRY: nothing was taken and the refusal is temporary: submit the whole message again later.
- FAILED: refused for good (or a part refused after others were taken: the message is broken);
  `error` keeps the carrier's own code (SMPP command_status, HTTP status).
- IN_DOUBT: a part may have been taken without our knowing (no answer came): never submit it
  again by itself, record it as unknown.
- RECORDED: the record-only transport wrote it down and sent nothing: the message is
  `recorded`, never `submitted` (no carrier has it, no receipt will come), and never sent again.

Parts go one after the other and the first that is not accepted stops the message, so a
permanent refusal does not leave the recipient with the end of a message and no start.
Inbound traffic (receipts and replies) goes to the `InboundHandler` (tambour.dispatch.inbound)
a transport is built with.
"""

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol

from tambour.traffic import OutboundMessage


class SubmitStatus(StrEnum):
    ACCEPTED = "accepted"
    RETRY = "retry"
    FAILED = "failed"
    IN_DOUBT = "in_doubt"
    RECORDED = "recorded"


@dataclass(frozen=True, slots=True)
class TransportError:
    system: Literal["smpp", "http", "local"]
    code: int | None  # SMPP command_status or HTTP status; None for a local check
    detail: str  # words; never a number or a text


@dataclass(frozen=True, slots=True)
class PartResult:
    status: SubmitStatus
    carrier_id: str | None = None
    error: TransportError | None = None
    # IN_DOUBT: the carrier's late answer, if it may still come: its id for the part (taken)
    # or None (refused: not taken). Cancelled when it can no longer come.
    late: "asyncio.Future[str | None] | None" = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class SubmitResult:
    status: SubmitStatus
    parts: tuple[PartResult, ...]
    total_parts: int
    error: TransportError | None = None
    carrier: str = ""  # the carrier it went to (config's name; '' for the one [transport])

    @property
    def carrier_ids(self) -> tuple[str, ...]:
        """The ids of the parts taken, in part order."""
        return tuple(p.carrier_id for p in self.parts if p.carrier_id is not None)


def submit_result(parts: Iterable[PartResult], total_parts: int) -> SubmitResult:
    """The message's result from its parts, submitted in order until one was not accepted."""
    done = tuple(parts)
    last = done[-1] if done else None
    if last is None or last.status == SubmitStatus.ACCEPTED:
        if len(done) != total_parts:
            raise ValueError(f"{len(done)} part results for {total_parts} parts")
        return SubmitResult(SubmitStatus.ACCEPTED, done, total_parts)
    status = last.status
    error = last.error
    if status == SubmitStatus.RETRY and len(done) > 1:  # earlier parts went: cannot start over
        status = SubmitStatus.FAILED
        error = TransportError(
            error.system if error else "local",
            error.code if error else None,
            f"part {len(done)} of {total_parts} refused after the first was accepted"
            + (f": {error.detail}" if error else ""),
        )
    return SubmitResult(status, done, total_parts, error)


def local_failure(detail: str) -> SubmitResult:
    """A message that cannot be sent at all (an invalid sender, an empty text)."""
    error = TransportError("local", None, detail)
    return SubmitResult(
        SubmitStatus.FAILED, (PartResult(SubmitStatus.FAILED, None, error),), 0, error
    )


class Transport(Protocol):
    kind: str

    async def start(self) -> None:
        """Connect (SMPP: bind). Raises when the first attempt fails: a wrong host or password
        must stop the worker, not loop."""

    async def submit(self, message: OutboundMessage) -> SubmitResult: ...

    async def close(self) -> None:
        """Finish what is in flight, then disconnect."""
