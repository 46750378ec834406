"""33700 complaints in the web app, in Chromium (axe-core) and over HTTP: a marketer takes a
33700 file in and reads, in French, what was recorded and why lines were not taken; the
reports and rates show, numbers only by the start of their hash; a viewer reads and has no
form; the operator's page of paused campaigns, whose Resume refuses a campaign not paused.
(The pause itself, and the resume that lets messages leave, are tested with a real worker in
test_complaints.py and test_api_complaints.py.)"""

from playwright.sync_api import expect
from sqlalchemy import select

from tambour.store.engine import make_engine
from tambour.store.tables import campaigns
from tests.integration.web_app import HOME, WebApp, csrf_of
from tests.integration.web_browser import Browser

REPORTER = "+33612349901"
FILE = (
    "Numéro signalé;Émetteur;Date du signalement;Contenu\n"
    "06 12 34 99 01;MLUMIERE;01/12/2026 10:00;Offre web\n"
    "06 12;MLUMIERE;01/12/2026;?\n"
    "06 12 34 99 02;COPIE;01/12/2026;Copie\n"
)


def test_a_marketer_takes_a_33700_file_in(web: WebApp, browser: Browser) -> None:
    page = browser.signed_in(web, "marketer@maison-lumiere.fr")
    page.goto(f"{web.url}/a/{HOME}/complaints")
    browser.check(page, "complaints-page")
    client = web.client("marketer@maison-lumiere.fr")
    path = f"/a/{HOME}/complaints"
    token = csrf_of(client.get(path).text)
    answer = client.post(
        path, data={"csrf_token": token},
        files={"file": ("signalements 0612349901.csv", FILE.encode("cp1252"), "text/csv")},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    text = answer.text
    assert "1 nouveau signalement enregistré" in text
    assert "pas un numéro de téléphone valide" in text
    assert "ni un nom d&#39;expéditeur ni le numéro court de l&#39;annonceur" in text
    assert "0612349901" not in text and "612349901" not in text.replace("06 12 34 99", "")
    again = client.post(
        path, data={"csrf_token": token},
        files={"file": ("33700.csv", FILE.encode("cp1252"), "text/csv")},
    )  # fmt: skip
    assert "1 signalement déjà reçu, compté une seule fois" in again.text
    check = web.cli("optout", "check", REPORTER, "--advertiser", HOME, "--json").json()
    assert check["opted_out"] is True and check["source"] == "complaint_33700"
    page.reload()
    expect(page.get_by_role("heading", name="Signalements reçus")).to_be_visible()
    expect(page.get_by_text("aucun message retrouvé").first).to_be_visible()
    browser.check(page, "complaints-reports")
    empty = client.post(path, data={"csrf_token": token})
    assert empty.status_code == 422 and "Choisissez le fichier du 33700" in empty.text

    viewer = web.client("viewer@maison-lumiere.fr")
    seen = viewer.get(path)
    assert seen.status_code == 200 and "Prendre le fichier en compte" not in seen.text


def test_the_operator_resumes_paused_campaigns_only(web: WebApp, browser: Browser) -> None:
    page = browser.signed_in(web, "operator@tambour.test")
    page.goto(f"{web.url}/operator/complaints")
    expect(page.get_by_text("Aucune campagne n'est suspendue.")).to_be_visible()
    browser.check(page, "operator-complaints")
    web.cli(
        "campaign", "create", "--advertiser", HOME, "--name", "Pas suspendue",
        "--nature", "commercial", "--sender", "MLUMIERE", "--categories", "luminaires",
        "--text", "Maison Lumière : -20 % sur les luminaires",
    )  # fmt: skip
    engine = make_engine(web.server.db_url)
    try:
        with engine.connect() as conn:
            campaign_id = conn.execute(
                select(campaigns.c.id).where(campaigns.c.name == "Pas suspendue")
            ).scalar_one()
    finally:
        engine.dispose()
    operator = web.client("operator@tambour.test")
    refused = web.post_form(
        operator, "/operator/complaints/resume", {"campaign_id": str(campaign_id)},
        page="/operator/complaints",
    )  # fmt: skip
    assert refused.status_code == 409 and "Cette campagne n&#39;est pas suspendue." in refused.text
    # Not an operator: the page is not there.
    marketer = web.client("marketer@maison-lumiere.fr")
    assert marketer.get("/operator/complaints").status_code == 404
