"""Issue 4 through the command line, on SQLite and PostgreSQL: every basis and every reason of
rules.md section 3 reached by `contacts import`, `campaign create` and `campaign plan --json`,
send times across territories, holidays and daylight saving, the campaign-level blocks, launch,
cancel, status, determinism and tenant isolation.

The clock is fixed (TAMBOUR_NOW) so the plans do not depend on the day the tests run.
"""

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select, update

from tambour.cli import app
from tambour.services.planner import chunk_bounds
from tambour.store.tables import (
    advertisers,
    audit_log,
    campaigns,
    contacts,
    evidence,
    outbox,
    plan_rows,
)
from tests.integration.cli import Cli
from tests.integration.test_contacts import sample_file, write_csv

NOW = "2027-03-20T09:00:00+01:00"  # a week before the sample campaigns start
GOOD_FRIDAY = "2027-03-26T10:00"  # Paris time: a holiday in Alsace-Moselle and Guadeloupe
SEND_BY = "2027-03-27T18:00"
TEXT = (
    "Bonjour {first_name|}, c’est le printemps : -20% sur nos luminaires à "
    "{ville|votre boutique} jusqu'à samedi ! maisonlumiere.fr/printemps"
)


@pytest.fixture
def cli(db_url: str) -> Cli:
    runner = Cli(db_url)
    runner.env["TAMBOUR_NOW"] = NOW
    return runner


def create(
    cli: Cli, name: str, *extra: str, advertiser: str = "maison-lumiere", **opts: str
) -> Any:
    options = {
        "nature": "commercial", "sender": "MLUMIERE", "text": TEXT, "start": GOOD_FRIDAY,
        **opts,
    }  # fmt: skip
    args = [f"--{k.replace('_', '-')}={v}" for k, v in options.items()]
    return cli.blocked_or_not(
        "campaign", "create", "--advertiser", advertiser, "--name", name, *args, *extra, "--json"
    )


def plan(cli: Cli, name: str, *extra: str) -> dict[str, Any]:
    payload: dict[str, Any] = cli.blocked_or_not("campaign", "plan", name, "--json", *extra)
    return payload


