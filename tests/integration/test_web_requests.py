"""The register of data requests in Chromium (axe-core) and over HTTP: a marketer registers an
access request and answers it (the document in French and the JSON copy to download, nothing
kept), registers an erasure and cannot answer it without confirming, then erases; a viewer reads
the register and changes nothing; another advertiser's team sees none of it (404)."""

import base64
import json
import re
from datetime import date, timedelta

from playwright.sync_api import expect

from tests.integration.web_app import HOME, WebApp
from tests.integration.web_browser import Browser

NUMBER = "+33612340077"


def test_a_marketer_registers_and_answers_requests(web: WebApp, browser: Browser) -> None:
    page = browser.signed_in(web, "marketer@maison-lumiere.fr")
    page.goto(f"{web.url}/a/{HOME}/requests")
    browser.check(page, "requests-list")
    page.get_by_label("Le numéro concerné").fill("06 12 34 00 77")
    page.get_by_label("Qui a fait la demande").fill("La personne, par courriel")
    page.get_by_role("button", name="Enregistrer la demande").click()
    page.wait_for_load_state()
    assert re.search(rf"/a/{HOME}/requests/\d+\?done=added$", page.url), page.url
    expect(page.get_by_role("status")).to_contain_text("un mois")
    browser.check(page, "requests-request")
    page.get_by_role("button", name="Rassembler les données et clore la demande").click()
    page.wait_for_load_state()
    link = page.get_by_role("link", name="Le document, en français (HTML, imprimable)")
    document = base64.b64decode(link.get_attribute("href").split(",", 1)[1]).decode()
    assert "Vos données chez Maison Lumière SAS" in document and NUMBER in document
    copy = page.get_by_role("link", name="La copie portable (JSON)").get_attribute("href")
    assert json.loads(base64.b64decode(copy.split(",", 1)[1]))["number"] == NUMBER
    browser.check(page, "requests-answered")

    client = web.client("marketer@maison-lumiere.fr")
    added = web.post_form(client, f"/a/{HOME}/requests", {
        "kind": "erasure", "number": NUMBER, "requester": "La personne", "means": "letter",
    })  # fmt: skip
    assert added.status_code == 303
    erasure = added.headers["location"].split("?")[0]
    unconfirmed = web.post_form(client, f"{erasure}/answer", {}, page=erasure)
    assert unconfirmed.status_code == 422 and "ne peut pas être défait" in unconfirmed.text
    done = web.post_form(client, f"{erasure}/answer", {"confirm": "yes"}, page=erasure)
    assert done.status_code == 303 and done.headers["location"].endswith("?done=answered")
    after = client.get(erasure)
    assert "traitée" in after.text and "La personne" not in after.text  # the requester erased
    check = web.cli("optout", "check", NUMBER, "--advertiser", HOME, "--json").json()
    assert check["opted_out"] is True and check["source"] == "data_request"

    # An objection received 27 days ago is due within the week: the dashboard says so.
    received = (date.today() - timedelta(days=27)).isoformat()
    soon = web.post_form(client, f"/a/{HOME}/requests", {
        "kind": "objection", "number": NUMBER, "requester": "La personne", "means": "phone",
        "received_on": received,
    })  # fmt: skip
    assert soon.status_code == 303
    soon_id = soon.headers["location"].split("?")[0].rsplit("/", 1)[1]
    dashboard = client.get(f"/a/{HOME}/")
    assert "Une demande de droits arrive à échéance dans la semaine" in dashboard.text
    assert f"/a/{HOME}/requests/{soon_id}" in dashboard.text
    answered = web.post_form(client, f"/a/{HOME}/requests/{soon_id}/answer", {},
                             page=f"/a/{HOME}/requests/{soon_id}")  # fmt: skip
    assert answered.status_code == 303
    assert f"/a/{HOME}/requests/{soon_id}" not in client.get(f"/a/{HOME}/").text

    viewer = web.client("viewer@maison-lumiere.fr")
    assert viewer.get(f"/a/{HOME}/requests").status_code == 200
    refused = web.post_form(viewer, f"/a/{HOME}/requests", {
        "kind": "access", "number": NUMBER, "requester": "x",
    })  # fmt: skip
    assert refused.status_code == 403
    other = web.client("marketer@copie.fr")
    assert other.get(erasure).status_code == 404
    assert other.get(f"/a/{HOME}/requests").status_code == 404
