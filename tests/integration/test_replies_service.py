"""services.replies on SQLite and PostgreSQL: STOP replies opt a number out of the advertisers
that messaged it through that short number (all of them when unsure), at once and once; START
is a new consent that a later plan honours, never over a 33700 complaint; every reply is kept
in `replies` for the advertisers it concerns, and audited. Advertisers, contacts and campaigns
are made through the command line, as a user would; the replies are recorded as the inbound
worker does, in a transaction of its own.
"""

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from tambour.rules.codes import OptOutSource
from tambour.rules.replies import classify_reply
from tambour.services import optouts
from tambour.services.context import Context
from tambour.services.replies import ReplyEffect, record_replies
from tambour.store.tables import (
    advertisers,
    audit_log,
    contacts,
    evidence,
    outbox,
    replies,
    suppressions,
)
from tambour.traffic import Reply
from tests.integration.cli import Cli
from tests.integration.test_contacts import write_csv

PLAN_NOW = "2027-03-20T09:00:00+01:00"  # campaigns are planned and launched then
REPLY_AT = datetime(2027, 3, 20, 10, 0, tzinfo=UTC)  # the replies come after the messages
LATER_PLAN = "2027-03-22T09:00:00+01:00"  # a later campaign, planned after the replies
START = "2027-03-26T10:00"
PERSON = "+33612345678"
OTHER_PERSON = "+33698765432"
ACTOR = "worker:inbound"

# slug: (legal name, sender ID, STOP number)
ADVERTISERS = {
    "maison-lumiere": ("Maison Lumière SAS", "MLUMIERE", "36111"),
    "cave-dupont": ("Cave Dupont SARL", "CDUPONT", "36111"),  # shares Maison Lumière's number
    "boulangerie": ("Boulangerie Martin", "BMARTIN", "36222"),  # shares nothing
}


@pytest.fixture
def cli(db_url: str) -> Cli:
    runner = Cli(db_url)
    runner.env["TAMBOUR_NOW"] = PLAN_NOW
    return runner


@pytest.fixture
def world(cli: Cli, tmp_path: Path) -> Cli:
    """The three advertisers, each with PERSON and OTHER_PERSON as contacts who consented."""
    for slug, (name, sender, stop_number) in ADVERTISERS.items():
        cli("advertiser", "create", slug, "--name", name, "--sender", sender,
            "--stop-number", stop_number, "--categories", "luminaires")  # fmt: skip
        people = write_csv(
            tmp_path / f"{slug}.csv",
            [{"phone": number, "consent": "oui", "consent_at": "2026-10-01",
              "consent_method": "web_form"}
             for number in (PERSON, OTHER_PERSON)],
        )  # fmt: skip
        cli("contacts", "import", str(people), "--advertiser", slug)
    return cli


def campaign(cli: Cli, slug: str, name: str) -> dict[str, str]:
    """Create and plan a commercial campaign of `slug`; the decision code of each number."""
    sender = ADVERTISERS[slug][1]
    cli("campaign", "create", "--advertiser", slug, "--name", name, "--nature=commercial",
        f"--sender={sender}", "--text=Nos offres de printemps sont arrivées.",
        "--categories=luminaires", f"--start={START}")  # fmt: skip
    payload = cli("campaign", "plan", name, "--advertiser", slug, "--json").json()
    return {
        row["phone"]: row["basis"] if row["decision"] == "send" else row["reason"]
        for row in payload["rows"]
    }


def messaged(cli: Cli, engine: Engine, slug: str, state: str = "delivered") -> None:
    """`slug` sends a campaign to its contacts: planned, launched, and its messages in `state`."""
    campaign(cli, slug, "Envoi")
    cli("campaign", "launch", "Envoi", "--advertiser", slug)
    advertiser_id = ids(engine)[slug]
    with engine.begin() as conn:
        conn.execute(
            update(outbox).where(outbox.c.advertiser_id == advertiser_id).values(state=state)
        )


def later_plan(cli: Cli, slug: str, name: str = "Relance") -> dict[str, str]:
    cli.env["TAMBOUR_NOW"] = LATER_PLAN
    try:
        return campaign(cli, slug, name)
    finally:
        cli.env["TAMBOUR_NOW"] = PLAN_NOW


