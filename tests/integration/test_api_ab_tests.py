"""A/B tests over real HTTP against `tambour serve`, on SQLite and PostgreSQL (issue 17,
point 4): a campaign defined with its variants, refusals pointing into `ab_test`, the test
changed and removed by PATCH, launched with the rest held, its figures, the winner named early
by a key allowed to send, refused to a reader, 404 to another advertiser."""

from pathlib import Path
from typing import Any

import pytest

from tests.dispatch_setup import mobile, write_contacts
from tests.integration.api_server import ApiServer, assert_problem, new_key
from tests.integration.api_tenants import two_advertisers
from tests.integration.cli import Cli

NOW = "2026-11-30T09:00:00+01:00"  # a Monday morning in Paris
CAMPAIGNS = "/api/v1/campaigns"
A = "Maison Lumière : -20% sur les luminaires, {first_name|}"
B = "Maison Lumière : -30% sur les lampes cette semaine, {first_name|}"
C = "Maison Lumière : une lampe offerte pour deux achetées"
DEFINITION: dict[str, Any] = {
    "name": "Soldes",
    "nature": "commercial",
    "sender": "MLUMIERE",
    "text": A,
    "start": "2026-11-30T10:00:00+01:00",
    "ab_test": {"variants": [B], "test_share": 50, "winner_by": "optouts", "test_minutes": 60},
}


@pytest.fixture
def cli(db_url: str, tmp_path: Path) -> Cli:
    runner = Cli(db_url)
    runner.env["TAMBOUR_NOW"] = NOW
    return runner


def test_an_ab_test_through_the_api(cli: Cli, db_url: str, tmp_path: Path) -> None:
    writer = two_advertisers(cli)
    path = write_contacts(tmp_path / "contacts.csv", [mobile(i) for i in range(100)])
    cli("contacts", "import", str(path), "--advertiser", "maison-lumiere")
    sender = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read,write,send")
    reader = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read")
    other = new_key(db_url, "--advertiser", "copie", "--scopes", "read,write,send")
    with ApiServer(db_url, tmp_path, env={"TAMBOUR_NOW": NOW}) as server:
        # Refusals point into the body's ab_test.
        bad = {**DEFINITION, "ab_test": {"variants": [B + " {link:https://a.fr/x}"],
                                          "test_share": 0}}  # fmt: skip
        body = assert_problem(server.post(CAMPAIGNS, token=writer, json=bad), 422, "invalid_input")
        fields = {error["field"]: error["code"] for error in body["errors"]}
        assert fields == {
            "/ab_test/variants/0": "variant_links_differ",
            "/ab_test/test_share": "test_share_range",
        }
        too_many = {**DEFINITION, "ab_test": {"variants": [B, C, B + "!", C + "!"]}}
        assert_problem(
            server.post(CAMPAIGNS, token=writer, json=too_many), 422, "validation_failed"
        )

        made = server.post(CAMPAIGNS, token=writer, json=DEFINITION)
        assert made.status_code == 201, made.text
        campaign = made.json()
        test = campaign["ab_test"]
        assert test["variants"] == [B] and test["test_share"] == 50
        assert test["winner_by"] == "optouts" and test["test_minutes"] == 60
        assert test["winner"] is None and test["test_ends_at"] is None
        url = f"{CAMPAIGNS}/{campaign['id']}"
        # A change of the variants keeps the settings not given.
        changed = server.request("PATCH", url, token=writer, json={"ab_test": {"variants": [B, C]}})
        assert changed.status_code == 200, changed.text
        assert changed.json()["ab_test"]["variants"] == [B, C]
        assert changed.json()["ab_test"]["test_share"] == 50
        # Removed, then given again.
        removed = server.request("PATCH", url, token=writer, json={"ab_test": None})
        assert removed.status_code == 200 and removed.json()["ab_test"] is None
        again = server.request("PATCH", url, token=writer, json={"ab_test": DEFINITION["ab_test"]})
        assert again.json()["ab_test"]["variants"] == [B]

        cli.blocked_or_not("campaign", "plan", "Soldes", "--json")
        planned = server.get(f"{url}/report", token=reader).json()["ab_test"]
        assert planned["variants"] == 2 and planned["test_share"] == 50
        assert sum(planned["test"].values()) + planned["rest"] == 100
        rows: list[dict[str, Any]] = []
        page = server.get(f"{url}/rows", token=reader, params={"limit": 100}).json()
        while True:
            rows += page["items"]
            if page["next"] is None:
                break
            page = server.get(page["next"], token=reader).json()
        assert len(rows) == 100
        assert {row["variant"] for row in rows} == {"A", "B", "rest"}
        assert all(row["text"] is None for row in rows if row["variant"] == "rest")
        launched = server.post(f"{url}/launch", token=sender)
        assert launched.status_code == 200, launched.text
        held = launched.json()["held"]
        assert held == sum(1 for row in rows if row["variant"] == "rest") > 0

        report = server.get(f"{url}/ab-test", token=reader)
        assert report.status_code == 200, report.text
        found = report.json()
        assert [v["label"] for v in found["variants"]] == ["A", "B"]
        assert sum(v["messages"] for v in found["variants"]) == launched.json()["queued"]
        assert found["rest"] == found["rest_held"] == held and found["winner"] is None
        assert found["leading"] is None  # nothing sent yet

        winner = f"{url}/ab-test/winner"
        assert_problem(server.post(winner, token=sender, json={}), 409, "test_running")
        assert_problem(server.post(winner, token=reader, json={"variant": "B"}), 403,
                       "missing_scope")  # fmt: skip
        assert_problem(server.get(f"{url}/ab-test", token=other), 404, "campaign_not_found")
        assert_problem(server.post(winner, token=other, json={"variant": "B"}), 404,
                       "campaign_not_found")  # fmt: skip
        assert_problem(server.post(winner, token=sender, json={"variant": "C"}), 422,
                       "unknown_variant")  # fmt: skip
        chosen = server.post(winner, token=sender, json={"variant": "B"})
        assert chosen.status_code == 202, chosen.text
        said = chosen.json()
        assert said["winner"] == "B" and said["by"] == "hand" and said["released"] == 0
        assert chosen.headers["Location"] == f"/api/v1/jobs/{said['job']}"
        waiting = server.get(f"{url}/ab-test", token=reader).json()
        assert waiting["winner"] == "B" and waiting["rest_held"] == held  # the job's work
        # A runner (a worker's, or `tambour jobs run`), its clock a few minutes after the
        # server's, which dated the job.
        cli.env["TAMBOUR_NOW"] = "2026-11-30T09:05:00+01:00"
        cli("jobs", "run", "--until-idle")
        job = server.get(chosen.headers["Location"], token=reader).json()
        assert job["state"] == "succeeded", job
        assert job["result"]["released"] == held and job["result"]["cancelled"] == 0
        after = server.get(f"{url}/ab-test", token=reader).json()
        assert after["winner"] == "B" and after["rest_held"] == 0
        assert after["rest_released_at"] is not None
        assert server.get(url, token=reader).json()["ab_test"]["winner"] == "B"
        assert_problem(server.post(winner, token=sender, json={"variant": "A"}), 409,
                       "winner_chosen")  # fmt: skip
        plain = {**DEFINITION, "name": "Simple"}
        plain.pop("ab_test")
        simple = server.post(CAMPAIGNS, token=writer, json=plain).json()
        assert simple["ab_test"] is None
        assert_problem(
            server.get(f"{CAMPAIGNS}/{simple['id']}/ab-test", token=reader), 404, "no_ab_test"
        )
