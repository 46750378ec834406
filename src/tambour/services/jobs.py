"""Background jobs (architecture.md principle 7): long work as rows in the database, claimed by
runners like the outbox's messages (principle 3), with progress, cancellation and a result.

A job's life:

    queued --claim--> running, leased to a runner (attempts + 1)
       running --settle--> succeeded (its result) | failed (an error code and words)
                           | cancelled (a user asked; the result says how far it got)
               --release--> queued again, the claim not counted (its runner shut down)
               --rescue (lease expired: its runner died)--> queued again, or failed with
                         `worker_lost` after `max_attempts` claims, or cancelled if one was asked
       queued --request_cancel--> cancelled at once
       running --request_cancel--> still running, `cancel_requested_at` set: its runner stops
                                   at its next step

The use cases (submit, get, list_jobs, request_cancel) take a Context and open their own
transactions. The runner's statements (claim, renew, settle, release, rescue) run in the
caller's transaction, as services/outbox.py's do; each update of a running job is conditional
on its owner, so a runner that lost its lease can neither report on a job nor finish it.

Tenancy: an advertiser sees its own jobs only, and another's is NotFound, as if it did not
exist; `advertiser_id=None` is the platform's operator, who sees every job. Every change of
state is audited with the job's id and kind, never its arguments (file names may hold numbers).
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import ColumnElement, Connection, Row, exists, func, or_, select, text, update

from tambour.services import audit, webhooks
from tambour.services.context import Conflict, Context, InvalidInput, NotFoundError
from tambour.store.engine import reader
from tambour.store.tables import advertisers, jobs


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED: Final = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
MAX_ATTEMPTS: Final = 3  # claims of a job whose runners keep dying, before it fails
DEFAULT_LEASE: Final = timedelta(seconds=30)  # a running job's, renewed while it runs
MOST_ATTEMPTS: Final = 10
DEFAULT_LIMIT, MOST_LISTED = 50, 500
MAX_KIND, MAX_PHASE, MAX_ERROR = 40, 40, 1000  # the columns' sizes; an error's words, cut
WORKER_LOST: Final = "worker_lost"
_KIND: Final = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")

# What users read, in one place (the i18n catalogs come later).
TEXTS: Final = {
    "not_found": "there is no job {job_id}",
    "finished": "job {job_id} is over ({state}): there is nothing left to cancel",
    "invalid_kind": "{kind!r} is not a job kind (dotted lower-case words: contacts.import)",
    "not_json": "the job's arguments must be JSON values (text, numbers, lists, objects): {error}",
    "attempts": f"from 1 to {MOST_ATTEMPTS} attempts",
    "naive": "a time with its offset (UTC or another), not a local time without one",
    "limit": f"from 1 to {MOST_LISTED} jobs at a time",
    "state": "one of " + ", ".join(state.value for state in JobState),
    "advertiser": "there is no advertiser {advertiser_id}",
    "worker_lost": (
        "the runner working on it stopped during each of its {attempts} attempts "
        "(killed, or its machine lost): it is not tried again"
    ),
}


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a job is: `done` units of its current `phase` (rows, recipients), of `total`
    when known."""

    done: int = 0
    total: int | None = None
    phase: str | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """A job as stored: what it is, where it stands, and what came of it."""

    id: int
    advertiser_id: int | None  # None: the operator's
    kind: str
    state: JobState
    arguments: Mapping[str, Any]
    progress: Progress
    result: Mapping[str, Any] | None
    error_code: str | None
    error_message: str | None
    cancel_requested_at: datetime | None
    attempts: int
    max_attempts: int
    owner: str | None  # the runner holding it, or the last one that did
    lease_until: datetime | None
    due_at: datetime
    created_at: datetime
    created_by: str
    started_at: datetime | None
    updated_at: datetime
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def cancel_requested(self) -> bool:
        return self.cancel_requested_at is not None

    def as_dict(self) -> dict[str, Any]:
        """For JSON output: instants in ISO 8601 with their offset."""

        def iso(at: datetime | None) -> str | None:
            return None if at is None else at.isoformat()

        return {
            "id": self.id,
            "advertiser_id": self.advertiser_id,
            "kind": self.kind,
            "state": self.state.value,
            "arguments": dict(self.arguments),
            "progress": {
                "done": self.progress.done,
                "total": self.progress.total,
                "phase": self.progress.phase,
            },
            "result": None if self.result is None else dict(self.result),
            "error": None
            if self.error_code is None
            else {"code": self.error_code, "message": self.error_message},
            "cancel_requested_at": iso(self.cancel_requested_at),
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "owner": self.owner,
            "lease_until": iso(self.lease_until),
            "due_at": iso(self.due_at),
            "created_at": iso(self.created_at),
            "created_by": self.created_by,
            "started_at": iso(self.started_at),
            "updated_at": iso(self.updated_at),
            "finished_at": iso(self.finished_at),
        }


