"""The local record-only transport (`kind = "record-only"`, formerly `"outbox"`): sends nothing,
records each message (in `recorded`, and as one JSON line in `path` when given) with an id for
each part, as our splitter cuts it, and answers RECORDED, never ACCEPTED: the worker stores
such messages as `recorded`, a final state, never as `submitted`. For a first run without a
carrier, and for tests of what would have left. It must be named in the configuration: a
worker without a transport refuses to start. (Not to be confused with the outbox table the
workers claim messages from.)
"""

import asyncio
import itertools
import json
import secrets
from pathlib import Path

from tambour.dispatch.transports.base import (
    PartResult,
    SubmitResult,
    SubmitStatus,
    TransportError,
    local_failure,
)
from tambour.sms.text import split_text
from tambour.traffic import OutboundMessage


class OutboxTransport:
    kind = "record-only"

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.recorded: list[tuple[OutboundMessage, tuple[str, ...]]] = []
        self._prefix = f"outbox-{secrets.token_hex(3)}-"
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    async def close(self) -> None:
        return None

    async def submit(self, message: OutboundMessage) -> SubmitResult:
        if message.may_leave is not None and not message.may_leave():
            error = TransportError("local", None, "no longer allowed to leave")
            return SubmitResult(
                SubmitStatus.RETRY, (PartResult(SubmitStatus.RETRY, None, error),), 0, error
            )
        encoding, pieces = split_text(message.text)
        if not pieces:
            return local_failure("an empty text cannot be sent")
        ids = tuple(f"{self._prefix}{next(self._ids)}" for _ in pieces)
        self.recorded.append((message, ids))
        if self.path is not None:
            line = json.dumps(
                {
                    "reference": message.reference,
                    "from": message.sender,
                    "to": message.recipient,
                    "text": message.text,
                    "valid_until": message.valid_until.isoformat() if message.valid_until else None,
                    "encoding": encoding,
                    "ids": list(ids),
                },
                ensure_ascii=False,
            )
            async with self._lock:
                await asyncio.to_thread(self._append, line)
        parts = tuple(PartResult(SubmitStatus.RECORDED, i) for i in ids)
        return SubmitResult(SubmitStatus.RECORDED, parts, len(parts))

    def _append(self, line: str) -> None:
        assert self.path is not None
        with self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
