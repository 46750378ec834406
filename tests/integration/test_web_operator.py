"""The platform's pages, as its operator: advertisers created and changed with the fields of
`tambour advertiser create|update`, operators invited, an advertiser's first administrator
invited by a link that opens the account; as anyone else: 404. An operator reads no
advertiser's data."""

import re
from html import unescape

import httpx
from playwright.sync_api import expect

from tests.integration.web_app import PASSWORD, WebApp, csrf_of
from tests.integration.web_browser import Browser

OPERATOR = "operator@tambour.test"
PATHS = ["/operator/advertisers", "/operator/advertisers/maison-lumiere", "/operator/operators"]


def _text(html: str) -> str:
    spaced = unescape(re.sub(r"<[^>]+>", " ", html)).replace("\u202f", " ").replace("\xa0", " ")
    return re.sub(r"\s+", " ", spaced)


def _link(html: str) -> str:
    found = re.search(r'id="invitation-link" type="text" readonly value="([^"]+)"', html)
    assert found, "no invitation link on the page"
    return unescape(found.group(1))


def _accept(web: WebApp, link: str) -> httpx.Client:
    guest = web.client()
    path = link.removeprefix(web.url)
    form = guest.get(path)
    assert form.status_code == 200, form.text
    done = guest.post(
        path,
        data={"password": PASSWORD, "confirmation": PASSWORD, "csrf_token": csrf_of(form.text)},
    )
    assert done.status_code == 303
    return guest


def test_an_operator_creates_an_advertiser_and_invites_its_first_admin(web: WebApp) -> None:
    ops = web.client(OPERATOR)
    listed = ops.get("/operator/advertisers")
    assert listed.status_code == 200 and "maison-lumiere" in listed.text and "copie" in listed.text
    refused = web.post_form(
        ops, "/operator/advertisers",
        {"slug": "Pas Bon", "name": "", "senders": "", "stop_number": "12"},
    )  # fmt: skip
    assert refused.status_code == 422
    for field in ("slug", "name", "senders", "stop_number"):
        assert f'id="f-{field}-error"' in refused.text, field
    assert 'value="Pas Bon"' in refused.text  # nothing typed is lost
    taken = web.post_form(
        ops, "/operator/advertisers",
        {"slug": "lumiere-bis", "name": "Lumière Bis", "senders": "mlumiere",
         "stop_number": "36111"},
    )  # fmt: skip
    assert taken.status_code == 409 and 'id="f-senders-error"' in taken.text
    made = web.post_form(
        ops, "/operator/advertisers",
        {"slug": "atelier-sud", "name": "Atelier Sud SARL", "senders": "ATSUD, SUDATELIER",
         "stop_number": "36111", "categories": "céramique; vaisselle",
         "non_commercial_id": ""},
    )  # fmt: skip
    assert made.status_code == 303
    assert made.headers["location"] == "/operator/advertisers/atelier-sud?saved=created"
    shown = web.cli("advertiser", "show", "atelier-sud", "--json", ok=True).json()
    assert shown["senders"] == ["ATSUD", "SUDATELIER"]
    assert shown["categories"] == ["céramique", "vaisselle"]

    page = ops.get(made.headers["location"])
    assert "L'annonceur est créé" in _text(page.text)
    changed = web.post_form(
        ops, "/operator/advertisers/atelier-sud",
        {"name": "Atelier du Sud SARL", "add_senders": "ATDUSUD", "categories": "céramique",
         "non_commercial_id": ""},
    )  # fmt: skip
    assert changed.status_code == 303
    after = web.cli("advertiser", "show", "atelier-sud", "--json").json()
    assert after["name"] == "Atelier du Sud SARL" and "ATDUSUD" in after["senders"]
    assert after["categories"] == ["céramique"]

    invited = web.post_form(
        ops, "/operator/admins/invite",
        {"advertiser": "atelier-sud", "admin_email": "direction@atelier-sud.fr"},
        page="/operator/operators",
    )  # fmt: skip
    assert invited.status_code == 200, invited.text
    admin = _accept(web, _link(invited.text))
    assert admin.get("/").headers["location"] == "/a/atelier-sud/"
    users_page = admin.get("/a/atelier-sud/settings/users")
    assert users_page.status_code == 200 and "Inviter quelqu'un" in _text(users_page.text)


