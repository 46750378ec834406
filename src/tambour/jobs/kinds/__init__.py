"""The kinds of job a runner knows: each a handler calling an existing use case, reporting its
progress and honouring a cancellation, and a `request` that checks what a job is given before
it is queued (so a bad file or an unknown campaign is refused at once, not minutes later).

A handler takes the job's Context (its actor: who asked for the job), the job and its control,
and returns its result as JSON values; it raises ServiceError (with a code) for what the job
cannot do, and lets JobStopped through."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tambour.jobs.control import JobControl
from tambour.services import advertisers
from tambour.services.context import Context, InvalidInput, NotFoundError
from tambour.services.jobs import MAX_ATTEMPTS, Job
from tambour.store.engine import reader

Handler = Callable[[Context, Job, JobControl], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class JobKind:
    name: str
    run: Handler
    max_attempts: int = MAX_ATTEMPTS


def builtin() -> dict[str, JobKind]:
    """The kinds every runner knows, by name."""
    from tambour.jobs.kinds import (
        ab_test_release,
        audit_verify,
        campaign_export,
        campaign_plan,
        contacts_export,
        contacts_import,
        retention_run,
    )

    kinds = (
        JobKind(contacts_import.KIND, contacts_import.run),
        JobKind(campaign_plan.KIND, campaign_plan.run),
        JobKind(campaign_export.KIND, campaign_export.run),
        JobKind(contacts_export.KIND, contacts_export.run),
        JobKind(audit_verify.KIND, audit_verify.run),
        JobKind(retention_run.KIND, retention_run.run),
        JobKind(ab_test_release.KIND, ab_test_release.run),
    )
    return {kind.name: kind for kind in kinds}


def argument(job: Job, name: str, kind: type[Any], *, required: bool = True) -> Any:
    """The job's argument `name`, of the type its kind wrote (a job's arguments come from the
    database, where anything may have been written)."""
    value = job.arguments.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidInput(
            f"arguments.{name}",
            "invalid_argument",
            f"a {job.kind} job needs the argument {name!r} ({kind.__name__})",
        )
    return value


def advertiser_slug(ctx: Context, job: Job) -> str:
    """The slug of the advertiser the job is for (a kind that works for one)."""
    if job.advertiser_id is None:
        raise InvalidInput(
            "advertiser_id", "advertiser_needed", f"a {job.kind} job is for an advertiser"
        )
    with reader(ctx.engine) as conn:
        found = advertisers.by_ids(conn, [job.advertiser_id])
    if job.advertiser_id not in found:
        raise NotFoundError(
            f"there is no advertiser {job.advertiser_id}",
            code="advertiser_not_found",
            field="advertiser_id",
        )
    return found[job.advertiser_id].slug