def by_phone(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    rows = {row["phone"]: row for row in payload["rows"]}
    assert len(rows) == len(payload["rows"]), "one row a number"
    return rows


def code(row: dict[str, Any]) -> str:
    return str(row["basis"] if row["decision"] == "send" else row["reason"])


def count(engine: Engine, table, *where) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


@pytest.fixture
def ledger(cli: Cli, tmp_path: Path) -> Cli:
    """The sample advertiser with the bundled sample file and one satellite number."""
    cli.advertiser()
    cli("contacts", "import", str(sample_file(tmp_path)), "--advertiser", "maison-lumiere")
    extra = write_csv(
        tmp_path / "extra.csv",
        [{"phone": "+870 773 111 632", "consent": "oui", "consent_method": "web_form",
          "consent_at": "2026-10-01", "first_name": "Marin"}],
    )  # fmt: skip
    cli("contacts", "import", str(extra), "--advertiser", "maison-lumiere")
    return cli


# The sample file's scenarios (its last column) and what rules.md gives for them, with the
# send time in the recipient's own time for a commercial SMS starting on Good Friday 2027 at
# 10:00 in Paris, due by Saturday 18:00.
COMMERCIAL = {
    "+33612345601": ("consent", "2027-03-26T10:00:00+01:00"),  # web form
    # no postal code: Alsace-Moselle's Good Friday counts too; Strasbourg: it is a holiday
    "+33612345602": ("consent", "2027-03-27T08:00:00+01:00"),
    "+33612345603": ("consent", "2027-03-27T08:00:00+01:00"),
    "+33781223304": ("consent", "2027-03-26T10:00:00+01:00"),  # a professional who consented
    "+33612345605": ("existing_customer", "2027-03-26T10:00:00+01:00"),
    "+33612345606": ("b2b_legitimate_interest", "2027-03-26T10:00:00+01:00"),
    "+33612345607": ("b2b_legitimate_interest", "2027-03-26T10:00:00+01:00"),  # proof held
    "+590690123408": ("consent", "2027-03-27T08:00:00-04:00"),  # Guadeloupe: Good Friday
    "+262692123409": ("consent", "2027-03-26T13:00:00+04:00"),  # Réunion: afternoon
    "+262639401210": ("consent", "2027-03-26T12:00:00+03:00"),  # Mayotte
    "+687751211": ("consent", "2027-03-27T08:00:00+11:00"),  # Nouméa: 20:00, quiet hours
    "+68987123412": ("window_expired", None),  # Polynésie: Good Friday, then past Saturday 18:00
    "+596696123413": ("consent", "2027-03-26T08:00:00-04:00"),  # Martinique: 05:00 then
    "+33612345614": ("consent", "2027-03-26T10:00:00+01:00"),  # STOP then START: consent wins
    "+33142685316": ("not_mobile", None),
    "+33612345618": ("opted_out", None),
    "+33612345619": ("complaint_33700", None),
    "+33612345620": ("consent_prechecked_box", None),
    "+33612345621": ("consent_bundled_with_terms", None),
    "+33612345622": ("consent_other_advertiser", None),
    "+33612345623": ("consent_other_channel", None),
    "+33612345624": ("customer_account_only", None),
    "+33612345625": ("customer_product_not_similar", None),
    "+33612345626": ("not_informed_at_collection", None),
    "+33612345627": ("no_objection_means_at_collection", None),
    "+33781223328": ("third_party_not_informed", None),
    "+33781223329": ("b2b_not_relevant_to_profession", None),
    "+33612345630": ("no_legal_basis", None),
    "+33612345631": ("retention_expired", None),  # consent 2023, nothing since
    "+33612345632": ("retention_expired", None),  # last purchase 2023
    "+33612345633": ("no_legal_basis", None),  # informed volunteer: not for commercial
    "+33612345634": ("no_legal_basis", None),
    "+870773111632": ("invalid_number", None),  # a satellite mobile: no time zone, no window
    "+33612345635": ("consent_partner_unnamed", None),  # "nos partenaires", from a broker
    "+33612345636": ("consent_unproven", None),  # no method, no wording
    "+33612345637": ("customer_not_own_sale", None),  # bought on a marketplace
}
DEFERRED = {
    "+33612345602": "public_holiday",
    "+33612345603": "public_holiday",
    "+590690123408": "public_holiday",
    "+687751211": "quiet_hours",
    "+596696123413": "quiet_hours",
}


def test_every_basis_and_reason_of_a_commercial_campaign(ledger: Cli) -> None:
    create(
        ledger, "Printemps", send_by=SEND_BY, categories="luminaires",
        professions="architecture;Décoration intérieure",
    )  # fmt: skip
    payload = plan(ledger, "Printemps")
    rows = by_phone(payload)
    assert {phone: (code(r), r["send_at"]) for phone, r in rows.items()} == COMMERCIAL
    assert {p: r["deferral"] for p, r in rows.items() if r["deferral"]} == DEFERRED
    assert payload["blocks"] == [] and payload["campaign"]["status"] == "planned"
    summary = payload["summary"]
    assert (summary["targeted"], summary["send"], summary["exclude"]) == (36, 13, 23)
    assert summary["by_reason"]["no_legal_basis"] == 3
    assert summary["by_territory"]["guadeloupe"]["first_send_at"] == "2027-03-27T08:00:00-04:00"
    camille = rows["+33612345601"]
    assert camille["text"] == (
        "Bonjour Camille, c’est le printemps : -20% sur nos luminaires à Paris jusqu'à "
        "samedi ! maisonlumiere.fr/printemps STOP au 36111"
    )
    assert (camille["encoding"], camille["segments"]) == ("UCS-2", 2)  # ’ forces UCS-2
    assert rows["+33612345602"]["text"].startswith("Bonjour Lucas, c’est le printemps")
    assert "votre boutique" in rows["+33612345602"]["text"]  # {ville|votre boutique}
    excluded = rows["+33612345618"]
    assert excluded["text"] is None and excluded["send_at"] is None


def test_non_commercial_and_transactional_bases(ledger: Cli) -> None:
    create(ledger, "Collecte", nature="non_commercial",
           text="Maison Lumière collecte vos lampes usagées samedi en boutique.")  # fmt: skip
    rows = by_phone(plan(ledger, "Collecte"))
    assert code(rows["+33612345633"]) == "non_commercial"  # informed, could object
    assert code(rows["+33612345605"]) == "non_commercial"
    assert code(rows["+33612345634"]) == "not_informed_at_collection"
    assert code(rows["+33612345601"]) == "consent"
    assert rows["+33612345633"]["text"].endswith("samedi en boutique. STOP au 36111")

    create(ledger, "Commande", nature="transactional", transaction_field="commande",
           text="Bonjour {first_name|}, votre commande Maison Lumière est prête.")  # fmt: skip
    rows = by_phone(plan(ledger, "Commande"))
    assert code(rows["+33612345618"]) == "transactional"  # an opt-out does not stop an order
    assert code(rows["+33612345630"]) == "transactional"
    assert code(rows["+33612345619"]) == "complaint_33700"  # a spam report stops everything
    assert code(rows["+33612345620"]) == "no_transaction_reference"  # no order of hers
    assert code(rows["+33142685316"]) == "not_mobile"
    assert code(rows["+870773111632"]) == "invalid_number"
    # Not prospection: no window (Nouméa at 20:00 is served), no STOP mention.
    assert rows["+687751211"]["send_at"] == "2027-03-26T20:00:00+11:00"
    assert (
        rows["+33612345601"]["text"] == "Bonjour Camille, votre commande Maison Lumière est prête."
    )


def test_a_number_stored_twice_in_two_notations_is_a_duplicate(ledger: Cli, engine: Engine) -> None:
    """A ledger written by an older version kept `+330612345601` beside `+33612345601`: one
    E.164, so the later contact (by id) is a duplicate and gets no message."""
    with engine.begin() as conn:
        row = (
            conn.execute(select(contacts).where(contacts.c.e164 == "+33612345601")).one()._asdict()
        )
        conn.execute(
            insert(contacts).values({**row, "id": row["id"] + 1000, "e164": "+330612345601"})
        )
    create(ledger, "Printemps", categories="luminaires")
    payload = plan(ledger, "Printemps")
    found = [r for r in payload["rows"] if r["phone"] == "+33612345601"]
    assert [code(r) for r in found] == ["consent", "duplicate"]
    assert payload["summary"]["by_reason"]["duplicate"] == 1


def test_a_number_stored_in_another_notation_is_still_found_in_the_suppression_list(
    ledger: Cli, engine: Engine
) -> None:
    """An opt-out is kept as the hash of the E.164: a contact an older ledger stored as
    `+330612345699` is looked up as +33612345699, and is not messaged."""
    with engine.begin() as conn:
        row = (
            conn.execute(select(contacts).where(contacts.c.e164 == "+33612345601")).one()._asdict()
        )
        conn.execute(insert(contacts).values({**row, "id": 5000, "e164": "+330612345699"}))
        facts = conn.execute(select(evidence).where(evidence.c.contact_id == row["id"])).all()
        conn.execute(
            insert(evidence),
            [{**f._asdict(), "id": 5000 + i, "contact_id": 5000} for i, f in enumerate(facts)],
        )
    create(ledger, "Printemps", categories="luminaires")
    assert code(by_phone(plan(ledger, "Printemps"))["+33612345699"]) == "consent"
    ledger("optout", "add", "06 12 34 56 99", "--advertiser", "maison-lumiere", "--source",
           "sms_stop")  # fmt: skip
    assert code(by_phone(plan(ledger, "Printemps"))["+33612345699"]) == "opted_out"


# --- send times: daylight saving, holidays of each territory --------------------------------


@pytest.fixture
def recipients(cli: Cli, tmp_path: Path) -> Cli:
    """One consenting person per territory, facts dated well before the campaigns."""
    cli.advertiser()
    people = [
        ("06 12 34 56 01", "75011"), ("06 12 34 56 03", "67000"), ("0690 12 34 08", "97110"),
        ("0692 12 34 09", "97400"), ("0639 40 12 10", "97600"), ("+687 75 12 11", "98800"),
        ("+689 87 12 34 12", "98714"), ("0696 12 34 13", "97200"), ("0694 12 34 56", "97300"),
    ]  # fmt: skip
    path = write_csv(
        tmp_path / "territories.csv",
        [{"phone": phone, "postal_code": postal, "consent": "oui", "consent_at": "2026-06-01",
          "consent_method": "web_form", "first_name": "Alex"} for phone, postal in people],
    )  # fmt: skip
    cli("contacts", "import", str(path), "--advertiser", "maison-lumiere")
    return cli


def send_times(cli: Cli, name: str) -> dict[str, tuple[str | None, str | None]]:
    return {p: (r["send_at"], r["deferral"]) for p, r in by_phone(plan(cli, name)).items()}


def test_send_times_across_the_autumn_change_of_time(recipients: Cli) -> None:
    """Saturday 24 October 2026, 20:30 in Paris (summer time): Paris waits for Monday 08:00,
    which is winter time (+01:00); Guadeloupe is at 14:30 and Polynésie in the morning."""
    recipients.env["TAMBOUR_NOW"] = "2026-10-20T09:00:00+02:00"
    create(recipients, "Automne", start="2026-10-24T20:30")
    assert send_times(recipients, "Automne") == {
        "+33612345601": ("2026-10-26T08:00:00+01:00", "quiet_hours"),
        "+33612345603": ("2026-10-26T08:00:00+01:00", "quiet_hours"),
        "+590690123408": ("2026-10-24T14:30:00-04:00", None),
        "+262692123409": ("2026-10-26T08:00:00+04:00", "quiet_hours"),  # 22:30 Saturday there
        "+262639401210": ("2026-10-26T08:00:00+03:00", "quiet_hours"),
        "+687751211": ("2026-10-26T08:00:00+11:00", "sunday"),  # already Sunday 05:30 there
        # 08:30 in Tahiti, 09:00 in the Marquesas, 09:30 in the Gambier: open in all three
        "+68987123412": ("2026-10-24T08:30:00-10:00", None),
        "+596696123413": ("2026-10-24T14:30:00-04:00", None),
        "+594694123456": ("2026-10-24T15:30:00-03:00", None),
    }


def test_send_times_across_the_spring_change_and_easter_monday(recipients: Cli) -> None:
    """Saturday 27 March 2027, 20:30 in Paris (winter time): Sunday is closed, clocks go
    forward that night and Monday is Easter Monday, so Paris gets Tuesday 08:00 (+02:00)."""
    create(recipients, "Pâques", start="2027-03-27T20:30")
    times = send_times(recipients, "Pâques")
    assert times["+33612345601"] == ("2027-03-30T08:00:00+02:00", "quiet_hours")
    assert times["+33612345603"] == ("2027-03-30T08:00:00+02:00", "quiet_hours")
    assert times["+262692123409"] == ("2027-03-30T08:00:00+04:00", "quiet_hours")
    assert times["+590690123408"] == ("2027-03-27T15:30:00-04:00", None)


@pytest.mark.parametrize(
    ("start", "phone", "expected"),
    [
        ("2027-04-27T10:00", "+262639401210", "2027-04-28T08:00:00+03:00"),  # Mayotte, 27 April
        ("2027-05-22T10:00", "+596696123413", "2027-05-24T08:00:00-04:00"),  # Martinique, 22 May
        ("2027-06-10T10:00", "+594694123456", "2027-06-11T08:00:00-03:00"),  # Guyane, 10 June
        ("2027-12-20T10:00", "+262692123409", "2027-12-21T08:00:00+04:00"),  # Réunion, 20 Dec.
        # 27 May in Guadeloupe; its postal code (97110) sets Saint-Martin's 28 May aside
        ("2027-05-27T10:00", "+590690123408", "2027-05-28T08:00:00-04:00"),
    ],
)
def test_holidays_of_each_overseas_territory(
    recipients: Cli, start: str, phone: str, expected: str
) -> None:
    create(recipients, "Fête", start=start)
    assert send_times(recipients, "Fête")[phone] == (expected, "public_holiday")


# --- campaign-level blocks ------------------------------------------------------------------


def test_a_placeholder_without_value_blocks_and_launch_says_what_to_change(ledger: Cli) -> None:
    create(ledger, "Prénoms", text="Bonjour {prenom}, nos luminaires -20% !",
           categories="luminaires")  # fmt: skip
    payload = plan(ledger, "Prénoms")
    assert payload["blocks"] == ["unresolved_placeholder"]
    (detail,) = payload["block_details"]
    sends = payload["summary"]["send"]
    assert sends > 10 and f"{{prenom}} has no value for {sends} recipient(s)" in detail["message"]
    refused = ledger("campaign", "launch", "Prénoms", ok=False)
    assert refused.code == 2 and "unresolved_placeholder" in refused.err
    assert "{prenom|...}" in refused.err
    # A default resolves it: every recipient gets a message.
    create(ledger, "Prénoms 2", text="Bonjour {prenom|cher client}, nos luminaires -20% !",
           categories="luminaires")  # fmt: skip
    rows = by_phone(plan(ledger, "Prénoms 2"))
    assert rows["+33612345601"]["text"].startswith("Bonjour cher client,")


@pytest.mark.parametrize(
    ("options", "blocks"),
    [
        ({"text": "{ville|}"}, ["empty_message"]),  # empty for a contact with no town
        ({"text": "Maison Lumière : -20% ! STOP au 36112"}, ["missing_stop_mention"]),
        ({"sender": "36111", "text": "-20% sur les lampes !"}, ["missing_advertiser_identity"]),
        ({"text": "Soldes {ville"}, ["unresolved_placeholder"]),
    ],
)
def test_campaign_level_blocks(ledger: Cli, options: dict[str, str], blocks: list[str]) -> None:
    created = create(ledger, "Bloquée", **options)
    payload = plan(ledger, "Bloquée")
    assert payload["blocks"] == blocks
    if blocks != ["empty_message"]:  # the content check says so at creation already
        assert [b["code"] for b in created["blocks"]] == blocks
    assert ledger("campaign", "launch", "Bloquée", ok=False).code == 2


# --- definition errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"advertiser": "inconnu"}, "--advertiser: no advertiser 'inconnu'"),
        ({"sender": "AUTRE"}, "--sender: 'AUTRE' is not a sender ID of maison-lumiere"),
        ({"nature": "promo"}, "--nature: 'promo' is not one of commercial"),
        ({"channel": "mms"}, "--channel: mms campaigns are not supported yet"),
        ({"channel": "pigeon"}, "--channel: 'pigeon' is not one of sms"),
        ({"start": "32/03/2027"}, "--start: '32/03/2027' is not a date and time"),
        ({"send_by": "demain"}, "--send-by: 'demain' is not a date and time"),
        ({"start": "2027-03-26T10:00", "send_by": "26/03/2027 09:00"}, "is not after the start"),
        ({"send_by": "2027-03-25T10:00"}, "--send-by: 2027-03-25T10:00:00+01:00 is not after"),
        ({"send_by": "2027-03-01T10:00"}, "--send-by: 2027-03-01T10:00:00+01:00 is already past"),
        ({"text": "   "}, "--text: the message is empty"),
        ({"name": "  "}, "--name: a campaign needs a name"),
    ],
)
def test_bad_definitions_are_refused_naming_the_option(
    ledger: Cli, change: dict[str, str], message: str
) -> None:
    options = {"advertiser": "maison-lumiere", "name": "X", "nature": "commercial",
               "sender": "MLUMIERE", "text": "Maison Lumière -20%", "start": GOOD_FRIDAY,
               **change}  # fmt: skip
    args = [f"--{k.replace('_', '-')}={v}" for k, v in options.items()]
    result = ledger("campaign", "create", *args, ok=False)
    assert result.code == 2 and message in result.err, result.err
    assert "Traceback" not in result.err + result.out
    assert ledger("campaign", "list", "--json").json() == []