def test_an_operator_invites_an_operator_and_revokes_an_invitation(web: WebApp) -> None:
    ops = web.client(OPERATOR)
    bad = web.post_form(ops, "/operator/operators/invite", {"operator_email": "personne"})
    assert bad.status_code == 422 and 'id="f-operator_email-error"' in bad.text
    made = web.post_form(ops, "/operator/operators/invite",
                         {"operator_email": "ops2@tambour.test"})  # fmt: skip
    assert made.status_code == 200
    link = _link(made.text)
    spare = web.post_form(ops, "/operator/operators/invite",
                          {"operator_email": "ops3@tambour.test"})  # fmt: skip
    revoke = re.findall(r"/operator/invitations/(\d+)/revoke", spare.text)
    assert len(revoke) >= 2
    done = web.post_form(ops, f"/operator/invitations/{revoke[-1]}/revoke", {},
                         page="/operator/operators")  # fmt: skip
    assert done.status_code == 303
    assert "ops3@tambour.test" not in ops.get("/operator/operators").text
    second = _accept(web, link)
    assert second.get("/operator/advertisers").status_code == 200
    assert "ops2@tambour.test" in ops.get("/operator/operators").text


def test_the_platform_pages_are_the_operators_alone(web: WebApp) -> None:
    for email in ("admin@maison-lumiere.fr", "viewer@maison-lumiere.fr", "marketer@copie.fr"):
        client = web.client(email)
        for path in PATHS:
            assert client.get(path).status_code == 404, (email, path)
        token = csrf_of(client.get("/account").text)
        posted = client.post(
            "/operator/advertisers",
            data={"slug": "pirate", "name": "Pirate", "senders": "PIRATE",
                  "stop_number": "36111", "csrf_token": token},
        )  # fmt: skip
        assert posted.status_code == 404
    assert "pirate" not in web.client(OPERATOR).get("/operator/advertisers").text
    # An operator reads no advertiser's data.
    ops = web.client(OPERATOR)
    for path in ("/a/maison-lumiere/", "/a/maison-lumiere/settings", "/a/maison-lumiere/audit"):
        assert ops.get(path).status_code == 404, path


def test_the_platform_pages_in_chromium(web: WebApp, browser: Browser) -> None:
    page = browser.signed_in(web, OPERATOR)
    page.goto(web.url + "/")
    page.get_by_role("link", name="Plateforme", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Annonceurs")).to_be_visible()
    page.get_by_label(re.compile("^Identifiant")).fill("verrerie-est")
    page.get_by_label(re.compile("^Raison sociale")).fill("Verrerie de l'Est")
    page.get_by_label(re.compile("^Noms d'expéditeur")).fill("VERREST")
    page.get_by_label(re.compile("^Numéro STOP")).fill("36111")
    page.get_by_label(re.compile("^Catégories de produits")).fill("verrerie")
    browser.check(page, "operator-advertisers")
    page.get_by_role("button", name="Créer l'annonceur").click()
    expect(page.get_by_role("heading", level=1, name="Annonceur verrerie-est")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("L'annonceur est créé")
    browser.check(page, "operator-advertiser")
    page.get_by_role("link", name="Inviter un administrateur de cet annonceur").click()
    page.get_by_label("Annonceur", exact=True).select_option("verrerie-est")
    page.get_by_label("Adresse e-mail de l'administrateur").fill("chef@verrerie-est.fr")
    page.get_by_role("button", name="Créer un lien d'invitation").nth(1).click()
    link = page.get_by_role("textbox", name="Lien d'invitation").input_value()
    assert "/invitations/" in link
    browser.check(page, "operator-operators")
