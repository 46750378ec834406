"""The record of processing (GDPR Art. 30) through `tambour record`, on SQLite and PostgreSQL:
made from what is configured and held, so that a change of either changes it (a carrier, a
retention period, a webhook endpoint, a custom field, the controller's details); never a phone
number nor a value of a profile in it, in any format; each advertiser's its own."""

import json
import re
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, select

from tambour.store.tables import audit_log
from tests.integration.cli import Cli, Result

HOME: Final = "maison-lumiere"
OTHER: Final = "copie"
# Numbers and profile values that must never reach a record, in the notations they were given.
NUMBERS: Final = ("0612340101", "+33612340101", "0612340102", "+33612340102", "0781230103",
                  "+33781230103", "0612340104", "+33612340104")  # fmt: skip
VALUES: Final = ("Zéphyrine", "Quintal", "Brocéliande", "29300", "CMD-77341", "VIP-ARGENT",
                 "Lampadaires Ys", "Ouessant-Nord")  # fmt: skip
CONSENT: Final = "oui,2027-01-10T10:00:00+01:00,web_form"
CONTACTS: Final = "\n".join((
    "phone,first_name,last_name,company,kind,profession_tags,postal_code,tags,consent,"
    "consent_at,consent_method,last_purchase_at,purchased_categories,ville,commande,0612349999",
    f"06 12 34 01 01,Zéphyrine,Quintal,,person,,29300,VIP-ARGENT,{CONSENT},,,Ouessant-Nord,,x",
    f"06 12 34 01 02,Brocéliande,Quintal,,person,,29300,,{CONSENT},2027-02-01,luminaires,,"
    "CMD-77341,",
    f"07 81 23 01 03,,,Lampadaires Ys,professional,achats,,,{CONSENT},,,,,",
    "",
))  # fmt: skip
OTHERS: Final = """\
phone,first_name,secret_field
06 12 34 01 04,Odilon,copie-only
"""


def cli_for(db_url: str, tmp_path: Path, **env: str) -> Cli:
    cli = Cli(db_url)
    cli.env.update({"TAMBOUR_NOW": "2027-03-23T10:00:00+01:00", "TAMBOUR_CONFIG": "", **env})
    return cli


def imported(cli: Cli, tmp_path: Path, slug: str, rows: str) -> None:
    source = tmp_path / f"{slug}.csv"
    source.write_text(rows, encoding="utf-8")
    cli("contacts", "import", str(source), "--advertiser", slug)


def world(cli: Cli, tmp_path: Path) -> None:
    cli.advertiser(HOME)
    cli("advertiser", "create", OTHER, "--name", "Copie SARL", "--sender", "COPIE",
        "--stop-number", "36222")  # fmt: skip
    imported(cli, tmp_path, HOME, CONTACTS)
    imported(cli, tmp_path, OTHER, OTHERS)


def record(cli: Cli, *args: str) -> str:
    return cli("record", *args).out


def as_json(cli: Cli, slug: str = HOME) -> Any:
    return json.loads(record(cli, "--advertiser", slug, "--format", "json"))


def counted(entries: list[dict[str, Any]]) -> dict[str, int]:
    return {entry["code"]: entry["count"] for entry in entries}