def test_names_are_unique_per_advertiser(ledger: Cli) -> None:
    create(ledger, "Printemps")
    again = ledger(
        "campaign", "create", "--advertiser", "maison-lumiere", "--name", "Printemps",
        "--nature", "commercial", "--sender", "MLUMIERE", "--text", "x", ok=False,
    )  # fmt: skip
    assert again.code == 2 and "has a campaign 'Printemps' already" in again.err
    missing = ledger("campaign", "plan", "Automne", ok=False)
    assert missing.code == 2 and "no campaign 'Automne'" in missing.err


# --- launch, cancel, status -----------------------------------------------------------------


def test_launch_freezes_the_plan_and_queues_one_message_per_send(
    ledger: Cli, engine: Engine, tmp_path: Path
) -> None:
    create(ledger, "Printemps", send_by=SEND_BY, categories="luminaires",
           professions="architecture")  # fmt: skip
    refused = ledger("campaign", "launch", "Printemps", ok=False)
    assert refused.code == 2 and "has no plan yet" in refused.err
    rows = by_phone(plan(ledger, "Printemps"))
    sends = {p for p, r in rows.items() if r["decision"] == "send"}
    launched = ledger("campaign", "launch", "Printemps", "--json").json()
    assert launched["queued"] == len(sends) == 12
    with engine.connect() as conn:
        queued = conn.execute(
            select(
                outbox.c.e164, outbox.c.state, outbox.c.parts, outbox.c.sender, outbox.c.text,
                outbox.c.send_at, outbox.c.send_by, outbox.c.attempts,
            )
        ).all()  # fmt: skip
    assert {q.e164 for q in queued} == sends
    assert {(q.state, q.sender, q.attempts) for q in queued} == {("queued", "MLUMIERE", 0)}
    camille = next(q for q in queued if q.e164 == "+33612345601")
    assert camille.text == rows["+33612345601"]["text"] and camille.parts == 2
    # Due at its own send time: Saturday 08:00 in Guadeloupe (held by Good Friday there).
    guadeloupe = next(q for q in queued if q.e164 == "+590690123408")
    assert guadeloupe.send_at == datetime(2027, 3, 27, 12, 0, tzinfo=UTC)
    assert guadeloupe.send_by == datetime(2027, 3, 27, 17, 0, tzinfo=UTC)

    status = ledger("campaign", "status", "Printemps", "--json").json()
    assert status["status"] == "launched" and status["messages"]["queued"] == 12
    assert status["plan"]["send"] == 12
    again = ledger("campaign", "launch", "Printemps", ok=False)
    assert again.code == 2 and "cannot be again" in again.err
    frozen = ledger("campaign", "plan", "Printemps", ok=False)
    assert frozen.code == 2 and "its plan is frozen" in frozen.err
    # The audience cannot grow after launch: a newcomer who consented gets nothing.
    newcomer = write_csv(
        tmp_path / "new.csv",
        [
            {
                "phone": "06 11 11 11 11",
                "consent": "oui",
                "consent_method": "web_form",
                "consent_at": "2027-03-01",
            }
        ],
    )
    ledger("contacts", "import", str(newcomer), "--advertiser", "maison-lumiere")
    assert ledger("campaign", "status", "Printemps", "--json").json()["messages"]["queued"] == 12
    assert count(engine, outbox, outbox.c.e164 == "+33611111111") == 0

    cancelled = ledger("campaign", "cancel", "Printemps", "--json").json()
    assert cancelled["withdrawn"] == 12
    status = ledger("campaign", "status", "Printemps", "--json").json()
    assert status["status"] == "cancelled" and status["messages"]["cancelled"] == 12
    assert status["messages"]["queued"] == 0
    listed = ledger("campaign", "list", "--json").json()
    assert [(c["name"], c["status"]) for c in listed] == [("Printemps", "cancelled")]


