"""The headers French contact files use (issue 13): each one is read as its canonical column,
whatever its case, accents, spaces and punctuation; ambiguous ones are not."""

from pathlib import Path

import pytest

from tambour.contacts import headers
from tambour.contacts.headers import ALIASES, OPPOSITION_ALIASES, header_key, lookup, suggest
from tambour.contacts.reader import ContactFileError, sniff
from tambour.contacts.row import CANONICAL_COLUMNS

# What French exports write, and what it means (written out here, not read from the data).
FRENCH_HEADERS = [
    # consent
    ("Opt-in SMS", "consent"), ("Optin", "consent"), ("Opt-in", "consent"),
    ("Consentement", "consent"), ("Consentement SMS", "consent"), ("Accord SMS", "consent"),
    ("Accepte les SMS", "consent"), ("Abonné SMS", "consent"),
    # its date
    ("Date opt-in", "consent_at"), ("Date de consentement", "consent_at"),
    ("Date d'inscription", "consent_at"), ("Date du consentement", "consent_at"),
    ("Inscrit le", "consent_at"),
    # how, and what the person read
    ("Mode de recueil", "consent_method"), ("Texte du consentement", "consent_wording"),
    ("Source du consentement", "consent_source"), ("Preuve du consentement", "consent_proof"),
    ("Case précochée", "consent_checkbox_prechecked"),
    ("Lié aux CGV", "consent_bundled_with_terms"),
    # phone
    ("Numéro de mobile", "phone"), ("N° de portable", "phone"), ("Portable", "phone"),
    ("Mobile", "phone"), ("GSM", "phone"), ("Téléphone portable", "phone"),
    ("Téléphone", "phone"), ("Tél.", "phone"), ("Numéro de téléphone", "phone"),
    ("No de mobile", "phone"),
    # purchase
    ("Date dernier achat", "last_purchase_at"), ("Dernière commande", "last_purchase_at"),
    ("Date de la dernière commande", "last_purchase_at"),
    ("Catégories achetées", "purchased_categories"),
    # collection
    ("Date de collecte", "collected_at"), ("Collecté par", "collected_by"),
    ("Informé à la collecte", "informed_at_collection"),
    ("Opposition proposée", "objection_offered_at_collection"),
    # opt-out
    ("Désinscrit", "opted_out"), ("Opposition", "opted_out"), ("Désabonné SMS", "opted_out"),
    ("Date de désinscription", "opted_out_at"), ("Date d'opposition", "opted_out_at"),
    ("Source de désinscription", "opt_out_source"),
    # names and the rest
    ("Prénom", "first_name"), ("Nom", "last_name"), ("Nom de famille", "last_name"),
    ("Société", "company"), ("Raison sociale", "company"), ("Code postal", "postal_code"),
    ("CP", "postal_code"), ("Numéro client", "external_id"), ("Code client", "external_id"),
    ("Type de client", "kind"), ("Métier", "profession_tags"), ("Étiquettes", "tags"),
    ("Date de création du compte", "account_created_at"),
    ("Dernière activité", "last_activity_at"), ("Adhérent depuis", "member_since"),
]  # fmt: skip


@pytest.mark.parametrize(("header", "column"), FRENCH_HEADERS)
def test_a_french_header_is_its_canonical_column(header: str, column: str) -> None:
    assert lookup(header) == column


@pytest.mark.parametrize(("header", "column"), FRENCH_HEADERS)
def test_case_accents_spaces_and_punctuation_are_ignored(header: str, column: str) -> None:
    plain = header.upper().replace("É", "E").replace("È", "E").replace("Ô", "O")
    squeezed = "".join(c for c in header if c.isalnum())
    spaced = f"  {header.lower().replace(' ', '_')}  "
    for written in (plain, squeezed, spaced, header.replace("'", "’")):
        assert lookup(written) == column, written


@pytest.mark.parametrize(
    "header",
    [
        "Date", "Date de création", "Source", "Origine", "Type", "Canal", "Catégorie", "Statut",
        "Téléphone fixe", "Opt-in e-mail", "Optin email", "Consentement e-mail", "Newsletter",
        "E-mail", "Ville", "Civilité", "Nom complet", "Montant dernière commande",
    ],
)  # fmt: skip
def test_ambiguous_headers_stay_personalization_fields(header: str) -> None:
    assert lookup(header) is None


def test_canonical_names_are_read_in_any_spelling() -> None:
    for column in CANONICAL_COLUMNS:
        assert lookup(column) == column
        assert lookup(column.replace("_", " ").title()) == column