def ids(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(advertisers.c.slug, advertisers.c.id)).all())


def reply(text: str, sender: str | None = PERSON, short_number: str = "36111") -> Reply:
    return Reply(
        sender=sender,
        sender_address=sender or "Orange",
        short_number=short_number,
        text=text,
        kind=classify_reply(text),
    )


def record(
    engine: Engine, *replies: Reply, at: datetime = REPLY_AT, confirm: bool = False
) -> list[ReplyEffect]:
    with engine.begin() as conn:
        return record_replies(conn, list(replies), now=at, actor=ACTOR, confirm=confirm)


def facts(engine: Engine, slug: str, kind: str, number: str = PERSON) -> list[dict[str, Any]]:
    """The evidence of `kind` for the contact `number` of `slug`."""
    advertiser_id = ids(engine)[slug]
    with engine.connect() as conn:
        rows = conn.execute(
            select(evidence.c.data, evidence.c.occurred_at)
            .join(contacts, contacts.c.id == evidence.c.contact_id)
            .where(
                contacts.c.advertiser_id == advertiser_id,
                evidence.c.advertiser_id == advertiser_id,
                contacts.c.e164 == number,
                evidence.c.kind == kind,
            )
            .order_by(evidence.c.id)
        ).all()
    return [{**row.data, "at": row.occurred_at} for row in rows]


def suppressed(engine: Engine, slug: str) -> list[str]:
    """The sources of `slug`'s suppression entries."""
    advertiser_id = ids(engine)[slug]
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(suppressions.c.source).where(suppressions.c.advertiser_id == advertiser_id)
            ).scalars()
        )


def kept(engine: Engine) -> list[dict[str, Any]]:
    """The `replies` rows, in the order they were written."""
    with engine.connect() as conn:
        rows = conn.execute(select(replies).order_by(replies.c.id)).mappings().all()
    return [dict(row) for row in rows]


def reply_audit(engine: Engine) -> list[tuple[str, int | None, dict[str, Any]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.action, audit_log.c.advertiser_id, audit_log.c.details)
            .where(audit_log.c.action.like("reply.%"))
            .order_by(audit_log.c.seq)
        ).all()
    return [(action, advertiser_id, json.loads(details)) for action, advertiser_id, details in rows]


# --- STOP: whom it reaches ------------------------------------------------------------------


def test_stop_opts_out_only_the_advertiser_that_messaged_through_its_number(
    world: Cli, engine: Engine
) -> None:
    messaged(world, engine, "maison-lumiere")
    messaged(world, engine, "boulangerie")  # on its own short number
    effects = record(engine, reply("STOP"))
    assert effects[0].advertiser_ids == (ids(engine)["maison-lumiere"],)
    assert facts(engine, "maison-lumiere", "opt_out") == [{"source": "sms_stop", "at": REPLY_AT}]
    assert suppressed(engine, "maison-lumiere") == ["sms_stop"]
    for untouched in ("boulangerie", "cave-dupont"):
        assert facts(engine, untouched, "opt_out") == [] and suppressed(engine, untouched) == []
    # The next campaigns: the person is out of Maison Lumière's only; the other number stays.
    lumiere = later_plan(world, "maison-lumiere")
    assert lumiere == {PERSON: "opted_out", OTHER_PERSON: "consent"}
    assert later_plan(world, "boulangerie")[PERSON] == "consent"


def test_a_shared_short_number_reaches_only_the_advertiser_that_messaged(
    world: Cli, engine: Engine
) -> None:
    messaged(world, engine, "cave-dupont")
    effects = record(engine, reply("Arrêt SVP"))
    assert effects[0].advertiser_ids == (ids(engine)["cave-dupont"],)
    assert suppressed(engine, "cave-dupont") == ["sms_stop"]
    assert suppressed(engine, "maison-lumiere") == []
    assert later_plan(world, "maison-lumiere")[PERSON] == "consent"
    assert later_plan(world, "cave-dupont")[PERSON] == "opted_out"


