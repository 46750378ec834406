"""Issue 15 point 2: background jobs, on SQLite and PostgreSQL.

Jobs are run by real runners against the real database: in this process (a runner in a thread,
test kinds beside the built-in ones where a handler must wait for the test) or as `tambour jobs
run` and `tambour worker` processes, one of them killed with SIGKILL mid-import."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from tambour import logs
from tambour.jobs.control import JobControl
from tambour.jobs.inline import run_inline
from tambour.jobs.kinds import JobKind, builtin
from tambour.jobs.kinds import campaign_export as export_kind
from tambour.jobs.kinds import campaign_plan as plan_kind
from tambour.jobs.kinds import contacts_import as import_kind
from tambour.jobs.runner import Runner
from tambour.services import advertisers, importer, jobs, planner
from tambour.services.context import Conflict, Context, InvalidInput, NotFoundError
from tambour.services.jobs import Job, JobRequest, JobState, Outcome, Progress
from tambour.store.engine import make_engine, reader
from tambour.store.tables import audit_log, campaigns, contacts, evidence, plan_rows
from tambour.store.tables import jobs as job_rows
from tests.dispatch_setup import (
    SENDER,
    ensure_advertiser,
    launched_campaign,
    mobile,
    record_only_config,
    write_contacts,
)
from tests.integration.cli import Cli

SLUG = "maison-lumiere"
ACTOR = "test:jobs"
BATCH = importer.BATCH_ROWS


def context(engine: Engine, clock: Callable[[], datetime] | None = None) -> Context:
    return Context(engine=engine, actor=ACTOR, clock=clock or (lambda: datetime.now(UTC)))


@pytest.fixture
def ctx(engine: Engine) -> Context:
    return context(engine)


@pytest.fixture
def advertiser(engine: Engine) -> int:
    ensure_advertiser(engine, datetime.now(UTC), SLUG)
    with engine.connect() as conn:
        return advertisers.get(conn, SLUG).id


def contact_file(tmp_path: Path, count: int, name: str = "contacts.csv") -> Path:
    return write_contacts(tmp_path / name, [mobile(i) for i in range(count)])


def wait_for(check: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"not within {timeout} s: {what or check}"
        time.sleep(0.01)
    return found


def row(engine: Engine, job_id: int) -> Any:
    with reader(engine) as conn:  # no write lock: a runner may hold SQLite's, stopped
        return conn.execute(select(job_rows).where(job_rows.c.id == job_id)).one()


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def audited(engine: Engine, job_id: int) -> list[tuple[str, dict[str, Any]]]:
    """The audit entries about job `job_id`, in order: (action, details)."""
    with engine.connect() as conn:
        found = conn.execute(
            select(audit_log.c.action, audit_log.c.details)
            .where(audit_log.c.action.like("job.%"))
            .order_by(audit_log.c.seq)
        ).all()
    entries = [(action, json.loads(details)) for action, details in found]
    return [(action, details) for action, details in entries if details["job"] == job_id]


def with_kinds(**handlers: Callable[[Context, Job, JobControl], Any]) -> dict[str, JobKind]:
    """The built-in kinds and test ones (`test_steps` is the kind `test.steps`)."""
    kinds = builtin()
    for name, handler in handlers.items():
        kind = name.replace("_", ".", 1)
        kinds[kind] = JobKind(kind, handler)
    return kinds


@contextmanager
def running(runner: Runner, *, until_idle: bool = False) -> Iterator[threading.Thread]:
    """`runner` running jobs in a thread; stopped and joined at the end."""
    thread = threading.Thread(target=runner.run, kwargs={"until_idle": until_idle}, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        runner.stop()
        thread.join(60)
        assert not thread.is_alive(), "the runner did not stop"


def jobs_process(db_url: str, *args: str) -> subprocess.Popen[str]:
    """`tambour jobs run ARGS`, in a process group of its own (its import workers with it)."""
    env = {**os.environ, "TAMBOUR_DATABASE_URL": db_url, "TAMBOUR_ACTOR": "test:runner"}
    return subprocess.Popen(
        [sys.executable, "-m", "tambour", "jobs", "run", "--log-format", "json", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def slowed_until(process: subprocess.Popen[str], check: Callable[[], Any], timeout: float) -> Any:
    """Run `process` and its group a fifth of the time (stopped, then let go, in turn) until
    `check` holds; it is left stopped. A quiet machine imports 100,000 rows between two of
    the runner's progress reports (every half second): slowed, it is seen half-way."""
    group = os.getpgid(process.pid)
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"not within {timeout} s: {check}"
        os.killpg(group, signal.SIGCONT)
        time.sleep(0.01)
        os.killpg(group, signal.SIGSTOP)
        time.sleep(0.04)
    return found


