"""Webhooks end to end: endpoints made through the CLI, events emitted, `tambour webhook deliver`
POSTing them over real HTTP to a receiver on a free port, which checks each signature with the
`standardwebhooks` package (an implementation independent of ours)."""

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, select
from standardwebhooks import Webhook, WebhookVerificationError

from tambour.jobs.kinds import contacts_import as import_kind
from tambour.jobs.runner import Runner
from tambour.keys import KEY_ENV, KEY_FILE_ENV
from tambour.rules.replies import classify_reply
from tambour.services import jobs, webhook_queue, webhooks
from tambour.services.context import Context, InvalidInput
from tambour.services.replies import record_replies
from tambour.services.webhooks import Event
from tambour.store.engine import make_engine
from tambour.store.tables import advertisers, webhook_deliveries, webhook_endpoints
from tambour.traffic import Reply
from tambour.webhooks import signing
from tambour.webhooks.delivery import Deliverer, DeliverySettings
from tests.dispatch_setup import context, launched_campaign, mobile, record_only_config
from tests.integration.api_server import ApiServer
from tests.integration.cli import Cli
from tests.integration.smpp_peers import running_smsc
from tests.integration.test_jobs import contact_file
from tests.integration.test_worker import TUESDAY_10, Clock, run, worker
from tests.integration.webhook_receiver import Receiver, serving

NOW = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as state:
        yield state


@pytest.fixture
def cli(db_url: str, tmp_path: Path) -> Cli:
    config = tmp_path / "tambour.toml"
    config.write_text(
        "[webhooks]\nallow_private_targets = true\nretry_after = [0.2, 0.2, 0.2]\ntimeout = 2\n"
    )
    runner = Cli(db_url)
    runner.env["TAMBOUR_CONFIG"] = str(config)
    runner("db", "upgrade")
    runner.advertiser("maison-lumiere")
    runner.advertiser("copie")
    return runner


def _advertiser_id(engine: Engine, slug: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(select(advertisers.c.id).where(advertisers.c.slug == slug)).scalar_one()
        )


def _emit(db_url: str, slug: str, *events: tuple[str, dict[str, Any]]) -> int:
    engine = make_engine(db_url)
    try:
        advertiser_id = _advertiser_id(engine, slug)
        with engine.begin() as conn:
            return webhooks.emit(
                conn, [Event(advertiser_id, kind, data) for kind, data in events], NOW
            )
    finally:
        engine.dispose()


def _create(cli: Cli, url: str, *extra: str, slug: str = "maison-lumiere") -> dict[str, Any]:
    made: dict[str, Any] = cli(
        "webhook", "create", "--advertiser", slug, "--url", url, "--json", *extra
    ).json()
    return made


def _deliver_until(cli: Cli, done: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "deliveries did not settle in time"
        cli("webhook", "deliver", "--until-idle")
        time.sleep(0.1)


def test_an_event_is_delivered_signed_and_verifies_with_standard_webhooks(
    cli: Cli, db_url: str, receiver: Receiver
) -> None:
    made = _create(cli, receiver.url, "--event", "message.delivered")
    assert made["secret"].startswith("whsec_") and made["events"] == ["message.delivered"]
    queued = _emit(
        db_url, "maison-lumiere",
        ("message.delivered", {"message_id": 7, "state": "delivered"}),
        ("reply.received", {"reply_id": 1}),  # not wanted by the endpoint: never queued
    )  # fmt: skip
    assert queued == 1
    report = cli("webhook", "deliver", "--until-idle", "--json").json()
    assert report["delivered"] == 1
    (got,) = receiver.received
    payload = Webhook(made["secret"]).verify(got.body, got.headers)
    assert payload["type"] == "message.delivered"
    assert payload["data"] == {"message_id": 7, "state": "delivered"}
    assert got.headers["webhook-id"].startswith("evt_")
    with pytest.raises(WebhookVerificationError):  # another secret does not verify it
        Webhook("whsec_" + "A" * 43 + "=").verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):  # nor does a body changed on the way
        Webhook(made["secret"]).verify(got.body.replace(b"7", b"8"), got.headers)