@pytest.mark.parametrize("state", ["queued", "cancelled"])
def test_when_unsure_a_stop_reaches_every_advertiser_of_that_short_number(
    world: Cli, engine: Engine, state: str
) -> None:
    """A queued or cancelled message never left: nobody messaged the person through 36111."""
    messaged(world, engine, "maison-lumiere", state=state)
    effects = record(engine, reply("stop"))
    both = {ids(engine)["maison-lumiere"], ids(engine)["cave-dupont"]}
    assert set(effects[0].advertiser_ids) == both
    for slug in ("maison-lumiere", "cave-dupont"):
        assert suppressed(engine, slug) == ["sms_stop"]
        assert [f["source"] for f in facts(engine, slug, "opt_out")] == ["sms_stop"]
    assert suppressed(engine, "boulangerie") == []


def test_a_stop_to_nobodys_short_number_reaches_every_advertiser_that_messaged(
    world: Cli, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    messaged(world, engine, "boulangerie")
    with caplog.at_level(logging.WARNING, logger="tambour.services.replies"):
        effects = record(engine, reply("STOP", short_number="38888"))
    assert effects[0].advertiser_ids == (ids(engine)["boulangerie"],)
    assert suppressed(engine, "boulangerie") == ["sms_stop"]
    assert suppressed(engine, "maison-lumiere") == suppressed(engine, "cave-dupont") == []
    warned = [r.getMessage() for r in caplog.records if r.name == "tambour.services.replies"]
    assert warned == ["1 replies to a short number that is no advertiser's STOP number"]


def test_a_stop_from_an_unknown_number_is_suppressed_without_evidence(
    world: Cli, engine: Engine, tmp_path: Path
) -> None:
    stranger = "+33677777777"
    effects = record(engine, reply("STOP", sender=stranger, short_number="36222"))
    assert effects[0].advertiser_ids == (ids(engine)["boulangerie"],)
    assert suppressed(engine, "boulangerie") == ["sms_stop"]
    assert facts(engine, "boulangerie", "opt_out", stranger) == []
    # Imported afterwards with an older consent, the number stays out.
    assert later_plan(world, "boulangerie")[PERSON] == "consent"
    newcomer = write_csv(
        tmp_path / "newcomer.csv",
        [
            {
                "phone": stranger,
                "consent": "oui",
                "consent_at": "2026-10-01",
                "consent_method": "web_form",
            }
        ],
    )
    world("contacts", "import", str(newcomer), "--advertiser", "boulangerie")
    assert later_plan(world, "boulangerie", "Encore")[stranger] == "opted_out"


def test_a_repeated_stop_is_recorded_once_and_confirmed_once(world: Cli, engine: Engine) -> None:
    messaged(world, engine, "maison-lumiere")
    first = record(engine, reply("STOP"), reply("stop"), confirm=True)
    again = record(engine, reply("STOP"), at=REPLY_AT + timedelta(minutes=2), confirm=True)
    assert [e.confirmation is not None for e in first + again] == [True, False, False]
    assert [e.advertiser_ids for e in first + again] == [(ids(engine)["maison-lumiere"],)] * 3
    assert len(facts(engine, "maison-lumiere", "opt_out")) == 1
    assert suppressed(engine, "maison-lumiere") == ["sms_stop"]
    stops = [d for action, _, d in reply_audit(engine) if action == "reply.stop"]
    assert [(d["count"], d["evidence_added"], d["already_opted_out"]) for d in stops] == [
        (2, 1, 0),
        (1, 0, 1),
    ]


def test_a_repeated_stop_of_an_unknown_number_changes_nothing(world: Cli, engine: Engine) -> None:
    stranger = reply("STOP", sender="+33677777777", short_number="36222")
    first = record(engine, stranger, confirm=True)
    again = record(engine, stranger, at=REPLY_AT + timedelta(hours=1), confirm=True)
    assert first[0].confirmation is not None and again[0].confirmation is None
    assert suppressed(engine, "boulangerie") == ["sms_stop"]


# --- START ----------------------------------------------------------------------------------


def test_start_after_stop_is_a_new_consent_the_next_plan_honours(
    world: Cli, engine: Engine
) -> None:
    messaged(world, engine, "maison-lumiere")
    record(engine, reply("STOP"))
    assert later_plan(world, "maison-lumiere", "Avant")[PERSON] == "opted_out"
    at = REPLY_AT + timedelta(hours=3)
    effects = record(engine, reply(" Start "), at=at)
    assert effects[0].advertiser_ids == (ids(engine)["maison-lumiere"],)
    assert effects[0].confirmation is None
    consents = facts(engine, "maison-lumiere", "consent_given")
    assert consents[-1] == {
        "channels": ["sms"], "method": "sms_keyword", "source": "SMS START",
        "wording": "START au 36111", "at": at,
    }  # fmt: skip
    # The suppression entry stays (the list only grows); the later consent outweighs it.
    assert suppressed(engine, "maison-lumiere") == ["sms_stop"]
    assert later_plan(world, "maison-lumiere", "Apres")[PERSON] == "consent"
    # A redelivered START adds nothing.
    record(engine, reply("START"), at=at + timedelta(minutes=1))
    assert len(facts(engine, "maison-lumiere", "consent_given")) == len(consents) == 2
    # And a STOP after it opts out again.
    record(engine, reply("STOP"), at=at + timedelta(hours=1))
    assert len(facts(engine, "maison-lumiere", "opt_out")) == 2
    assert later_plan(world, "maison-lumiere", "Encore")[PERSON] == "opted_out"


def test_start_never_lifts_a_33700_complaint(world: Cli, engine: Engine) -> None:
    messaged(world, engine, "maison-lumiere")
    ctx = Context(engine=engine, actor="test:alice", clock=lambda: REPLY_AT)
    optouts.add(ctx, slug="maison-lumiere", number=PERSON, source=OptOutSource.COMPLAINT_33700)
    record(engine, reply("STOP"), reply("START"), at=REPLY_AT + timedelta(hours=1))
    assert suppressed(engine, "maison-lumiere") == ["complaint_33700"]
    assert later_plan(world, "maison-lumiere")[PERSON] == "complaint_33700"


def test_a_start_followed_by_a_stop_in_one_batch_leaves_the_number_out(
    world: Cli, engine: Engine
) -> None:
    messaged(world, engine, "maison-lumiere")
    effects = record(engine, reply("START"), reply("STOP"))
    assert [e.advertiser_ids for e in effects] == [(), (ids(engine)["maison-lumiere"],)]
    assert len(facts(engine, "maison-lumiere", "consent_given")) == 1  # the imported one
    assert later_plan(world, "maison-lumiere")[PERSON] == "opted_out"


def test_a_stop_followed_by_a_start_in_one_batch_makes_the_number_sendable(
    world: Cli, engine: Engine
) -> None:
    messaged(world, engine, "maison-lumiere")
    effects = record(engine, reply("STOP"), reply("START"))
    assert [e.advertiser_ids for e in effects] == [(ids(engine)["maison-lumiere"],)] * 2
    assert later_plan(world, "maison-lumiere")[PERSON] == "consent"


def test_start_from_an_unknown_number_records_nothing_but_is_audited(
    world: Cli, engine: Engine
) -> None:
    effects = record(engine, reply("START", sender="+33677777777", short_number="36222"))
    assert effects[0].advertiser_ids == ()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(evidence).where(
            evidence.c.recorded_by == ACTOR)).scalar_one() == 0  # fmt: skip
    [(action, advertiser_id, details)] = reply_audit(engine)
    assert (action, advertiser_id) == ("reply.start", ids(engine)["boulangerie"])
    assert details["unknown_contacts"] == 1 and details.get("consents_added", 0) == 0