def terminated_mid_job(
    process: subprocess.Popen[str],
    engine: Engine,
    job_id: int,
    seen: Callable[[Any], None] = lambda _row: None,
) -> tuple[str, str]:
    """`process`'s output, once it was sent SIGTERM while running the job (its row shows
    progress, and is given to `seen` first). Killed if it does not stop in time."""
    try:
        seen(wait_for(lambda: (r := row(engine, job_id)).done > 0 and r, 60, "the progress"))
        process.send_signal(signal.SIGTERM)
        return process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# --- submit, run, result --------------------------------------------------------------------


def test_an_import_job_runs_to_its_result(
    ctx: Context, engine: Engine, advertiser: int, tmp_path: Path
) -> None:
    path = contact_file(tmp_path, 12_000)
    job = jobs.submit(ctx, import_kind.request(ctx, advertiser=SLUG, path=path))
    assert (job.state, job.attempts, job.advertiser_id) == (JobState.QUEUED, 0, advertiser)
    assert job.arguments["path"] == str(path.resolve())
    report = Runner(ctx).run(until_idle=True)
    assert (report.succeeded, report.failed) == (1, 0)
    done = jobs.get(ctx, job.id, advertiser_id=advertiser)
    assert done.state == JobState.SUCCEEDED and done.finished_at is not None
    assert done.result is not None and done.result["created"] == 12_000
    assert done.progress == Progress(12_000, 12_000, "rows")
    assert done.attempts == 1 and done.error_code is None and done.lease_until is None
    assert count(engine, contacts) == 12_000
    actions = [action for action, _ in audited(engine, job.id)]
    assert actions == ["job.submitted", "job.started", "job.succeeded"]
    # the import itself audits as `contacts import` does, in the name of who asked for the job
    with engine.connect() as conn:
        actor = conn.execute(
            select(audit_log.c.actor).where(audit_log.c.action == "contacts.import")
        ).scalar_one()
    assert actor == ACTOR


def test_progress_is_visible_while_a_job_runs(ctx: Context, advertiser: int) -> None:
    go_on = threading.Event()

    def steps(_ctx: Context, _job: Job, control: JobControl) -> dict[str, Any]:
        control.phase("steps", 10)
        control.advance(3)
        assert go_on.wait(30)
        control.advance(7)
        return {"steps": 10}

    job = jobs.submit(ctx, JobRequest("test.steps", advertiser))
    with running(Runner(ctx, kinds=with_kinds(test_steps=steps), beat=0.02)):
        seen = wait_for(
            lambda: (j := jobs.get(ctx, job.id, advertiser_id=advertiser)).progress.done == 3 and j,
            what="the progress of the running job",
        )
        assert seen.state == JobState.RUNNING and seen.progress == Progress(3, 10, "steps")
        assert seen.lease_until is not None and seen.lease_until > datetime.now(UTC)
        go_on.set()
        done = wait_for(lambda: (j := jobs.get(ctx, job.id, advertiser_id=None)).finished and j)
    assert done.state == JobState.SUCCEEDED and done.result == {"steps": 10}
    assert done.progress == Progress(10, 10, "steps")


# --- cancellation ---------------------------------------------------------------------------


def test_a_running_job_stops_at_its_next_step_when_cancelled(
    ctx: Context, engine: Engine, advertiser: int
) -> None:
    def endless(_ctx: Context, _job: Job, control: JobControl) -> dict[str, Any]:
        control.phase("rounds")
        while True:  # until its control says stop
            control.advance()
            time.sleep(0.005)

    job = jobs.submit(ctx, JobRequest("test.endless", advertiser))
    with running(Runner(ctx, kinds=with_kinds(test_endless=endless), beat=0.02)):
        wait_for(lambda: jobs.get(ctx, job.id, advertiser_id=None).progress.done > 0)
        asked = jobs.request_cancel(ctx, job.id, advertiser_id=advertiser)
        assert asked.state == JobState.RUNNING and asked.cancel_requested
        again = jobs.request_cancel(ctx, job.id, advertiser_id=advertiser)  # nothing new
        assert again.cancel_requested_at == asked.cancel_requested_at
        done = wait_for(lambda: (j := jobs.get(ctx, job.id, advertiser_id=None)).finished and j)
    assert done.state == JobState.CANCELLED
    assert done.result is not None and done.result["done"] >= 1
    assert done.result["phase"] == "rounds"
    actions = [action for action, _ in audited(engine, job.id)]
    assert actions == ["job.submitted", "job.started", "job.cancel_requested", "job.cancelled"]
    with pytest.raises(Conflict) as finished:
        jobs.request_cancel(ctx, job.id, advertiser_id=advertiser)
    assert finished.value.code == "job_finished"