@dataclass(frozen=True, slots=True)
class JobRequest:
    """A job to run: its kind, whose it is, and the arguments its kind reads (JSON values)."""

    kind: str
    advertiser_id: int | None
    arguments: Mapping[str, Any] = field(default_factory=dict)
    max_attempts: int = MAX_ATTEMPTS
    due_at: datetime | None = None  # None: at once


@dataclass(frozen=True, slots=True)
class JobPage:
    """Jobs newest first; `next_before` is the cursor of the next page (None: no more)."""

    jobs: tuple[Job, ...]
    next_before: int | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a running job ends."""

    state: JobState  # succeeded, failed or cancelled
    result: Mapping[str, Any] | None = None
    error_code: str | None = None
    error_message: str | None = None


def _json(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else audit.canonical_json(value)


def _job(row: Row[Any]) -> Job:
    return Job(
        id=row.id,
        advertiser_id=row.advertiser_id,
        kind=row.kind,
        state=JobState(row.state),
        arguments=json.loads(row.arguments),
        progress=Progress(row.done, row.total, row.phase),
        result=None if row.result is None else json.loads(row.result),
        error_code=row.error_code,
        error_message=row.error_message,
        cancel_requested_at=row.cancel_requested_at,
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        owner=row.owner,
        lease_until=row.lease_until,
        due_at=row.due_at,
        created_at=row.created_at,
        created_by=row.created_by,
        started_at=row.started_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
    )


def _audit(
    conn: Connection, actor: str, action: str, job: Job, at: datetime, **details: Any
) -> None:
    audit.append(
        conn,
        actor=actor,
        action=f"job.{action}",
        advertiser_id=job.advertiser_id,
        details={"job": job.id, "kind": job.kind, "state": job.state.value, **details},
        at=at,
    )


def _visible(job_id: int, advertiser_id: int | None) -> ColumnElement[bool]:
    """The job `job_id`, if the tenant may see it."""
    if advertiser_id is None:
        return jobs.c.id == job_id
    return (jobs.c.id == job_id) & (jobs.c.advertiser_id == advertiser_id)


def _not_found(job_id: int) -> NotFoundError:
    return NotFoundError(
        TEXTS["not_found"].format(job_id=job_id), code="job_not_found", field="job_id"
    )


# --- the use cases --------------------------------------------------------------------------


def _checked(request: JobRequest) -> tuple[str, datetime | None]:
    """The request's arguments as stored, once its fields are checked."""
    if len(request.kind) > MAX_KIND or not _KIND.fullmatch(request.kind):
        raise InvalidInput("kind", "invalid_kind", TEXTS["invalid_kind"].format(kind=request.kind))
    if not 1 <= request.max_attempts <= MOST_ATTEMPTS:
        raise InvalidInput("max_attempts", "out_of_range", TEXTS["attempts"])
    if request.due_at is not None and request.due_at.tzinfo is None:
        raise InvalidInput("due_at", "naive_time", TEXTS["naive"])
    try:
        arguments = audit.canonical_json(dict(request.arguments))
    except (TypeError, ValueError) as error:
        raise InvalidInput("arguments", "not_json", TEXTS["not_json"].format(error=error)) from None
    return arguments, request.due_at