def test_launch_refuses_a_plan_whose_recipients_changed_since(
    ledger: Cli, engine: Engine, tmp_path: Path
) -> None:
    create(ledger, "Printemps", categories="luminaires")
    plan(ledger, "Printemps")
    withdrawn = write_csv(
        tmp_path / "retrait.csv",
        [{"phone": "06 12 34 56 01", "consent": "non", "consent_at": "2027-03-19"}],
    )
    ledger("contacts", "import", str(withdrawn), "--advertiser", "maison-lumiere")
    refused = ledger("campaign", "launch", "Printemps", ok=False)
    assert refused.code == 2 and "1 recipient(s)" in refused.err and "plan" in refused.err
    rows = by_phone(plan(ledger, "Printemps"))  # planned again: the withdrawal counts
    assert code(rows["+33612345601"]) == "opted_out"
    ledger("campaign", "launch", "Printemps")
    assert count(engine, outbox, outbox.c.e164 == "+33612345601") == 0


def test_an_expired_deadline_or_a_late_launch_is_refused(ledger: Cli) -> None:
    create(ledger, "Flash", start="2027-03-20T10:00", send_by="2027-03-20T12:00")
    plan(ledger, "Flash")
    ledger.env["TAMBOUR_NOW"] = "2027-03-20T12:30:00+01:00"
    late = ledger("campaign", "launch", "Flash", ok=False)
    assert late.code == 2 and "had to be sent by" in late.err