def test_a_queued_job_is_cancelled_at_once(ctx: Context, advertiser: int) -> None:
    job = jobs.submit(ctx, JobRequest("test.never", advertiser))
    done = jobs.request_cancel(ctx, job.id, advertiser_id=None)
    assert done.state == JobState.CANCELLED and done.attempts == 0
    assert Runner(ctx).run(until_idle=True).as_dict()["succeeded"] == 0  # nothing to claim


def cancel_at_first_step(ctx: Context, job: Job) -> Callable[[Progress], None]:
    """A progress listener that cancels the job, as a user would from elsewhere, once its
    first step is done, then gives the runner's lease keeper time to hear of it: the job stops
    at its next progress call, right after that first step."""
    asked: list[Job] = []

    def listener(progress: Progress) -> None:
        if progress.done and not asked:
            asked.append(jobs.request_cancel(ctx, job.id, advertiser_id=job.advertiser_id))
            time.sleep(0.5)

    return listener


def claimed(ctx: Context, runner: Runner) -> Job:
    with ctx.engine.begin() as conn:
        job = jobs.claim(conn, owner=runner.name, now=ctx.now(), lease=runner.lease, actor=ACTOR)
    assert job is not None
    return job


def test_a_cancelled_import_keeps_what_it_committed_and_says_how_far_it_got(
    ctx: Context, engine: Engine, advertiser: int, tmp_path: Path
) -> None:
    path = contact_file(tmp_path, 3 * BATCH)
    submitted = jobs.submit(ctx, import_kind.request(ctx, advertiser=SLUG, path=path))
    runner = Runner(ctx, beat=0.01)
    job = claimed(ctx, runner)
    done = runner.execute(job, listener=cancel_at_first_step(ctx, job))
    assert done.id == submitted.id and done.state == JobState.CANCELLED
    assert done.result is not None
    assert done.result["records_done"] == BATCH and done.result["complete"] is False
    assert done.progress == Progress(BATCH, 3 * BATCH, "rows")
    assert count(engine, contacts) == BATCH  # the first batch, committed, stays
    with engine.connect() as conn:  # the importer audited how far it got
        details = conn.execute(
            select(audit_log.c.details).where(audit_log.c.action == "contacts.import")
        ).scalar_one()
    assert json.loads(details)["interrupted"] == "CancelRequested"
    # submitted again, it imports the rest (what was imported is recognised, not doubled)
    jobs.submit(ctx, import_kind.request(ctx, advertiser=SLUG, path=path))
    assert Runner(ctx).run(until_idle=True).succeeded == 1
    assert count(engine, contacts) == 3 * BATCH


def test_a_cancelled_plan_leaves_the_previous_plan(
    ctx: Context, engine: Engine, db_url: str, advertiser: int, tmp_path: Path
) -> None:
    assert advertiser
    importer.import_contacts(ctx, slug=SLUG, path=contact_file(tmp_path, 3 * planner.CHUNK))
    cli = Cli(db_url)
    cli(
        "campaign", "create", "--advertiser", SLUG, "--name", "soldes", "--nature",
        "commercial", "--sender", SENDER, "--text", "Bonjour, -20% ce week-end. Maison Lumière",
        ok=False,
    )  # fmt: skip
    planned = jobs.submit(ctx, plan_kind.request(ctx, campaign="soldes", advertiser=SLUG))
    assert Runner(ctx).run(until_idle=True).succeeded == 1
    first = jobs.get(ctx, planned.id, advertiser_id=None)
    assert first.result is not None and first.result["summary"]["targeted"] == 3 * planner.CHUNK
    assert first.progress.done == first.progress.total == 3 * planner.CHUNK

    def current() -> tuple[int, int]:
        with engine.connect() as conn:
            generation = conn.execute(
                select(campaigns.c.plan_generation).where(campaigns.c.name == "soldes")
            ).scalar_one()
            rows = conn.execute(select(func.count()).select_from(plan_rows)).scalar_one()
        return generation, rows

    before = current()
    assert before == (first.result["generation"], 3 * planner.CHUNK)
    jobs.submit(ctx, plan_kind.request(ctx, campaign="soldes", advertiser=SLUG))
    runner = Runner(ctx, beat=0.01)
    job = claimed(ctx, runner)
    done = runner.execute(job, listener=cancel_at_first_step(ctx, job))
    assert done.state == JobState.CANCELLED
    assert done.result is not None and done.result["complete"] is False
    assert done.progress.done == planner.CHUNK  # one chunk planned, then stopped
    assert current() == before  # the previous plan, whole, and none of the cancelled one's rows


