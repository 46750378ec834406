"""An advertiser's settings (identity, users and invitations, API keys, webhooks) and its audit
log, over HTTP and in Chromium: as its admin (who manages), its marketer and its viewer (who
read, change nothing: no form shown, every POST 403), and as another advertiser's account (404
on every page, nothing of it listed). A key made on the page works against the real API; an
invitation made on the page opens an account through its link."""

import re
import time
from html import unescape
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.dispatch_setup import mobile, write_contacts
from tests.integration.web_app import PASSWORD, WebApp, csrf_of
from tests.integration.web_browser import Browser

HOME = "maison-lumiere"
BASE = f"/a/{HOME}/settings"
ADMIN = "admin@maison-lumiere.fr"
PAGES = [BASE, f"{BASE}/users", f"{BASE}/keys", f"{BASE}/webhooks", f"/a/{HOME}/audit"]


def _text(html: str) -> str:
    spaced = unescape(re.sub(r"<[^>]+>", " ", html)).replace("\u202f", " ").replace("\xa0", " ")
    return re.sub(r"\s+", " ", spaced)


def _main(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def _readonly(html: str, ident: str) -> str:
    found = re.search(rf'id="{ident}" type="text" readonly value="([^"]+)"', html)
    assert found, f"no {ident} on the page"
    return unescape(found.group(1))


def _post(web: WebApp, client: httpx.Client, path: str, data: dict[str, str],
          page: str) -> httpx.Response:  # fmt: skip
    return web.post_form(client, path, data, page=page)


# --- identity ----------------------------------------------------------------------------------


def test_the_identity_is_shown_read_only(web: WebApp) -> None:
    for email in (ADMIN, "viewer@maison-lumiere.fr"):
        page = web.client(email).get(BASE)
        assert page.status_code == 200, page.text
        text = _text(_main(page.text))
        assert "Maison Lumière SAS" in text and "MLUMIERE" in text and "36111" in text
        assert "STOP au 36111" in text and "opérateur Tambour" in text
        assert "<form" not in _main(page.text)  # the operator's to change (advertisers.update)
        assert f'href="/a/{HOME}/contacts/mapping"' in page.text  # the advertiser's mapping
        assert web.client(email).get(f"/a/{HOME}/contacts/mapping").status_code == 200


# --- users and invitations ---------------------------------------------------------------------


def test_an_invitation_made_on_the_page_opens_an_account_through_its_link(web: WebApp) -> None:
    admin = web.client(ADMIN)
    invite = {"email": "Nina@Maison-Lumiere.fr", "role": "viewer"}
    made = _post(web, admin, f"{BASE}/users/invite", invite, f"{BASE}/users")
    assert made.status_code == 200, made.text
    link = _readonly(made.text, "invitation-link")
    assert link.startswith(web.url + "/invitations/")
    assert "nina@maison-lumiere.fr" in _text(made.text) and "affiché une seule fois" in made.text
    # Listed as open, never with its link again.
    listed = admin.get(f"{BASE}/users").text
    assert "nina@maison-lumiere.fr" in listed and link not in listed

    guest = web.client()
    form = guest.get(link.removeprefix(web.url))
    assert form.status_code == 200 and "lecteur" in _text(form.text)
    opened = guest.post(
        link.removeprefix(web.url),
        data={"password": PASSWORD, "confirmation": PASSWORD, "csrf_token": csrf_of(form.text)},
    )
    assert opened.status_code == 303
    assert guest.get("/").headers["location"] == f"/a/{HOME}/"
    assert guest.get(f"/a/{HOME}/").status_code == 200
    after = admin.get(f"{BASE}/users").text
    assert (
        "Aucune invitation en cours" in after
        or "nina@maison-lumiere.fr" not in _main(after).split("Invitations en cours", 1)[1]
    )


def test_an_invitation_is_revoked_and_bad_input_is_said_beside_its_field(web: WebApp) -> None:
    admin = web.client(ADMIN)
    bad = _post(web, admin, f"{BASE}/users/invite", {"email": "pas-une-adresse", "role": "viewer"},
                f"{BASE}/users")  # fmt: skip
    assert bad.status_code == 422
    assert 'id="f-email-error"' in bad.text and 'value="pas-une-adresse"' in bad.text
    odd = _post(web, admin, f"{BASE}/users/invite", {"email": "x@y.fr", "role": "operator"},
                f"{BASE}/users")  # fmt: skip
    assert odd.status_code == 422 and "Choisissez un rôle dans la liste" in odd.text
    made = _post(
        web,
        admin,
        f"{BASE}/users/invite",
        {"email": "leo@maison-lumiere.fr", "role": "marketer"},
        f"{BASE}/users",
    )
    link = _readonly(made.text, "invitation-link").removeprefix(web.url)
    invitation = re.search(r"/settings/invitations/(\d+)/revoke", made.text)
    assert invitation
    done = _post(web, admin, f"/a/{HOME}/settings/invitations/{invitation.group(1)}/revoke", {},
                 f"{BASE}/users")  # fmt: skip
    assert done.status_code == 303 and done.headers["location"].endswith("saved=revoked-invitation")
    assert "son lien ne fonctionne plus" in admin.get(done.headers["location"]).text
    dead = web.client().get(link)
    assert dead.status_code == 409 and "expiré" in dead.text


def test_an_admin_disables_and_enables_an_account_of_its_advertiser(web: WebApp) -> None:
    web.add_user("ines@maison-lumiere.fr", "marketer", HOME)
    ines = web.client("ines@maison-lumiere.fr")
    assert ines.get(f"/a/{HOME}/").status_code == 200
    admin = web.client(ADMIN)
    page = admin.get(f"{BASE}/users").text
    assert 'aria-label="Désactiver le compte ines@maison-lumiere.fr"' in page
    assert "Désactiver le compte admin@maison-lumiere.fr" not in page  # not one's own
    done = _post(web, admin, f"{BASE}/users/disable", {"email": "ines@maison-lumiere.fr"},
                 f"{BASE}/users")  # fmt: skip
    assert done.status_code == 303
    assert ines.get(f"/a/{HOME}/").status_code == 303  # its session ended: to the login page
    assert "désactivé" in _text(admin.get(f"{BASE}/users").text)
    mine = _post(web, admin, f"{BASE}/users/disable", {"email": ADMIN}, f"{BASE}/users")
    assert mine.status_code == 409
    back = _post(web, admin, f"{BASE}/users/enable", {"email": "ines@maison-lumiere.fr"},
                 f"{BASE}/users")  # fmt: skip
    assert (
        back.status_code == 303
        and web.client("ines@maison-lumiere.fr").get(f"/a/{HOME}/").status_code == 200
    )


def test_an_admin_changes_a_role_and_the_members_next_page_follows_it(web: WebApp) -> None:
    web.add_user("role@maison-lumiere.fr", "marketer", HOME)
    member = web.client("role@maison-lumiere.fr")
    assert member.get(f"/a/{HOME}/campaigns/new").status_code == 200  # a marketer writes
    admin = web.client(ADMIN)
    page = admin.get(f"{BASE}/users").text
    assert 'aria-label="Changer le rôle de role@maison-lumiere.fr"' in page
    assert 'aria-label="Nouveau rôle de role@maison-lumiere.fr"' in page
    assert "Changer le rôle de admin@maison-lumiere.fr" not in page  # not one's own
    to_viewer = {"email": "role@maison-lumiere.fr", "role": "viewer"}
    done = _post(web, admin, f"{BASE}/users/role", to_viewer, f"{BASE}/users")
    assert done.status_code == 303 and done.headers["location"].endswith("saved=role")
    assert "Le rôle est changé" in admin.get(done.headers["location"]).text
    # The member's session lives on and sees its new role at once: a viewer writes nothing.
    assert member.get(f"/a/{HOME}/").status_code == 200
    assert member.get(f"/a/{HOME}/campaigns/new").status_code == 403
    listed = _main(admin.get(f"{BASE}/users").text)
    row = listed.split("role@maison-lumiere.fr", 1)[1].split("</tr>", 1)[0]
    assert "lecteur" in _text(row)
    # Refused, in French: one's own role, a role not listed, another advertiser's account.
    mine = _post(web, admin, f"{BASE}/users/role", {"email": ADMIN, "role": "viewer"},
                 f"{BASE}/users")  # fmt: skip
    assert mine.status_code == 409 and "Vous ne pouvez pas changer votre propre rôle" in _text(
        mine.text
    )
    to_operator = {"email": "role@maison-lumiere.fr", "role": "operator"}
    odd = _post(web, admin, f"{BASE}/users/role", to_operator, f"{BASE}/users")
    assert odd.status_code == 422 and "Choisissez un rôle dans la liste" in odd.text
    stranger = _post(web, admin, f"{BASE}/users/role",
                     {"email": "marketer@copie.fr", "role": "viewer"}, f"{BASE}/users")  # fmt: skip
    assert stranger.status_code == 404
    assert web.client("marketer@copie.fr").get("/a/copie/campaigns/new").status_code == 200
    # The last enabled admin stays one (the operator's command line is refused too).
    last = web.cli("user", "role", ADMIN, "--advertiser", HOME, "--role", "viewer", ok=False)
    assert last.code == 2 and "no enabled admin" in last.err
    # In the audit log, in words.
    audit = web.client("viewer@maison-lumiere.fr").get(f"/a/{HOME}/audit").text
    assert "rôle changé" in _text(audit) and "user.role_change" in audit


def test_the_operator_changes_a_role_from_the_platforms_page(web: WebApp) -> None:
    web.add_user("ops-role@maison-lumiere.fr", "viewer", HOME)
    ops = web.client("operator@tambour.test")
    path = f"/operator/advertisers/{HOME}"
    page = ops.get(path).text
    assert 'aria-label="Changer le rôle de ops-role@maison-lumiere.fr"' in page
    assert "marketer@copie.fr" not in page  # the accounts of this advertiser only
    to_marketer = {"email": "ops-role@maison-lumiere.fr", "role": "marketer"}
    done = web.post_form(ops, f"{path}/users/role", to_marketer, page=path)
    assert done.status_code == 303 and done.headers["location"] == f"{path}?saved=role"
    assert "Le rôle est changé" in ops.get(done.headers["location"]).text
    member = web.client("ops-role@maison-lumiere.fr")
    assert member.get(f"/a/{HOME}/campaigns/new").status_code == 200
    # The only enabled admin stays one: refused in French.
    last = web.post_form(ops, f"{path}/users/role", {"email": ADMIN, "role": "viewer"}, page=path)
    assert last.status_code == 409
    assert "L'annonceur n'aurait plus d'administrateur actif" in _text(last.text)
    # An advertiser's admin reaches no page of the platform.
    admin = web.client(ADMIN)
    token = csrf_of(admin.get(f"{BASE}/users").text)
    refused = admin.post(f"{path}/users/role",
                         data={"email": "ops-role@maison-lumiere.fr", "role": "admin",
                               "csrf_token": token})  # fmt: skip
    assert refused.status_code == 404


# --- API keys ----------------------------------------------------------------------------------


def test_a_key_made_on_the_page_works_against_the_api_until_revoked(web: WebApp) -> None:
    admin = web.client(ADMIN)
    empty = _post(web, admin, f"{BASE}/keys", {"name": "site web"}, f"{BASE}/keys")
    assert empty.status_code == 422 and 'id="f-scopes-error"' in empty.text
    admin.get(f"{BASE}/keys")
    made = admin.post(
        f"{BASE}/keys",
        data={"name": "site web", "scopes": ["read", "send"],
              "csrf_token": csrf_of(admin.get(f"{BASE}/keys").text)},
    )  # fmt: skip
    assert made.status_code == 200, made.text
    token = _readonly(made.text, "key-token")
    assert token.startswith("tbr_live_")
    api = httpx.Client(base_url=web.url, timeout=30)
    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["advertiser"] == HOME and me.json()["scopes"] == ["read", "send"]
    key_id = me.json()["key_id"]
    listed = admin.get(f"{BASE}/keys").text
    assert key_id in listed and token not in listed
    done = _post(web, admin, f"{BASE}/keys/{key_id}/revoke", {}, f"{BASE}/keys")
    assert done.status_code == 303
    time.sleep(1.2)  # the servers' key cache
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "révoquée" in admin.get(f"{BASE}/keys").text
    api.close()


# --- webhooks ----------------------------------------------------------------------------------


def test_a_webhook_endpoint_its_secret_its_deliveries_and_a_replay(
    web: WebApp, tmp_path: Path
) -> None:
    admin = web.client(ADMIN)
    insecure = _post(web, admin, f"{BASE}/webhooks",
                     {"url": "http://hooks.exemple.fr/tambour"}, f"{BASE}/webhooks")  # fmt: skip
    assert insecure.status_code == 422 and 'id="f-url-error"' in insecure.text
    made = admin.post(
        f"{BASE}/webhooks",
        data={"url": "https://hooks.exemple.fr/tambour", "description": "CRM",
              "events": ["campaign.launched"],
              "csrf_token": csrf_of(admin.get(f"{BASE}/webhooks").text)},
    )  # fmt: skip
    assert made.status_code == 200, made.text
    secret = _readonly(made.text, "webhook-secret")
    assert secret.startswith("whsec_")
    endpoint = re.search(r"/settings/webhooks/(\d+)\"", admin.get(f"{BASE}/webhooks").text)
    assert endpoint
    path = f"{BASE}/webhooks/{endpoint.group(1)}"
    assert secret not in admin.get(path).text
    # An event: a campaign launched (by the command line) to one consenting contact.
    contacts = write_contacts(tmp_path / "one.csv", [mobile(1)])
    web.cli("contacts", "import", str(contacts), "--advertiser", HOME)
    web.cli(
        "campaign",
        "create",
        "--advertiser",
        HOME,
        "--name",
        "Webhook lancé",
        "--nature",
        "commercial",
        "--sender",
        "MLUMIERE",
        "--text",
        "Bonjour, -20% ce week-end.",
    )
    web.cli("campaign", "plan", "Webhook lancé", "--advertiser", HOME)
    web.cli("campaign", "launch", "Webhook lancé", "--advertiser", HOME)
    page = admin.get(path).text
    assert "campaign.launched" in _main(page).split("Envois récents", 1)[1]
    delivery = re.search(r"/deliveries/(\d+)/replay", page)
    assert delivery
    again = _post(web, admin, f"{path}/deliveries/{delivery.group(1)}/replay", {}, path)
    assert again.status_code == 303
    assert "sera envoyé à nouveau" in admin.get(again.headers["location"]).text
    assert len(re.findall(r"/deliveries/\d+/replay", admin.get(path).text)) == 2
    rotated = _post(web, admin, f"{path}/rotate", {}, path)
    assert rotated.status_code == 200
    new_secret = _readonly(rotated.text, "webhook-secret")
    assert new_secret.startswith("whsec_") and new_secret != secret
    off = _post(web, admin, f"{path}/disable", {}, path)
    assert off.status_code == 303 and "désactivé" in _text(admin.get(path).text)


# --- who may do what ---------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["marketer@maison-lumiere.fr", "viewer@maison-lumiere.fr"])
def test_a_marketer_and_a_viewer_read_and_change_nothing(web: WebApp, email: str) -> None:
    client = web.client(email)
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, (path, page.text)
        main = _main(page.text)
        forms = re.findall(r'<form method="post" action="([^"]+)"', main)
        assert forms == ([f"/a/{HOME}/audit/verify"] if path.endswith("/audit") else []), path
    users_page = client.get(f"{BASE}/users").text
    assert ADMIN in users_page  # who has access: read by everyone here
    assert "hooks.exemple.fr" not in client.get(f"{BASE}/webhooks").text  # URLs: the admins'
    token = csrf_of(client.get(f"{BASE}/users").text)
    for path, data in [
        (f"{BASE}/users/invite", {"email": "z@maison-lumiere.fr", "role": "admin"}),
        (f"{BASE}/users/disable", {"email": ADMIN}),
        (f"{BASE}/users/role", {"email": ADMIN, "role": "viewer"}),
        (f"{BASE}/keys", {"name": "x", "scopes": "read"}),
        (f"{BASE}/webhooks", {"url": "https://hooks.exemple.fr/x"}),
        (f"{BASE}/webhooks/1/rotate", {}),
        (f"{BASE}/invitations/1/revoke", {}),
    ]:
        refused = client.post(path, data={**data, "csrf_token": token})
        assert refused.status_code == 403, (path, refused.status_code)
    assert client.get(f"{BASE}/webhooks/1").status_code in (403, 404)
    assert "z@maison-lumiere.fr" not in web.client(ADMIN).get(f"{BASE}/users").text


def test_another_advertisers_account_sees_nothing_here(web: WebApp) -> None:
    other = web.client("marketer@copie.fr")
    for path in [*PAGES, f"{BASE}/webhooks/1"]:
        assert other.get(path).status_code == 404, path
    # Nothing of copie's on maison-lumiere's pages, and its admin reaches none of copie's.
    made = web.cli("apikey", "create", "--advertiser", "copie", "--scopes", "read", "--name",
                   "copie-caisse", "--json").json()  # fmt: skip
    admin = web.client(ADMIN)
    assert "copie-caisse" not in admin.get(f"{BASE}/keys").text
    assert "marketer@copie.fr" not in admin.get(f"{BASE}/users").text
    key_id = made["key_id"]
    refused = _post(web, admin, f"{BASE}/keys/{key_id}/revoke", {}, f"{BASE}/keys")
    assert refused.status_code == 404
    assert (
        not web.cli("apikey", "list", "--advertiser", "copie", "--json").json()[0].get("revoked_at")
    )
    stranger = _post(web, admin, f"{BASE}/users/disable", {"email": "marketer@copie.fr"},
                     f"{BASE}/users")  # fmt: skip
    assert stranger.status_code == 404
    assert web.client("marketer@copie.fr").get("/a/copie/").status_code == 200
    invited = web.cli("user", "invite", "x@copie.fr", "--role", "viewer", "--advertiser", "copie")
    assert invited.out.startswith("/invitations/")
    copie_invitation = web.cli("user", "invitations", "--advertiser", "copie", "--json").json()
    theirs = copie_invitation[-1]["id"]
    assert _post(web, admin, f"{BASE}/invitations/{theirs}/revoke", {},
                 f"{BASE}/users").status_code == 404  # fmt: skip


# --- the audit log -----------------------------------------------------------------------------


def test_the_audit_log_lists_the_advertisers_entries_and_verifies(web: WebApp) -> None:
    web.cli("optout", "add", "06 12 34 56 78", "--advertiser", HOME, "--source", "manual")
    viewer = web.client("viewer@maison-lumiere.fr")
    page = viewer.get(f"/a/{HOME}/audit")
    assert page.status_code == 200
    text = _text(page.text)
    assert "désinscription enregistrée" in text and "optout.add" in text
    assert "0612345678" not in page.text and "06 12 34 56 78" not in page.text
    assert "+33612345678" not in page.text
    assert "copie" not in _main(page.text)  # the other advertiser's entries are not here
    # The check is a job: its page follows it (tests/integration/test_web_audit.py).
    checked = web.post_form(viewer, f"/a/{HOME}/audit/verify", {}, page=f"/a/{HOME}/audit")
    assert checked.status_code == 303
    assert re.fullmatch(rf"/a/{HOME}/audit/verifications/\d+", checked.headers["location"])
    assert web.client("marketer@copie.fr").get(f"/a/{HOME}/audit").status_code == 404


def test_the_audit_log_is_paged(web: WebApp) -> None:
    for index in range(55):
        web.cli("optout", "add", f"06 40 00 {index // 10:02d} {index % 10}0", "--advertiser", HOME)
    client = web.client("viewer@maison-lumiere.fr")
    first = client.get(f"/a/{HOME}/audit").text
    older = re.search(r'href="(/a/maison-lumiere/audit\?before=\d+)"', first)
    assert older, "no link to older entries"
    second = client.get(unescape(older.group(1)))
    assert second.status_code == 200 and "Dernières entrées" in second.text
    seqs = [int(s) for s in re.findall(r'<td class="number">(\d+)</td>', first)]
    later = [int(s) for s in re.findall(r'<td class="number">(\d+)</td>', second.text)]
    assert len(seqs) == 50 and later and max(later) < min(seqs)


# --- in Chromium -------------------------------------------------------------------------------


def test_the_settings_in_chromium_as_an_admin(web: WebApp, browser: Browser) -> None:
    page = browser.signed_in(web, ADMIN)
    page.goto(web.url + BASE)
    expect(page.get_by_role("heading", level=1, name="Paramètres")).to_be_visible()
    browser.check(page, "settings-identity")

    page.get_by_role("link", name="Utilisateurs").click()
    page.get_by_label("Adresse e-mail").fill("camille@maison-lumiere.fr")
    page.get_by_label("Rôle", exact=True).select_option("marketer")
    page.get_by_role("button", name="Créer un lien d'invitation").click()
    link = page.get_by_role("textbox", name="Lien d'invitation").input_value()
    assert "/invitations/" in link
    browser.check(page, "settings-users")
    guest = browser.new_page()
    guest.goto(link)
    guest.get_by_label(re.compile("^Mot de passe")).fill(PASSWORD)
    guest.get_by_label("Le même mot de passe").fill(PASSWORD)
    guest.get_by_role("button", name="Ouvrir mon compte").click()
    expect(guest.get_by_role("heading", level=1, name="Tableau de bord")).to_be_visible()
    # Her role changed by the admin: her next page follows it.
    page.goto(web.url + f"{BASE}/users")  # (not a reload: that page answered a POST)
    page.get_by_label("Nouveau rôle de camille@maison-lumiere.fr").select_option("viewer")
    page.get_by_role("button", name="Changer le rôle de camille@maison-lumiere.fr").click()
    expect(page.get_by_role("status")).to_contain_text("Le rôle est changé")
    browser.check(page, "settings-users-role")
    guest.goto(web.url + f"/a/{HOME}/campaigns")
    expect(guest.get_by_role("link", name="Nouvelle campagne")).to_have_count(0)

    page.get_by_role("link", name="Clés d'API").click()
    page.get_by_label("Nom").fill("caisse")
    page.get_by_label(re.compile("lecture")).check()
    page.get_by_role("button", name="Créer la clé").click()
    token = page.get_by_role("textbox", name="Jeton").input_value()
    assert token.startswith("tbr_live_")
    browser.check(page, "settings-keys")

    page.get_by_role("link", name=re.compile("^Webhooks")).click()
    page.get_by_label("Adresse (URL)").fill("https://crm.exemple.fr/hooks")
    page.get_by_label(re.compile("une réponse est arrivée")).check()
    page.get_by_role("button", name="Ajouter le point de réception").click()
    assert (
        page.get_by_role("textbox", name="Secret de signature").input_value().startswith("whsec_")
    )
    browser.check(page, "settings-webhooks")
    page.get_by_role("link", name="https://crm.exemple.fr/hooks").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Point de réception de webhooks")
    browser.check(page, "settings-endpoint")

    page.goto(web.url + f"/a/{HOME}/audit")
    browser.check(page, "audit")
    page.get_by_role("button", name="Vérifier").click()
    expect(page.get_by_text("Le journal est intact.")).to_be_visible(timeout=60_000)


def test_the_settings_in_chromium_as_a_viewer(web: WebApp, browser: Browser) -> None:
    page = browser.signed_in(web, "viewer@maison-lumiere.fr")
    for path, name in [(f"{BASE}/users", "settings-users-viewer"),
                       (f"{BASE}/keys", "settings-keys-viewer"),
                       (f"{BASE}/webhooks", "settings-webhooks-viewer")]:  # fmt: skip
        page.goto(web.url + path)
        assert page.get_by_role("button", name=re.compile("Créer|Ajouter|Désactiver")).count() == 0
        browser.check(page, name)