def test_start_is_not_given_to_a_guessed_advertiser(world: Cli, engine: Engine) -> None:
    """36111 is the STOP number of two advertisers, neither messaged the person: a consent is
    given to one advertiser, so none is recorded; a number nobody owns gets none either."""
    effects = record(engine, reply("START"), reply("START", short_number="38888"))
    assert [e.advertiser_ids for e in effects] == [(), ()]
    for slug in ADVERTISERS:
        assert len(facts(engine, slug, "consent_given")) == 1  # the imported one
    [(action, advertiser_id, details)] = reply_audit(engine)
    assert (action, advertiser_id) == ("reply.start", None)
    assert details["advertiser_uncertain"] == 2 and "phone_hashes" not in details


# --- other replies, audit, confirmation -----------------------------------------------------


def test_other_replies_and_senders_that_are_no_number_are_kept_and_audited_only(
    world: Cli, engine: Engine
) -> None:
    messaged(world, engine, "maison-lumiere")
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(evidence)).scalar_one()
    effects = record(
        engine,
        reply("Merci, à samedi"),
        reply("Qui êtes-vous ?"),
        reply("STOP", sender=None),
        reply("START", sender=None),
        confirm=True,
    )
    assert all(e.advertiser_ids == () and e.confirmation is None for e in effects)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(evidence)).scalar_one() == before
        assert conn.execute(select(func.count()).select_from(suppressions)).scalar_one() == 0
    audited = {
        (action, advertiser_id): details for action, advertiser_id, details in reply_audit(engine)
    }
    lumiere = ids(engine)["maison-lumiere"]
    assert set(audited) == {("reply.other", lumiere), ("reply.stop", None), ("reply.start", None)}
    assert audited[("reply.other", lumiere)]["count"] == 2
    assert len(audited[("reply.other", lumiere)]["phone_hashes"]) == 1
    assert audited[("reply.stop", None)] == {
        "count": 1,
        "not_a_phone": 1,
        "short_numbers": ["36111"],
        "reply_ids": [[3, 3]],
    }
    assert [(r["advertiser_id"], r["e164"], r["meaning"], r["status"]) for r in kept(engine)] == [
        (lumiere, PERSON, "other", "new"),
        (lumiere, PERSON, "other", "new"),
        (None, "Orange", "stop", "new"),  # applied to nobody: new, for the operator
        (None, "Orange", "start", "new"),
    ]