# --- a runner that dies, or stops -----------------------------------------------------------


def test_a_killed_runner_s_job_is_taken_up_again_and_finishes_once(
    ctx: Context, engine: Engine, db_url: str, advertiser: int, tmp_path: Path
) -> None:
    rows = 100_000
    path = contact_file(tmp_path, rows)
    job = jobs.submit(ctx, import_kind.request(ctx, advertiser=SLUG, path=path))
    victim = jobs_process(db_url, "--lease", "2")
    try:
        taken = slowed_until(victim, lambda: (r := row(engine, job.id)).done > 0 and r, 120)
    finally:
        os.killpg(victim.pid, signal.SIGKILL)  # the group's leader: its id is the group's
        victim.wait(10)
    assert taken.state == "running" and taken.done < rows and taken.owner.startswith("jobs@")
    left = row(engine, job.id)
    assert left.state == "running", "killed mid-import"
    # Its lease runs out; a runner started then takes the job up again.
    wait_for(lambda: datetime.now(UTC) > left.lease_until + timedelta(seconds=0.2), 10)
    survivor = jobs_process(db_url, "--lease", "2", "--until-idle", "--json")
    out, err = survivor.communicate(timeout=180)
    assert survivor.returncode == 0, err
    report = json.loads(out)
    assert (report["rescued"], report["succeeded"], report["failed"]) == (1, 1, 0)
    done = jobs.get(ctx, job.id, advertiser_id=advertiser)
    assert done.state == JobState.SUCCEEDED and done.attempts == 2
    assert done.owner != taken.owner
    assert count(engine, contacts) == rows  # nothing lost, nothing doubled
    with engine.connect() as conn:
        facts = conn.execute(select(evidence.c.kind, func.count()).group_by(evidence.c.kind)).all()
    assert all(n == rows for _kind, n in facts), facts  # each fact recorded once
    entries = audited(engine, job.id)
    actions = [action for action, _ in entries]
    assert actions == [
        "job.submitted", "job.started", "job.requeued", "job.started", "job.succeeded"
    ]  # fmt: skip
    assert entries[2][1]["reason"] == "worker_lost" and entries[2][1]["runner"] == taken.owner
    assert "+336" not in err and "Traceback" not in err  # its log names no number


def test_a_runner_asked_to_stop_queues_its_job_again(
    ctx: Context, engine: Engine, db_url: str, advertiser: int, tmp_path: Path
) -> None:
    assert advertiser
    path = contact_file(tmp_path, 60_000)
    job = jobs.submit(ctx, import_kind.request(ctx, advertiser=SLUG, path=path))
    runner = jobs_process(db_url, "--json")
    out, err = terminated_mid_job(runner, engine, job.id)
    assert runner.returncode == 0, err
    assert json.loads(out)["requeued"] == 1
    back = row(engine, job.id)
    assert (back.state, back.attempts, back.owner, back.lease_until) == ("queued", 0, None, None)
    assert [action for action, _ in audited(engine, job.id)][-1] == "job.requeued"
    assert Runner(ctx).run(until_idle=True).succeeded == 1
    assert count(engine, contacts) == 60_000


