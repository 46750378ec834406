"""Background jobs (imports, plans, exports), as the API shows them."""

from typing import Any, Final

from pydantic import BaseModel, Field

from tambour.api.schemas.common import Instant, Page
from tambour.services import jobs
from tambour.services.jobs import JobState

# Where on the server a job reads or writes (the CLI shows them; an API client has no use for
# the server's folders, and is not told them): a file for download is its `file`, served by
# GET /api/v1/jobs/{id}/file.
SERVER_PATHS: Final = frozenset({"path", "rejects_path", "mapping_path", "rejects_file"})


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
        shown = job.as_dict()
        for part in ("arguments", "result"):
            if shown.get(part):
                shown[part] = {k: v for k, v in shown[part].items() if k not in SERVER_PATHS}
        return cls.model_validate(shown)


JobPage = Page[Job]
