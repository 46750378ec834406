"""`/api/v1/campaigns` over real HTTP against `tambour serve`, on SQLite and PostgreSQL: a
campaign's whole life through the API (defined, refused as problems, edited, planned as a job
run by `tambour jobs run`, its report and its rows a page at a time, launched, followed,
exported as a job, cancelled), replayed by its Idempotency-Key; the webhook events
`campaign.launched` and `message.cancelled` received and verified with `standardwebhooks`;
another advertiser's campaign 404 on every route; no number nor message in the server's log."""

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from standardwebhooks import Webhook

from tambour.services import campaigns, webhooks
from tambour.services.context import Context
from tambour.store.tables import outbox, webhook_events
from tests.integration.api_server import ApiServer, assert_problem, new_key
from tests.integration.api_tenants import two_advertisers
from tests.integration.cli import Cli
from tests.integration.test_campaigns import NOW, TEXT
from tests.integration.test_contacts import sample_file
from tests.integration.webhook_receiver import Received, Receiver, serving

CAMPAIGNS = "/api/v1/campaigns"
LATER = "2027-03-20T09:05:00+01:00"  # NOW, five minutes later
START = "2027-03-26T10:00:00+01:00"  # Good Friday: a holiday in Alsace-Moselle, Guadeloupe
DEFINITION = {
    "name": "Printemps",
    "nature": "commercial",
    "sender": "MLUMIERE",
    "text": TEXT,
    "categories": ["luminaires"],
    "start": START,
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as state:
        yield state


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """Endpoints may be on 127.0.0.1 (the receiver); retries are fast."""
    path = tmp_path / "tambour.toml"
    path.write_text("[webhooks]\nallow_private_targets = true\nretry_after = [0.2]\ntimeout = 2\n")
    return path


@pytest.fixture
def cli(db_url: str, tmp_path: Path, config: Path) -> Cli:
    """maison-lumiere with the sample contacts, copie beside it; the clock of test_campaigns."""
    runner = Cli(db_url)
    runner.env.update({"TAMBOUR_NOW": NOW, "TAMBOUR_CONFIG": str(config)})
    return runner


def serve(db_url: str, tmp_path: Path, config: Path) -> ApiServer:
    env = {
        "TAMBOUR_NOW": NOW,
        "TAMBOUR_CONFIG": str(config),
        "TAMBOUR_FILES_DIR": str(tmp_path / "files"),
    }
    return ApiServer(db_url, tmp_path, env=env)


def all_pages(server: ApiServer, url: str, token: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paginated list, following its `next` links (and checking the Link)."""
    items: list[dict[str, Any]] = []
    response = server.get(url, token=token, params=params)
    while True:
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if page["next"] is None:
            assert "link" not in response.headers
            return items
        assert response.headers["link"] == f'<{page["next"]}>; rel="next"'
        response = server.get(page["next"], token=token)


def later(cli: Cli, *args: str) -> Any:
    """`tambour ARGS --json` in a process of its own, its clock a few minutes after the
    server's: the server's clock (TAMBOUR_NOW when it started, running since) dates the jobs
    and the webhook deliveries it queues."""
    env = {**os.environ, **cli.env, "TAMBOUR_NOW": LATER}
    done = subprocess.run(
        [sys.executable, "-m", "tambour", *args, "--json"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def run_jobs(cli: Cli) -> dict[str, Any]:
    report: dict[str, Any] = later(cli, "jobs", "run", "--until-idle", "--log-level", "warning")
    return report


def signed(secret: str, got: Received) -> dict[str, Any]:
    """The event `got`, once its signature is checked by `standardwebhooks` (its own signing
    of the same id, timestamp and body: the deliverer's clock is TAMBOUR_NOW's, a year from
    the real one, which `Webhook.verify` would refuse as too new)."""
    headers = got.headers
    at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    assert at.year == 2027  # the deliverer's clock: TAMBOUR_NOW's
    expected = Webhook(secret).sign(headers["webhook-id"], at, got.body)
    assert expected in headers["webhook-signature"].split(" ")
    event: dict[str, Any] = json.loads(got.body)
    return event


def test_a_campaign_lives_its_whole_life_through_the_api(
    cli: Cli, db_url: str, tmp_path: Path, config: Path, receiver: Receiver
) -> None:
    writer = two_advertisers(cli)
    cli("contacts", "import", str(sample_file(tmp_path)), "--advertiser", "maison-lumiere")
    sender = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read,write,send")
    reader = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read")
    with serve(db_url, tmp_path, config) as server:
        hooks = server.post(
            "/api/v1/webhooks/endpoints",
            token=writer,
            json={"url": receiver.url, "events": ["campaign.launched", "message.cancelled"]},
        )
        assert hooks.status_code == 201, hooks.text
        secret = hooks.json()["secret"]

        # Defined, once whatever the retries; refused as problems naming the member.
        once = {"Idempotency-Key": "printemps-1"}
        made = server.post(CAMPAIGNS, token=writer, headers=once, json=DEFINITION)
        assert made.status_code == 201, made.text
        campaign = made.json()
        assert campaign["status"] == "draft" and campaign["blocks"] == []
        assert campaign["advertiser"] == "maison-lumiere" and campaign["plan"] is None
        assert campaign["start"] == "2027-03-26T09:00:00+00:00"
        assert campaign["messages"]["queued"] == 0
        one = f"{CAMPAIGNS}/{campaign['id']}"
        assert made.headers["location"] == one
        again = server.post(CAMPAIGNS, token=writer, headers=once, json=DEFINITION)
        assert again.json() == campaign and again.headers["idempotent-replayed"] == "true"
        other = {**DEFINITION, "name": "Autre"}
        assert_problem(
            server.post(CAMPAIGNS, token=writer, headers=once, json=other),
            422,
            "idempotency_key_reused",
        )
        taken = assert_problem(server.post(CAMPAIGNS, token=writer, json=DEFINITION), 409,
                               "campaign_exists")  # fmt: skip
        assert taken["errors"][0]["field"] == "/name"
        for wrong, field, code in (
            ({"sender": "INCONNU"}, "/sender", "unknown_sender"),
            ({"nature": "spam"}, "/nature", "enum"),
            ({"start": "2027-03-26T10:00:00"}, "/start", "timezone_aware"),
            ({"text": "Soldes\x07 !"}, "/text", "string_pattern_mismatch"),
            ({"tags": "a;b"}, "/tags", "list_type"),
            ({"colour": "red"}, "/colour", "extra_forbidden"),
            ({"nature": "transactional"}, "/transaction_field", "transaction_required"),
        ):
            refused = server.post(
                CAMPAIGNS, token=writer, json={**DEFINITION, "name": "Refusée", **wrong}
            )
            problem = assert_problem(refused, 422, refused.json()["code"])
            assert [(e["field"], e["code"]) for e in problem["errors"]] == [(field, code)], problem
        french = server.post(CAMPAIGNS, token=writer, headers={"Accept-Language": "fr"},
                             json={**DEFINITION, "name": "X", "sender": "INCONNU"})  # fmt: skip
        assert "émetteur" in french.json()["errors"][0]["detail"]
        assert_problem(server.post(CAMPAIGNS, token=reader, json=DEFINITION), 403, "missing_scope")

        # Read and listed; edited while it is a draft.
        shown = server.get(one, token=reader).json()
        assert shown["name"] == "Printemps" and shown["reasons"] == {} and shown["carriers"] == {}
        draft = server.post(CAMPAIGNS, token=writer, json={**DEFINITION, "name": "Brouillon"})
        listed = all_pages(server, CAMPAIGNS, reader, limit=1)
        assert [c["id"] for c in listed] == [draft.json()["id"], campaign["id"]]
        assert all_pages(server, CAMPAIGNS, reader, status="planned") == []
        new_text = TEXT.replace("-20%", "-30%")
        edited = server.request("PATCH", one, token=writer, json={"text": new_text})
        assert edited.status_code == 200, edited.text
        assert edited.json()["changed"] == ["text"] and edited.json()["text"] == new_text
        assert edited.json()["plan_dropped"] is False
        cleared = server.request("PATCH", one, token=writer, json={"text": None, "tags": None})
        problem = assert_problem(cleared, 422, "validation_failed")
        assert [e["field"] for e in problem["errors"]] == ["/tags", "/text"]
        assert_problem(server.request("PATCH", one, token=writer, json={}), 422,
                       "nothing_to_change")  # fmt: skip
        assert_problem(server.request("PATCH", one, token=writer, json={"text": new_text}), 422,
                       "nothing_changed")  # fmt: skip
        deleted = server.request("DELETE", f"{CAMPAIGNS}/{draft.json()['id']}", token=writer)
        assert deleted.status_code == 200, deleted.text
        assert deleted.json() == {"id": draft.json()["id"], "name": "Brouillon", "was": "draft",
                                  "plan_rows": 0}  # fmt: skip
        assert_problem(server.get(f"{CAMPAIGNS}/{draft.json()['id']}", token=reader), 404,
                       "campaign_not_found")  # fmt: skip

        # Planned as a job; its report and its rows.
        assert_problem(server.get(f"{one}/report", token=reader), 409, "plan_missing")
        assert_problem(server.post(f"{one}/launch", token=sender), 409, "plan_missing")
        queued = server.post(f"{one}/plan", token=writer, headers={"Idempotency-Key": "plan-1"})
        assert queued.status_code == 202, queued.text
        job = queued.json()
        assert job["kind"] == "campaign.plan" and job["state"] == "queued"
        assert queued.headers["location"] == f"/api/v1/jobs/{job['id']}"
        replayed = server.post(f"{one}/plan", token=writer, headers={"Idempotency-Key": "plan-1"})
        assert replayed.json()["id"] == job["id"]  # one job for one key
        assert run_jobs(cli)["succeeded"] == 1
        done = server.get(f"/api/v1/jobs/{job['id']}", token=reader).json()
        assert done["state"] == "succeeded", done
        summary = done["result"]["summary"]

        report = server.get(f"{one}/report", token=reader)
        assert report.status_code == 200, report.text
        plan = report.json()
        assert (plan["targeted"], plan["send"], plan["exclude"]) == (
            summary["targeted"], summary["send"], summary["exclude"]
        )  # fmt: skip
        assert plan["send"] > 0 and plan["exclude"] > 0 and plan["blocks"] == []
        reasons = {r["code"]: r for r in plan["by_reason"]}
        assert sum(r["count"] for r in plan["by_reason"]) == plan["exclude"]
        assert reasons["opted_out"]["label"] == "Opposition enregistrée (STOP, lien, demande)"
        assert plan["send_days"][0] == "2027-03-26" and plan["samples"]
        assert all(s["decision"] == "send" and s["text"] for s in plan["samples"])

        rows = all_pages(server, f"{one}/rows", reader, limit=7)
        assert len(rows) == plan["targeted"]
        # The server's job runner runs the retention run when it first idles: the contacts
        # whose data lapsed (excluded for it) may be erased by now, their rows without number.
        phones = [r["phone"] for r in rows if r["phone"]]
        assert len(set(phones)) == len(phones)
        assert all(r["reason"] == "retention_expired" for r in rows if not r["phone"])
        excluded = all_pages(server, f"{one}/rows", reader, decision="exclude", limit=3)
        assert len(excluded) == plan["exclude"]
        assert all(r["reason"] and r["label"] and not r["basis"] for r in excluded)
        sent = [r for r in rows if r["decision"] == "send"]
        assert all("-30%" in r["text"] and r["send_at"] and r["label"] for r in sent)
        status = server.get(one, token=reader).json()
        assert status["status"] == "planned" and status["plan"]["send"] == plan["send"]
        assert [c["id"] for c in all_pages(server, CAMPAIGNS, reader, status="planned")] == [
            campaign["id"]
        ]

        # Launched (scope send), followed, frozen.
        assert_problem(server.post(f"{one}/launch", token=writer), 403, "missing_scope")
        launched = server.post(f"{one}/launch", token=sender, headers={"Idempotency-Key": "go"})
        assert launched.status_code == 200, launched.text
        assert launched.json()["queued"] == plan["send"] and launched.json()["campaign"] == (
            "Printemps"
        )
        twice = server.post(f"{one}/launch", token=sender, headers={"Idempotency-Key": "go"})
        assert twice.json() == launched.json()  # the first answer, not a second launch
        assert_problem(server.post(f"{one}/launch", token=sender), 409, "campaign_launched")
        status = server.get(one, token=reader).json()
        assert status["status"] == "launched" and status["messages"]["queued"] == plan["send"]
        assert_problem(server.request("PATCH", one, token=writer, json={"text": TEXT}), 409,
                       "campaign_launched")  # fmt: skip
        assert_problem(server.request("DELETE", one, token=writer), 409, "campaign_launched")
        assert_problem(server.post(f"{one}/plan", token=writer), 409, "campaign_frozen")

        # Exported as a job, into the files folder under a fresh name.
        export = server.post(f"{one}/exports", token=writer, json={"form": "json"})
        assert export.status_code == 202, export.text
        assert_problem(server.post(f"{one}/exports", token=writer, json={"form": "pdf"}), 422,
                       "validation_failed")  # fmt: skip
        assert run_jobs(cli)["succeeded"] == 1
        exported = server.get(f"/api/v1/jobs/{export.json()['id']}", token=reader).json()
        assert exported["state"] == "succeeded", exported
        file = exported["result"]["file"]
        assert re.fullmatch(rf"exports/\d+/campaign-{campaign['id']}-[-\w]+\.jsonl", file), file
        written = tmp_path / "files" / file
        assert written.stat().st_mode & 0o777 == 0o600
        lines = [json.loads(line) for line in written.read_text().splitlines()]
        assert len(lines) == exported["result"]["rows"] == plan["targeted"]
        download = server.get(f"/api/v1/jobs/{export.json()['id']}/file", token=reader)
        if download.status_code != 404 or download.json().get("code") != "not_found":
            # The download route (routes/jobs.py) is there: it serves this very file.
            assert download.status_code == 200, download.text
            assert download.content == written.read_bytes()

        # Cancelled: every queued message withdrawn, each told to the endpoint.
        cancelled = server.post(f"{one}/cancel", token=writer)
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json() == {"campaign_id": campaign["id"], "campaign": "Printemps",
                                    "was": "launched", "withdrawn": plan["send"],
                                    "already_sent": 0}  # fmt: skip
        assert_problem(server.post(f"{one}/cancel", token=writer), 409, "campaign_cancelled")
        status = server.get(one, token=reader).json()
        assert status["status"] == "cancelled" and status["messages"]["cancelled"] == plan["send"]
        log = "\n".join(json.dumps(line) for line in server.log_lines())

    delivered = later(cli, "webhook", "deliver", "--until-idle")
    assert delivered["delivered"] == 1 + plan["send"]
    events = [signed(secret, got) for got in receiver.received]
    assert [e["type"] for e in events].count("campaign.launched") == 1
    (launch_event,) = [e["data"] for e in events if e["type"] == "campaign.launched"]
    assert launch_event["campaign_id"] == campaign["id"]
    assert launch_event["queued"] == plan["send"] and launch_event["campaign"] == "Printemps"
    told = [e["data"] for e in events if e["type"] == "message.cancelled"]
    assert sorted(e["to"] for e in told) == sorted(r["phone"] for r in sent)
    assert all(
        e["state"] == "cancelled" and e["campaign_id"] == campaign["id"] and e["message_id"]
        for e in told
    )
    assert len({e["message_id"] for e in told}) == len(told)
    for row in (r for r in rows if r["phone"]):  # no number nor message in the server's log
        assert row["phone"] not in log and row["phone"][3:] not in log
    assert "sur nos luminaires" not in log


def test_another_advertisers_campaign_is_404_on_every_route(
    cli: Cli, db_url: str, tmp_path: Path, config: Path
) -> None:
    mine = two_advertisers(cli)
    theirs_made = cli.blocked_or_not(
        "campaign", "create", "--advertiser", "copie", "--name", "Copie", "--nature",
        "commercial", "--sender", "COPIE", "--text", "Copie : -10% STOP 36222", "--json",
    )  # fmt: skip
    theirs = theirs_made["campaign"]
    operator = new_key(db_url, "--operator")
    all_scopes = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read,write,send")
    with serve(db_url, tmp_path, config) as server:
        listed = server.get(CAMPAIGNS, token=operator, params={"advertiser": "copie"}).json()
        (found,) = listed["items"]
        one = f"{CAMPAIGNS}/{found['id']}"
        assert server.get(one, token=operator, params={"advertiser": "copie"}).status_code == 200
        assert found["name"] == theirs["name"]
        # Every route, with a key of every scope (one lacking a route's scope is 403 there,
        # whatever the id).
        token = all_scopes
        for response in (
            server.get(one, token=token),
            server.request("PATCH", one, token=token, json={"text": "Autre STOP 36111"}),
            server.request("DELETE", one, token=token),
            server.post(f"{one}/plan", token=token),
            server.get(f"{one}/report", token=token),
            server.get(f"{one}/rows", token=token),
            server.post(f"{one}/launch", token=token),
            server.post(f"{one}/cancel", token=token),
            server.post(f"{one}/exports", token=token, json={"form": "csv"}),
            server.get(f"{CAMPAIGNS}/{found['id'] + 1000}", token=token),  # none such
        ):
            assert_problem(response, 404, "campaign_not_found")
        for token in (mine, all_scopes):
            assert_problem(server.get(one, token=token), 404, "campaign_not_found")
            assert server.get(CAMPAIGNS, token=token).json() == {"items": [], "next": None}
            assert_problem(server.get(one, token=token, params={"advertiser": "copie"}), 404,
                           "advertiser_not_found")  # fmt: skip
        assert not (tmp_path / "files").exists()  # no export file named for a refused one
        unchanged = server.get(one, token=operator, params={"advertiser": "copie"}).json()
        assert unchanged["status"] == "draft" and unchanged["text"] == theirs["text"]
        assert_problem(server.get(CAMPAIGNS, token=operator), 422, "advertiser_required")


def test_the_command_line_s_launch_and_a_cancel_by_chunks_emit_the_same_events(
    cli: Cli, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The events are the use cases': `tambour campaign launch` emits `campaign.launched`;
    a cancel withdrawing more messages than a chunk tells each one once, and only those."""
    two_advertisers(cli)
    cli("contacts", "import", str(sample_file(tmp_path)), "--advertiser", "maison-lumiere")
    ctx = Context(engine=engine, actor="test:campaigns", clock=lambda: datetime.fromisoformat(NOW))
    webhooks.create_endpoint(
        ctx, advertiser="maison-lumiere", url="http://127.0.0.1:9/hooks",
        events=["campaign.launched", "message.cancelled"], allow_private=True,
    )  # fmt: skip
    cli.blocked_or_not(
        "campaign", "create", "--advertiser", "maison-lumiere", "--name", "Printemps",
        "--nature", "commercial", "--sender", "MLUMIERE", "--categories", "luminaires",
        "--text", TEXT, "--start", START, "--json",
    )  # fmt: skip
    cli.blocked_or_not("campaign", "plan", "Printemps", "--json")
    launched = cli("campaign", "launch", "Printemps", "--json").json()
    with engine.begin() as conn:  # one message a worker took meanwhile: not withdrawn
        taken = conn.execute(
            select(outbox.c.id).where(outbox.c.state == "queued").order_by(outbox.c.id).limit(1)
        ).scalar_one()
        conn.execute(update(outbox).where(outbox.c.id == taken).values(state="submitting"))
    monkeypatch.setattr(campaigns, "_WITHDRAW_CHUNK", 5)
    done = campaigns.cancel(ctx, name="Printemps", slug="maison-lumiere")
    assert done.withdrawn == launched["queued"] - 1 > 5
    with engine.connect() as conn:
        found = [
            (kind, json.loads(body))
            for kind, body in conn.execute(
                select(webhook_events.c.type, webhook_events.c.body).order_by(webhook_events.c.id)
            )
        ]
        cancelled = set(
            conn.execute(select(outbox.c.id).where(outbox.c.state == "cancelled")).scalars()
        )
    assert found[0][0] == "campaign.launched"
    assert found[0][1]["data"]["queued"] == launched["queued"]
    told = [event["data"]["message_id"] for kind, event in found[1:]]
    assert {kind for kind, _ in found[1:]} == {"message.cancelled"}
    assert len(told) == len(set(told)) == done.withdrawn and set(told) == cancelled
    assert taken not in cancelled