def test_the_audit_names_advertiser_hash_and_short_number_never_a_number_or_text(
    world: Cli, engine: Engine
) -> None:
    messaged(world, engine, "maison-lumiere")
    record(
        engine,
        reply("STOP pub Maison"),
        reply("STOP", sender=OTHER_PERSON),
        reply("je veux parler à quelqu'un", sender=OTHER_PERSON),
    )
    entries = reply_audit(engine)
    lumiere = ids(engine)["maison-lumiere"]
    assert [(a, i) for a, i, _ in entries] == [("reply.other", lumiere), ("reply.stop", lumiere)]
    stop = entries[1][2]
    assert stop["count"] == 2 and stop["evidence_added"] == 2 and stop["short_numbers"] == ["36111"]
    assert len(stop["phone_hashes"]) == 2 and all(len(h) == 16 for h in stop["phone_hashes"])
    text = json.dumps(entries)
    for secret in ("612345678", "698765432", "pub Maison", "parler"):
        assert secret not in text
    assert stop["reply_ids"] == [[1, 2]] and entries[0][2]["reply_ids"] == [[3, 3]]


def test_the_confirmation_comes_from_the_short_number_and_names_the_advertisers(
    world: Cli, engine: Engine
) -> None:
    messaged(world, engine, "maison-lumiere")
    [one] = record(engine, reply("STOP"), confirm=True)
    assert one.confirmation is not None
    assert (one.confirmation.sender, one.confirmation.recipient) == ("36111", PERSON)
    assert one.confirmation.reference == "stop-confirmation"
    assert one.confirmation.text == "Vous ne recevrez plus de SMS de Maison Lumière SAS."
    stranger = reply("STOP", sender="+33677777777")  # messaged by neither: both
    [both] = record(engine, stranger, confirm=True)
    assert both.confirmation is not None
    assert both.confirmation.text == (
        "Vous ne recevrez plus de SMS de Maison Lumière SAS et Cave Dupont SARL."
    )
    [quiet] = record(engine, reply("STOP", short_number="36222"))  # confirm not asked
    assert quiet.confirmation is None and quiet.advertiser_ids == (ids(engine)["boulangerie"],)


# --- every reply is kept ---------------------------------------------------------------------


