"""`/api/v1/jobs` over real HTTP against `tambour serve`: an advertiser's jobs listed newest
first by pages and filters, one job with its progress, cancelling a queued and a running one
(a finished one is 409), replayed by its Idempotency-Key; the operator sees every job; another
advertiser's job is 404 on every route."""

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from tambour.services import jobs
from tambour.services.context import Context
from tambour.services.jobs import JobRequest
from tambour.store.tables import advertisers
from tests.integration.api_server import ApiServer, assert_problem, new_key
from tests.integration.api_tenants import two_advertisers
from tests.integration.cli import Cli

JOBS = "/api/v1/jobs"


def submitted(engine: Engine, slug: str, kind: str, *, running: bool = False) -> int:
    ctx = Context(engine=engine, actor="test:jobs", clock=lambda: datetime.now(UTC))
    with engine.connect() as conn:
        owner = conn.execute(
            select(advertisers.c.id).where(advertisers.c.slug == slug)
        ).scalar_one()
    job = jobs.submit(
        ctx,
        JobRequest(kind, owner, {"file": "contacts.csv"}),
        run_by="test:runner" if running else None,
    )
    return job.id


def test_jobs_are_listed_shown_and_cancelled(db_url: str, engine: Engine, tmp_path: Path) -> None:
    key = two_advertisers(Cli(db_url))
    reader = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read")
    operator = new_key(db_url, "--operator")
    queued = [submitted(engine, "maison-lumiere", "contacts.import") for _ in range(3)]
    running = submitted(engine, "maison-lumiere", "campaign.plan", running=True)
    theirs = submitted(engine, "copie", "contacts.import")
    with ApiServer(db_url, tmp_path) as server:
        first = server.get(JOBS, token=reader, params={"limit": 3})
        assert first.status_code == 200, first.text
        assert [job["id"] for job in first.json()["items"]] == [running, *queued[:0:-1]]
        rest = server.get(first.json()["next"], token=reader).json()
        assert [job["id"] for job in rest["items"]] == [queued[0]] and rest["next"] is None
        plans = server.get(JOBS, token=reader, params={"kind": "campaign.plan"}).json()
        assert [job["id"] for job in plans["items"]] == [running]
        waiting = server.get(JOBS, token=reader, params={"state": "queued"}).json()
        assert sorted(job["id"] for job in waiting["items"]) == queued
        assert_problem(
            server.get(JOBS, token=reader, params={"state": "asleep"}), 422, "validation_failed"
        )
        everyone = server.get(JOBS, token=operator).json()
        assert theirs in [job["id"] for job in everyone["items"]]

        shown = server.get(f"{JOBS}/{queued[0]}", token=reader).json()
        assert shown["kind"] == "contacts.import" and shown["state"] == "queued"
        assert shown["progress"] == {"done": 0, "total": None, "phase": None}
        assert shown["arguments"] == {"file": "contacts.csv"}
        assert shown["created_at"].endswith("+00:00") and shown["error"] is None

        cancel = f"{JOBS}/{queued[0]}/cancel"
        assert_problem(server.post(cancel, token=reader), 403, "missing_scope")
        once = {"Idempotency-Key": "annule-1"}
        cancelled = server.post(cancel, token=key, headers=once)
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["state"] == "cancelled" and cancelled.json()["finished_at"]
        again = server.post(cancel, token=key, headers=once)
        assert again.json() == cancelled.json() and again.headers["idempotent-replayed"] == "true"
        over = assert_problem(server.post(cancel, token=key), 409, "job_finished")
        assert over["errors"][0]["field"] == "/job_id"
        asked = server.post(f"{JOBS}/{running}/cancel", token=key).json()
        assert asked["state"] == "running" and asked["cancel_requested_at"]
        french = server.post(cancel, token=key, headers={"Accept-Language": "fr-FR"})
        assert "terminée" in french.json()["detail"]


def test_another_advertisers_job_is_404_on_every_route(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    mine = two_advertisers(Cli(db_url))
    theirs = submitted(engine, "copie", "contacts.import")
    with ApiServer(db_url, tmp_path) as server:
        for response in (
            server.get(f"{JOBS}/{theirs}", token=mine),
            server.post(f"{JOBS}/{theirs}/cancel", token=mine),
            server.get(f"{JOBS}/{theirs + 1000}", token=mine),  # as for one that does not exist
        ):
            assert_problem(response, 404, "job_not_found")
        assert server.get(JOBS, token=mine).json() == {"items": [], "next": None}
    untouched = jobs.get(Context(engine=engine, actor="test"), theirs, advertiser_id=None)
    assert untouched.state == "queued" and untouched.cancel_requested_at is None