def submit(
    ctx: Context,
    request: JobRequest,
    *,
    run_by: str | None = None,
    lease: timedelta = DEFAULT_LEASE,
) -> Job:
    """Queue a job. With `run_by`, the job is created already running, claimed by that runner
    for `lease` (the inline mode of jobs/inline.py: no other runner can take it)."""
    arguments, due_at = _checked(request)
    now = ctx.now()
    running = run_by is not None
    values: dict[str, Any] = {
        "advertiser_id": request.advertiser_id,
        "kind": request.kind,
        "state": JobState.RUNNING.value if running else JobState.QUEUED.value,
        "arguments": arguments,
        "done": 0,
        "attempts": 1 if running else 0,
        "max_attempts": request.max_attempts,
        "owner": run_by,
        "lease_until": now + lease if running else None,
        "due_at": due_at or now,
        "created_at": now,
        "created_by": ctx.actor,
        "started_at": now if running else None,
        "updated_at": now,
    }
    with ctx.engine.begin() as conn:
        if request.advertiser_id is not None:
            known = conn.execute(
                select(advertisers.c.id).where(advertisers.c.id == request.advertiser_id)
            ).first()
            if known is None:
                raise NotFoundError(
                    TEXTS["advertiser"].format(advertiser_id=request.advertiser_id),
                    code="advertiser_not_found",
                    field="advertiser_id",
                )
        row = conn.execute(jobs.insert().values(values).returning(*jobs.c)).one()
        job = _job(row)
        _audit(conn, ctx.actor, "submitted", job, now, inline=running)
    return job


def get(ctx: Context, job_id: int, *, advertiser_id: int | None) -> Job:
    """The job `job_id`, if `advertiser_id` may see it (None: the operator sees every job)."""
    with reader(ctx.engine) as conn:
        row = conn.execute(select(jobs).where(_visible(job_id, advertiser_id))).first()
    if row is None:
        raise _not_found(job_id)
    return _job(row)


def list_jobs(
    ctx: Context,
    *,
    advertiser_id: int | None,
    state: JobState | None = None,
    kind: str | None = None,
    before: int | None = None,
    limit: int = DEFAULT_LIMIT,
) -> JobPage:
    """The jobs `advertiser_id` may see (None: every job), newest first, `limit` at a time;
    `before` is the cursor a previous page gave (`next_before`): the jobs older than it."""
    if not 1 <= limit <= MOST_LISTED:
        raise InvalidInput("limit", "out_of_range", TEXTS["limit"])
    query = select(jobs).order_by(jobs.c.id.desc()).limit(limit + 1)
    if advertiser_id is not None:
        query = query.where(jobs.c.advertiser_id == advertiser_id)
    if state is not None:
        query = query.where(jobs.c.state == JobState(state).value)
    if kind is not None:
        query = query.where(jobs.c.kind == kind)
    if before is not None:
        query = query.where(jobs.c.id < before)
    with reader(ctx.engine) as conn:
        rows = conn.execute(query).all()
    found = tuple(_job(row) for row in rows[:limit])
    return JobPage(found, found[-1].id if len(rows) > limit else None)