def test_every_reply_is_kept_for_the_advertisers_it_concerns(world: Cli, engine: Engine) -> None:
    """One row per advertiser a reply was routed to (both owners of a shared short number when
    unsure), with its text, number, short number, meaning and status; a START whose advertiser
    cannot be told is kept without one."""
    messaged(world, engine, "maison-lumiere")
    lumiere, cave, boulangerie = (ids(engine)[s] for s in ADVERTISERS)
    stranger = "+33677777777"
    effects = record(
        engine,
        reply("Merci, à samedi ✨"),
        reply("Merci STOP"),
        reply("plus de sms svp", sender=stranger),  # messaged by neither owner of 36111: both
        reply("START", sender=stranger),  # which of the two: uncertain
        reply("Oui", sender=OTHER_PERSON, short_number="36222"),
        reply("START", sender=OTHER_PERSON, short_number="36222"),
    )
    rows = kept(engine)
    assert [
        (r["advertiser_id"], r["e164"], r["to_number"], r["text"], r["meaning"], r["status"])
        for r in rows
    ] == [
        (lumiere, PERSON, "36111", "Merci, à samedi ✨", "other", "new"),
        (lumiere, PERSON, "36111", "Merci STOP", "stop", "opted_out"),
        (lumiere, stranger, "36111", "plus de sms svp", "stop", "opted_out"),
        (cave, stranger, "36111", "plus de sms svp", "stop", "opted_out"),
        (None, stranger, "36111", "START", "start", "new"),
        (boulangerie, OTHER_PERSON, "36222", "Oui", "other", "new"),
        (boulangerie, OTHER_PERSON, "36222", "START", "start", "new"),
    ]
    assert [e.kept for e in effects] == [(1,), (2,), (3, 4), (5,), (6,), (7,)]
    assert all(r["received_at"] == REPLY_AT for r in rows)
    # A STOP's rows are handled by the worker that applied it; the others wait for a reader.
    assert [(r["handled_at"], r["handled_by"]) for r in rows if r["status"] == "opted_out"] == [
        (REPLY_AT, ACTOR)
    ] * 3
    assert all(r["handled_at"] is None for r in rows if r["status"] == "new")
    assert suppressed(engine, "cave-dupont") == ["sms_stop"]  # the refusal was applied too


def test_a_reply_delivered_again_is_kept_once(world: Cli, engine: Engine) -> None:
    """Carriers deliver a reply again when its acknowledgement was lost: the same text from the
    same number to the same short number within ten minutes is the same reply."""
    messaged(world, engine, "maison-lumiere")
    first = record(engine, reply("Vous livrez à Lyon ?"), reply("Vous livrez à Lyon ?"))
    again = record(engine, reply("Vous livrez à Lyon ?"), at=REPLY_AT + timedelta(minutes=9))
    other_text = record(engine, reply("Et à Lille ?"), at=REPLY_AT + timedelta(minutes=9))
    later = record(engine, reply("Vous livrez à Lyon ?"), at=REPLY_AT + timedelta(minutes=11))
    assert [e.kept for e in first + again + other_text + later] == [(1,), (), (), (2,), (3,)]
    assert [r["text"] for r in kept(engine)] == [
        "Vous livrez à Lyon ?", "Et à Lille ?", "Vous livrez à Lyon ?",
    ]  # fmt: skip


def test_a_stop_to_a_number_nobody_owns_from_someone_nobody_messaged_is_kept(
    world: Cli, engine: Engine
) -> None:
    record(engine, reply("STOP", sender="+33677777777", short_number="38888"))
    [row] = kept(engine)
    assert (row["advertiser_id"], row["meaning"], row["status"]) == (None, "stop", "new")


def test_a_text_postgresql_could_not_hold_is_kept_readable(world: Cli, engine: Engine) -> None:
    """A NUL (some carriers' padding) would make PostgreSQL refuse the row, and the reply come
    back for ever: it is kept as U+FFFD."""
    messaged(world, engine, "maison-lumiere")
    record(engine, Reply(PERSON, PERSON, "36111", "Merci\x00", classify_reply("Merci")))
    assert [r["text"] for r in kept(engine)] == ["Merci\ufffd"]