def test_an_expired_lease_is_rescued_until_the_attempts_run_out(
    engine: Engine, advertiser: int
) -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    ctx = context(engine, lambda: now)
    lease = timedelta(seconds=30)
    job = jobs.submit(ctx, JobRequest("test.lost", advertiser, max_attempts=2))

    def claim(owner: str, at: datetime) -> Job | None:
        with engine.begin() as conn:
            return jobs.claim(conn, owner=owner, now=at, lease=lease, actor=ACTOR)

    def rescue(at: datetime) -> list[Job]:
        with engine.begin() as conn:
            return jobs.rescue(conn, now=at, actor=ACTOR)

    first = claim("runner-a", now)
    assert first is not None and (first.state, first.attempts) == (JobState.RUNNING, 1)
    assert claim("runner-b", now) is None  # held
    assert rescue(now + lease - timedelta(seconds=1)) == []  # its lease still runs
    [again] = rescue(now + lease + timedelta(seconds=1))
    assert (again.state, again.attempts, again.owner) == (JobState.QUEUED, 1, None)
    later = now + lease + timedelta(seconds=2)
    second = claim("runner-b", later)
    assert second is not None and second.attempts == 2
    with engine.begin() as conn:  # the first runner, back from the dead, cannot finish it
        too_late = Outcome(JobState.SUCCEEDED, {})
        settled = jobs.settle(
            conn, job.id, owner="runner-a", now=later, outcome=too_late, progress=Progress(),
            actor=ACTOR,
        )  # fmt: skip
        renewed = jobs.renew(
            conn, job.id, owner="runner-a", now=later, lease=lease, progress=Progress()
        )
    assert settled is None and renewed is None
    [failed] = rescue(later + lease + timedelta(seconds=1))
    assert (failed.state, failed.error_code) == (JobState.FAILED, "worker_lost")
    assert failed.error_message is not None and "2 attempts" in failed.error_message
    assert failed.finished_at is not None
    actions = [action for action, _ in audited(engine, job.id)]
    assert actions == [
        "job.submitted", "job.started", "job.requeued", "job.started", "job.failed"
    ]  # fmt: skip


def test_a_lost_job_whose_cancellation_was_asked_is_cancelled(
    engine: Engine, advertiser: int
) -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    ctx = context(engine, lambda: now)
    job = jobs.submit(ctx, JobRequest("test.lost", advertiser))
    with engine.begin() as conn:
        jobs.claim(conn, owner="a", now=now, lease=timedelta(seconds=5), actor=ACTOR)
    jobs.request_cancel(ctx, job.id, advertiser_id=advertiser)
    with engine.begin() as conn:
        [lost] = jobs.rescue(conn, now=now + timedelta(seconds=6), actor=ACTOR)
    assert lost.state == JobState.CANCELLED and lost.error_code is None


