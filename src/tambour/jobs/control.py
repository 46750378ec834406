"""What a running job's handler is given: where to report its progress, and the news that it
must stop, raised from its next progress call (the only points where a use case can stop
cleanly: an import between two committed batches, a plan between two chunks).

The runner's lease keeper (runner.py) writes the progress to the database beside the handler
and tells the control what it learns there (a cancellation asked, the lease lost): a progress
call costs the handler no database round trip."""

import threading
from collections.abc import Callable, Mapping
from typing import Any

from tambour.services.jobs import Job, Progress


class JobStopped(BaseException):
    """The handler must stop. A BaseException, as KeyboardInterrupt is: a use case's
    `except Exception` must not take it for an error of its own and carry on."""


class CancelRequested(JobStopped):
    """A user cancelled the job. A handler may set `result` to say how far it got (else the
    runner records its progress)."""

    def __init__(self) -> None:
        super().__init__("the job's cancellation was asked")
        self.result: Mapping[str, Any] | None = None


class Shutdown(JobStopped):
    """The runner shuts down: the job is queued again for another runner."""


class LeaseLost(JobStopped):
    """The job is no longer this runner's (its lease expired and another took it up)."""


class JobControl:
    """A running job's progress (`phase`, `advance`, `check`), and why it must stop if it must.
    `advance` is the `progress` callback the use cases take (a count of units done since the
    previous call). `listener` hears every change (the command line's spinner)."""

    def __init__(
        self,
        job: Job,
        *,
        shutdown: threading.Event | None = None,
        listener: Callable[[Progress], None] | None = None,
    ) -> None:
        self.job = job
        self._lock = threading.Lock()
        self._progress = job.progress
        self._cancelled = job.cancel_requested
        self._lost = False
        self._shutdown = shutdown or threading.Event()
        self._listener = listener

    @property
    def progress(self) -> Progress:
        with self._lock:
            return self._progress

    def phase(self, name: str, total: int | None = None, done: int = 0) -> None:
        """A new phase of the work (`rows`, `recipients`), of `total` units when known."""
        self._set(Progress(done, total, name))

    def advance(self, count: int = 1) -> None:
        """`count` more units done; raises JobStopped when the job must stop."""
        with self._lock:
            now = self._progress
            self._progress = Progress(now.done + count, now.total, now.phase)
        self._heard()
        self.check()

    def check(self) -> None:
        """Raise JobStopped when the job must stop: cancelled, its lease lost, or its runner
        shutting down."""
        if self._lost:
            raise LeaseLost("the job was taken up by another runner")
        if self._cancelled:
            raise CancelRequested()
        if self._shutdown.is_set():
            raise Shutdown("the runner shuts down")

    # -- what the runner tells it -----------------------------------------------------------

    def cancel(self) -> None:
        self._cancelled = True

    def lose(self) -> None:
        self._lost = True

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def _set(self, progress: Progress) -> None:
        with self._lock:
            self._progress = progress
        self._heard()

    def _heard(self) -> None:
        if self._listener is not None:
            self._listener(self._progress)