def test_a_receiver_failing_gets_the_event_again_until_it_takes_it(
    cli: Cli, db_url: str, receiver: Receiver
) -> None:
    made = _create(cli, receiver.url)
    receiver.answers = [500, 503]
    _emit(db_url, "maison-lumiere", ("contact.opted_out", {"number": "+33612345678"}))
    deliveries: list[dict[str, Any]] = []

    def delivered() -> bool:
        deliveries[:] = cli(
            "webhook", "deliveries", str(made["id"]), "--advertiser", "maison-lumiere", "--json"
        ).json()
        return deliveries[0]["state"] == "delivered"

    _deliver_until(cli, delivered)
    assert len(receiver.received) == 3
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert len(ids) == 1  # the same message each time: the receiver can tell a repeat
    for got in receiver.received:
        Webhook(made["secret"]).verify(got.body, got.headers)
    attempts = cli(
        "webhook", "attempts", str(deliveries[0]["id"]), "--advertiser", "maison-lumiere", "--json"
    ).json()
    assert [a["status"] for a in attempts] == [500, 503, 200]
    endpoint = cli(
        "webhook", "show", str(made["id"]), "--advertiser", "maison-lumiere", "--json"
    ).json()
    assert endpoint["state"] == "enabled" and endpoint["failing_since"] is None


def test_after_its_last_retry_a_delivery_fails_and_can_be_replayed(
    cli: Cli, db_url: str, receiver: Receiver
) -> None:
    made = _create(cli, receiver.url)
    receiver.answers = [500] * 4  # the first attempt and its three retries
    _emit(db_url, "maison-lumiere", ("campaign.launched", {"campaign": "soldes"}))
    state: list[dict[str, Any]] = []

    def settled() -> bool:
        state[:] = cli(
            "webhook", "deliveries", str(made["id"]), "--advertiser", "maison-lumiere", "--json"
        ).json()
        return state[0]["state"] != "pending"

    _deliver_until(cli, settled)
    assert state[0]["state"] == "failed" and state[0]["attempts"] == 4
    assert state[0]["last_status"] == 500
    replayed = cli(
        "webhook", "replay", str(state[0]["id"]), "--advertiser", "maison-lumiere", "--json"
    ).json()
    assert replayed["state"] == "pending" and replayed["id"] != state[0]["id"]
    cli("webhook", "deliver", "--until-idle")
    assert len(receiver.received) == 5
    assert receiver.received[-1].headers["webhook-id"] == receiver.received[0].headers["webhook-id"]


def test_an_endpoint_that_answers_410_is_disabled_and_its_pending_deliveries_dropped(
    cli: Cli, db_url: str, receiver: Receiver
) -> None:
    made = _create(cli, receiver.url)
    receiver.answers = [410]
    _emit(db_url, "maison-lumiere", ("reply.received", {"reply_id": 1}))
    cli("webhook", "deliver", "--until-idle")
    endpoint = cli(
        "webhook", "show", str(made["id"]), "--advertiser", "maison-lumiere", "--json"
    ).json()
    assert endpoint["state"] == "disabled" and endpoint["disabled_reason"] == "gone"
    assert _emit(db_url, "maison-lumiere", ("reply.received", {"reply_id": 2})) == 0
    (failed,) = cli(
        "webhook", "deliveries", str(made["id"]), "--advertiser", "maison-lumiere", "--json"
    ).json()
    refused = cli(
        "webhook", "replay", str(failed["id"]), "--advertiser", "maison-lumiere", ok=False
    )
    assert refused.code == 2 and "disabled" in refused.err
    cli("webhook", "update", str(made["id"]), "--advertiser", "maison-lumiere", "--enable")
    cli("webhook", "replay", str(failed["id"]), "--advertiser", "maison-lumiere")
    cli("webhook", "deliver", "--until-idle")
    assert len(receiver.received) == 2