def request_cancel(ctx: Context, job_id: int, *, advertiser_id: int | None) -> Job:
    """Cancel a job: a queued one at once; a running one at its runner's next step (the job
    says `cancel_requested_at` meanwhile). Asking again changes nothing; a finished job is a
    Conflict. A job `advertiser_id` may not see is NotFound."""
    now = ctx.now()
    mine = _visible(job_id, advertiser_id)
    with ctx.engine.begin() as conn:
        row = conn.execute(
            update(jobs)
            .where(mine, jobs.c.state == JobState.QUEUED.value)
            .values(
                state=JobState.CANCELLED.value,
                cancel_requested_at=now,
                finished_at=now,
                updated_at=now,
            )
            .returning(*jobs.c)
        ).first()
        if row is not None:
            job = _job(row)
            _audit(conn, ctx.actor, "cancelled", job, now, before_start=True)
            _tell_finished(conn, job, now)
            return job
        row = conn.execute(
            update(jobs)
            .where(
                mine, jobs.c.state == JobState.RUNNING.value, jobs.c.cancel_requested_at.is_(None)
            )
            .values(cancel_requested_at=now, updated_at=now)
            .returning(*jobs.c)
        ).first()
        if row is not None:
            job = _job(row)
            _audit(conn, ctx.actor, "cancel_requested", job, now)
            return job
        row = conn.execute(select(jobs).where(mine)).first()
    if row is None:
        raise _not_found(job_id)
    job = _job(row)
    if job.finished:
        raise Conflict(
            TEXTS["finished"].format(job_id=job_id, state=job.state.value),
            code="job_finished",
            field="job_id",
        )
    return job  # running, its cancellation asked already


# --- the runner's statements, in the caller's transaction -----------------------------------


def has_work(conn: Connection, now: datetime) -> bool:
    """Whether a job is due, or a running job's lease has expired: a cheap read, so that idle
    runners do not take SQLite's write lock every poll."""
    due = select(jobs.c.id).where(text("state = 'queued'"), jobs.c.due_at <= now)
    lost = select(jobs.c.id).where(text("state = 'running'"), jobs.c.lease_until < now)
    return bool(conn.execute(select(or_(exists(due), exists(lost)))).scalar())


def claim(
    conn: Connection, *, owner: str, now: datetime, lease: timedelta, actor: str
) -> Job | None:
    """The due job first in line (by due time, then id), now `running` for `owner` until
    `now + lease`; None when none is due. PostgreSQL skips the jobs other runners are claiming
    (FOR UPDATE SKIP LOCKED); SQLite's claims are serialised by BEGIN IMMEDIATE."""
    line = jobs.alias("line")  # not correlated with the table the UPDATE writes
    first = (
        select(line.c.id)
        .where(text("line.state = 'queued'"), line.c.due_at <= now)  # the partial index's
        .order_by(line.c.due_at, line.c.id)
        .limit(1)
    )
    if conn.dialect.name == "postgresql":
        first = first.with_for_update(skip_locked=True)
    row = conn.execute(
        update(jobs)
        .where(jobs.c.id == first.scalar_subquery(), jobs.c.state == JobState.QUEUED.value)
        .values(
            state=JobState.RUNNING.value,
            attempts=jobs.c.attempts + 1,
            owner=owner,
            lease_until=now + lease,
            started_at=func.coalesce(jobs.c.started_at, now),
            updated_at=now,
            **_progress(Progress()),  # an earlier attempt's is not this one's
        )
        .returning(*jobs.c)
    ).first()
    if row is None:
        return None
    job = _job(row)
    _audit(conn, actor, "started", job, now, attempt=job.attempts, runner=owner)
    return job


def _held(job_id: int, owner: str) -> ColumnElement[bool]:
    return (
        (jobs.c.id == job_id) & (jobs.c.owner == owner) & (jobs.c.state == JobState.RUNNING.value)
    )


def _update_held(
    conn: Connection, job_id: int, owner: str, values: Mapping[str, Any]
) -> Job | None:
    """Write `values` to the job if `owner` holds it (running, its owner); None if not."""
    row = conn.execute(
        update(jobs).where(_held(job_id, owner)).values(dict(values)).returning(*jobs.c)
    ).first()
    return None if row is None else _job(row)


def _progress(progress: Progress) -> dict[str, Any]:
    phase = None if progress.phase is None else progress.phase[:MAX_PHASE]
    return {"done": progress.done, "total": progress.total, "phase": phase}


def renew(
    conn: Connection,
    job_id: int,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    progress: Progress,
) -> bool | None:
    """Extend `owner`'s lease on the job and record its progress. Returns whether its
    cancellation was asked, or None when the job is no longer `owner`'s (its lease expired
    and another runner took it, or it was settled)."""
    values = {"lease_until": now + lease, "updated_at": now, **_progress(progress)}
    job = _update_held(conn, job_id, owner, values)
    return None if job is None else job.cancel_requested