# --- determinism, one plan, workers ---------------------------------------------------------


def test_planning_twice_gives_the_same_plan_and_leaves_one(ledger: Cli, engine: Engine) -> None:
    create(ledger, "Printemps", send_by=SEND_BY, categories="luminaires")
    first = plan(ledger, "Printemps")
    second = plan(ledger, "Printemps")
    assert first["rows"] == second["rows"] and first["summary"] == second["summary"]
    with engine.connect() as conn:
        campaign_id = conn.execute(select(campaigns.c.id)).scalar_one()
        generations = (
            conn.execute(
                select(plan_rows.c.generation)
                .where(plan_rows.c.campaign_id == campaign_id)
                .distinct()
            )
            .scalars()
            .all()
        )
    assert generations == [2]
    assert count(engine, plan_rows) == first["summary"]["targeted"] == 36


def test_tags_choose_the_audience(ledger: Cli) -> None:
    create(ledger, "Clients", "--tags", "Clients;PRO", categories="luminaires")
    rows = by_phone(plan(ledger, "Clients"))
    assert set(rows) == {
        "+33612345605", "+33612345625", "+33612345626", "+33612345627", "+33612345632",
        "+33781223304", "+33612345606", "+33612345607", "+33781223328", "+33781223329",
        "+33612345637",
    }  # fmt: skip