def test_the_record_counts_what_is_held_and_names_no_number_nor_value(
    db_url: str, tmp_path: Path
) -> None:
    cli = cli_for(db_url, tmp_path)
    world(cli, tmp_path)
    cli("campaign", "create", "--advertiser", HOME, "--name", "Printemps", "--nature",
        "commercial", "--sender", "MLUMIERE", "--categories", "luminaires",
        "--text", "Maison Lumière : -20% sur nos luminaires !")  # fmt: skip
    data = as_json(cli)
    assert data["slug"] == HOME and data["version"] and data["made_at"].startswith("2027-03-23")
    assert [p["code"] for p in data["purposes"]] == [
        "commercial", "opposition", "proof", "data_requests"
    ]  # fmt: skip
    assert data["purposes"][0]["channels"] == ["sms"] and data["purposes"][0]["campaigns"] == 1
    assert counted(data["people"]) == {"person": 2, "professional": 1, "prospect": 2,
                                       "customer": 1}  # fmt: skip
    assert counted(data["profile_fields"]) == {
        "first_name": 2, "last_name": 2, "company": 1, "postal_code": 2, "profession_tags": 1,
        "tags": 1,
    }  # fmt: skip
    # Field names with how many contacts have each; the one named like a number is counted.
    assert counted(data["custom_fields"]) == {"commande": 1, "ville": 1}
    assert data["unnamed_fields"] == 1
    held = counted(data["data"])
    assert held["phone_numbers"] == 3 and held["evidence.consent_given"] == 3
    assert held["evidence.purchase"] == 1 and "messages" not in held
    assert [r["code"] for r in data["retention"]][:5] == [
        "prospects", "customers", "message_texts", "reply_texts", "clicks"
    ]  # fmt: skip
    assert data["retention"][0]["years"] == 3
    assert data["transport"] == {"state": "none", "problem": None, "carriers": []}
    assert data["controller"]["missing"] == ["address", "email", "dpo"]
    assert data["processor"]["missing"] == ["name", "address", "email", "dpo"]
    # The other advertiser's field is its own.
    assert "secret_field" not in json.dumps(data)
    assert "secret_field" in json.dumps(as_json(cli, OTHER))

    outputs = {
        "json": json.dumps(data, ensure_ascii=False),
        "markdown": record(cli, "--advertiser", HOME),
        "html": record(cli, "--advertiser", HOME, "--format", "html"),
        "english": record(cli, "--advertiser", HOME, "--language", "en"),
        "processor": record(cli, "--processor", "--format", "html"),
    }
    for name, text in outputs.items():
        digits = re.sub(r"[\s.\-\u202f\u00a0]", "", text)
        leaked = [n for n in NUMBERS if n in text or n in digits]
        assert not leaked, (name, leaked)
        assert not [v for v in VALUES if v in text], name
        assert "0612349999" not in digits, name
    markdown = outputs["markdown"]
    assert markdown.startswith("# Registre des activités de traitement : Maison Lumière SAS\n")
    assert "## 1. Responsable du traitement" in markdown and "| commande | 1 |" in markdown
    assert "Prospection commerciale (SMS) : 1 campagne" in markdown
    assert "Manque : adresse postale, adresse e-mail, délégué à la protection des données" in (
        markdown
    )
    assert "Aucun transport n'est configuré" in markdown and "Aucun connu." in markdown
    assert "3 ans à compter de la collecte" in markdown and "90 jours, puis supprimés" in markdown
    assert "Tambour 0." in markdown and "23 mars 2027" in markdown
    html = outputs["html"]
    assert html.startswith("<!doctype html>") and '<html lang="fr">' in html
    assert "@media print" in html and "<script" not in html and "http" not in html.split(
        "<body>")[1]  # fmt: skip
    assert "# Record of processing activities: Maison Lumière SAS" in outputs["english"]


def test_the_record_follows_the_configuration(db_url: str, tmp_path: Path) -> None:
    cli = cli_for(db_url, tmp_path)
    world(cli, tmp_path)
    before = as_json(cli)

    # A carrier configured: named with its host, whether the way to it is encrypted; a host
    # under a country domain outside the EEA is a possible transfer.
    config = tmp_path / "tambour.toml"
    config.write_text(
        '[[carriers]]\nname = "orange"\nkind = "smpp"\nhost = "smpp.orange.example.fr"\n'
        'port = 2775\nsystem_id = "tambour"\npassword = "pwXQ7z"\n\n'
        '[[carriers]]\nname = "londres"\nkind = "http"\n'
        'url = "https://api.sms.example.co.uk/v1/messages"\ntoken = "jeton-XQ7z"\n\n'
        "[webhooks]\nallow_private_targets = true\n",
        encoding="utf-8",
    )
    cli.env.update({"TAMBOUR_CONFIG": str(config), "TAMBOUR_CLICKS_RETENTION_DAYS": "30",
                    "TAMBOUR_PROCESSOR_NAME": "Hébergeur SMS SAS",
                    "TAMBOUR_PROCESSOR_EMAIL": "dpo@hebergeur.example.fr"})  # fmt: skip
    cli("webhook", "create", "--advertiser", HOME, "--url", "http://127.0.0.1:9/crm")
    cli("webhook", "create", "--advertiser", HOME, "--url", "https://crm.example.com/tambour")
    cli("advertiser", "update", HOME, "--address", "12 rue des Lampes, 75011 Paris",
        "--contact-email", "rgpd@maisonlumiere.fr", "--dpo-name", "Camille Dupont")  # fmt: skip
    after = as_json(cli)
    assert after != before
    assert after["transport"] == {
        "state": "configured",
        "problem": None,
        "carriers": [
            {"name": "orange", "kind": "smpp", "host": "smpp.orange.example.fr",
             "encrypted": False},
            {"name": "londres", "kind": "http", "host": "api.sms.example.co.uk",
             "encrypted": True},
        ],
    }  # fmt: skip
    assert after["transfers"] == [{"host": "api.sms.example.co.uk", "country": "uk"}]
    assert after["endpoints"] == [
        {"host": "127.0.0.1", "encrypted": False, "enabled": True},
        {"host": "crm.example.com", "encrypted": True, "enabled": True},
    ]
    clicks = next(r for r in after["retention"] if r["code"] == "clicks")
    assert clicks["days"] == 30
    measures = {m["code"]: m for m in after["security"]}
    assert measures["carrier_encryption"]["state"] == "partial"
    assert measures["carrier_encryption"]["subjects"] == ["orange"]
    assert measures["webhook_encryption"]["subjects"] == ["127.0.0.1"]
    assert after["controller"] == {
        "name": "Maison Lumière SAS", "address": "12 rue des Lampes, 75011 Paris",
        "email": "rgpd@maisonlumiere.fr", "dpo_name": "Camille Dupont", "dpo_email": None,
        "missing": [],
    }  # fmt: skip
    assert after["processor"]["name"] == "Hébergeur SMS SAS"
    markdown = record(cli, "--advertiser", HOME)
    for secret in ("pwXQ7z", "jeton-XQ7z", "/crm", "/tambour", "/v1/messages"):
        assert secret not in markdown, secret  # hosts, never URLs nor credentials
    assert "| orange | SMPP (opérateur ou SMSC) | smpp.orange.example.fr | non | 0 |" in markdown
    assert "api.sms.example.co.uk : son domaine est celui d'un pays hors de l'Espace" in markdown
    assert "30 jours, puis supprimés" in markdown
    assert "Connexions chiffrées vers les opérateurs (TLS) : en place, sauf pour orange" in (
        markdown
    )
    assert "Manque" not in markdown.split("## 2.")[0]

    # The operator's record names the controllers with their details, reads no contact.
    processor = json.loads(record(cli, "--processor", "--format", "json"))
    assert [c["slug"] for c in processor["controllers"]] == [OTHER, HOME]
    assert processor["controllers"][1]["party"]["dpo_name"] == "Camille Dupont"
    assert processor["processor"]["missing"] == ["address", "dpo"]
    assert "people" not in processor and "custom_fields" not in processor
    text = record(cli, "--processor")
    assert "# Registre des activités de traitement du sous-traitant : Hébergeur SMS SAS" in text
    assert "Coordonnées incomplètes pour : Copie SARL." in text

    # A configuration that cannot be read is said so, not taken for none.
    config.write_text("[transport]\nkind = 'pigeon'\n", encoding="utf-8")
    broken = as_json(cli)["transport"]
    assert broken["state"] == "unreadable" and "pigeon" in broken["problem"]


