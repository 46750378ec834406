"""`tambour replies` (issue 12 point 5, "every reply is read") on SQLite and PostgreSQL: the
replies the worker kept are listed for their advertiser, newest first, in Paris time; a reply is
marked read, or marked as the opt-out the core could not read for sure, which suppresses the
number at once (a queued message to it is cancelled). Another advertiser's reply is not found.

Replies come in as the inbound worker records them (services.replies.record_replies, in a
transaction of its own), and in the last test through a real worker and the local SMSC."""

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from tambour.dispatch.smsc import Smsc
from tambour.dispatch.transports.smpp import SmppTransport
from tambour.dispatch.worker import Worker, WorkerSettings
from tambour.rules.replies import classify_reply
from tambour.services.replies import record_replies
from tambour.store.tables import audit_log, evidence, outbox, replies, suppressions
from tambour.traffic import Reply
from tests.dispatch_setup import record_only_config
from tests.integration.cli import Cli
from tests.integration.smpp_peers import eventually, running_smsc, session_settings
from tests.integration.test_contacts import write_csv

PLAN_NOW = "2027-03-20T09:00:00+01:00"
REPLY_AT = datetime(2027, 3, 20, 10, 0, tzinfo=UTC)  # 11:00 in Paris (before summer time)
MARKED_AT = "2027-03-20T15:00:00+01:00"  # when the advertiser acts on a reply
PERSON = "+33612345678"
OTHER_PERSON = "+33698765432"
LUMIERE = "maison-lumiere"
CAVE = "cave-dupont"


@pytest.fixture
def cli(db_url: str, tmp_path: Path) -> Cli:
    """Two advertisers with their own short numbers, each with PERSON and OTHER_PERSON as
    contacts who consented."""
    runner = Cli(db_url)
    runner.env["TAMBOUR_NOW"] = PLAN_NOW
    for slug, name, sender, stop_number in (
        (LUMIERE, "Maison Lumière SAS", "MLUMIERE", "36111"),
        (CAVE, "Cave Dupont SARL", "CDUPONT", "36222"),
    ):
        runner("advertiser", "create", slug, "--name", name, "--sender", sender,
               "--stop-number", stop_number, "--categories", "luminaires")  # fmt: skip
        people = write_csv(
            tmp_path / f"{slug}.csv",
            [{"phone": number, "consent": "oui", "consent_at": "2026-10-01",
              "consent_method": "web_form", "postal_code": "75011"}
             for number in (PERSON, OTHER_PERSON)],
        )  # fmt: skip
        runner("contacts", "import", str(people), "--advertiser", slug)
    return runner


def reply(text: str, sender: str = PERSON, short_number: str = "36111") -> Reply:
    return Reply(sender, sender, short_number, text, classify_reply(text))


def record(engine: Engine, *sent: Reply, at: datetime = REPLY_AT) -> list[int]:
    """Record replies as the inbound worker does; the ids of the rows kept."""
    with engine.begin() as conn:
        effects = record_replies(conn, list(sent), now=at, actor="worker:test")
    return [reply_id for effect in effects for reply_id in effect.kept]


