"""Background jobs (imports, plans, exports), as the API shows them."""

from typing import Any

from pydantic import BaseModel, Field

from tambour.api.schemas.common import Instant, Page
from tambour.services import jobs
from tambour.services.jobs import JobState


class JobProgress(BaseModel):
    done: int = Field(description="Units of the current phase done (rows, recipients).")
    total: int | None = Field(description="Of how many, when known.")
    phase: str | None


class JobError(BaseModel):
    code: str
    message: str | None


class Job(BaseModel):
    id: int
    kind: str = Field(description="What it does: contacts.import, campaign.plan...")
    state: JobState
    arguments: dict[str, Any]
    progress: JobProgress
    result: dict[str, Any] | None = Field(description="What came of it, once succeeded.")
    error: JobError | None = Field(description="Why it failed, once failed.")
    cancel_requested_at: Instant | None
    attempts: int
    max_attempts: int
    due_at: Instant
    created_at: Instant
    started_at: Instant | None
    updated_at: Instant
    finished_at: Instant | None

    @classmethod
    def of(cls, job: jobs.Job) -> "Job":
        return cls.model_validate(job.as_dict())


JobPage = Page[Job]