def test_every_alias_of_the_data_names_its_column_and_no_other() -> None:
    for column, written in ALIASES.items():
        for header in written:
            assert lookup(header) == column, header


def test_a_header_claimed_by_two_columns_is_refused_when_the_data_loads() -> None:
    with pytest.raises(ValueError, match="'PORTABLE' stands for both phone and consent"):
        headers._by_key(CANONICAL_COLUMNS, {"phone": ("Portable",), "consent": ("PORTABLE",)})
    with pytest.raises(ValueError, match="stands for both consent_at and opted_out_at"):
        headers._by_key(CANONICAL_COLUMNS, {"opted_out_at": ("Consent at",)})


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("Date", "opted_out_at"), ("Date d'inscription", "opted_out_at"),
        ("Date d'opposition", "opted_out_at"), ("Date de désinscription", "opted_out_at"),
        ("Ajouté le", "opted_out_at"), ("Source de désinscription", "opt_out_source"),
        ("Source", None), ("Canal", None),
        ("Numéro de mobile", "phone"), ("opted_out_at", "opted_out_at"),
    ],
)  # fmt: skip
def test_an_opposition_list_reads_its_own_words_first(header: str, column: str | None) -> None:
    assert lookup(header, opposition_list=True) == column


def test_opposition_words_are_canonical_columns() -> None:
    assert set(OPPOSITION_ALIASES) <= set(CANONICAL_COLUMNS)


def test_header_key_folds_everything_but_letters_and_digits() -> None:
    assert header_key("N° de Portable") == header_key("n de portable") == "ndeportable"
    assert header_key("Opt-in SMS") == header_key("OPTIN_SMS") == "optinsms"
    assert header_key("Cœur") == "coeur"


@pytest.mark.parametrize(
    ("header", "suggested"),
    [
        ("Statut SMS", "consent"), ("Statut opt-in", "consent"), ("Inscrit SMS le", "consent_at"),
        ("Date inscription newsletter", None), ("Date désinscription SMS", "opted_out_at"),
        ("Désabonné SMS ?", "opted_out"), ("Date achat", "last_purchase_at"),
        ("Date", "consent_at"), ("Ville", None), ("Opt-in e-mail", None), ("Nb achats", None),
    ],
)  # fmt: skip
def test_suggestions_for_personalization_fields(header: str, suggested: str | None) -> None:
    assert suggest(header) == suggested


# -- through the reader -------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_bytes(text.encode("cp1252"))
    return path


def test_a_french_export_header_is_read_column_by_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Numéro de mobile;Prénom;Nom;Opt-in SMS;Date opt-in;Ville;Date;;\n"
        "06 12 34 56 78;Léa;Dupré;Oui;12/03/2026;Paris;01/01/2026;;\n",
    )
    assert sniff(path).columns == (
        "phone", "first_name", "last_name", "consent", "consent_at", "Ville", "Date", None, None,
    )  # fmt: skip


def test_two_headers_of_one_column_are_an_error_naming_both(tmp_path: Path) -> None:
    path = write(tmp_path, "Portable;Date opt-in;Date d'inscription\n0612345678;;\n")
    with pytest.raises(ContactFileError) as error:
        sniff(path)
    message = str(error.value)
    assert "'Date opt-in' and \"Date d'inscription\" are both consent_at" in message
    assert '"Date d\'inscription" = ""' in message  # the mapping line that settles it
    # Settled by the mapping: the other date is ignored, or read as another column.
    assert sniff(path, {"Date d'inscription": ""}).columns == ("phone", "consent_at", None)
    assert sniff(path, {"Date d'inscription": "collected_at"}).columns == (
        "phone", "consent_at", "collected_at",
    )  # fmt: skip


def test_a_column_the_mapping_gives_is_not_guessed_for_another_header(tmp_path: Path) -> None:
    path = write(tmp_path, "Téléphone;Portable;Date opt-in\n0142685300;0612345678;\n")
    with pytest.raises(ContactFileError, match="both phone"):
        sniff(path)
    # The user said which is the phone: the other is kept, as a personalization field.
    assert sniff(path, {"Portable": "phone"}).columns == ("Téléphone", "phone", "consent_at")
    # A header that is the canonical name itself is no guess: two phones, an error.
    path = write(tmp_path, "phone;Portable\n0142685300;0612345678\n")
    with pytest.raises(ContactFileError, match="'phone' and 'Portable' are both phone"):
        sniff(path, {"Portable": "phone"})
