"""Issue 12 through the command line, on SQLite and PostgreSQL: a message's nature checked, the
order of two facts, whom a consent was given to, plans that are proof only while fresh, values
that cannot smuggle anything into a message, and the ledger rows covered by `audit verify`.

The clock is fixed (TAMBOUR_NOW) so the plans do not depend on the day the tests run.
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, insert, select, text, update

from tambour.store.tables import campaigns, evidence, plan_rows, suppressions
from tests.integration.cli import Cli
from tests.integration.test_contacts import write_csv

NOW = "2026-12-07T09:00:00+01:00"  # a Monday
START = "2026-12-08T10:00"
ORDER_TEXT = "Bonjour {first_name|}, votre commande {commande} Maison Lumière est prête."
PROMO_TEXT = "SOLDES -50% sur tout le magasin avec le code PROMO50 ! Maison Lumière"


@pytest.fixture
def cli(db_url: str) -> Cli:
    runner = Cli(db_url)
    runner.env["TAMBOUR_NOW"] = NOW
    runner.advertiser()
    return runner


def contact(phone: str, **cells: str) -> dict[str, str]:
    base = {
        "phone": phone, "consent": "oui", "consent_at": "2026-10-01T12:00", "consent_method":
        "web_form", "collected_at": "2026-10-01", "informed_at_collection": "oui",
        "objection_offered_at_collection": "oui",
    }  # fmt: skip
    return {**base, **cells}


def imported(cli: Cli, tmp_path: Path, rows: list[dict[str, str]], name: str = "c.csv") -> None:
    cli("contacts", "import", str(write_csv(tmp_path / name, rows)), "--advertiser",
        "maison-lumiere")  # fmt: skip


def create(cli: Cli, name: str, *, ok: bool = True, **opts: str) -> Any:
    options = {"nature": "commercial", "sender": "MLUMIERE", "start": START, **opts}
    args = [f"--{k.replace('_', '-')}={v}" for k, v in options.items()]
    command = ("campaign", "create", "--advertiser", "maison-lumiere", "--name", name, *args,
               "--json")  # fmt: skip
    return cli.blocked_or_not(*command) if ok else cli(*command, ok=False)


def planned(cli: Cli, name: str) -> dict[str, Any]:
    payload: dict[str, Any] = cli.blocked_or_not("campaign", "plan", name, "--json")
    return payload


def codes(payload: dict[str, Any]) -> dict[str, str]:
    return {
        row["phone"]: row["basis"] if row["decision"] == "send" else row["reason"]
        for row in payload["rows"]
    }


def block_codes(payload: dict[str, Any]) -> set[str]:
    return set(payload["blocks"])


# --- point 1: the nature is checked, not trusted ------------------------------------------


def test_a_promotion_declared_transactional_is_blocked_and_cannot_launch(
    cli: Cli, tmp_path: Path
) -> None:
    imported(cli, tmp_path, [contact("0612345601", commande="CMD-1")])
    made = create(cli, "Soldes", nature="transactional", text=PROMO_TEXT,
                  transaction_field="commande")  # fmt: skip
    assert "promotional_content" in {b["code"] for b in made["blocks"]}
    assert "promotional_content" in block_codes(planned(cli, "Soldes"))
    refused = cli("campaign", "launch", "Soldes", ok=False)
    assert refused.code != 0 and "promotional_content" in refused.err


def test_a_transactional_message_answers_the_recipients_own_transaction(
    cli: Cli, tmp_path: Path
) -> None:
    imported(
        cli, tmp_path,
        [contact("0612345601", commande="CMD-1"), contact("0612345602"),
         contact("0612345603", commande="CMD-3"), contact("0612345604", commande="CMD-4")],
    )  # fmt: skip
    cli("optout", "add", "0612345603", "--advertiser", "maison-lumiere", "--source", "sms_stop")
    cli("optout", "add", "0612345604", "--advertiser", "maison-lumiere",
        "--source", "complaint_33700")  # fmt: skip
    create(cli, "Commande", nature="transactional", text=ORDER_TEXT, transaction_field="commande")
    payload = planned(cli, "Commande")
    assert codes(payload) == {
        "+33612345601": "transactional",
        "+33612345602": "no_transaction_reference",
        "+33612345603": "transactional",  # a marketing STOP does not refuse one's own order
        "+33612345604": "complaint_33700",
    }
    assert block_codes(payload) == set()
    texts = {r["phone"]: r["text"] for r in payload["rows"] if r["text"]}
    assert "CMD-1" in texts["+33612345601"] and "STOP" not in texts["+33612345601"]


def test_a_transactional_campaign_must_name_its_transaction_field(cli: Cli) -> None:
    refused = create(cli, "Sans", ok=False, nature="transactional", text=ORDER_TEXT)
    assert refused.code == 2 and "--transaction-field" in refused.err


def test_non_commercial_is_only_for_an_advertiser_recorded_as_such(
    cli: Cli, tmp_path: Path
) -> None:
    imported(cli, tmp_path, [contact("0612345601")])
    made = create(cli, "Collecte", nature="non_commercial",
                  text="Maison Lumière collecte vos lampes usagées samedi.")  # fmt: skip
    assert "non_commercial_unrecorded" in {b["code"] for b in made["blocks"]}


# --- point 2: when the order of two facts cannot be told, the opt-out wins ----------------


def test_a_consent_and_an_opt_out_of_one_day_exclude(cli: Cli, tmp_path: Path) -> None:
    imported(
        cli, tmp_path,
        [contact("0612345601", consent_at="2026-10-01", opted_out="oui",
                 opted_out_at="2026-10-01T18:00", opt_out_source="sms_stop"),
         contact("0612345602", consent_at="2026-10-01T18:00", opted_out="oui",
                 opted_out_at="2026-10-01", opt_out_source="sms_stop"),
         contact("0612345603", consent_at="2026-10-02T18:00", opted_out="oui",
                 opted_out_at="2026-10-01", opt_out_source="sms_stop")],
    )  # fmt: skip
    create(cli, "Promo", text="-20% sur nos luminaires", categories="luminaires")
    assert codes(planned(cli, "Promo")) == {
        "+33612345601": "opted_out",
        "+33612345602": "opted_out",
        "+33612345603": "consent",  # the next day: the order is known
    }


# --- point 3: consent is given to someone -------------------------------------------------


def test_whom_a_consent_was_given_to(cli: Cli, tmp_path: Path) -> None:
    broker = {"collected_by": "MegaFichiers", "third_party_information_proof": "contrat-2026"}
    imported(
        cli, tmp_path,
        [contact("0612345601", consent_advertiser="nos partenaires", **broker),
         contact("0612345602", **broker),
         contact("0612345603", consent_advertiser="Maison Lumière", **broker),
         contact("0612345604", consent_method="", consent_wording=""),
         contact("0612345605", consent="", last_purchase_at="2026-09-01",
                 purchased_categories="luminaires", **broker)],
    )  # fmt: skip
    create(cli, "Promo", text="-20% sur nos luminaires", categories="luminaires")
    assert codes(planned(cli, "Promo")) == {
        "+33612345601": "consent_partner_unnamed",
        "+33612345602": "consent_partner_unnamed",
        "+33612345603": "consent",
        "+33612345604": "consent_unproven",
        "+33612345605": "customer_not_own_sale",
    }


# --- point 4: a plan is proof only while it is fresh ------------------------------------------


def test_a_plan_older_than_a_day_cannot_launch(cli: Cli, tmp_path: Path) -> None:
    imported(cli, tmp_path, [contact("0612345601")])
    create(cli, "Promo", text="-20% sur nos luminaires", categories="luminaires")
    planned(cli, "Promo")
    cli.env["TAMBOUR_NOW"] = "2026-12-08T09:30:00+01:00"  # 24 h 30 later
    refused = cli("campaign", "launch", "Promo", ok=False)
    assert refused.code == 2 and "plan" in refused.err and "24 hours" in refused.err
    planned(cli, "Promo")
    cli("campaign", "launch", "Promo")


def test_a_plan_that_would_send_nothing_is_blocked(cli: Cli, tmp_path: Path) -> None:
    imported(cli, tmp_path, [contact("0612345601", consent="non")])
    create(cli, "Promo", text="-20% sur nos luminaires", categories="luminaires")
    payload = planned(cli, "Promo")
    assert "nothing_to_send" in block_codes(payload)
    report = cli("campaign", "plan", "Promo", ok=False)
    assert report.code == 3  # a script stops here
    assert "No block" not in report.out and "nothing_to_send" in report.out
    assert "to fix: no contact can be messaged" in report.out


# --- point 9: values and texts that cannot smuggle anything -----------------------------------


def test_personalized_values_cannot_smuggle_a_stop_or_a_link(cli: Cli, tmp_path: Path) -> None:
    imported(
        cli, tmp_path,
        [contact("0612345601", first_name="STOP au 38888"),
         contact("0612345602", first_name="www.arnaque.fr"),
         contact("0612345603", first_name="Camille")],
    )  # fmt: skip
    create(cli, "Promo", text="Bonjour {first_name|client}, -20% sur nos luminaires",
           categories="luminaires")  # fmt: skip
    texts = {r["phone"]: r["text"] for r in planned(cli, "Promo")["rows"]}
    assert texts["+33612345601"].startswith("Bonjour client, -20%")
    assert texts["+33612345602"].startswith("Bonjour client, -20%")
    assert texts["+33612345603"].startswith("Bonjour Camille, -20%")
    assert all(t.count("STOP") == 1 for t in texts.values())


def test_a_message_of_more_than_ten_parts_is_blocked(cli: Cli, tmp_path: Path) -> None:
    imported(cli, tmp_path, [contact("0612345601")])
    create(cli, "Long", text="Maison Lumière: " + "luminaires -20% " * 100, categories="luminaires")
    assert "too_many_parts" in block_codes(planned(cli, "Long"))


def test_a_campaign_text_with_a_nul_is_refused(cli: Cli) -> None:
    refused = create(cli, "Nul", ok=False, text="Bonjour\x00 -20%")
    assert refused.code == 2 and "--text" in refused.err and "U+0000" in refused.err


# --- point 6: the proof cannot be edited quietly ------------------------------------------


@pytest.fixture
def sealed(cli: Cli, tmp_path: Path) -> Cli:
    imported(cli, tmp_path, [contact("0612345601"), contact("0612345602")])
    cli("optout", "add", "0612345601", "--advertiser", "maison-lumiere", "--source", "sms_stop")
    create(cli, "Promo", text="-20% sur nos luminaires", categories="luminaires")
    planned(cli, "Promo")
    intact = cli("audit", "verify", "--json").json()
    assert intact["ok"] and intact["rows"]["plan_rows"] == 2
    return cli


def verify_fails(cli: Cli) -> dict[str, Any]:
    result = cli("audit", "verify", "--json", ok=False)
    assert result.code == 1
    payload: dict[str, Any] = result.json()
    assert not payload["ok"]
    return payload


def test_removing_an_opt_out_and_its_suppression_entry_is_named(
    sealed: Cli, engine: Engine
) -> None:
    with engine.begin() as conn:
        stop_id = conn.execute(
            select(evidence.c.id).where(evidence.c.kind == "opt_out")
        ).scalar_one()
        conn.execute(delete(evidence).where(evidence.c.id == stop_id))
        conn.execute(delete(suppressions))
    changed = verify_fails(sealed)["rows_changed"]
    named = {(c["table"], c["key"], c["problem"]) for c in changed}
    assert ("evidence", str(stop_id), "removed") in named
    assert any(t == "suppressions" and p == "removed" for t, _, p in named)
    text_form = sealed("audit", "verify", ok=False)
    assert "LEDGER TAMPERED" in text_form.err and f"evidence row {stop_id}" in text_form.err


def test_editing_a_consent_or_a_plan_row_is_named(sealed: Cli, engine: Engine) -> None:
    with engine.begin() as conn:
        consent_id = conn.execute(
            select(evidence.c.id).where(evidence.c.kind == "consent_given").limit(1)
        ).scalar_one()
        conn.execute(update(evidence).where(evidence.c.id == consent_id).values(source="forged"))
        conn.execute(
            update(plan_rows)
            .where(plan_rows.c.decision == "exclude")
            .values(decision="send", reason=None, basis="consent")
        )
    named = {(c["table"], c["problem"], c["key"]) for c in verify_fails(sealed)["rows_changed"]}
    assert ("evidence", "edited", str(consent_id)) in named
    assert any(t == "plan_rows" and p == "edited" for t, p, _ in named)


def test_a_row_added_outside_tambour_is_named(sealed: Cli, engine: Engine) -> None:
    with engine.begin() as conn:
        row = conn.execute(select(evidence).limit(1)).mappings().one()
        forged = {**row, "id": 10_000, "fingerprint": b"\x01" * 16, "kind": "consent_given"}
        conn.execute(insert(evidence).values(**forged))
        conn.execute(text("DELETE FROM plan_rows WHERE decision = 'exclude'"))
    named = {(c["table"], c["problem"], c["key"]) for c in verify_fails(sealed)["rows_changed"]}
    assert ("evidence", "added", "10000") in named
    assert any(t == "plan_rows" and p == "removed" for t, p, _ in named)


def test_everything_tambour_writes_stays_intact(sealed: Cli) -> None:
    sealed("optout", "add", "0612345602", "--advertiser", "maison-lumiere",
           "--source", "complaint_33700")  # fmt: skip
    # A new generation replaces the previous one (nothing to send now: exit 3, still a plan).
    assert sealed("campaign", "plan", "Promo", ok=False).code == 3
    result = sealed("audit", "verify", "--json").json()
    assert result["ok"] and result["row_problems"] == 0


def test_political_messages_need_consent_or_membership_shown_by_the_ledger(
    cli: Cli, tmp_path: Path
) -> None:
    bare = {"consent": "", "consent_at": "", "consent_method": ""}
    imported(
        cli, tmp_path,
        [contact("0612345601"),
         contact("0612345602", member_since="2025-03-01", **bare),
         contact("0612345603", **bare)],
    )  # fmt: skip
    create(cli, "Réunion", nature="political",
           text="Maison Lumière vous invite à la réunion publique de jeudi, 19h.")  # fmt: skip
    assert codes(planned(cli, "Réunion")) == {
        "+33612345601": "consent",
        "+33612345602": "political_membership",
        "+33612345603": "political_no_consent",
    }
    export = cli("contacts", "export", "--advertiser", "maison-lumiere").out
    assert "member_since" in export.splitlines()[0]


def test_a_text_naming_another_day_than_its_first_send_gets_a_warning(
    cli: Cli, tmp_path: Path
) -> None:
    imported(cli, tmp_path, [contact("0612345601")])
    create(cli, "Dimanche", text="Ce dimanche, -20% sur nos luminaires !", categories="luminaires")
    payload = planned(cli, "Dimanche")  # first sends on Tuesday 8 December
    assert any("dimanche" in w for w in payload["summary"]["warnings"])
    assert "WARNING" in cli("campaign", "plan", "Dimanche").out
    create(cli, "Mardi", text="Ce mardi, -20% sur nos luminaires !", categories="luminaires")
    assert planned(cli, "Mardi")["summary"]["warnings"] == []


def test_an_actor_name_that_cannot_be_recorded_is_refused_in_one_line(cli: Cli) -> None:
    cli.env["TAMBOUR_ACTOR"] = "x" * 101
    refused = cli("advertiser", "list", ok=False)
    assert refused.code == 2 and "TAMBOUR_ACTOR" in refused.err
    assert "Traceback" not in refused.err + refused.out


def test_an_older_version_of_a_suppression_entry_written_back_is_named(
    sealed: Cli, engine: Engine
) -> None:
    """A STOP then a 33700 report rewrite one entry; the STOP's copy, validly sealed, written
    back with SQL would silently lift the complaint."""
    with engine.connect() as conn:
        before = conn.execute(select(suppressions)).mappings().one()
    sealed("optout", "add", "0612345601", "--advertiser", "maison-lumiere",
           "--source", "complaint_33700")  # fmt: skip
    assert sealed("audit", "verify").code == 0
    with engine.begin() as conn:
        conn.execute(
            update(suppressions).where(suppressions.c.id == before["id"]).values(
                source=before["source"], suppressed_at=before["suppressed_at"],
                recorded_at=before["recorded_at"], seal=before["seal"],
            )
        )  # fmt: skip
    named = {(c["table"], c["key"], c["problem"]) for c in verify_fails(sealed)["rows_changed"]}
    assert ("suppressions", str(before["id"]), "edited") in named


def test_a_plan_whose_rows_are_not_the_ones_the_log_lists_is_named(
    sealed: Cli, engine: Engine
) -> None:
    """A plan row replaced by another version that carries a valid seal (as an earlier version
    of the row would: forged here with the test's key) still breaks the plan's digest; and a
    campaign pointed at a plan the log never made current is named."""
    from tambour.keys import Keys
    from tambour.services.seals import PLAN_SEALED, Sealer
    from tests.conftest import TEST_SECRET_KEY

    sealer = Sealer.of(Keys(bytes.fromhex(TEST_SECRET_KEY)))
    columns = [plan_rows.c[name] for name in PLAN_SEALED]
    with engine.begin() as conn:
        row = conn.execute(select(*columns).where(plan_rows.c.decision == "exclude")).one()
        other = dict(row._mapping) | {"decision": "send", "reason": None, "basis": "consent"}
        forged = sealer.plan_row(tuple(other[name] for name in PLAN_SEALED))
        conn.execute(
            update(plan_rows)
            .where(plan_rows.c.contact_id == row.contact_id)
            .values(decision="send", reason=None, basis="consent", seal=forged)
        )
    changed = verify_fails(sealed)["rows_changed"]
    assert any(c["table"] == "plan_rows" and c["problem"] == "edited" for c in changed)
    with engine.begin() as conn:
        conn.execute(update(campaigns).values(plan_generation=7))
    changed = verify_fails(sealed)["rows_changed"]
    assert any(c["table"] == "campaigns" and c["problem"] == "edited" for c in changed)


def test_rows_of_a_plan_being_made_are_no_tampering(sealed: Cli, engine: Engine) -> None:
    """Chunks are written, sealed, before the entry that makes their plan current: a verify
    meanwhile (here: sealed rows of a generation the log never made current, as the planner
    writes them with the test's key) counts them and names nothing."""
    from tambour.keys import Keys
    from tambour.services.seals import PLAN_SEALED, Sealer
    from tests.conftest import TEST_SECRET_KEY

    sealer = Sealer.of(Keys(bytes.fromhex(TEST_SECRET_KEY)))
    columns = [plan_rows.c[name] for name in PLAN_SEALED]
    with engine.begin() as conn:
        for row in conn.execute(select(*columns)).all():
            pending = dict(row._mapping) | {"generation": 99}
            seal = sealer.plan_row(tuple(pending[name] for name in PLAN_SEALED))
            conn.execute(insert(plan_rows).values(**pending, seal=seal))
    result = sealed("audit", "verify", "--json").json()
    assert result["ok"] and result["rows"]["plan_rows_unlisted"] == 2


def test_an_id_is_never_handed_out_twice_so_a_removal_stays_named(
    sealed: Cli, engine: Engine
) -> None:
    with engine.begin() as conn:
        last = conn.execute(select(func.max(evidence.c.id))).scalar_one()
        conn.execute(delete(evidence).where(evidence.c.id == last))
    sealed("optout", "add", "0612345602", "--advertiser", "maison-lumiere", "--source", "link")
    with engine.connect() as conn:
        assert conn.execute(select(func.max(evidence.c.id))).scalar_one() > last
    named = {(c["table"], c["key"], c["problem"]) for c in verify_fails(sealed)["rows_changed"]}
    assert named == {("evidence", str(last), "removed")}


def test_editing_the_fact_of_an_evidence_row_is_named(sealed: Cli, engine: Engine) -> None:
    """The data and time of a fact are sealed through its fingerprint."""
    with engine.begin() as conn:
        consent_id = conn.execute(
            select(evidence.c.id).where(evidence.c.kind == "consent_given").limit(1)
        ).scalar_one()
        conn.execute(
            update(evidence)
            .where(evidence.c.id == consent_id)
            .values(occurred_at=datetime(2020, 1, 1, tzinfo=UTC))
        )
    named = {(c["table"], c["problem"], c["key"]) for c in verify_fails(sealed)["rows_changed"]}
    assert named == {("evidence", "edited", str(consent_id))}
