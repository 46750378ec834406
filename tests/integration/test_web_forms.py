"""The marketer's consent-form pages in Chromium (axe-core) and over HTTP: create a form, see its
versions and embed snippet, preview an edited wording, publish it as a new version; a viewer
cannot publish; another advertiser's marketer sees none of it (404)."""

from playwright.sync_api import expect

from tests.integration.web_app import HOME, WebApp
from tests.integration.web_browser import Browser


def test_a_marketer_creates_previews_and_publishes_a_form(web: WebApp, browser: Browser) -> None:
    page = browser.signed_in(web, "marketer@maison-lumiere.fr")
    page.goto(f"{web.url}/a/{HOME}/forms")
    browser.check(page, "forms-list")
    page.get_by_label("Nom dans l'adresse").fill("jeu-concours")
    page.get_by_role("button", name="Créer le formulaire").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/a/{HOME}/forms/jeu-concours?saved=created")
    assert "<iframe src=" in page.locator("#f-snippet").input_value()
    browser.check(page, "forms-form")
    title = page.locator("#f-title-fr")
    title.fill("Le jeu-concours Maison Lumière")
    page.get_by_role("button", name="Aperçu").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Le jeu-concours Maison Lumière")).to_be_visible()
    browser.check(page, "forms-preview")
    page.get_by_role("button", name="Publier comme nouvelle version").click()
    page.wait_for_load_state()
    assert "saved=published" in page.url
    assert page.locator("table tbody tr").count() == 2  # versions 2 and 1

    public = web.client().get(f"/f/{HOME}/jeu-concours")
    assert public.status_code == 200 and "Le jeu-concours Maison Lumière" in public.text

    viewer = web.client("viewer@maison-lumiere.fr")
    answer = web.post_form(
        viewer, f"/a/{HOME}/forms/jeu-concours", {"action": "publish", "title_fr": "X"}
    )
    assert answer.status_code == 403
    other = web.client("marketer@copie.fr")
    assert other.get(f"/a/{HOME}/forms/jeu-concours").status_code == 404
    assert other.get("/a/copie/forms/jeu-concours").status_code == 404
