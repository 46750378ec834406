"""What a running job's handler is told through its control, without a database: progress as
it is reported, and the reasons to stop, raised from the next progress call."""

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tambour.jobs.control import CancelRequested, JobControl, JobStopped, LeaseLost, Shutdown
from tambour.jobs.kinds.contacts_import import estimated_records
from tambour.services.jobs import Job, JobState, Progress

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def job(cancel_requested_at: datetime | None = None) -> Job:
    return Job(
        id=7, advertiser_id=1, kind="test.x", state=JobState.RUNNING, arguments={},
        progress=Progress(), result=None, error_code=None, error_message=None,
        cancel_requested_at=cancel_requested_at, attempts=1, max_attempts=3, owner="r",
        lease_until=NOW, due_at=NOW, created_at=NOW, created_by="t", started_at=NOW,
        updated_at=NOW, finished_at=None,
    )  # fmt: skip


def test_progress_adds_up_within_a_phase_and_is_heard() -> None:
    heard: list[Progress] = []
    control = JobControl(job(), listener=heard.append)
    control.phase("rows", 12_000)
    control.advance(5000)
    control.advance(5000)
    assert control.progress == Progress(10_000, 12_000, "rows")
    control.phase("recipients")
    assert control.progress == Progress(0, None, "recipients")
    assert heard == [
        Progress(0, 12_000, "rows"), Progress(5000, 12_000, "rows"),
        Progress(10_000, 12_000, "rows"), Progress(0, None, "recipients"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("told", "raised"),
    [("cancel", CancelRequested), ("lose", LeaseLost), ("shutdown", Shutdown)],
)
def test_a_reason_to_stop_is_raised_from_the_next_progress_call(
    told: str, raised: type[JobStopped]
) -> None:
    shutdown = threading.Event()
    control = JobControl(job(), shutdown=shutdown)
    control.advance()  # nothing yet
    if told == "shutdown":
        shutdown.set()
    else:
        getattr(control, told)()
    with pytest.raises(raised):
        control.advance()
    assert control.progress.done == 2  # the step that was done is counted
    # Not an Exception: a use case's `except Exception` must not swallow it.
    assert not issubclass(raised, Exception)


def test_a_job_cancelled_before_it_began_stops_at_its_first_check() -> None:
    control = JobControl(job(cancel_requested_at=NOW))
    with pytest.raises(CancelRequested):
        control.check()
    # a lost lease wins over a cancellation: the job is not this runner's to settle
    control.lose()
    with pytest.raises(LeaseLost):
        control.check()


@pytest.mark.parametrize(
    ("content", "records"),
    [
        (b"", 0),
        (b"phone\n", 0),
        (b"phone\n0612345678\n0612345679\n", 2),
        (b"phone\n0612345678\n0612345679", 2),  # no line break at the end
        (b'phone;note\n0612345678;"two\nlines"\n', 2),  # a quoted break: one too many
    ],
)
def test_an_import_s_records_are_estimated_from_its_lines(
    tmp_path: Path, content: bytes, records: int
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(content)
    assert estimated_records(path) == records