def test_a_rotated_secret_and_the_previous_one_both_sign_until_the_overlap_ends(
    cli: Cli, db_url: str, receiver: Receiver
) -> None:
    made = _create(cli, receiver.url)
    rotated = cli(
        "webhook", "rotate-secret", str(made["id"]), "--advertiser", "maison-lumiere", "--json"
    ).json()
    assert rotated["secret"] != made["secret"] and rotated["secret_version"] == 2
    _emit(db_url, "maison-lumiere", ("job.finished", {"job": 1}))
    cli("webhook", "deliver", "--until-idle")
    got = receiver.received[-1]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    Webhook(made["secret"]).verify(got.body, got.headers)  # a receiver not yet switched
    Webhook(rotated["secret"]).verify(got.body, got.headers)  # one switched
    again = cli(
        "webhook", "rotate-secret", str(made["id"]), "--advertiser", "maison-lumiere",
        "--overlap-hours", "0", "--json",
    ).json()  # fmt: skip
    _emit(db_url, "maison-lumiere", ("job.finished", {"job": 2}))
    cli("webhook", "deliver", "--until-idle")
    got = receiver.received[-1]
    Webhook(again["secret"]).verify(got.body, got.headers)
    for old in (made["secret"], rotated["secret"]):
        with pytest.raises(WebhookVerificationError):
            Webhook(old).verify(got.body, got.headers)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://example.com/hook", "insecure_url"),
        ("https://127.0.0.1/hook", "private_target"),
        ("https://10.1.2.3/hook", "private_target"),
        ("https://[::ffff:127.0.0.1]/hook", "private_target"),
        ("https://169.254.169.254/latest/meta-data", "private_target"),
        ("https://localhost:8443/hook", "private_target"),
        ("https://user:pass@example.com/hook", "credentials_in_url"),
        ("ftp://example.com/hook", "insecure_url"),
    ],
)
def test_private_and_insecure_targets_are_refused_unless_the_configuration_allows_them(
    engine: Engine, url: str, code: str, tmp_path: Path
) -> None:
    ctx = Context(engine=engine, actor="test:alice", clock=lambda: NOW)
    cli_env_free = Cli(str(engine.url.render_as_string(hide_password=False)))
    cli_env_free("db", "upgrade")
    cli_env_free.advertiser("maison-lumiere")
    with pytest.raises(InvalidInput) as refused:
        webhooks.create_endpoint(ctx, advertiser="maison-lumiere", url=url)
    assert refused.value.code == code and refused.value.field == "url"
    if code == "private_target" and not url.startswith("https://user"):
        made = webhooks.create_endpoint(
            ctx, advertiser="maison-lumiere", url=url, allow_private=True
        )
        assert made.endpoint.url == url


def test_an_advertiser_never_sees_nor_changes_another_ones_endpoints(
    cli: Cli, db_url: str, receiver: Receiver
) -> None:
    made = _create(cli, receiver.url)
    _emit(db_url, "maison-lumiere", ("reply.received", {"reply_id": 1}))
    cli("webhook", "deliver", "--until-idle")
    (delivery,) = cli(
        "webhook", "deliveries", str(made["id"]), "--advertiser", "maison-lumiere", "--json"
    ).json()
    endpoint = str(made["id"])
    for args in (
        ("show", endpoint),
        ("update", endpoint, "--disable"),
        ("rotate-secret", endpoint),
        ("deliveries", endpoint),
        ("attempts", str(delivery["id"])),
        ("replay", str(delivery["id"])),
    ):
        refused = cli("webhook", *args, "--advertiser", "copie", ok=False)
        assert refused.code == 2, args
        assert "no webhook" in refused.err, (args, refused.err)
    assert cli("webhook", "list", "--advertiser", "copie", "--json").json() == []
    assert _emit(db_url, "copie", ("reply.received", {"reply_id": 2})) == 0


def test_an_endpoint_failing_every_attempt_for_over_a_day_is_disabled(
    cli: Cli, db_url: str, receiver: Receiver
) -> None:
    made = _create(cli, receiver.url)
    _emit(db_url, "maison-lumiere", ("reply.received", {"reply_id": 1}))
    engine = make_engine(db_url)
    owner, lease = "test-worker", timedelta(minutes=1)
    keys = Context(engine=engine, actor="t").keys
    schedule = (timedelta(hours=12), timedelta(hours=13))
    try:
        at = NOW
        for attempt in (1, 2, 3):  # the first attempt, then its two retries, a day apart in all
            with engine.begin() as conn:
                (claimed,) = webhook_queue.claim(conn, owner, at, lease, 10, keys)
                assert claimed.attempt == attempt
                failed = webhook_queue.Result(claimed.id, claimed.endpoint_id, attempt, at, 5, 500)
                webhook_queue.record(conn, owner, at, [failed], "worker", schedule)
            if attempt < 3:
                at += schedule[attempt - 1] * 1.3  # past the retry, jitter included
        with engine.connect() as conn:
            row = conn.execute(
                select(webhook_endpoints).where(webhook_endpoints.c.id == made["id"])
            ).one()
            state = conn.execute(select(webhook_deliveries.c.state)).scalar_one()
    finally:
        engine.dispose()
    assert row.state == "disabled" and row.disabled_reason == "failing"
    assert state == "failed"


