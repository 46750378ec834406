"""`/api/v1/webhooks` over real HTTP against `tambour serve`: endpoints made, read, changed
and their secret rotated through the API; an event emitted, delivered by `tambour webhook
deliver` to a receiver on a free port and verified with the `standardwebhooks` package; the
delivery log paginated, a delivery with its attempts, a replay; refusals as problems; and
another advertiser's endpoints and deliveries 404 on every route."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from tambour.services import webhooks
from tambour.services.webhooks import Event
from tambour.store.engine import make_engine
from tambour.store.tables import advertisers
from tests.integration.api_server import ApiServer, assert_problem, new_key
from tests.integration.cli import Cli
from tests.integration.webhook_receiver import Receiver, serving

ENDPOINTS = "/api/v1/webhooks/endpoints"
DELIVERIES = "/api/v1/webhooks/deliveries"
NOW = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as state:
        yield state


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A configuration that lets endpoints be on 127.0.0.1 (the receiver) and retries fast."""
    path = tmp_path / "tambour.toml"
    path.write_text("[webhooks]\nallow_private_targets = true\nretry_after = [0.2]\ntimeout = 2\n")
    return path


def cli_with(db_url: str, config: Path) -> Cli:
    cli = Cli(db_url)
    cli.env["TAMBOUR_CONFIG"] = str(config)
    cli.advertiser("maison-lumiere")
    cli.advertiser("copie")
    return cli


def emit(db_url: str, slug: str, kind: str, data: dict[str, Any]) -> int:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            owner = conn.execute(
                select(advertisers.c.id).where(advertisers.c.slug == slug)
            ).scalar_one()
            return webhooks.emit(conn, [Event(owner, kind, data)], NOW)
    finally:
        engine.dispose()


def test_endpoints_are_made_read_changed_and_refused_as_problems(
    db_url: str, tmp_path: Path, config: Path
) -> None:
    cli_with(db_url, config)
    writer = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read,write")
    reader = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read")
    operator = new_key(db_url, "--operator")
    wanted = {"url": "https://hooks.example.com/tambour", "events": ["message.delivered"]}
    with ApiServer(db_url, tmp_path, env={"TAMBOUR_CONFIG": str(config)}) as server:
        once = {"Idempotency-Key": "endpoint-1"}
        made = server.post(ENDPOINTS, token=writer, headers=once, json=wanted)
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["secret"].startswith("whsec_") and body["state"] == "enabled"
        assert body["events"] == ["message.delivered"] and body["created_at"].endswith("+00:00")
        assert made.headers["location"] == f"{ENDPOINTS}/{body['id']}"
        again = server.post(ENDPOINTS, token=writer, headers=once, json=wanted)
        assert again.json() == body and again.headers["idempotent-replayed"] == "true"
        listed = server.get(ENDPOINTS, token=reader).json()
        assert [e["id"] for e in listed["items"]] == [body["id"]] and listed["next"] is None
        assert "secret" not in listed["items"][0]
        shown = server.get(f"{ENDPOINTS}/{body['id']}", token=reader).json()
        assert shown == {k: v for k, v in body.items() if k != "secret"}

        path = f"{ENDPOINTS}/{body['id']}"
        changed = server.request(
            "PATCH", path, token=writer, json={"events": [], "description": "CRM", "enabled": False}
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["events"] == [] and changed.json()["description"] == "CRM"
        assert changed.json()["state"] == "disabled"
        assert changed.json()["disabled_reason"] == "by_user"
        enabled = server.request("PATCH", path, token=writer, json={"enabled": True}).json()
        assert enabled["state"] == "enabled" and enabled["disabled_reason"] is None
        assert_problem(
            server.request("PATCH", path, token=writer, json={}), 422, "nothing_to_change"
        )

        unknown = server.post(ENDPOINTS, token=writer, json={**wanted, "events": ["sms.sent"]})
        assert_problem(unknown, 422, "unknown_event_type")  # the use case's own check
        assert unknown.json()["errors"][0]["field"] == "/events/0"
        insecure = server.post(ENDPOINTS, token=writer, json={"url": "ftp://example.com/x"})
        problem = assert_problem(insecure, 422, insecure.json()["code"])
        assert problem["errors"][0]["field"] == "/url"
        assert_problem(server.post(ENDPOINTS, token=reader, json=wanted), 403, "missing_scope")
        assert_problem(server.get(f"{ENDPOINTS}/999", token=reader), 404, "endpoint_not_found")
        french = server.get(f"{ENDPOINTS}/999", token=reader, headers={"Accept-Language": "fr"})
        assert "point de réception" in french.json()["detail"]

        # An operator key names the advertiser, or is told to.
        refused = assert_problem(server.get(ENDPOINTS, token=operator), 422, "advertiser_required")
        assert refused["errors"][0]["field"] == "advertiser"
        theirs = server.get(ENDPOINTS, token=operator, params={"advertiser": "maison-lumiere"})
        assert [e["id"] for e in theirs.json()["items"]] == [body["id"]]


def test_private_targets_are_refused_without_the_configuration(db_url: str, tmp_path: Path) -> None:
    Cli(db_url).advertiser()
    writer = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "write")
    with ApiServer(db_url, tmp_path) as server:
        refused = server.post(ENDPOINTS, token=writer, json={"url": "http://127.0.0.1:9/hooks"})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "/url"


