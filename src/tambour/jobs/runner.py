"""The job runner: claims a due job, runs its kind's handler while a thread keeps its lease
(and writes its progress), and settles it by what came of it. One job at a time: imports and
plans use the cores themselves; more runners (processes, machines) run more jobs at once.

Whatever a handler raises ends its job: a ServiceError as `failed` with the error's code and
words, anything else as `failed` with `internal_error` (the traceback goes to the log, never to
the user), a cancellation as `cancelled` with how far it got. A runner that shuts down queues
its job again for another; one that dies leaves it to the rescue, once its lease expired.
Logs name jobs by id and kind, never their arguments (file names may hold phone numbers)."""

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from sqlalchemy.exc import DBAPIError

from tambour.jobs.control import CancelRequested, JobControl, LeaseLost, Shutdown
from tambour.jobs.kinds import JobKind, builtin
from tambour.services import ab_tests, audit, data_requests, retention
from tambour.services import jobs as queue
from tambour.services.context import Context, ServiceError
from tambour.services.jobs import DEFAULT_LEASE, Job, JobState, Outcome, Progress
from tambour.store.engine import reader

log = logging.getLogger("tambour.jobs")

UPKEEP_EVERY: Final = 24 * 3600.0  # seconds between two runs of the daily upkeep
AB_TESTS_EVERY: Final = 30.0  # seconds between two looks for A/B tests that are over
POLL_SECONDS: Final = 1.0  # how often an idle runner looks for due jobs
BEAT_SECONDS: Final = 0.5  # how often the lease keeper writes progress (and renews)
RETRY_SECONDS: Final = 5.0  # after the database failed the runner's own statements

TEXTS: Final = {
    "unknown_kind": "this runner knows no job kind {kind!r} (a newer version may)",
    "internal": (
        "the job stopped on an unexpected error; the runner's log has the details "
        "(job {job_id}). It can be submitted again"
    ),
    "database": (
        "the database failed during the job: {error}. It can be submitted again once the "
        "database is back"
    ),
    "file": "{name}: {reason}",
    "interrupted": "interrupted from the keyboard after {done:,} {phase}",
}


def runner_name() -> str:
    """Unique among runners on every machine sharing the database."""
    return f"jobs@{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class RunnerReport:
    """What a runner did."""

    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    requeued: int = 0  # given back when it shut down
    lost: int = 0  # taken up by another runner after this one's lease expired
    rescued: int = 0  # other runners' jobs whose lease expired
    seconds: float = 0.0

    def count(self, settled: Job | None) -> None:
        """A job this runner settled; None: taken up by another before it could."""
        if settled is None:
            self.lost += 1
        elif settled.state == JobState.SUCCEEDED:
            self.succeeded += 1
        elif settled.state == JobState.FAILED:
            self.failed += 1
        elif settled.state == JobState.CANCELLED:
            self.cancelled += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "succeeded": self.succeeded,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "requeued": self.requeued,
            "lost": self.lost,
            "rescued": self.rescued,
            "seconds": round(self.seconds, 3),
        }


class _LeaseKeeper(threading.Thread):
    """Renews a running job's lease every beat, writing its progress; tells its control what
    it learns (a cancellation asked, the job taken by another runner). Its own connection:
    the handler's transactions never wait for it, nor it for theirs longer than one."""

    def __init__(self, runner: "Runner", job: Job, control: JobControl) -> None:
        super().__init__(name=f"lease-job-{job.id}", daemon=True)
        self.runner, self.job, self.control = runner, job, control
        self.done = threading.Event()

    def run(self) -> None:
        runner = self.runner
        while not self.done.wait(runner.beat):
            if runner.parent_gone():
                runner.stop()
            try:
                with runner.ctx.engine.begin() as conn:
                    asked = queue.renew(
                        conn, self.job.id, owner=runner.name, now=runner.ctx.now(),
                        lease=runner.lease, progress=self.control.progress,
                    )  # fmt: skip
            except Exception as error:  # the lease may run out: the rescue has it then
                log.warning(
                    "job %s: its lease could not be renewed (%s)",
                    self.job.id,
                    type(getattr(error, "orig", error)).__name__,
                    extra={"event": "lease_failed", "job": self.job.id},
                    exc_info=not isinstance(error, DBAPIError),  # a bug: its traceback
                )
                continue
            if asked is None:
                self.control.lose()
                return
            if asked:
                self.control.cancel()

    def __enter__(self) -> "_LeaseKeeper":
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.done.set()
        self.join()