def test_a_delivery_whose_worker_died_is_taken_up_again(cli: Cli, db_url: str) -> None:
    _create(cli, "http://127.0.0.1:9/never")
    _emit(db_url, "maison-lumiere", ("reply.received", {"reply_id": 1}))
    engine = make_engine(db_url)
    keys = Context(engine=engine, actor="t").keys
    try:
        with engine.begin() as conn:
            (claimed,) = webhook_queue.claim(conn, "dead", NOW, timedelta(minutes=1), 10, keys)
            assert webhook_queue.claim(conn, "other", NOW, timedelta(minutes=1), 10, keys) == []
        with engine.begin() as conn:
            assert webhook_queue.rescue(conn, NOW + timedelta(seconds=30)) == 0  # lease holds
            assert webhook_queue.rescue(conn, NOW + timedelta(minutes=2)) == 1
            (again,) = webhook_queue.claim(
                conn, "other", NOW + timedelta(minutes=2), timedelta(minutes=1), 10, keys
            )
    finally:
        engine.dispose()
    assert again.id == claimed.id and again.attempt == 2
    assert again.headers["webhook-id"] == claimed.headers["webhook-id"]


def test_no_endpoint_no_event_stored(cli: Cli, db_url: str) -> None:
    assert _emit(db_url, "maison-lumiere", ("reply.received", {"reply_id": 1})) == 0
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(webhook_deliveries.c.id)).first() is None
    finally:
        engine.dispose()


def test_an_unknown_event_type_is_refused_with_its_place(cli: Cli) -> None:
    refused = cli(
        "webhook", "create", "--advertiser", "maison-lumiere", "--url", "https://example.com/h",
        "--event", "message.delivered", "--event", "message.teleported", ok=False,
    )  # fmt: skip
    assert refused.code == 2
    assert "--event" in refused.err and "message.teleported" in refused.err
    assert "message.delivered" in refused.err.split("there are:")[1]  # what it may be


def test_a_campaign_sent_by_a_worker_tells_each_message_submitted_then_delivered(
    engine: Engine, tmp_path: Path, receiver: Receiver
) -> None:
    """The whole way: a launched campaign, a worker sending it over SMPP to the local SMSC,
    its flushes queuing `message.*` events, a deliverer POSTing them, verified."""
    numbers = [mobile(i) for i in range(25)]
    launched_campaign(engine, tmp_path, numbers, now=TUESDAY_10)
    ctx = context(engine, TUESDAY_10)
    made = webhooks.create_endpoint(
        ctx, advertiser="maison-lumiere", url=receiver.url, allow_private=True,
        events=["message.submitted", "message.delivered", "message.failed", "campaign.finished"],
    )  # fmt: skip

    async def scenario() -> None:
        async with running_smsc() as smsc:
            report = await worker(engine, smsc, Clock(TUESDAY_10)).run(until_idle=True)
            assert report.submitted == 25
        deliverer = Deliverer(
            # the real clock: receivers refuse a webhook-timestamp minutes away from theirs
            engine, owner="test", actor="test", keys=ctx.keys, clock=lambda: datetime.now(UTC),
            settings=DeliverySettings(allow_private=True),
        )  # fmt: skip
        await deliverer.run(until_idle=True)
        assert deliverer.report.delivered == 51, deliverer.report

    run(scenario)
    seen: Counter[tuple[str, str]] = Counter()
    finished = []
    for got in receiver.received:
        payload = Webhook(made.secret).verify(got.body, got.headers)
        if payload["type"] == "campaign.finished":
            finished.append(payload["data"])
            continue
        seen[(payload["data"]["to"], payload["type"])] += 1
        assert payload["data"]["state"] == payload["type"].split(".")[1]
    assert seen == Counter(
        {(n, kind): 1 for n in numbers for kind in ("message.submitted", "message.delivered")}
    )
    (ended,) = finished
    assert ended["campaign"] == "soldes" and ended["messages"] == {"delivered": 25}


