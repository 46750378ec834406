"""Issue 13 through the command line, on SQLite and PostgreSQL: a contact file as a French shop
exports it from Excel is understood, or the import says why not.

The files are written here as Excel writes them for a French user: `;` between cells,
Windows-1252, French headers, numbers with spaces, dd/mm/yyyy dates, `Oui`/`Non`, CRLF line
ends and the empty trailing columns of a sheet. The clock is fixed (TAMBOUR_NOW) so the
campaign planned afterwards does not depend on the day the tests run.
"""

from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli import Cli, Result
from tests.integration.test_campaigns import NOW, by_phone, code, create, plan

SHOP = "maison-lumiere"
WORDING = "J'accepte de recevoir les offres de Maison Lumière par SMS"


@pytest.fixture
def cli(db_url: str) -> Cli:
    runner = Cli(db_url)
    runner.env["TAMBOUR_NOW"] = NOW  # 2027-03-20, Paris
    runner.advertiser()
    return runner


def excel_export(path: Path, lines: list[str]) -> Path:
    """A sheet saved by French Excel as "CSV (séparateur : point-virgule)": Windows-1252,
    CRLF, and the two empty columns a sheet often drags along."""
    path.write_bytes("".join(f"{line};;\r\n" for line in lines).encode("cp1252"))
    return path


def import_file(cli: Cli, path: Path, *extra: str, ok: bool = True) -> Result:
    return cli("contacts", "import", str(path), "--advertiser", SHOP, *extra, ok=ok)


def show(cli: Cli, number: str) -> dict[str, Any]:
    payload: dict[str, Any] = cli("contacts", "show", number, "--advertiser", SHOP, "--json").json()
    return payload


SHOP_EXPORT = [
    "Numéro de mobile;Prénom;Nom;Opt-in SMS;Date opt-in;Mode de recueil;"
    "Texte du consentement;Ville;Code postal;Date dernier achat;Date",
    f"06 12 34 56 78;Hélène;Dupré;Oui;12/03/2026 14:05;web_form;{WORDING};Besançon;25000;"
    "02/02/2026;03/01/2026",
    f"06 98 76 54 32;Noël;Lefèvre;OUI;01/02/2026;Formulaire papier;{WORDING};Strasbourg;67000;;",
    "07 81 22 33 44;Zoé;Martin;Non;;;;Lyon;69001;15/01/2026;",
    "06 11 22 33 44;Chloé;Bœuf;Oui;20/02/2026;Magasin;;Nancy;54000;;",
]


def test_a_french_excel_export_is_imported_with_its_consents_and_can_be_sent_to(
    cli: Cli, tmp_path: Path
) -> None:
    path = excel_export(tmp_path / "clients boutique.csv", SHOP_EXPORT)
    summary = import_file(cli, path, "--json").json()
    assert summary["format"] == {"encoding": "cp1252", "delimiter": ";"}
    assert (summary["created"], summary["rejected"]) == (4, 0), summary
    assert summary["columns"] == {
        "phone": "Numéro de mobile", "first_name": "Prénom", "last_name": "Nom",
        "consent": "Opt-in SMS", "consent_at": "Date opt-in", "consent_method": "Mode de recueil",
        "consent_wording": "Texte du consentement", "postal_code": "Code postal",
        "last_purchase_at": "Date dernier achat",
    }  # fmt: skip
    # `Ville` has no canonical column and `Date` alone could be any date: both stay fields.
    assert summary["fields"] == ["Ville", "Date"]
    assert summary["facts"]["consent"] == 3 and summary["facts"]["consent_undated"] == 0
    assert summary["facts"]["purchase"] == 2
    assert summary["warnings"] == []

    helene = show(cli, "0612345678")
    assert helene["contact"]["first_name"] == "Hélène" and helene["contact"]["last_name"] == "Dupré"
    assert helene["contact"]["fields"] == {"Ville": "Besançon", "Date": "03/01/2026"}
    consent = next(e for e in helene["evidence"] if e["kind"] == "consent_given")
    assert consent["at"] == "2026-03-12T13:05:00+00:00"  # 14:05 in Paris, winter time
    assert consent["data"]["method"] == "web_form" and consent["data"]["wording"] == WORDING
    assert show(cli, "0611223344")["contact"]["last_name"] == "Bœuf"  # œ is in Windows-1252

    create(cli, "Printemps", categories="luminaires", text="Bonjour {first_name|}, -20% à {ville}")
    rows = by_phone(plan(cli, "Printemps"))
    assert {phone: code(row) for phone, row in rows.items()} == {
        "+33612345678": "consent",
        "+33698765432": "consent",
        "+33611223344": "consent",
        "+33781223344": "customer_product_not_similar",  # "Non"; bought, but not luminaires
    }
    assert rows["+33612345678"]["decision"] == "send"
    assert rows["+33612345678"]["text"].startswith("Bonjour Hélène, -20% à Besançon")


