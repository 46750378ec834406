"""The command line's reports read the reason codes' labels from the catalogs, in the language
of the environment (issue 16, point 3): French by default and with LANG=fr_FR.UTF-8, English
with LANG=en_US.UTF-8. The plan report and the proof, through the real commands (SQLite)."""

from pathlib import Path

import pytest

from tests.integration.cli import Cli
from tests.integration.test_contacts import write_csv

NOW = "2026-12-01T09:00:00+01:00"  # a Tuesday
CONSENTED = "+33612345601"
NO_BASIS = "+33612345603"
ENVIRONMENT = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"])


@pytest.fixture
def planned(db_url: str, tmp_path: Path) -> Cli:
    cli = Cli(db_url)
    cli.env["TAMBOUR_NOW"] = NOW
    cli.advertiser()
    contacts = write_csv(
        tmp_path / "contacts.csv",
        [
            {"phone": CONSENTED, "consent": "oui", "consent_at": "2026-10-01",
             "consent_method": "web_form", "postal_code": "75011"},
            {"phone": NO_BASIS, "postal_code": "75011"},
        ],
    )  # fmt: skip
    cli("contacts", "import", str(contacts), "--advertiser", "maison-lumiere")
    cli("campaign", "create", "--advertiser", "maison-lumiere", "--name", "Noël",
        "--nature=commercial", "--sender=MLUMIERE", "--categories=luminaires",
        "--text=Nos luminaires de Noël sont arrivés.", "--start=2026-12-01T10:00")  # fmt: skip
    return cli


def speaking(cli: Cli, lang: str | None) -> Cli:
    """The same command line with only LANG set (or none of gettext's variables)."""
    for variable in ENVIRONMENT:
        cli.env[variable] = ""  # empty: unset for gettext, whatever the machine has
    if lang is not None:
        cli.env["LANG"] = lang
    return cli


def line_of(report: str, code: str) -> str:
    return next(line for line in report.splitlines() if line.strip().startswith(code + " "))


@pytest.mark.parametrize(
    ("lang", "basis", "reason"),
    [
        (None, "Consentement préalable", "Aucune base légale"),
        ("fr_FR.UTF-8", "Consentement préalable", "Aucune base légale"),
        ("C.UTF-8", "Consentement préalable", "Aucune base légale"),
        ("en_US.UTF-8", "Prior consent", "No legal basis"),
    ],
)
def test_the_plan_report_and_the_proof_in_the_language_of_the_environment(
    planned: Cli, lang: str | None, basis: str, reason: str
) -> None:
    cli = speaking(planned, lang)
    report = cli("campaign", "plan", "Noël").out
    sent, excluded = line_of(report, "consent"), line_of(report, "no_legal_basis")
    assert sent.endswith(f"%  {basis}") and " 1 " in sent
    assert excluded.endswith(f"%  {reason}") and " 1 " in excluded
    proof = cli("proof", NO_BASIS, "--advertiser", "maison-lumiere").out
    assert f"    EXCLUDED, reason no_legal_basis: {reason}" in proof.splitlines()
    proof = cli("proof", CONSENTED, "--advertiser", "maison-lumiere").out
    assert f"    SEND, legal basis consent: {basis}" in proof.splitlines()
    # The report's own words and the codes do not change with the language.
    assert "contact(s) targeted" in report and "PROOF FOR" in proof


def test_json_keeps_the_french_label_whatever_the_language(planned: Cli) -> None:
    """--json is for scripts: its labels are the service's (French), not the environment's."""
    cli = speaking(planned, "en_US.UTF-8")
    cli("campaign", "plan", "Noël")
    found = cli("proof", NO_BASIS, "--advertiser", "maison-lumiere", "--json").json()
    assert found["campaigns"][0]["rule"]["label"] == "Aucune base légale"