def test_a_rotation_of_the_installation_key_keeps_every_webhook_secret(
    cli: Cli, db_url: str, receiver: Receiver, tmp_path: Path, engine: Engine
) -> None:
    made = _create(cli, receiver.url)
    rotated = cli(
        "webhook", "rotate-secret", str(made["id"]), "--advertiser", "maison-lumiere", "--json"
    ).json()  # the previous secret kept too: both are wrapped again
    new_file = tmp_path / "keys" / "new.key"
    cli("keys", "rotate", "--new-key-file", str(new_file))
    cli.env |= {KEY_ENV: None, KEY_FILE_ENV: str(new_file)}  # type: ignore[dict-item]
    _emit(db_url, "maison-lumiere", ("reply.received", {"reply_id": 1}))
    cli("webhook", "deliver", "--until-idle")
    (got,) = receiver.received
    Webhook(made["secret"]).verify(got.body, got.headers)
    Webhook(rotated["secret"]).verify(got.body, got.headers)
    with engine.connect() as conn:
        stored = conn.execute(select(webhook_endpoints.c.secret)).scalar_one()
    assert signing.parsed(rotated["secret"]) != stored  # never in clear


def test_a_stop_reply_tells_the_reply_and_the_opt_out_once(
    cli: Cli, db_url: str, receiver: Receiver
) -> None:
    made = _create(cli, receiver.url, "--event", "contact.opted_out", "--event", "reply.received")
    engine = make_engine(db_url)
    person = "+33612345678"
    stop = Reply(person, person[1:], "36111", "STOP", classify_reply("STOP"))
    try:
        for _ in range(2):  # told twice: the second is no new opt-out
            with engine.begin() as conn:
                record_replies(conn, [stop], now=datetime.now(UTC), actor="worker:inbound")
    finally:
        engine.dispose()
    cli("webhook", "deliver", "--until-idle")
    payloads = [Webhook(made["secret"]).verify(r.body, r.headers) for r in receiver.received]
    kinds = Counter(p["type"] for p in payloads)
    assert kinds["contact.opted_out"] == 1
    assert kinds["reply.received"] == 1  # the same STOP again within minutes: kept once
    (opted,) = [p["data"] for p in payloads if p["type"] == "contact.opted_out"]
    assert opted["number"] == person and opted["source"] == "sms_stop"
    (reply,) = [p["data"] for p in payloads if p["type"] == "reply.received"]
    assert reply["from"] == person and reply["text"] == "STOP" and reply["meaning"] == "stop"


def test_the_worker_delivers_webhooks_in_a_child_unless_told_not_to(
    cli: Cli, db_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    made = _create(cli, receiver.url)
    config = record_only_config(tmp_path)
    config.write_text(config.read_text() + "\n[webhooks]\nallow_private_targets = true\n")
    env = {**os.environ, "TAMBOUR_DATABASE_URL": db_url, "TAMBOUR_CONFIG": str(config)}

    def worker(*args: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "tambour", "worker", "--until-idle", "--no-jobs", *args],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr

    _emit(db_url, "maison-lumiere", ("reply.received", {"reply_id": 1}))
    worker("--no-webhooks")
    assert receiver.received == []
    worker()
    (got,) = receiver.received
    assert Webhook(made["secret"]).verify(got.body, got.headers)["data"] == {"reply_id": 1}


def test_a_finished_job_tells_its_result(
    cli: Cli, db_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    made = _create(cli, receiver.url, "--event", "job.finished")
    engine = make_engine(db_url)
    try:
        ctx = Context(engine=engine, actor="test:alice")
        job = jobs.submit(
            ctx,
            import_kind.request(ctx, advertiser="maison-lumiere", path=contact_file(tmp_path, 30)),
        )
        assert Runner(ctx).run(until_idle=True).succeeded == 1
    finally:
        engine.dispose()
    cli("webhook", "deliver", "--until-idle")
    (got,) = receiver.received
    data = Webhook(made["secret"]).verify(got.body, got.headers)["data"]
    assert data["job_id"] == job.id and data["kind"] == "contacts.import"
    assert data["state"] == "succeeded" and data["result"]["created"] == 30


def test_metrics_show_the_webhook_backlog(
    cli: Cli, db_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    _create(cli, receiver.url)
    _emit(db_url, "maison-lumiere", ("reply.received", {"reply_id": 1}), ("reply.received", {}))
    with ApiServer(db_url, tmp_path) as server:
        families = text_string_to_metric_families(server.get("/metrics").text)
        samples = {s.name: s.value for family in families for s in family.samples}
    assert samples["tambour_webhook_backlog"] == 2
    assert samples["tambour_webhook_backlog_oldest_age_seconds"] >= 0
    cli("webhook", "deliver", "--until-idle")
    with ApiServer(db_url, tmp_path) as server:
        families = text_string_to_metric_families(server.get("/metrics").text)
        samples = {s.name: s.value for family in families for s in family.samples}
    assert samples["tambour_webhook_backlog"] == 0
