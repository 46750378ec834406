"""Issue 18 point 3: 33700 complaints, through the command line and a real worker against the
local SMSC, on SQLite and PostgreSQL.

A first campaign leaves (twenty messages, sent by the worker); a second, to every contact (the
twenty and five more), is launched to leave two days later. A 33700 file (French headers,
Latin-1, `;`) reports two of the first campaign's messages, a number never messaged, a bad
number and a report from the future: the two are matched to their messages, the third kept
unmatched, all three numbers suppressed, the bad rows reported by line and field. Three
complaints out of twenty messages is past the threshold set for the test: the second campaign
is paused, and a worker run at its send time sends nothing of it; the same file again is
counted once; the operator resumes it and it leaves (but to those who complained).
"""

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from tambour.services.suppression import phone_hash
from tambour.store.tables import (
    audit_log,
    campaigns,
    complaint_reports,
    evidence,
    outbox,
    suppressions,
    webhook_events,
)
from tests.dispatch_setup import context, launched_campaign, mobile, paris
from tests.integration.cli import Cli
from tests.integration.smpp_peers import running_smsc
from tests.integration.test_worker import Clock, received, run, worker

TUESDAY_10 = paris("2026-12-01T10:00")
THURSDAY_10 = paris("2026-12-03T10:00")
REPORTED_ON = "2026-12-02T09:00:00+01:00"  # the import's clock
FIRST = [mobile(i) for i in range(20)]
SECOND = [mobile(100 + i) for i in range(5)]
STRANGER = "+33699887766"  # never messaged by anyone
POLICY = {"TAMBOUR_COMPLAINTS_PAUSE_PER_1000": "50", "TAMBOUR_COMPLAINTS_MIN_MESSAGES": "10"}


def national(e164: str) -> str:
    """+33610000001 as a French file writes it: 06 10 00 00 01."""
    digits = "0" + e164[3:]
    return " ".join(digits[i : i + 2] for i in range(0, 10, 2))


def complaints_file(path: Path) -> Path:
    rows = [
        "Numéro signalé;Émetteur;Date du signalement;Heure;Contenu du message",
        f"{national(FIRST[1])};MLUMIERE;02/12/2026;08:30;-20% sur nos luminaires ce week-end",
        f"{national(FIRST[2])};mlumiere;02/12/2026;;Bonjour Léa2, -20% sur nos luminaires",
        f"{national(STRANGER)};MLUMIERE;01/12/2026;18:00;Offre spéciale",
        "12 34;MLUMIERE;02/12/2026;08:00;?",
        f"{national(FIRST[3])};MLUMIERE;24/12/2026;08:00;plus tard",
    ]
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("latin-1"))
    return path


def sent_and_queued(engine: Engine, tmp_path: Path) -> None:
    """The first campaign sent by a real worker; the second launched, due Thursday."""
    launched_campaign(engine, tmp_path, FIRST, now=TUESDAY_10)
    launched_campaign(engine, tmp_path, SECOND, now=TUESDAY_10, name="relance", start=THURSDAY_10)

    async def scenario() -> None:
        async with running_smsc() as smsc:
            await worker(engine, smsc, Clock(TUESDAY_10)).run(until_idle=True)
            assert received(smsc) == Counter(FIRST)

    run(scenario)


def send_at(engine: Engine, start: datetime) -> Counter[str]:
    """What a worker sends when run from `start` until idle: messages by recipient."""
    got: Counter[str] = Counter()

    async def scenario() -> None:
        async with running_smsc() as smsc:
            await worker(engine, smsc, Clock(start)).run(until_idle=True)
            await asyncio.sleep(0)
            got.update(received(smsc))

    run(scenario)
    return got


def outbox_states(engine: Engine, name: str) -> Counter[str]:
    with engine.connect() as conn:
        found = conn.execute(
            select(outbox.c.state)
            .join(campaigns, campaigns.c.id == outbox.c.campaign_id)
            .where(campaigns.c.name == name)
        ).scalars()
        return Counter(found)


def reports(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(complaint_reports).order_by(complaint_reports.c.id)))


def suppressed(engine: Engine, number: str) -> str | None:
    from tambour.services import advertisers

    ctx = context(engine, TUESDAY_10)
    with engine.connect() as conn:
        advertiser = advertisers.get(conn, "maison-lumiere")
        return conn.execute(
            select(suppressions.c.source).where(
                suppressions.c.advertiser_id == advertiser.id,
                suppressions.c.phone_hash == phone_hash(advertiser, number),
            )
        ).scalar()
    del ctx


