"""The canonical contact row (rules.md section 2): every column, its parsing and its errors."""

from datetime import UTC, datetime

import pytest

from tambour.contacts.ledger import facts_of_row
from tambour.contacts.row import CANONICAL_COLUMNS, parse_row
from tambour.contacts.values import parse_bool, parse_datetime
from tambour.rules.codes import ContactKind, OptOutSource


def test_every_canonical_column_is_read() -> None:
    cells = {
        "phone": "06 12 34 56 78",
        "external_id": "C1",
        "first_name": " Léa ",
        "last_name": "Schmitt",
        "company": "Atelier",
        "kind": "professional",
        "profession_tags": "it; achats ;",
        "postal_code": "67000",
        "tags": "vip;newsletter",
        "consent": "oui",
        "consent_at": "2026-03-01T10:00:00",
        "consent_channels": "sms;fax",
        "consent_method": "web_form",
        "consent_checkbox_prechecked": "non",
        "consent_bundled_with_terms": "false",
        "consent_advertiser": "Maison Lumière",
        "consent_wording": "J'accepte",
        "consent_source": "https://x.fr/form",
        "consent_proof": "sha256:ab",
        "collected_at": "2026-02-01",
        "collected_by": "advertiser",
        "informed_at_collection": "yes",
        "objection_offered_at_collection": "1",
        "third_party_information_proof": "",
        "account_created_at": "2026-01-01",
        "last_purchase_at": "2026-01-02",
        "purchased_categories": "luminaires",
        "opted_out": "no",
        "opted_out_at": "",
        "opt_out_source": "",
        "last_activity_at": "2026-04-01T08:00:00Z",
        "member_since": "2025-09-15",
        "ville": "Strasbourg",
    }
    assert set(CANONICAL_COLUMNS) <= set(cells)
    row, errors = parse_row(cells)
    assert errors == [] and row is not None
    assert row.phone.e164 == "+33612345678"
    assert row.first_name == "Léa" and row.kind is ContactKind.PROFESSIONAL
    assert row.profession_tags == ("it", "achats")
    assert row.consent is True and row.consent_channels == ("sms", "fax")
    assert row.consent_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)  # Paris winter time
    assert row.collected_at == datetime(2026, 1, 31, 23, 0, tzinfo=UTC)
    assert row.last_activity_at == datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    assert row.informed_at_collection is True and row.objection_offered_at_collection is True
    assert row.extra == {"ville": "Strasbourg"}
    facts = facts_of_row(row)
    assert facts.consents[0].advertiser == "Maison Lumière"
    assert facts.profession_tags == frozenset({"it", "achats"})
    assert facts.opt_outs == ()
    assert facts.membership_at == datetime(2025, 9, 14, 22, 0, tzinfo=UTC)  # Paris summer time


def test_every_field_error_is_reported_with_its_field() -> None:
    row, errors = parse_row(
        {
            "phone": "",
            "kind": "robot",
            "consent": "peut-être",
            "consent_at": "hier",
            "consent_channels": "sms;pigeon",
            "opt_out_source": "pigeon voyageur",
            "postal_code": "ABC",
        }
    )
    assert row is None
    expected = {"phone", "kind", "consent", "consent_at", "consent_channels", "opt_out_source"}
    assert {e.field for e in errors} == expected | {"postal_code"}
    assert any("peut-être" in e.message for e in errors)


def test_opt_out_columns() -> None:
    row, _ = parse_row({"phone": "0612345678", "opted_out": "oui", "opted_out_at": "2026-02-01"})
    assert row is not None
    (opt_out,) = facts_of_row(row).opt_outs
    assert opt_out.source is OptOutSource.MANUAL
    assert opt_out.at == datetime(2026, 1, 31, 23, 0, tzinfo=UTC)
    row, _ = parse_row({"phone": "0612345678", "opt_out_source": "complaint_33700"})
    assert row is not None and facts_of_row(row).opt_outs[0].source is OptOutSource.COMPLAINT_33700