def test_the_text_summary_says_how_each_column_was_read(cli: Cli, tmp_path: Path) -> None:
    path = excel_export(tmp_path / "clients.csv", SHOP_EXPORT)
    out = import_file(cli, path).out
    assert "4 created" in out
    assert "'Numéro de mobile' as phone" in out and "'Opt-in SMS' as consent" in out
    assert "'Date opt-in' as consent_at" in out
    assert "personalization fields: 'Ville', 'Date'" in out
    assert "warning" not in out


def test_a_mapping_key_that_matches_no_column_is_an_error_naming_it(
    cli: Cli, tmp_path: Path
) -> None:
    path = excel_export(tmp_path / "clients.csv", SHOP_EXPORT)
    mapping = tmp_path / "colonnes.toml"
    mapping.write_text(
        '[columns]\n"Opt-in SMS" = "consent"\n"Portable" = "phone"\n', encoding="utf-8"
    )
    result = import_file(cli, path, "--mapping", str(mapping), ok=False)
    assert result.code == 2 and result.out == ""
    assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err
    assert "colonnes.toml" in result.err and "'Portable'" in result.err
    assert "'Opt-in SMS'" not in result.err.split("whose columns")[0]  # that key is right
    assert "'Numéro de mobile', 'Prénom', 'Nom', 'Opt-in SMS'" in result.err  # the file's
    assert cli("contacts", "export", "--advertiser", SHOP).out.count("\n") == 1  # nothing in

    # Fixed, the same mapping imports (keys compare as headers do: `opt in sms`).
    mapping.write_text('[columns]\n"opt in sms" = "consent"\n"Ville" = ""\n', encoding="utf-8")
    summary = import_file(cli, path, "--mapping", str(mapping), "--json").json()
    assert summary["created"] == 4 and summary["fields"] == ["Date"]


def test_two_headers_of_one_column_are_an_error_not_a_loss(cli: Cli, tmp_path: Path) -> None:
    path = excel_export(
        tmp_path / "clients.csv",
        ["Portable;Opt-in SMS;Consentement", "06 12 34 56 78;Oui;Non"],
    )
    result = import_file(cli, path, ok=False)
    assert result.code == 2
    assert "'Opt-in SMS' and 'Consentement' are both consent" in result.err
    assert '"Consentement" = ""' in result.err  # how to say which one counts