def test_worker_processes_plan_exactly_what_one_process_does(
    cli: Cli, tmp_path: Path, engine: Engine
) -> None:
    """12,000 contacts (three chunks): planned here and by two worker processes, the same."""
    cli.advertiser()
    postal = ("75011", "67000", "97200", "", "98714")
    rows = [
        {"phone": f"06{i:08d}", "postal_code": postal[i % 5], "first_name": f"N{i % 97}",
         "consent": "oui" if i % 3 else "", "consent_method": "web_form",
         "consent_at": "2026-09-01" if i % 3 else "",
         "collected_at": "2026-01-05", "informed_at_collection": "oui" if i % 4 else "non",
         "objection_offered_at_collection": "oui", "opted_out": "oui" if i % 50 == 0 else ""}
        for i in range(12_000)
    ]  # fmt: skip
    path = write_csv(tmp_path / "many.csv", rows)
    cli("contacts", "import", str(path), "--advertiser", "maison-lumiere", "--workers", "0")
    create(cli, "Masse", nature="non_commercial",
           text="Bonjour {first_name}, Maison Lumière collecte vos lampes.")  # fmt: skip
    here = plan(cli, "Masse", "--workers", "0")
    beside = plan(cli, "Masse", "--workers", "2")
    assert here["rows"] == beside["rows"] and here["summary"] == beside["summary"]
    assert here["summary"]["targeted"] == 12_000
    assert set(here["summary"]["by_basis"]) == {"consent", "non_commercial"}
    assert here["summary"]["by_reason"] == {"not_informed_at_collection": 960, "opted_out": 240}
    assert here["summary"]["by_basis"] == {"consent": 7840, "non_commercial": 2960}
    assert count(engine, plan_rows) == 12_000