def test_the_contact_details_are_checked_and_audited_by_name(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    cli = cli_for(db_url, tmp_path)
    cli.advertiser(HOME, "--dpo-email", "dpo@maisonlumiere.fr")
    shown = cli("advertiser", "show", HOME, "--json").json()
    assert shown["dpo_email"] == "dpo@maisonlumiere.fr" and shown["address"] is None
    refused = cli("advertiser", "update", HOME, "--contact-email", "pas une adresse", ok=False)
    assert refused.code == 2
    assert refused.err.startswith("error: --contact-email: 'pas une adresse' is not an e-mail")
    refused = cli("advertiser", "update", HOME, "--dpo-name", "Appelez le 06 12 34 56 78",
                  ok=False)  # fmt: skip
    assert refused.code == 2 and "--dpo-name" in refused.err and "phone number" in refused.err
    cli("advertiser", "update", HOME, "--address", "3 place du Marché, 29200 Brest")
    cli("advertiser", "update", HOME, "--dpo-email", "")  # removed
    shown = cli("advertiser", "show", HOME, "--json").json()
    assert shown["address"] == "3 place du Marché, 29200 Brest" and shown["dpo_email"] is None
    with engine.connect() as conn:
        details = list(conn.execute(select(audit_log.c.details).order_by(audit_log.c.seq)))
    logged = " ".join(row.details for row in details)
    assert "Brest" not in logged and "dpo@maisonlumiere.fr" not in logged
    assert '"address":{"set":true}' in logged and '"dpo_email":{"set":false}' in logged
    cli("audit", "verify")


def test_the_command_says_what_it_needs(db_url: str, tmp_path: Path) -> None:
    cli = cli_for(db_url, tmp_path)
    cli.advertiser(HOME)
    for args in ((), ("--advertiser", HOME, "--processor")):
        done: Result = cli("record", *args, ok=False)
        assert done.code == 2 and "--advertiser SLUG or --processor" in done.err
    unknown = cli("record", "--advertiser", "nobody", ok=False)
    assert unknown.code == 2 and "--advertiser: no advertiser 'nobody'" in unknown.err
    out = tmp_path / "registre.html"
    said = cli("record", "--advertiser", HOME, "--format", "html", "--out", str(out)).out
    assert str(out) in said and out.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert out.stat().st_mode & 0o077 == 0
    again = cli("record", "--advertiser", HOME, "--out", str(out), ok=False)
    assert again.code == 2 and "exists already" in again.err
