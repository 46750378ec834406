"""Messages POSTed together are decided and stored together: `services/messages.send_many`
writes those that arrived while the previous batch was being written in one transaction with
one audit entry, instead of one each. Nothing waits on purpose: a message that comes to an
idle server is written at once, alone; under load, each commit (and each wait for the audit
log's head) serves many requests.

One thread per server process writes the batches; the request waits for its message's
outcome in the event loop. A batch holds the messages of one advertiser and one API key (the audit
entry names who acted); each message is decided on its own, its refusal its own.
"""

import asyncio
import queue
import threading
from collections import defaultdict
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Final

from tambour.services import messages
from tambour.services.context import Context, ServiceError
from tambour.services.messages import Message, MessageRequest

MAX_BATCH: Final = 200  # messages written in one transaction, at most
_STOP: Final = None


@dataclass(frozen=True, slots=True)
class _Pending:
    ctx: Context
    slug: str
    request: MessageRequest
    outcome: "Future[Message | ServiceError]" = field(default_factory=Future)


class MessageBatcher:
    def __init__(self, max_batch: int = MAX_BATCH) -> None:
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._max_batch = max_batch
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def send(self, ctx: Context, *, slug: str, request: MessageRequest) -> Message:
        """The message decided and queued, or its refusal raised (as `messages.send`), once
        its batch is written: awaited in the event loop, not in a thread. Never given up on
        while its batch runs (a retry would find its Idempotency-Key still taken, not send it
        twice): a database that stops answering fails the batch within its time-outs."""
        pending = _Pending(ctx, slug, request)
        self._start()
        self._queue.put(pending)
        outcome = await asyncio.wrap_future(pending.outcome)
        if isinstance(outcome, ServiceError):
            raise outcome
        return outcome

    def close(self, timeout: float = 30.0) -> None:
        """Write what is waiting, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(timeout)

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="tambour-messages", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                batch.append(more)
            self._write(batch)
            if stop:
                return

    @staticmethod
    def _write(batch: list[_Pending]) -> None:
        groups: dict[tuple[str, str], list[_Pending]] = defaultdict(list)
        for pending in batch:
            groups[(pending.slug, pending.ctx.actor)].append(pending)
        for (slug, _actor), group in groups.items():
            try:
                outcomes = messages.send_many(
                    group[0].ctx, slug=slug, requests=[p.request for p in group]
                )
            except Exception as error:  # each request of the group answers it
                for pending in group:
                    pending.outcome.set_exception(error)
                continue
            for pending, outcome in zip(group, outcomes, strict=True):
                pending.outcome.set_result(outcome)