def test_a_file_grounding_no_legal_basis_says_so_and_what_to_map(cli: Cli, tmp_path: Path) -> None:
    lines = [
        "Portable;Prénom;Statut SMS;Date d'inscription;Ville",
        "06 12 34 56 78;Léa;Oui;12/03/2026;Paris",
        "06 12 34 56 79;Hugo;Oui;13/03/2026;Metz",
    ]
    path = excel_export(tmp_path / "inscrits.csv", lines)
    out = import_file(cli, path).out
    assert "2 created" in out
    assert "no legal basis: no row states a fact a legal basis can rest on" in out
    assert "cannot receive a marketing SMS" in out
    assert "personalization fields: 'Statut SMS', 'Ville'" in out
    assert '"Statut SMS" = "consent"' in out  # the mapping line to write
    assert "--mapping" in out
    # The date was read as the consent's, but without a consent it states nothing: said too.
    assert '"Date d\'inscription" (read as consent_at) state nothing' in out

    others = [lines[0], "07 81 22 33 44;Zoé;Oui;14/03/2026;Nancy"]
    summary = import_file(cli, excel_export(tmp_path / "inscrits2.csv", others), "--json").json()
    warnings = {w["code"]: w for w in summary["warnings"]}
    assert set(warnings) == {"no_legal_basis_fact", "column_without_effect"}
    basis = warnings["no_legal_basis_fact"]
    assert basis["fields"] == ["Statut SMS", "Ville"]
    assert basis["suggested_mapping"] == {"Statut SMS": "consent"}
    assert "consent" in basis["basis_columns"] and "consent_at" not in basis["basis_columns"]
    assert warnings["column_without_effect"]["columns"] == {"Date d'inscription": "consent_at"}
    audited = {
        entry["details"]["file"]: entry["details"]
        for entry in cli("audit", "list", "--json").json()
        if entry["action"] == "contacts.import"
    }
    # The audit log keeps the codes, not the file's headers (a header row may be a contact).
    assert audited["inscrits2.csv"]["warnings"] == ["column_without_effect", "no_legal_basis_fact"]
    assert "fields" not in audited["inscrits2.csv"]
    # Imported again, the file creates nobody: it may only update what earlier facts ground.
    again = import_file(cli, path, "--json").json()
    assert again["updated"] + again["unchanged"] == 2
    assert [w["code"] for w in again["warnings"]] == ["column_without_effect"]

    # Mapped as suggested, the same file grounds a consent and the warnings are gone.
    (tmp_path / "map.toml").write_text(
        '[columns]\n"Statut SMS" = "consent"\n"Mode" = "consent_method"\n', encoding="utf-8"
    )
    lines = [f"{lines[0]};Mode", *(f"{line};web_form" for line in lines[1:])]
    path = excel_export(tmp_path / "inscrits3.csv", lines)
    mapped = import_file(cli, path, "--mapping", str(tmp_path / "map.toml"), "--json").json()
    assert mapped["warnings"] == [] and mapped["facts"]["consent"] == 2
    assert show(cli, "0612345678")["standing"]["commercial"]["basis"] == "consent"


def test_consents_without_a_date_are_counted_in_the_summary(cli: Cli, tmp_path: Path) -> None:
    path = excel_export(
        tmp_path / "optin.csv",
        [
            "Téléphone portable;Optin;Mode de recueil",
            "06 12 34 56 78;Oui;web_form",
            "06 12 34 56 79;Oui;web_form",
            "06 12 34 56 80;Oui;",
            "06 12 34 56 81;Non;",
        ],
    )
    out = import_file(cli, path).out
    assert "consent not dated: 3 row(s) of the 3 giving a consent have no date" in out
    assert "the file has no consent_at column" in out
    assert '"Your column" = "consent_at"' in out
    assert "consent without proof: 1 row(s)" in out
    summary = import_file(cli, path, "--json").json()
    warnings = {w["code"]: w for w in summary["warnings"]}
    assert set(warnings) == {"consent_not_dated", "consent_unproven"}
    assert (warnings["consent_not_dated"]["rows"], warnings["consent_not_dated"]["consents"]) == (
        3,
        3,
    )
    assert warnings["consent_unproven"]["rows"] == 1


@pytest.mark.parametrize("notation", ["6,12346E+08", "6.12346E+08"])
def test_a_number_excel_wrote_in_scientific_notation_gets_the_hint(
    cli: Cli, tmp_path: Path, notation: str
) -> None:
    path = excel_export(
        tmp_path / "c.csv", ["Mobile;Prénom", f"{notation};Zoé", "06 12 34 56 78;Léa"]
    )
    summary = import_file(cli, path, "--json").json()
    assert summary["created"] == 1 and summary["rejected_by_reason"] == {"phone: invalid number": 1}
    rejects = Path(summary["rejects_file"]).read_text(encoding="utf-8-sig")
    assert "format the column as text" in rejects
    assert "more than one number" not in rejects

    (tmp_path / "stop.csv").write_text(f"Portable;Date\n{notation};12/03/2026\n", encoding="utf-8")
    result = cli(
        "optout", "import", str(tmp_path / "stop.csv"), "--advertiser", SHOP, "--json"
    ).json()
    assert result["rejected"] == 1 and "format the column as text" in result["rejects"][0]["reason"]