def test_runners_side_by_side_never_run_the_same_job(
    engine: Engine, db_url: str, advertiser: int
) -> None:
    """Three runners, each with its own connections, race for sixty short jobs: each job runs
    once (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: claims under BEGIN IMMEDIATE)."""
    ran: list[tuple[int, str]] = []

    def record(ctx: Context, job: Job, _control: JobControl) -> dict[str, Any]:
        ran.append((job.id, job.owner or ""))
        time.sleep(0.002)
        return {}

    ctx = context(engine)
    submitted = {jobs.submit(ctx, JobRequest("test.record", advertiser)).id for _ in range(60)}
    kinds = with_kinds(test_record=record)
    engines = [make_engine(db_url) for _ in range(3)]
    try:
        runners = [Runner(context(each), kinds=kinds) for each in engines]
        threads = [
            threading.Thread(target=runner.run, kwargs={"until_idle": True}) for runner in runners
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        for each in engines:
            each.dispose()
    ids = [job_id for job_id, _ in ran]
    assert sorted(ids) == sorted(submitted)  # each ran, once
    assert len({owner for _, owner in ran}) >= 2  # they did race
    with engine.connect() as conn:
        states = conn.execute(select(job_rows.c.state, job_rows.c.attempts)).all()
    assert set(states) == {("succeeded", 1)}


# --- failures -------------------------------------------------------------------------------


def test_a_failing_handler_fails_its_job_with_a_code_and_no_traceback(
    ctx: Context, engine: Engine, db_url: str, advertiser: int, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    def boom(_ctx: Context, _job: Job, _control: JobControl) -> dict[str, Any]:
        raise RuntimeError("no luck with +33612345678")

    def refused(_ctx: Context, _job: Job, _control: JobControl) -> dict[str, Any]:
        raise InvalidInput("campaign", "campaign_frozen", "'soldes' is launched")

    def not_json(_ctx: Context, _job: Job, _control: JobControl) -> dict[str, Any]:
        return {"when": datetime.now(UTC)}

    crash = jobs.submit(ctx, JobRequest("test.boom", advertiser))
    refusal = jobs.submit(ctx, JobRequest("test.refused", advertiser))
    odd = jobs.submit(ctx, JobRequest("test.not_json", advertiser))
    unknown = jobs.submit(ctx, JobRequest("test.unknown", advertiser))
    path = contact_file(tmp_path, 10)
    gone = jobs.submit(ctx, import_kind.request(ctx, advertiser=SLUG, path=path))
    path.unlink()  # the file went before the job ran
    kinds = with_kinds(test_boom=boom, test_refused=refused, test_not_json=not_json)
    with caplog.at_level("INFO", logger="tambour.jobs"):
        report = Runner(ctx, kinds=kinds).run(until_idle=True)
    assert (report.failed, report.succeeded) == (5, 0)

    def error(job: Job) -> tuple[str | None, str | None]:
        failed = jobs.get(ctx, job.id, advertiser_id=None)
        assert failed.state == JobState.FAILED and failed.finished_at is not None
        return failed.error_code, failed.error_message

    code, message = error(crash)
    assert code == "internal_error" and message is not None
    assert f"job {crash.id}" in message and "Traceback" not in message and "+336" not in message
    assert error(refusal) == ("campaign_frozen", "'soldes' is launched")
    assert jobs.get(ctx, refusal.id, advertiser_id=None).result == {"field": "campaign"}
    assert error(odd)[0] == "internal_error"
    assert error(unknown)[0] == "unknown_kind"
    assert error(gone)[0] == "file_not_found"
    # the log has the traceback, its number masked as in every JSON log line
    [logged] = [r for r in caplog.records if r.exc_info and f"job {crash.id}" in r.getMessage()]
    line = logs.JsonLines().format(logged)
    assert "RuntimeError" in line and "+33612345678" not in line
    # what the command line shows of it: the code and the words, no traceback
    shown = Cli(db_url)("jobs", "show", str(crash.id))
    assert f"error (internal_error): {message}" in shown.out and "Traceback" not in shown.out


def test_what_a_job_is_given_is_checked_when_it_is_submitted(
    ctx: Context, advertiser: int, tmp_path: Path
) -> None:
    assert advertiser
    with pytest.raises(InvalidInput) as missing:
        import_kind.request(ctx, advertiser=SLUG, path=tmp_path / "nowhere.csv")
    assert (missing.value.field, missing.value.code) == ("path", "file_not_found")
    with pytest.raises(NotFoundError):
        import_kind.request(ctx, advertiser="nobody", path=contact_file(tmp_path, 1))
    with pytest.raises(InvalidInput) as kind:
        jobs.submit(ctx, JobRequest("Not A Kind", None))
    assert (kind.value.field, kind.value.code) == ("kind", "invalid_kind")
    with pytest.raises(InvalidInput) as arguments:
        jobs.submit(ctx, JobRequest("test.x", None, {"when": object()}))
    assert arguments.value.field == "arguments"
    with pytest.raises(NotFoundError) as owner:
        jobs.submit(ctx, JobRequest("test.x", 999_999))
    assert owner.value.field == "advertiser_id"
    with pytest.raises(NotFoundError):
        plan_kind.request(ctx, campaign="nothing", advertiser=SLUG)


# --- tenants --------------------------------------------------------------------------------


def test_another_advertiser_s_jobs_are_not_found(
    ctx: Context, db_url: str, advertiser: int
) -> None:
    other = advertisers.create(
        ctx, slug="copie", name="Copie SARL", senders=["COPIE"], stop_number="36112",
        categories=["luminaires"],
    ).id  # fmt: skip
    theirs = jobs.submit(ctx, JobRequest("test.x", advertiser))
    mine = jobs.submit(ctx, JobRequest("test.x", other))
    calls: list[Callable[[], Job]] = [
        lambda: jobs.get(ctx, theirs.id, advertiser_id=other),
        lambda: jobs.request_cancel(ctx, theirs.id, advertiser_id=other),
    ]
    for call in calls:
        with pytest.raises(NotFoundError) as hidden:
            call()
        assert hidden.value.code == "job_not_found" and hidden.value.status == 404
    assert [j.id for j in jobs.list_jobs(ctx, advertiser_id=other).jobs] == [mine.id]
    assert [j.id for j in jobs.list_jobs(ctx, advertiser_id=None).jobs] == [mine.id, theirs.id]
    assert jobs.get(ctx, theirs.id, advertiser_id=advertiser).state == JobState.QUEUED  # kept
    cli = Cli(db_url)
    refused = cli("jobs", "cancel", str(theirs.id), "--advertiser", "copie", ok=False)
    assert (refused.code, refused.err) == (2, f"error: there is no job {theirs.id}\n")
    listed = cli("jobs", "list", "--advertiser", "copie", "--json").json()
    assert [j["id"] for j in listed["jobs"]] == [mine.id]


def test_jobs_are_listed_newest_first_a_page_at_a_time(ctx: Context, advertiser: int) -> None:
    made = [jobs.submit(ctx, JobRequest("test.x", advertiser)).id for _ in range(5)]
    first = jobs.list_jobs(ctx, advertiser_id=advertiser, limit=2)
    assert [j.id for j in first.jobs] == made[:-3:-1] and first.next_before == made[-2]
    second = jobs.list_jobs(ctx, advertiser_id=advertiser, limit=2, before=first.next_before)
    third = jobs.list_jobs(ctx, advertiser_id=advertiser, limit=2, before=second.next_before)
    assert [j.id for j in (*second.jobs, *third.jobs)] == made[2::-1]
    assert third.next_before is None
    jobs.request_cancel(ctx, made[0], advertiser_id=advertiser)
    cancelled = jobs.list_jobs(ctx, advertiser_id=advertiser, state=JobState.CANCELLED)
    assert [j.id for j in cancelled.jobs] == [made[0]]
    with pytest.raises(InvalidInput) as limit:
        jobs.list_jobs(ctx, advertiser_id=None, limit=0)
    assert limit.value.field == "limit"


# --- the kinds, inline and beside a worker --------------------------------------------------


def test_an_export_job_writes_its_file_whole_and_owner_only(
    engine: Engine, ctx: Context, tmp_path: Path
) -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    launched_campaign(engine, tmp_path, [mobile(i) for i in range(30)], now=now)
    target = tmp_path / "exports" / "soldes.csv"
    with pytest.raises(InvalidInput) as folder:
        export_kind.request(ctx, campaign="soldes", path=target, form=export_kind.ExportForm.CSV)
    assert folder.value.code == "folder_not_found"
    target.parent.mkdir()
    excel = export_kind.ExportForm.EXCEL
    job = jobs.submit(ctx, export_kind.request(ctx, campaign="soldes", path=target, form=excel))
    assert Runner(ctx).run(until_idle=True).succeeded == 1
    done = jobs.get(ctx, job.id, advertiser_id=None)
    assert done.result is not None
    assert (done.result["rows"], done.result["path"]) == (30, str(target.resolve()))
    assert done.progress == Progress(30, 30, "recipients")
    assert target.stat().st_mode & 0o777 == 0o600
    lines = target.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 31 and lines[0].startswith("phone;decision;")
    assert sorted(p.name for p in target.parent.iterdir()) == ["soldes.csv"]  # no part left
    with pytest.raises(InvalidInput) as taken:
        export_kind.request(ctx, campaign="soldes", path=target, form=export_kind.ExportForm.CSV)
    assert taken.value.code == "file_exists"


def test_an_inline_job_runs_here_and_no_runner_takes_it(
    ctx: Context, engine: Engine, advertiser: int, tmp_path: Path
) -> None:
    assert advertiser
    heard: list[Progress] = []
    request = import_kind.request(ctx, advertiser=SLUG, path=contact_file(tmp_path, 2 * BATCH))
    done = run_inline(ctx, request, listener=heard.append)
    assert done.state == JobState.SUCCEEDED and done.max_attempts == 1 and done.attempts == 1
    assert done.result is not None and done.result["created"] == 2 * BATCH
    assert Progress(BATCH, 2 * BATCH, "rows") in heard
    assert [action for action, _ in audited(engine, done.id)] == [
        "job.submitted", "job.succeeded"
    ]  # fmt: skip
    assert audited(engine, done.id)[0][1]["inline"] is True
    assert Runner(ctx).run(until_idle=True).succeeded == 0  # nothing left for a worker


def test_the_worker_runs_jobs_beside_its_dispatching(
    ctx: Context, engine: Engine, db_url: str, advertiser: int, tmp_path: Path
) -> None:
    assert advertiser
    path = contact_file(tmp_path, 50)
    job = jobs.submit(ctx, import_kind.request(ctx, advertiser=SLUG, path=path))
    env = {
        **os.environ, "TAMBOUR_DATABASE_URL": db_url,
        "TAMBOUR_CONFIG": str(record_only_config(tmp_path)),
    }  # fmt: skip

    def worker(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tambour", "worker", "--until-idle", "--json", *args],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    alone = worker("--no-jobs")
    assert alone.returncode == 0, alone.stderr
    assert row(engine, job.id).state == "queued"
    done = worker()
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["submitted"] == 0  # its own report, on stdout alone
    assert row(engine, job.id).state == "succeeded"
    events = [json.loads(line)["event"] for line in done.stderr.splitlines() if line[:1] == "{"]
    assert {"runner_start", "job_started", "job_finished", "runner_stop"} <= set(events)
    assert count(engine, contacts) == 50


def test_a_worker_s_runner_stops_when_the_worker_is_gone(db_url: str) -> None:
    """`tambour worker` starts its runner with --parent: killed without a word, it leaves no
    runner behind."""
    script = (
        f'"{sys.executable}" -m tambour jobs run --parent $$ --log-format text '
        "2>/dev/null >/dev/null & echo $!; wait"
    )
    env = {**os.environ, "TAMBOUR_DATABASE_URL": db_url}
    shell = subprocess.Popen(["bash", "-c", script], env=env, stdout=subprocess.PIPE, text=True)
    assert shell.stdout is not None
    child = int(shell.stdout.readline())
    time.sleep(1.5)  # it started, and runs
    assert _alive(child)
    shell.kill()
    shell.wait(10)
    wait_for(lambda: not _alive(child), 20, "the orphaned runner to stop")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # a zombie has stopped: only its exit status is left


def test_a_stopped_worker_s_job_is_queued_again(
    ctx: Context, engine: Engine, db_url: str, advertiser: int, tmp_path: Path
) -> None:
    assert advertiser
    job = jobs.submit(
        ctx, import_kind.request(ctx, advertiser=SLUG, path=contact_file(tmp_path, 60_000))
    )
    env = {
        **os.environ, "TAMBOUR_DATABASE_URL": db_url,
        "TAMBOUR_CONFIG": str(record_only_config(tmp_path)),
    }  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "tambour", "worker", "--json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    niceness: list[int] = []

    def seen(running: Any) -> None:  # its runner, the worker's child, yields the cores
        niceness.append(_niceness(int(running.owner.split(":")[1])))

    _out, err = terminated_mid_job(worker, engine, job.id, seen)
    assert worker.returncode == 0, err
    assert niceness == [10]
    back = row(engine, job.id)  # its runner gave it back before the worker ended
    assert (back.state, back.attempts, back.owner) == ("queued", 0, None)
    [(_action, details)] = [e for e in audited(engine, job.id) if e[0] == "job.requeued"]
    assert details["reason"] == "runner_stopped"


def test_the_command_line_shows_jobs_and_refuses_in_one_line(
    ctx: Context, db_url: str, advertiser: int
) -> None:
    cli = Cli(db_url)
    job = jobs.submit(ctx, JobRequest("test.x", advertiser, {"n": 1}))
    listed = cli("jobs", "list")
    assert listed.out.split()[:3] == [str(job.id), "test.x", "queued"]
    shown = cli("jobs", "show", str(job.id))
    assert shown.out.startswith(f"job {job.id}: test.x, queued\n")
    assert f"asked by {ACTOR} on " in shown.out
    cancelled = cli("jobs", "cancel", str(job.id), "--json").json()
    assert cancelled["state"] == "cancelled" and cancelled["arguments"] == {"n": 1}
    for args, said in (
        (("jobs", "show", "999"), "error: there is no job 999"),
        (("jobs", "cancel", str(job.id)), f"error: job {job.id} is over (cancelled)"),
        (("jobs", "list", "--state", "nope"), "error: --state: expected one of queued,"),
        (("jobs", "run", "--lease", "1"), "error: --lease:"),
        (("jobs", "list", "--advertiser", "nobody"), "error: "),
    ):
        refused = cli(*args, ok=False)
        assert refused.code == 2 and refused.err.startswith(said), (args, refused)
        assert len(refused.err.splitlines()) == 1 and "Traceback" not in refused.err


def _niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[16])