def test_a_33700_file_pauses_the_advertiser_and_its_queued_messages_do_not_leave(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    sent_and_queued(engine, tmp_path)
    cli = Cli(db_url, actor="test:operator")
    cli.env.update({**POLICY, "TAMBOUR_NOW": REPORTED_ON})
    path = complaints_file(tmp_path / "signalements 33700.csv")
    cli("webhook", "create", "--advertiser", "maison-lumiere", "--url",
        "https://crm.example.fr/hook")  # fmt: skip

    done = cli("complaints", "import", str(path), "--json").json()
    assert (done["received"], done["recorded"], done["matched"], done["unmatched"]) == (5, 3, 2, 1)
    assert [(r["line"], r["field"], r["code"]) for r in done["rejects"]] == [
        (5, "number", "invalid_number"),
        (6, "reported_at", "reported_in_future"),
    ]
    (paused,) = done["paused"]
    assert (paused["campaign"], paused["held"], paused["complaints"], paused["sent"]) == (
        "relance", 25, 3, 20,
    )  # fmt: skip
    # The two reports are matched to the messages they are about; the third kept unmatched.
    kept = reports(engine)
    with engine.connect() as conn:
        sent = dict(
            conn.execute(
                select(outbox.c.e164, outbox.c.id).where(outbox.c.submitted_at.is_not(None))
            ).all()
        )
    assert [(r.state, r.outbox_id) for r in kept] == [
        ("matched", sent[FIRST[1]]), ("matched", sent[FIRST[2]]), ("unmatched", None),
    ]  # fmt: skip
    assert [r.time_given for r in kept] == [True, False, True]
    assert all(r.e164 is None and r.phone_hash for r in kept)  # the number by its hash only
    with engine.connect() as conn:
        facts = conn.execute(select(evidence.c.data).where(evidence.c.kind == "complaint")).all()
    assert sorted(f.data["message_id"] for f in facts) == sorted([sent[FIRST[1]], sent[FIRST[2]]])
    for number in (FIRST[1], FIRST[2], STRANGER):
        assert suppressed(engine, number) == "complaint_33700"
    assert suppressed(engine, FIRST[3]) is None  # its row was refused
    assert outbox_states(engine, "relance") == Counter({"paused": 25})

    # The worker at the second campaign's send time: nothing of it leaves.
    assert send_at(engine, THURSDAY_10 + timedelta(minutes=1)) == Counter()
    assert outbox_states(engine, "relance") == Counter({"paused": 25})
    shown = cli("campaign", "status", "relance", "--advertiser", "maison-lumiere")
    assert "PAUSED" in shown.out

    # The same file again: known, counted once, nothing paused anew.
    again = cli("complaints", "import", str(path), "--json").json()
    assert (again["recorded"], again["already"], again["paused"]) == (0, 3, [])
    assert len(reports(engine)) == 3
    rates = cli("complaints", "report", "--advertiser", "maison-lumiere", "--json").json()
    assert rates["advertiser"]["complaints"] == 3 and rates["advertiser"]["sent"] == 20
    assert rates["advertiser"]["per_1000"] == 150.0 and rates["crossed"] is True
    assert rates["unmatched"] == 1
    assert [(c["name"], c["complaints"], c["sent"], c["per_1000"]) for c in rates["campaigns"]] == [
        ("soldes", 2, 20, 100.0),
    ]  # fmt: skip
    assert [(s["name"], s["complaints"]) for s in rates["senders"]] == [("MLUMIERE", 3)]
    assert [p["name"] for p in rates["paused"]] == ["relance"]

    # Only the operator resumes; then it leaves.
    cli.env["TAMBOUR_NOW"] = "2026-12-03T10:00:00+01:00"
    resumed = cli("campaign", "resume", "relance", "--advertiser", "maison-lumiere", "--json")
    assert resumed.json()["requeued"] == 25
    again_resumed = cli("campaign", "resume", "relance", "--advertiser", "maison-lumiere", ok=False)
    assert again_resumed.code == 2 and "is not paused" in again_resumed.err
    # Those who complained since the plan are not messaged again (the claim's check).
    complained = {FIRST[1], FIRST[2]}
    expected = Counter(n for n in FIRST + SECOND if n not in complained)
    assert send_at(engine, THURSDAY_10 + timedelta(minutes=1)) == expected
    assert outbox_states(engine, "relance")["cancelled"] == 2
    with engine.connect() as conn:
        actions = set(conn.execute(select(audit_log.c.action)).scalars())
        told = Counter(conn.execute(select(webhook_events.c.type)).scalars())
    assert {"complaints.import", "campaign.pause", "campaign.resume"} <= actions
    assert (told["campaign.paused"], told["campaign.resumed"]) == (1, 1)
    assert told["contact.complained"] == 3
    cli("audit", "verify")


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_an_advertisers_file_takes_its_own_senders_only(db_url: str, tmp_path: Path) -> None:
    cli = Cli(db_url)
    cli.advertiser()
    cli.advertiser("copie")
    path = tmp_path / "33700.csv"
    path.write_text(
        "number,sender,reported_at,text\n"
        f"{STRANGER},COPIE,2026-11-30T10:00:00+01:00,Copie\n"
        f"{STRANGER},MLUMIERE,2026-11-30,Maison\n"
        f"{STRANGER},INCONNU,2026-11-30,?\n",
        encoding="utf-8",
    )
    cli.env["TAMBOUR_NOW"] = REPORTED_ON
    mine = cli("complaints", "import", str(path), "--advertiser", "maison-lumiere", "--json")
    done = mine.json()
    assert (done["recorded"], done["unmatched"]) == (1, 1)
    assert [(r["line"], r["code"]) for r in done["rejects"]] == [
        (2, "foreign_sender"), (4, "foreign_sender"),
    ]  # fmt: skip
    # The operator's import: each report to the advertiser owning its sender; an unknown
    # sender kept, unattributed; Maison Lumière's known already.
    everyone = cli("complaints", "import", str(path), "--json").json()
    assert (everyone["recorded"], everyone["already"], everyone["unattributed"]) == (2, 1, 1)
    listed = cli("complaints", "list", "--advertiser", "copie", "--json").json()
    assert [(r["sender"], r["state"]) for r in listed] == [("COPIE", "unmatched")]
    assert STRANGER[3:] not in mine.out
    # Refusals: one line, no traceback.
    missing = cli("complaints", "import", str(tmp_path / "absent.csv"), ok=False)
    assert missing.code == 2 and "Traceback" not in missing.err
    bare = tmp_path / "bare.csv"
    bare.write_text("phone\n0612345678\n", encoding="utf-8")
    refused = cli("complaints", "import", str(bare), ok=False)
    assert refused.code == 2 and "no column of senders" in refused.err