# --- report, CSV, audit, tenants ------------------------------------------------------------


def test_the_report_and_the_csv(ledger: Cli, tmp_path: Path) -> None:
    create(ledger, "Printemps", send_by=SEND_BY, categories="luminaires",
           professions="architecture")  # fmt: skip
    target = tmp_path / "plan.csv"
    report = ledger("campaign", "plan", "Printemps", "--csv", str(target)).out
    for expected in (
        "36 contact(s) targeted", "consent_prechecked_box", "guadeloupe",
        "2027-03-27T08:00:00-04:00", "'’' (U+2019) forces UCS-2 in 12 message(s)",
        "24 message part(s)", "1 part(s) instead of 2", "Samples", "No block.",
        "Bonjour {first_name|}, c'est le printemps",
    ):  # fmt: skip
        assert expected in report, expected
    lines = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert len(lines) == 36 and lines[0].keys() >= {"phone", "decision", "reason", "text"}
    missing = ledger("campaign", "plan", "Printemps", "--csv", "/nonexistent/p.csv", ok=False)
    assert missing.code == 2 and "--csv" in missing.err


def test_every_campaign_action_is_audited_without_phone_numbers(
    ledger: Cli, engine: Engine
) -> None:
    create(ledger, "Printemps", categories="luminaires")
    plan(ledger, "Printemps")
    ledger("campaign", "launch", "Printemps")
    ledger("campaign", "cancel", "Printemps")
    with engine.connect() as conn:
        actions = conn.execute(select(audit_log.c.action).order_by(audit_log.c.seq)).scalars()
        assert [a for a in actions if a.startswith("campaign.")] == [
            "campaign.create", "campaign.plan", "campaign.launch", "campaign.cancel",
        ]  # fmt: skip
        details = " ".join(conn.execute(select(audit_log.c.details)).scalars())
    assert "+336" not in details and "0612" not in details
    assert ledger("audit", "verify").code == 0


def test_advertisers_never_see_each_others_campaigns(ledger: Cli, tmp_path: Path) -> None:
    ledger("advertiser", "create", "lampadaire", "--name", "Lampadaire SARL", "--sender",
           "LAMPA", "--stop-number", "36222")  # fmt: skip
    theirs = write_csv(tmp_path / "b.csv", [{"phone": "06 99 99 99 99", "consent": "oui",
                                             "consent_at": "2026-10-01"}])  # fmt: skip
    ledger("contacts", "import", str(theirs), "--advertiser", "lampadaire")
    create(ledger, "Printemps", categories="luminaires")
    # B cannot see, plan, launch or cancel A's campaign.
    for command in ("plan", "launch", "cancel", "status"):
        refused = ledger("campaign", command, "Printemps", "--advertiser", "lampadaire", ok=False)
        assert refused.code == 2 and "lampadaire has no campaign 'Printemps'" in refused.err
    assert ledger("campaign", "list", "--advertiser", "lampadaire", "--json").json() == []
    # A's plan holds A's contacts only; B's same-named campaign holds B's only.
    assert "+33699999999" not in by_phone(plan(ledger, "Printemps"))
    create(ledger, "Printemps", advertiser="lampadaire", sender="LAMPA",
           text="Lampadaire : -10% !")  # fmt: skip
    ambiguous = ledger("campaign", "plan", "Printemps", ok=False)
    assert ambiguous.code == 2 and "--advertiser" in ambiguous.err
    b_rows = by_phone(plan(ledger, "Printemps", "--advertiser", "lampadaire"))
    assert list(b_rows) == ["+33699999999"]
    # A campaign cannot use another advertiser's sender either.
    stolen = ledger("campaign", "create", "--advertiser", "lampadaire", "--name", "X", "--nature",
                    "commercial", "--sender", "MLUMIERE", "--text", "x", ok=False)  # fmt: skip
    assert stolen.code == 2 and "not a sender ID of lampadaire" in stolen.err