def test_an_endpoint_made_through_the_api_receives_events_signed_and_verifiable(
    db_url: str, tmp_path: Path, config: Path, receiver: Receiver
) -> None:
    cli = cli_with(db_url, config)
    key = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read,write")
    with ApiServer(db_url, tmp_path, env={"TAMBOUR_CONFIG": str(config)}) as server:
        made = server.post(ENDPOINTS, token=key, json={"url": receiver.url})
        assert made.status_code == 201, made.text
        endpoint = made.json()
        for number in range(3):
            assert emit(db_url, "maison-lumiere", "message.delivered", {"message_id": number}) == 1
        assert cli("webhook", "deliver", "--until-idle", "--json").json()["delivered"] == 3
        assert len(receiver.received) == 3
        for got in receiver.received:
            payload = Webhook(endpoint["secret"]).verify(got.body, got.headers)
            assert payload["type"] == "message.delivered"

        # The delivery log, a page at a time, newest first.
        deliveries = f"{ENDPOINTS}/{endpoint['id']}/deliveries"
        first = server.get(deliveries, token=key, params={"limit": 2})
        assert first.status_code == 200, first.text
        assert first.headers["link"] == f'<{first.json()["next"]}>; rel="next"'
        second = server.get(first.json()["next"], token=key).json()
        assert second["next"] is None
        listed = [d["id"] for d in first.json()["items"] + second["items"]]
        assert listed == sorted(listed, reverse=True) and len(listed) == 3
        assert all(d["state"] == "delivered" for d in second["items"])
        pending = server.get(deliveries, token=key, params={"state": "pending"}).json()
        assert pending["items"] == []
        bad_cursor = server.get(
            deliveries, token=key, params={"cursor": "eyJ2IjoxLCJhZnRlciI6IngifQ"}
        )
        assert_problem(bad_cursor, 422, "invalid_cursor")  # {"v":1,"after":"x"}: not an id

        oldest = listed[-1]
        shown = server.get(f"{DELIVERIES}/{oldest}", token=key).json()
        assert shown["state"] == "delivered" and shown["attempts"] == 1
        (attempt,) = shown["attempt_log"]
        assert attempt["status"] == 200 and attempt["attempted_at"].endswith("+00:00")

        # A replay: a new delivery of the same event, the same webhook-id.
        replay = f"{DELIVERIES}/{oldest}/replay"
        replayed = server.post(replay, token=key, headers={"Idempotency-Key": "replay-1"})
        assert replayed.status_code == 201, replayed.text
        assert replayed.json()["state"] == "pending" and replayed.json()["id"] > listed[0]
        assert replayed.headers["location"] == f"{DELIVERIES}/{replayed.json()['id']}"
        twice = server.post(replay, token=key, headers={"Idempotency-Key": "replay-1"})
        assert twice.json() == replayed.json()  # replayed by its key: one new delivery only
        assert cli("webhook", "deliver", "--until-idle", "--json").json()["delivered"] == 1
        # The event's own webhook-id (the first three came at once, in any order).
        again = receiver.received[-1].headers["webhook-id"]
        assert again == f"evt_{shown['event_id']}"
        assert again in {got.headers["webhook-id"] for got in receiver.received[:3]}

        # A rotated secret: the new one and, during the overlap, the old one both verify.
        rotated = server.post(f"{ENDPOINTS}/{endpoint['id']}/rotate-secret", token=key)
        assert rotated.status_code == 201, rotated.text
        assert rotated.json()["secret"] != endpoint["secret"]
        assert rotated.json()["secret_version"] == 2 and rotated.json()["old_secret_until"]
        emit(db_url, "maison-lumiere", "reply.received", {"reply_id": 1})
        cli("webhook", "deliver", "--until-idle")
        got = receiver.received[-1]
        assert Webhook(rotated.json()["secret"]).verify(got.body, got.headers)["type"] == (
            "reply.received"
        )
        assert Webhook(endpoint["secret"]).verify(got.body, got.headers)
        at_once = server.post(
            f"{ENDPOINTS}/{endpoint['id']}/rotate-secret", token=key, json={"overlap_hours": 0}
        )
        assert at_once.json()["old_secret_until"] is None
        too_long = server.post(
            f"{ENDPOINTS}/{endpoint['id']}/rotate-secret", token=key, json={"overlap_hours": 200}
        )
        assert_problem(too_long, 422, "validation_failed")


