"""`POST /api/v1/retention/runs` over real HTTP against `tambour serve` (issue 18 point 2): the
operator's key queues the retention run as a job, a dry run first (nothing changes), then the
run; its result gives the counts; an advertiser's key is refused, an unknown advertiser is 404."""

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from tambour.jobs.runner import Runner
from tambour.services.context import Context
from tambour.store.tables import contacts
from tests.integration.api_server import ApiServer, assert_problem, new_key
from tests.integration.api_tenants import two_advertisers
from tests.integration.cli import Cli
from tests.integration.test_contacts import write_csv

RUNS = "/api/v1/retention/runs"
LAPSED, KEPT = "+33612345601", "+33612345602"
CONSENT = {"consent": "oui", "consent_method": "web_form",
           "consent_source": "https://exemple.fr/inscription"}  # fmt: skip


def run_jobs(engine: Engine) -> None:
    """The queued jobs, run as a job runner runs them (without its daily upkeep)."""
    runner = Runner(Context(engine=engine, actor="test:runner", clock=lambda: datetime.now(UTC)))
    while runner.run_next() is not None:
        pass


def held(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(
            conn.execute(select(contacts.c.e164).where(contacts.c.e164.is_not(None))).scalars()
        )


def test_the_operator_runs_retention_as_a_job(db_url: str, engine: Engine, tmp_path: Path) -> None:
    cli = Cli(db_url)
    key = two_advertisers(cli)
    operator = new_key(db_url, "--operator")
    rows = [{"phone": LAPSED, **CONSENT, "consent_at": "2022-05-01"},  # lapsed in 2025
            {"phone": KEPT, **CONSENT, "consent_at": "2026-10-01"}]  # fmt: skip
    cli("contacts", "import", str(write_csv(tmp_path / "c.csv", rows)), "--advertiser",
        "maison-lumiere")  # fmt: skip
    with ApiServer(db_url, tmp_path) as server:
        assert_problem(server.post(RUNS, token=key, json={}), 403, "missing_scope")
        unknown = server.post(RUNS, token=operator, json={"advertiser": "personne"})
        assert_problem(unknown, 404, "advertiser_not_found")
        assert_problem(server.post(RUNS, token=operator, json={"now": 1}), 422,
                       "validation_failed")  # fmt: skip

        dry = server.post(RUNS, token=operator, json={"dry_run": True})
        assert dry.status_code == 202, dry.text
        assert dry.headers["location"] == f"/api/v1/jobs/{dry.json()['id']}"
        assert dry.json()["kind"] == "retention.run"
        run_jobs(engine)
        said = server.get(dry.headers["location"], token=operator).json()
        assert said["state"] == "succeeded", said
        assert said["result"]["dry_run"] is True
        assert said["result"]["counts"]["contacts_erased"] == 1
        assert said["progress"]["done"] == said["progress"]["total"] == 2
        assert held(engine) == {LAPSED, KEPT}  # nothing changed

        real = server.post(RUNS, token=operator, json={"advertiser": "maison-lumiere"})
        run_jobs(engine)
        result = server.get(real.headers["location"], token=operator).json()["result"]
        assert [(a["advertiser"], a["contacts_erased"]) for a in result["advertisers"]] == [
            ("maison-lumiere", 1)
        ]
        assert held(engine) == {KEPT}
        # The advertiser does not see the operator's job.
        assert_problem(server.get(real.headers["location"], token=key), 404, "job_not_found")