class Runner:
    """Runs jobs from the queue of `ctx.engine` (pooled: the lease keeper takes a connection
    of its own). `kinds`: the handlers by kind (default: the built-in ones). `parent`: stop
    when the process with this id is no longer this one's parent (a worker's child runner)."""

    def __init__(
        self,
        ctx: Context,
        *,
        kinds: Mapping[str, JobKind] | None = None,
        lease: timedelta = DEFAULT_LEASE,
        beat: float | None = None,
        poll: float = POLL_SECONDS,
        name: str | None = None,
        parent: int | None = None,
    ) -> None:
        self.ctx = ctx
        self.kinds = builtin() if kinds is None else dict(kinds)
        self.lease = lease
        self.beat = beat if beat is not None else min(BEAT_SECONDS, lease.total_seconds() / 3)
        self.poll = poll
        self.name = name or runner_name()
        self.actor = f"jobs:{ctx.actor}"[: audit.MAX_ACTOR]
        self.parent = parent
        self.report = RunnerReport()
        self._stopping = threading.Event()
        self._upkept = -float("inf")
        self._ab_looked = -float("inf")

    def stop(self) -> None:
        """Stop after the job under way, which stops at its next step and is queued again."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def parent_gone(self) -> bool:
        return self.parent is not None and os.getppid() != self.parent

    def run(self, *, until_idle: bool = False) -> RunnerReport:
        """Run jobs until stopped or, with `until_idle`, until none is due."""
        started = time.perf_counter()
        log.info(
            "job runner %s starting",
            self.name,
            extra={"event": "runner_start", "runner": self.name, "until_idle": until_idle},
        )
        while not self.stopping:
            if self.parent_gone():
                break
            try:
                job = self.run_next()
            except DBAPIError as error:
                log.error(
                    "the job queue cannot be read (%s); trying again in %s s",
                    type(error.orig).__name__,
                    RETRY_SECONDS,
                    extra={"event": "database_error", "runner": self.name},
                )
                self._stopping.wait(RETRY_SECONDS)
                continue
            except Exception:  # a bug: logged, and the runner carries on with the next job
                log.exception(
                    "the job runner failed; trying again in %s s",
                    RETRY_SECONDS,
                    extra={"event": "runner_error", "runner": self.name},
                )
                self._stopping.wait(RETRY_SECONDS)
                continue
            if job is None:
                self.daily_upkeep()
                self.ab_tests_upkeep()
                if until_idle:
                    break
                self._stopping.wait(self.poll)
        self.report.seconds = time.perf_counter() - started
        log.info(
            "job runner %s stopped",
            self.name,
            extra={"event": "runner_stop", "runner": self.name, **self.report.as_dict()},
        )
        return self.report

    def ab_tests_upkeep(self) -> None:
        """Every half minute: the A/B tests that are over get their winner, and the rest of
        their audience its text (services/ab_tests.py; several runners choose once)."""
        if time.monotonic() - self._ab_looked < AB_TESTS_EVERY:
            return
        self._ab_looked = time.monotonic()
        try:
            chosen = ab_tests.choose_due(self.ctx)
        except DBAPIError:  # tried again at the next look
            log.warning("A/B tests not looked at", extra={"event": "ab_tests_failed"})
            return
        except Exception:  # a bug: logged; the runner carries on with its jobs
            log.exception("A/B tests not looked at", extra={"event": "ab_tests_error"})
            return
        for each in chosen:
            log.info(
                "A/B test over: variant %s won, %s message(s) given its text",
                each.winner,
                each.released,
                extra={"event": "ab_test_winner", "winner": each.winner,
                       "released": each.released, "cancelled": each.cancelled},
            )  # fmt: skip

    def daily_upkeep(self) -> None:
        """Once a day (and when the runner first idles): the retention run (contacts whose
        data lapsed, texts, clicks and events past their periods: services/retention.py), and
        the data requests due within a week or overdue told by webhook
        (services/data_requests.py). Several runners do nothing twice: each is idempotent for
        the day, and the retention run erases a contact under the advertiser's lock."""
        if time.monotonic() - self._upkept < UPKEEP_EVERY:
            return
        self._upkept = time.monotonic()
        try:
            done = retention.run(self.ctx)
        except DBAPIError:  # tried again tomorrow; the queue's own errors are said above
            log.warning("retention run failed", extra={"event": "retention_failed"})
        else:
            log.info(
                "retention run: %s contact(s) erased, %s click(s)",
                done.contacts_erased,
                done.clicks,
                extra={"event": "retention_run", **done.counts(), "seconds": done.seconds},
            )
        try:
            reminded = data_requests.remind(self.ctx)
        except DBAPIError:
            log.warning("data requests not reminded", extra={"event": "requests_not_reminded"})
        else:
            if reminded.due:
                log.info(
                    "%s data request(s) due within a week or overdue",
                    len(reminded.due),
                    extra={"event": "requests_due", "requests": len(reminded.due)},
                )

    def run_next(self) -> Job | None:
        """Rescue jobs whose runner died, claim the next due job and run it; returns it as it
        ended, or None when none was due."""
        now = self.ctx.now()
        with reader(self.ctx.engine) as conn:
            if not queue.has_work(conn, now):
                return None
        with self.ctx.engine.begin() as conn:
            rescued = queue.rescue(conn, now=now, actor=self.actor)
            job = queue.claim(conn, owner=self.name, now=now, lease=self.lease, actor=self.actor)
        for lost in rescued:
            self.report.rescued += 1
            log.warning(
                "job %s (%s) rescued from a lost runner: %s",
                lost.id,
                lost.kind,
                lost.state.value,
                extra={"event": "job_rescued", "job": lost.id, "kind": lost.kind},
            )
        if job is None:
            return None
        return self.execute(job)

    def execute(self, job: Job, *, listener: Callable[[Progress], None] | None = None) -> Job:
        """Run a job this runner holds and settle it; returns it as it ended (as the database
        has it when it was taken from this runner meanwhile)."""
        control = JobControl(job, shutdown=self._stopping, listener=listener)
        started = time.perf_counter()
        log.info(
            "job %s (%s) started, attempt %s",
            job.id,
            job.kind,
            job.attempts,
            extra={"event": "job_started", "job": job.id, "kind": job.kind},
        )
        try:
            with _LeaseKeeper(self, job, control):
                outcome = self._outcome(job, control)
        except KeyboardInterrupt:  # a person stopped an inline job: it is cancelled
            done = control.progress
            said = TEXTS["interrupted"].format(done=done.done, phase=done.phase or "units")
            self._settle(job, Outcome(JobState.CANCELLED, {"message": said}), done)
            raise
        ended = None if outcome is None else self._settle(job, outcome, control.progress)
        if outcome is not None:
            self.report.count(ended)
        final = ended or queue.get(self.ctx, job.id, advertiser_id=None)
        log.info(
            "job %s (%s) %s in %.1f s",
            job.id,
            job.kind,
            final.state.value,
            time.perf_counter() - started,
            extra={
                "event": "job_finished",
                "job": job.id,
                "kind": job.kind,
                "state": final.state.value,
                "code": final.error_code,
            },
        )
        return final

    def _outcome(self, job: Job, control: JobControl) -> Outcome | None:
        """What came of the job; None when it is not this runner's to settle any more (given
        back at shutdown, or taken by another runner)."""
        kind = self.kinds.get(job.kind)
        if kind is None:
            message = TEXTS["unknown_kind"].format(kind=job.kind)
            return Outcome(JobState.FAILED, error_code="unknown_kind", error_message=message)
        try:
            control.check()  # cancelled before it began (asked while it was being claimed)
            result = kind.run(replace(self.ctx, actor=job.created_by), job, control)
            audit.canonical_json(result)  # JSON values only, checked before it is stored
        except CancelRequested as stop:
            progress = control.progress
            got = stop.result or {"done": progress.done, "phase": progress.phase}
            return Outcome(JobState.CANCELLED, result=got)
        except Shutdown:
            with self.ctx.engine.begin() as conn:
                queue.release(conn, job.id, owner=self.name, now=self.ctx.now(), actor=self.actor)
            self.report.requeued += 1
            return None
        except LeaseLost:
            self.report.lost += 1
            log.warning(
                "job %s was taken up by another runner: its lease ran out",
                job.id,
                extra={"event": "lease_lost", "job": job.id},
            )
            return None
        except ServiceError as error:
            field = {"field": error.field} if error.field else None
            return Outcome(JobState.FAILED, field, error.code, error.message)
        except DBAPIError as error:
            said = TEXTS["database"].format(error=type(error.orig).__name__)
            log.error("job %s: %s", job.id, said, extra={"event": "job_error", "job": job.id})
            return Outcome(JobState.FAILED, error_code="database_error", error_message=said)
        except OSError as error:  # a file the job reads or writes
            name = Path(error.filename).name if error.filename else job.kind
            said = TEXTS["file"].format(name=name, reason=error.strerror or type(error).__name__)
            return Outcome(JobState.FAILED, error_code="file_error", error_message=said)
        except Exception:
            log.exception(
                "job %s (%s) failed on an unexpected error",
                job.id,
                job.kind,
                extra={"event": "job_error", "job": job.id, "kind": job.kind},
            )
            said = TEXTS["internal"].format(job_id=job.id)
            return Outcome(JobState.FAILED, error_code="internal_error", error_message=said)
        return Outcome(JobState.SUCCEEDED, result)

    def _settle(self, job: Job, outcome: Outcome, progress: Progress) -> Job | None:
        with self.ctx.engine.begin() as conn:
            return queue.settle(
                conn, job.id, owner=self.name, now=self.ctx.now(), outcome=outcome,
                progress=progress, actor=self.actor,
            )  # fmt: skip