def listed(cli: Cli, slug: str = LUMIERE, *options: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = cli(
        "replies", "list", "--advertiser", slug, *options, "--json"
    ).json()
    return found


def rows(engine: Engine) -> dict[int, Any]:
    with engine.connect() as conn:
        return {row.id: row for row in conn.execute(select(replies))}


def audited(engine: Engine, action: str) -> list[tuple[int | None, dict[str, Any]]]:
    with engine.connect() as conn:
        found = conn.execute(
            select(audit_log.c.advertiser_id, audit_log.c.details)
            .where(audit_log.c.action == action)
            .order_by(audit_log.c.seq)
        ).all()
    return [(advertiser_id, json.loads(details)) for advertiser_id, details in found]


def test_list_shows_the_advertisers_replies_newest_first_in_paris_time(
    cli: Cli, engine: Engine
) -> None:
    first, stop = record(engine, reply("Vous livrez à Lyon ?"), reply("Merci STOP"))
    five_past = REPLY_AT + timedelta(minutes=5)
    [later] = record(engine, reply("Et le samedi ?\nMerci", OTHER_PERSON), at=five_past)
    record(engine, reply("Bonjour la cave", short_number="36222"))  # the other advertiser's
    found = listed(cli)
    assert [r["id"] for r in found] == [later, stop, first]
    assert found[0] == {
        "id": later,
        "number": OTHER_PERSON,
        "to": "36111",
        "text": "Et le samedi ?\nMerci",
        "meaning": "other",
        "status": "new",
        "received_at": "2027-03-20T11:05:00+01:00",
        "handled_at": None,
        "handled_by": None,
    }
    assert (found[1]["meaning"], found[1]["status"], found[1]["handled_by"]) == (
        "stop", "opted_out", "worker:test",
    )  # fmt: skip
    assert [r["id"] for r in listed(cli, LUMIERE, "--status", "new")] == [later, first]
    assert [r["id"] for r in listed(cli, LUMIERE, "--status", "opted_out")] == [stop]
    assert [r["id"] for r in listed(cli, LUMIERE, "--limit", "1")] == [later]
    assert [r["text"] for r in listed(cli, CAVE)] == ["Bonjour la cave"]
    text = cli("replies", "list", "--advertiser", LUMIERE).out
    assert text.splitlines() == [
        "3 replies, newest first (Paris time):",
        f"#{later}  2027-03-20 11:05  {OTHER_PERSON} -> 36111  new",
        "    Et le samedi ?",
        "    Merci",
        f"#{stop}  2027-03-20 11:00  {PERSON} -> 36111  opted_out  (read as STOP)",
        "    Merci STOP",
        f"#{first}  2027-03-20 11:00  {PERSON} -> 36111  new",
        "    Vous livrez à Lyon ?",
    ]
    assert cli("replies", "list", "--advertiser", LUMIERE, "--status", "read").out == (
        "no replies read\n"
    )


def test_read_marks_a_reply_read_once_and_audits_it(cli: Cli, engine: Engine) -> None:
    [reply_id] = record(engine, reply("Vous livrez à Lyon ?"))
    cli.env["TAMBOUR_NOW"] = MARKED_AT
    done = cli("replies", "read", str(reply_id), "--advertiser", LUMIERE)
    assert done.out == f"reply #{reply_id} marked read\n"
    row = rows(engine)[reply_id]
    assert (row.status, row.handled_by) == ("read", "test:alice")
    assert row.handled_at == datetime.fromisoformat(MARKED_AT)
    again = cli("replies", "read", str(reply_id), "--advertiser", LUMIERE, "--json").json()
    assert again == {"id": reply_id, "status": "read", "changed": False}
    assert listed(cli, LUMIERE, "--status", "read")[0]["handled_at"] == MARKED_AT
    lumiere = rows(engine)[reply_id].advertiser_id
    assert audited(engine, "reply.read") == [(lumiere, {"reply_id": reply_id})]


def _plan(cli: Cli, name: str) -> dict[str, str]:
    cli("campaign", "create", "--advertiser", LUMIERE, "--name", name, "--nature=commercial",
        "--sender=MLUMIERE", "--text=Nos offres de printemps sont arrivées.",
        "--categories=luminaires", "--start=2027-03-23T10:00")  # fmt: skip
    payload = cli("campaign", "plan", name, "--advertiser", LUMIERE, "--json").json()
    return {
        r["phone"]: r["basis"] if r["decision"] == "send" else r["reason"] for r in payload["rows"]
    }


def test_optout_suppresses_the_number_at_once_even_for_a_message_queued_before(
    cli: Cli, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """ "J'en veux plus" is no certain STOP; the advertiser reads it as one: the opposition is
    recorded (sms_stop, dated when the reply came), the number suppressed, and the message
    launched to it before is cancelled when the worker gets to it."""
    assert _plan(cli, "Printemps") == {PERSON: "consent", OTHER_PERSON: "consent"}
    cli("campaign", "launch", "Printemps", "--advertiser", LUMIERE)
    [reply_id] = record(engine, reply("J'en veux plus !"))
    assert rows(engine)[reply_id].meaning == "other"
    cli.env["TAMBOUR_NOW"] = MARKED_AT
    done = cli("replies", "optout", str(reply_id), "--advertiser", LUMIERE, "--json").json()
    assert done == {
        "id": reply_id, "status": "opted_out", "changed": True, "source": "sms_stop",
        "phone_hash": done["phone_hash"], "known_contact": True,
    }  # fmt: skip
    row = rows(engine)[reply_id]
    assert (row.status, row.handled_by) == ("opted_out", "test:alice")
    with engine.connect() as conn:
        [(data, occurred_at)] = conn.execute(
            select(evidence.c.data, evidence.c.occurred_at).where(evidence.c.kind == "opt_out")
        ).all()
        assert conn.execute(select(suppressions.c.source)).scalars().all() == ["sms_stop"]
    assert (data, occurred_at) == ({"source": "sms_stop"}, REPLY_AT)
    [(_, details)] = audited(engine, "reply.optout")
    assert details["reply_id"] == reply_id and details["phone_hash"] == done["phone_hash"]
    assert "612345678" not in json.dumps(details) and "veux" not in json.dumps(details)
    again = cli("replies", "optout", str(reply_id), "--advertiser", LUMIERE)
    assert again.out == f"reply #{reply_id} is opted out already: unchanged\n"
    assert len(audited(engine, "reply.optout")) == 1
    # The next plan leaves the number out; the message launched before never leaves.
    assert _plan(cli, "Relance")[PERSON] == "opted_out"
    env = {**os.environ, **cli.env, "TAMBOUR_NOW": "2027-03-23T10:00:00+01:00"}
    env["TAMBOUR_CONFIG"] = str(record_only_config(tmp_path))  # nothing leaves the machine
    worked = subprocess.run(
        [sys.executable, "-m", "tambour", "worker", "--until-idle"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert worked.returncode == 0, worked.stderr
    with engine.connect() as conn:
        states = dict(conn.execute(select(outbox.c.e164, outbox.c.reason)).all())
    assert states == {PERSON: "opted_out", OTHER_PERSON: None}


def test_another_advertisers_reply_is_not_found(cli: Cli, engine: Engine) -> None:
    [theirs] = record(engine, reply("Une question pour la cave", short_number="36222"))
    [ours] = record(engine, reply("Une question", short_number="36111"))
    for command in ("read", "optout"):
        refused = cli("replies", command, str(theirs), "--advertiser", LUMIERE, ok=False)
        assert refused.code == 2
        assert f"no reply {theirs} for {LUMIERE}" in refused.err
        missing = cli("replies", command, "999", "--advertiser", LUMIERE, ok=False)
        assert missing.code == 2 and "no reply 999 for" in missing.err
    assert [r["id"] for r in listed(cli)] == [ours]
    assert (rows(engine)[theirs].status, rows(engine)[theirs].handled_at) == ("new", None)
    with engine.connect() as conn:
        assert conn.execute(select(suppressions.c.source)).scalars().all() == []
    assert audited(engine, "reply.read") == audited(engine, "reply.optout") == []


def test_bad_input_is_refused_with_exit_code_2(cli: Cli, engine: Engine) -> None:
    record(engine, reply("Bonjour"))
    for args, message in (
        (("list", "--advertiser", LUMIERE, "--status", "lu"), "--status: 'lu' is not one of"),
        (("list", "--advertiser", "nobody"), "no advertiser 'nobody'"),
        (("read", "1", "--advertiser", "nobody"), "no advertiser 'nobody'"),
        (("list", "--advertiser", LUMIERE, "--limit", "0"), "--limit"),
    ):
        refused = cli("replies", *args, ok=False)
        assert refused.code == 2 and message in refused.err, refused


def test_a_reply_from_no_phone_number_reaches_no_advertiser(cli: Cli, engine: Engine) -> None:
    """A brand or a short code may write to the short number (an operator's notice): it is
    kept for the operator, and never reaches an advertiser's list."""
    [kept] = record(engine, Reply(None, "Orange", "36111", "Votre forfait", classify_reply("x")))
    assert rows(engine)[kept].advertiser_id is None
    assert listed(cli) == [] and listed(cli, CAVE) == []


def test_replies_received_by_the_worker_are_listed(cli: Cli, engine: Engine) -> None:
    """End to end: replies sent to the local SMSC reach the worker over SMPP, are kept, and the
    advertiser reads them; the STOP among them is applied and shown as such."""

    async def scenario() -> None:
        async with running_smsc() as smsc:
            runner = _worker(engine, smsc)
            task = asyncio.create_task(runner.run())
            await eventually(lambda: smsc.bound_sessions > 0, 10, "bound")
            for text in ("Vous livrez à Lyon ?", "j'en veux plus", "Stop svp"):
                await asyncio.wait_for(smsc.inject_mo(PERSON, "36111", text), 10)
            runner.stop()
            await task

    asyncio.run(asyncio.wait_for(scenario(), 60))
    found = listed(cli)
    assert [(r["text"], r["meaning"], r["status"]) for r in found] == [
        ("Stop svp", "stop", "opted_out"),
        ("j'en veux plus", "other", "new"),
        ("Vous livrez à Lyon ?", "other", "new"),
    ]
    assert all(r["number"] == PERSON and r["to"] == "36111" for r in found)


def _worker(engine: Engine, smsc: Smsc) -> Worker:
    """A worker on a clock stopped at REPLY_AT: the replies it keeps were received then."""
    return Worker(
        engine,
        lambda on_inbound: SmppTransport(session_settings(smsc.port), on_inbound),
        settings=WorkerSettings(receipt_wait=1.0, lease=timedelta(seconds=10)),
        clock=lambda: REPLY_AT,
    )