def test_postal_codes() -> None:
    assert parse_row({"phone": "0612345678", "postal_code": "1000"})[0].postal_code == "01000"  # type: ignore[union-attr]
    assert parse_row({"phone": "0612345678", "postal_code": "2a004"})[0].postal_code == "2A004"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True),
        ("Oui", True),
        ("TRUE", True),
        ("1", True),
        ("non", False),
        ("0", False),
        ("", None),
    ],
)
def test_booleans(text: str, expected: bool | None) -> None:
    assert parse_bool(text) is expected


def test_dates_default_to_paris_and_accept_french_notation() -> None:
    summer = datetime(2026, 7, 14, 10, 0, tzinfo=UTC)
    assert parse_datetime("2026-07-14T12:00") == summer
    assert parse_datetime("14/07/2026 12:00") == summer
    assert parse_datetime("2026-07-14T12:00:00+02:00") == summer
    with pytest.raises(ValueError, match="not a date"):
        parse_datetime("07/14/2026")
    with pytest.raises(ValueError, match="not a date"):
        parse_datetime("2026-02-30")


def test_two_numbers_in_one_cell_are_refused() -> None:
    for cell in (
        "0612345678;0698765432",
        "06 12 34 56 78 / 06 98 76 54 32",
        "0612345678 ou 0698765432",
    ):
        row, errors = parse_row({"phone": cell})
        assert row is None and [e.field for e in errors] == ["phone"]
        assert "more than one number" in errors[0].message
    assert parse_row({"phone": "+33 (0)6 12 34 56 78"})[0] is not None


def test_an_opt_out_date_alone_is_an_opt_out() -> None:
    """`Date de désinscription` filled, no yes/no beside it: the person opted out (before, the
    date stated nothing and the opposition was lost)."""
    row, _ = parse_row({"phone": "0612345678", "opted_out_at": "12/03/2026"})
    assert row is not None and row.opted_out is True
    [event] = facts_of_row(row).opt_outs
    assert event.at == datetime(2026, 3, 11, 23, 0, tzinfo=UTC)
    said_no, _ = parse_row(
        {"phone": "0612345678", "opted_out": "non", "opted_out_at": "12/03/2026"}
    )
    assert said_no is not None and said_no.opted_out is False
    assert facts_of_row(said_no).opt_outs == ()


def test_a_french_scientific_notation_is_one_number_not_several() -> None:
    row, errors = parse_row({"phone": "6,12346E+08"})
    assert errors == [] and row is not None  # the importer says how to export it again
    assert row.phone.e164 is None
    _, errors = parse_row({"phone": "06 12 34 56 78, 07 81 22 33 44"})
    assert [e.message for e in errors] == ["holds more than one number (one number a row)"]


@pytest.mark.parametrize(
    ("written", "source"),
    [
        ("STOP", OptOutSource.SMS_STOP),
        ("Réponse STOP", OptOutSource.SMS_STOP),
        ("Lien de désinscription", OptOutSource.LINK),
        ("33700", OptOutSource.COMPLAINT_33700),
        ("Signalement spam", OptOutSource.COMPLAINT_33700),
        ("Service client", OptOutSource.MANUAL),
        ("Demande RGPD", OptOutSource.DATA_REQUEST),
        ("SMS_STOP", OptOutSource.SMS_STOP),
        ("complaint_33700", OptOutSource.COMPLAINT_33700),
    ],
)
def test_an_opt_out_source_written_in_french_is_read(written: str, source: OptOutSource) -> None:
    """A French file's source words: a row rejected for them would lose its opposition."""
    row, errors = parse_row({"phone": "0612345678", "opted_out": "oui", "opt_out_source": written})
    assert errors == [] and row is not None
    (opt_out,) = facts_of_row(row).opt_outs
    assert opt_out.source is source
