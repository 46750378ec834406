"""The record of processing in the web app, in Chromium (axe-core) and over HTTP: a viewer (the
advertiser's data-protection officer) reads its advertiser's record in Settings, prints it
(a page of its own, no script) and downloads it as Markdown; the operator fills in the contact
details and the record names them; the operator reads its own record as processor; another
advertiser's account and a non-operator get 404."""

from playwright.sync_api import expect

from tests.integration.web_app import HOME, WebApp
from tests.integration.web_browser import Browser

OPERATOR = "operator@tambour.test"


def test_an_advertisers_record_of_processing(web: WebApp, browser: Browser) -> None:
    page = browser.signed_in(web, "viewer@maison-lumiere.fr", bypass_csp=True)
    page.goto(f"{web.url}/a/{HOME}/settings")
    page.get_by_role("link", name="Registre des traitements").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/a/{HOME}/settings/record")
    expect(page.get_by_role("heading", level=2)).to_have_text(
        "Registre des activités de traitement : Maison Lumière SAS"
    )
    expect(page.get_by_role("heading", name="1. Responsable du traitement")).to_be_visible()
    expect(page.get_by_text("Manque : adresse postale")).to_be_visible()
    browser.check(page, "record-advertiser")
    page.get_by_role("link", name="Le registre à imprimer (HTML)").click()
    page.wait_for_load_state()
    assert page.url.endswith("/settings/record/print")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Registre des activités de traitement : Maison Lumière SAS"
    )
    browser.check(page, "record-advertiser-print")

    viewer = web.client("viewer@maison-lumiere.fr")
    printable = viewer.get(f"/a/{HOME}/settings/record/print")
    assert printable.headers["content-type"] == "text/html; charset=utf-8"
    assert "<script" not in printable.text and "@media print" in printable.text
    assert "default-src 'none'" in printable.headers["content-security-policy"]
    markdown = viewer.get(f"/a/{HOME}/settings/record/markdown")
    assert markdown.headers["content-type"] == "text/markdown; charset=utf-8"
    assert 'filename="registre-maison-lumiere.md"' in markdown.headers["content-disposition"]
    assert markdown.text.startswith("# Registre des activités de traitement : Maison Lumière")
    english = web.client("viewer@maison-lumiere.fr", language="en")
    assert "Record of processing activities" in english.get(f"/a/{HOME}/settings/record").text

    # The operator fills in the controller's details: the record names them.
    ops = web.client(OPERATOR)
    saved = web.post_form(ops, f"/operator/advertisers/{HOME}", {
        "name": "Maison Lumière SAS", "categories": "luminaires; décoration",
        "address": "12 rue des Lampes, 75011 Paris", "contact_email": "rgpd@ml.example.fr",
        "dpo_name": "Camille Dupont", "dpo_email": "dpo@ml.example.fr",
    })  # fmt: skip
    assert saved.status_code == 303, saved.text
    page = f"/operator/advertisers/{HOME}"
    assert 'name="stop_link" value="1">' in ops.get(page).text  # off unless ticked
    linked = web.post_form(ops, page, {
        "name": "Maison Lumière SAS", "categories": "luminaires; décoration",
        "address": "12 rue des Lampes, 75011 Paris", "contact_email": "rgpd@ml.example.fr",
        "dpo_name": "Camille Dupont", "dpo_email": "dpo@ml.example.fr", "stop_link": "1",
    })  # fmt: skip
    assert linked.status_code == 303, linked.text
    assert 'name="stop_link" value="1" checked>' in ops.get(page).text  # issue 17's link
    wrong = web.post_form(ops, f"/operator/advertisers/{HOME}", {
        "name": "Maison Lumière SAS", "dpo_email": "pas une adresse",
    })  # fmt: skip
    assert wrong.status_code == 422 and 'id="f-dpo_email-error"' in wrong.text
    shown = viewer.get(f"/a/{HOME}/settings/record").text
    assert "12 rue des Lampes, 75011 Paris" in shown and "Camille Dupont" in shown
    assert "Manque : adresse postale" not in shown
    assert "Camille Dupont" in viewer.get(f"/a/{HOME}/settings").text  # the identity tab

    other = web.client("marketer@copie.fr")
    for path in ("", "/print", "/markdown"):
        assert other.get(f"/a/{HOME}/settings/record{path}").status_code == 404
        assert viewer.get(f"/operator/record{path}").status_code == 404


def test_the_operators_record_as_processor(web: WebApp, browser: Browser) -> None:
    page = browser.signed_in(web, OPERATOR, bypass_csp=True)
    page.goto(f"{web.url}/operator/advertisers")
    page.get_by_role("link", name="Registre des traitements").click()
    page.wait_for_load_state()
    assert page.url.endswith("/operator/record")
    expect(page.get_by_role("heading", name="2. Responsables du traitement pour lesquels il agit")
           ).to_be_visible()  # fmt: skip
    expect(page.get_by_role("cell", name="maison-lumiere", exact=True)).to_be_visible()
    browser.check(page, "record-processor")
    page.goto(f"{web.url}/operator/record/print")
    browser.check(page, "record-processor-print")
    ops = web.client(OPERATOR)
    text = ops.get("/operator/record/markdown").text
    assert text.startswith("# Registre des activités de traitement du sous-traitant")
    assert "| copie | non renseigné | non renseigné |" in text
    # The operator reads no advertiser's data: its record counts no contact.
    assert "Catégories de personnes" not in text
    assert ops.get(f"/a/{HOME}/settings/record").status_code == 404