def settle(
    conn: Connection,
    job_id: int,
    *,
    owner: str,
    now: datetime,
    outcome: Outcome,
    progress: Progress,
    actor: str,
) -> Job | None:
    """End `owner`'s running job as `outcome` says; None when the job is no longer `owner`'s
    (another runner has it, or it is settled): nothing is written then."""
    assert outcome.state in FINISHED, outcome.state
    message = outcome.error_message
    values = {
        "state": outcome.state.value,
        "result": _json(outcome.result),
        "error_code": outcome.error_code,
        "error_message": None if message is None else message[:MAX_ERROR],
        "lease_until": None,
        "finished_at": now,
        "updated_at": now,
        **_progress(progress),
    }
    job = _update_held(conn, job_id, owner, values)
    if job is None:
        return None
    said = {"code": job.error_code} if job.error_code else {}
    _audit(conn, actor, job.state.value, job, now, attempts=job.attempts, runner=owner, **said)
    _tell_finished(conn, job, now)
    return job


def _tell_finished(conn: Connection, job: Job, now: datetime) -> None:
    """The `job.finished` webhook of an advertiser's job that reached its end."""
    if job.advertiser_id is None or not job.finished:
        return
    data = {
        "job_id": job.id,
        "kind": job.kind,
        "state": job.state.value,
        "result": dict(job.result) if job.result is not None else None,
        "error_code": job.error_code,
        "error_message": job.error_message,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
    webhooks.emit(conn, [webhooks.Event(job.advertiser_id, "job.finished", data)], now)


def release(conn: Connection, job_id: int, *, owner: str, now: datetime, actor: str) -> bool:
    """`owner` stops (it was asked to shut down) before the job is done: queued again for
    another runner, this claim not counted (it did not fail)."""
    values = {
        "state": JobState.QUEUED.value,
        "attempts": jobs.c.attempts - 1,
        "owner": None,
        "lease_until": None,
        "updated_at": now,
    }
    job = _update_held(conn, job_id, owner, values)
    if job is None:
        return False
    _audit(conn, actor, "requeued", job, now, reason="runner_stopped", runner=owner)
    return True


def rescue(conn: Connection, *, now: datetime, actor: str) -> list[Job]:
    """Running jobs whose lease expired (their runner died, or hung past it): queued again for
    another runner, failed with `worker_lost` once they had `max_attempts` claims, cancelled
    when a cancellation was asked. Returns them as they are now."""
    expired = select(jobs).where(text("state = 'running'"), jobs.c.lease_until < now)
    if conn.dialect.name == "postgresql":
        expired = expired.with_for_update(skip_locked=True)
    rescued = []
    for lost in map(_job, conn.execute(expired.order_by(jobs.c.id)).all()):
        values: dict[str, Any] = {"lease_until": None, "updated_at": now}
        if lost.cancel_requested:
            values.update(state=JobState.CANCELLED.value, finished_at=now)
        elif lost.attempts >= lost.max_attempts:
            message = TEXTS["worker_lost"].format(attempts=lost.attempts)
            values.update(
                state=JobState.FAILED.value, error_code=WORKER_LOST, error_message=message,
                finished_at=now,
            )  # fmt: skip
        else:
            values.update(state=JobState.QUEUED.value, owner=None)
        row = conn.execute(
            update(jobs)
            .where(_held(lost.id, lost.owner or ""), jobs.c.lease_until < now)
            .values(values)
            .returning(*jobs.c)
        ).first()
        if row is None:  # renewed meanwhile (SQLite reads and writes in one transaction)
            continue
        job = _job(row)
        action = "requeued" if job.state == JobState.QUEUED else job.state.value
        _audit(conn, actor, action, job, now, reason=WORKER_LOST, runner=lost.owner or "")
        _tell_finished(conn, job, now)
        rescued.append(job)
    return rescued