def test_cancel_before_launch_and_nothing_after(ledger: Cli, engine: Engine) -> None:
    create(ledger, "Brouillon")
    ledger("campaign", "cancel", "Brouillon")
    assert ledger("campaign", "plan", "Brouillon", ok=False).code == 2
    assert ledger("campaign", "launch", "Brouillon", ok=False).code == 2
    assert ledger("campaign", "cancel", "Brouillon", ok=False).code == 2
    with engine.begin() as conn:  # the plan of a cancelled campaign can never come back
        conn.execute(update(campaigns).values(status="planned"))
    assert count(engine, outbox) == 0


def test_chunks_cover_every_live_contact_once_dense_or_interleaved(engine: Engine) -> None:
    """Contact ids of one advertiser are dense after an import, interleaved with another's
    when both import at once: both ways, each live contact is in exactly one chunk."""
    with engine.begin() as conn:
        ids = {}
        for slug in ("a", "b"):
            ids[slug] = conn.execute(
                insert(advertisers).returning(advertisers.c.id),
                {"slug": slug, "name": slug, "stop_number": "36111", "categories": [],
                 "hash_key": b"k" * 32, "created_at": datetime(2026, 1, 1, tzinfo=UTC)},
            ).scalar_one()  # fmt: skip
        owner = [ids["a"]] * 40 + [ids["a"], ids["b"], ids["b"], ids["b"]] * 30
        conn.execute(
            insert(contacts),
            [{"id": i, "advertiser_id": a, "e164": None if i % 17 == 0 else f"+3361234{i:04d}",
              "kind": "person", "profile": {}, "profile_hash": b"h" * 16,
              "created_at": datetime(2026, 1, 1, tzinfo=UTC),
              "updated_at": datetime(2026, 1, 1, tzinfo=UTC)}
             for i, a in enumerate(owner, start=1)],
        )  # fmt: skip
        for slug, size in (("a", 7), ("b", 7), ("a", 1000)):
            live = {i for i, a in enumerate(owner, start=1) if a == ids[slug] and i % 17}
            bounds = chunk_bounds(conn, ids[slug], size)
            covered = [{i for i in live if lo <= i < hi} for lo, hi in bounds]
            assert sorted(i for chunk in covered for i in chunk) == sorted(live)
            assert all(len(chunk) <= size for chunk in covered)
        assert chunk_bounds(conn, 999, 7) == []


def test_the_demo_builds_a_ledger_and_prints_the_plan(tmp_path: Path) -> None:
    """`make demo`: a fresh SQLite ledger, the sample file, a campaign, its plan and report."""
    database = tmp_path / "demo.db"
    runner = Cli(f"sqlite:///{tmp_path / 'unused.db'}")
    for _ in range(2):  # recreated at each run
        out = runner("demo", "--database", str(database)).out
        assert "imported 37 rows of the bundled sample file: 35 contacts" in out
        assert "35 contact(s) targeted" in out and "No block." in out
        assert "consent_prechecked_box" in out and "2027-03-27T08:00:00-04:00" in out
    assert (tmp_path / "demo.rejects.csv").exists()


def test_the_text_can_come_from_stdin(ledger: Cli) -> None:
    args = ["campaign", "create", "--advertiser", "maison-lumiere", "--name", "Lettre",
            "--nature", "commercial", "--sender", "MLUMIERE", "--text", "-", "--json"]  # fmt: skip
    done = ledger.runner.invoke(app, args, input="Maison Lumière : -20% !\n", env=ledger.env)
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["campaign"]["text"] == "Maison Lumière : -20% !"


def test_an_advertiser_narrowed_window_is_kept(recipients: Cli, engine: Engine) -> None:
    """The window is data: an advertiser sending Monday to Friday, 09:00 to 18:00, has its
    Saturday campaign held until Monday 09:00; a stored window wider than the law is refused."""
    recipients.env["TAMBOUR_NOW"] = "2026-10-20T09:00:00+02:00"
    with engine.begin() as conn:
        conn.execute(
            update(advertisers).values(window={"days": [0, 1, 2, 3, 4], "start": "09:00",
                                               "end": "18:00"})
        )  # fmt: skip
    create(recipients, "Semaine", start="2026-10-24T10:00")
    times = send_times(recipients, "Semaine")
    assert times["+33612345601"] == ("2026-10-26T09:00:00+01:00", "quiet_hours")
    assert times["+262692123409"] == ("2026-10-26T09:00:00+04:00", "quiet_hours")
    with engine.begin() as conn:
        conn.execute(update(advertisers).values(window={"start": "07:00", "end": "22:00"}))
    refused = recipients("campaign", "plan", "Semaine", ok=False)
    assert refused.code == 2 and "wider than the law" in refused.err