def test_another_advertisers_endpoints_and_deliveries_are_404_on_every_route(
    db_url: str, tmp_path: Path, config: Path, receiver: Receiver
) -> None:
    cli = cli_with(db_url, config)
    mine = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read,write")
    theirs = new_key(db_url, "--advertiser", "copie", "--scopes", "read,write")
    with ApiServer(db_url, tmp_path, env={"TAMBOUR_CONFIG": str(config)}) as server:
        endpoint = server.post(ENDPOINTS, token=theirs, json={"url": receiver.url}).json()
        emit(db_url, "copie", "message.failed", {"message_id": 1})
        cli("webhook", "deliver", "--until-idle")
        (delivery,) = server.get(f"{ENDPOINTS}/{endpoint['id']}/deliveries", token=theirs).json()[
            "items"
        ]
        at = f"{ENDPOINTS}/{endpoint['id']}"
        refused = [
            (server.get(at, token=mine), "endpoint_not_found"),
            (
                server.request("PATCH", at, token=mine, json={"enabled": False}),
                "endpoint_not_found",
            ),
            (server.post(f"{at}/rotate-secret", token=mine), "endpoint_not_found"),
            (server.get(f"{at}/deliveries", token=mine), "endpoint_not_found"),
            (server.get(f"{DELIVERIES}/{delivery['id']}", token=mine), "delivery_not_found"),
            (
                server.post(f"{DELIVERIES}/{delivery['id']}/replay", token=mine),
                "delivery_not_found",
            ),
            (
                server.get(ENDPOINTS, token=mine, params={"advertiser": "copie"}),
                "advertiser_not_found",
            ),
            (
                server.post(
                    ENDPOINTS,
                    token=mine,
                    params={"advertiser": "copie"},
                    json={"url": receiver.url},
                ),
                "advertiser_not_found",
            ),
        ]
        for response, code in refused:
            assert_problem(response, 404, code)
        assert server.get(ENDPOINTS, token=mine).json()["items"] == []
        # Nothing changed for its owner.
        still = server.get(at, token=theirs).json()
        assert still["state"] == "enabled" and still["secret_version"] == 1
        log = server.get(f"{ENDPOINTS}/{endpoint['id']}/deliveries", token=theirs).json()
        assert [d["id"] for d in log["items"]] == [delivery["id"]]