@pytest.mark.parametrize(
    "header",
    ["Numéro de mobile;Date", "Téléphone;Date d'opposition", "Portable;Date d'inscription",
     "N° de portable;Date de désinscription"],
)  # fmt: skip
def test_an_opposition_list_with_french_headers_keeps_its_dates(
    cli: Cli, tmp_path: Path, header: str
) -> None:
    consent = excel_export(
        tmp_path / "c.csv",
        ["Mobile;Opt-in SMS;Date opt-in;Mode de recueil", "06 12 34 56 78;Oui;01/01/2026;web_form"],
    )
    import_file(cli, consent)
    (tmp_path / "opposition.csv").write_bytes(
        f"{header}\r\n06 12 34 56 78;12/03/2026\r\n".encode("cp1252")
    )
    result = cli(
        "optout", "import", str(tmp_path / "opposition.csv"), "--advertiser", SHOP, "--json"
    ).json()
    assert (result["accepted"], result["rejected"], result["warnings"]) == (1, 0, [])
    shown = show(cli, "0612345678")
    [opt_out] = [e for e in shown["evidence"] if e["kind"] == "opt_out"]
    assert opt_out["at"] == "2026-03-11T23:00:00+00:00"  # 12/03/2026, midnight in Paris
    assert shown["standing"]["commercial"]["reason"] == "opted_out"


def test_an_opt_out_date_alone_in_a_contact_file_is_an_opt_out(cli: Cli, tmp_path: Path) -> None:
    path = excel_export(
        tmp_path / "c.csv",
        [
            "Portable;Opt-in SMS;Date opt-in;Mode de recueil;Date de désinscription;Désinscrit",
            "06 12 34 56 78;Oui;01/01/2026;web_form;12/03/2026;",
            "06 12 34 56 79;Oui;01/01/2026;web_form;;",
            "06 12 34 56 80;Oui;01/01/2026;web_form;12/03/2026;Non",  # said no: no opt-out
        ],
    )
    assert import_file(cli, path, "--json").json()["created"] == 3
    assert show(cli, "0612345678")["standing"]["commercial"]["reason"] == "opted_out"
    assert show(cli, "0612345679")["standing"]["commercial"]["basis"] == "consent"
    assert show(cli, "0612345680")["standing"]["commercial"]["basis"] == "consent"


def test_contacts_show_prints_a_readable_timeline_in_paris_time(cli: Cli, tmp_path: Path) -> None:
    path = excel_export(tmp_path / "clients.csv", SHOP_EXPORT)
    import_file(cli, path)
    cli("optout", "add", "06 12 34 56 78", "--advertiser", SHOP, "--source", "sms_stop")
    out = cli("contacts", "show", "06 12 34 56 78", "--advertiser", SHOP).out
    assert (
        "12/03/2026 14:05  consentement SMS donné (formulaire web, \"J'accepte de recevoir" in out
    )
    assert '...")  [import:clients.csv]' in out  # the wording, cut short
    assert "02/02/2026 00:00  achat  [import:clients.csv]" in out
    # Oldest first, whatever the order the facts were recorded in (the purchase came after).
    assert out.index("02/02/2026 00:00  achat") < out.index("12/03/2026 14:05  consentement")
    assert "20/03/2027 09:00  opposition (réponse STOP)  [optout:sms_stop]" in out
    assert "Hélène Dupré; 25000; Date: 03/01/2026; Ville: Besançon" in out
    assert "{" not in out and "'method'" not in out  # no Python dict
    assert "commercial SMS today: exclude (opted_out)" in out
    # --json is what it was: ISO instants in UTC and the stored data.
    payload = show(cli, "06 12 34 56 78")
    consent = next(e for e in payload["evidence"] if e["kind"] == "consent_given")
    assert consent["at"] == "2026-03-12T13:05:00+00:00"
    assert set(consent) == {"kind", "at", "data", "source", "recorded_at", "recorded_by"}
