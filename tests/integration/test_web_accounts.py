"""The web app's doors: logging in and out, CSRF, sessions that end, throttled guessing,
invitations by link, French first, and errors as pages; over HTTP against `tambour serve`, and
in Chromium for the login page itself."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import httpx
import pyotp
import segno
from markupsafe import escape
from playwright.sync_api import expect
from sqlalchemy import select, update

from tambour.store.engine import make_engine
from tambour.store.tables import sessions, users
from tests.integration.web_app import PASSWORD, WebApp, csrf_of
from tests.integration.web_browser import Browser, log_in


def _login(client: httpx.Client, email: str, password: str, **extra: str) -> httpx.Response:
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token, **extra}
    )


def test_a_page_asks_to_log_in_then_comes_back(web: WebApp) -> None:
    client = web.client()
    answer = client.get("/account?tab=security")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/account%3Ftab%3Dsecurity"
    login = client.get(answer.headers["location"])
    assert login.status_code == 200
    assert '<html lang="fr">' in login.text and "Se connecter" in login.text
    assert 'name="next" value="/account?tab=security"' in login.text
    token = csrf_of(login.text)
    done = client.post(
        "/login",
        data={"email": "viewer@maison-lumiere.fr", "password": PASSWORD, "csrf_token": token,
              "next": "/account?tab=security"},
    )  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/account?tab=security"
    cookie = done.headers["set-cookie"]
    assert cookie.startswith("tambour_session=") and "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    # One advertiser: home is its dashboard.
    assert client.get("/").headers["location"] == "/a/maison-lumiere/"


def test_the_login_page_speaks_english_when_asked(web: WebApp) -> None:
    client = web.client(language="en-GB,en;q=0.9")
    page = client.get("/login")
    assert '<html lang="en">' in page.text and "Log in" in page.text
    # The language button sets a cookie that wins over the browser's header.
    token = csrf_of(page.text)
    chosen = client.post(
        "/language", data={"language": "fr", "back": "/login", "csrf_token": token}
    )
    assert chosen.status_code == 303 and chosen.headers["location"] == "/login"
    assert '<html lang="fr">' in client.get("/login").text


def test_a_wrong_password_is_refused_in_french_then_throttled(web: WebApp) -> None:
    web.add_user("guessed@maison-lumiere.fr", "marketer", "maison-lumiere")
    client = web.client()
    for _ in range(5):
        answer = _login(client, "guessed@maison-lumiere.fr", "not-the-password-at-all")
        assert answer.status_code == 401
        assert "Adresse e-mail ou mot de passe incorrect" in answer.text
        assert "tambour_session" not in answer.headers.get("set-cookie", "")
    throttled = _login(client, "guessed@maison-lumiere.fr", PASSWORD)  # even the right one
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    assert "Trop de tentatives" in throttled.text
    # Another account is not held back by this one's failures.
    assert _login(web.client(), "viewer@maison-lumiere.fr", PASSWORD).status_code == 303


def test_a_form_without_its_csrf_token_or_from_another_site_changes_nothing(web: WebApp) -> None:
    client = web.client()
    client.get("/login")
    bare = client.post("/login", data={"email": "viewer@maison-lumiere.fr", "password": PASSWORD})
    assert bare.status_code == 403 and "tambour_session" not in bare.headers.get("set-cookie", "")
    assert "Ce formulaire a expiré" in bare.text
    forged = client.post(
        "/login",
        data={"email": "viewer@maison-lumiere.fr", "password": PASSWORD, "csrf_token": "x" * 43},
    )
    assert forged.status_code == 403
    token = csrf_of(client.get("/login").text)
    elsewhere = client.post(
        "/login",
        data={"email": "viewer@maison-lumiere.fr", "password": PASSWORD, "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert elsewhere.status_code == 403
    # Another browser's token does not pass with this browser's cookie.
    other_token = csrf_of(web.client().get("/login").text)
    assert other_token != token
    crossed = client.post(
        "/login",
        data={"email": "viewer@maison-lumiere.fr", "password": PASSWORD, "csrf_token": other_token},
    )
    assert crossed.status_code == 403


def test_logout_ends_the_session_for_good(web: WebApp) -> None:
    client = web.client("viewer@maison-lumiere.fr")
    cookie = client.cookies["tambour_session"]
    assert client.get("/account").status_code == 200
    done = web.post_form(client, "/logout", {}, page="/account")
    assert done.status_code == 303 and done.headers["location"] == "/login"
    again = web.client()
    again.cookies.set("tambour_session", cookie)
    assert again.get("/").headers["location"].startswith("/login")


def test_a_session_ends_after_its_time(web: WebApp) -> None:
    web.add_user("hurried@maison-lumiere.fr", "viewer", "maison-lumiere")
    client = web.client("hurried@maison-lumiere.fr")
    assert client.get("/account").status_code == 200
    engine = make_engine(web.server.db_url)
    try:
        with engine.begin() as conn:
            mine = select(users.c.id).where(users.c.email == "hurried@maison-lumiere.fr")
            conn.execute(
                update(sessions)
                .where(sessions.c.user_id == mine.scalar_subquery())
                .values(expires_at=datetime.now(UTC) - timedelta(1))
            )
    finally:
        engine.dispose()
    assert client.get("/account").headers["location"] == "/login?next=/account"


def test_after_login_only_paths_of_this_site(web: WebApp) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        client = web.client()
        answer = _login(client, "viewer@maison-lumiere.fr", PASSWORD, next=target)
        assert answer.status_code == 303 and answer.headers["location"] == "/", target


def test_an_invitation_opens_an_account_once(web: WebApp) -> None:
    made = web.cli(
        "user", "invite", "nouvelle@maison-lumiere.fr", "--role", "marketer",
        "--advertiser", "maison-lumiere", "--json",
    ).json()  # fmt: skip
    path = made["path"]
    client = web.client()
    page = client.get(path)
    assert page.status_code == 200 and "nouvelle@maison-lumiere.fr" in page.text
    assert "marketeur" in page.text or "marketer" in page.text
    differ = web.post_form(
        client, path, {"password": "Une-phrase-longue-2026", "confirmation": "autre chose!!"}
    )
    assert differ.status_code == 422 and "Les deux mots de passe diffèrent" in differ.text
    weak = web.post_form(client, path, {"password": "court", "confirmation": "court"})
    assert weak.status_code == 422 and "au moins 12 caractères" in weak.text
    assert 'aria-invalid="true"' in weak.text
    opened = web.post_form(
        client,
        path,
        {"password": "Une-phrase-longue-2026", "confirmation": "Une-phrase-longue-2026"},
    )
    assert opened.status_code == 303 and "tambour_session=" in opened.headers["set-cookie"]
    assert client.get("/").headers["location"] == "/a/maison-lumiere/"
    used = web.client().get(path)
    assert used.status_code == 409 and "déjà été utilisée" in used.text
    unknown = web.client().get("/invitations/" + "A" * 43)
    assert unknown.status_code == 404


def test_errors_are_pages_and_the_api_keeps_problem_json(web: WebApp) -> None:
    client = web.client("viewer@maison-lumiere.fr")
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "Page introuvable" in missing.text and "Traceback" not in missing.text
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
    wrong_method = client.delete("/login")
    assert wrong_method.status_code == 405 and "text/html" in wrong_method.headers["content-type"]


def test_login_in_chromium_by_labels_and_axe(web: WebApp, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(web.url + "/")
    assert re.search(r"/login$", page.url)
    browser.check(page, "login")
    page.get_by_label("Adresse e-mail").fill("viewer@maison-lumiere.fr")
    page.get_by_label("Mot de passe").fill("mauvais mot de passe")
    page.get_by_role("button", name="Se connecter").click()
    assert page.get_by_role("alert").inner_text().startswith("Adresse e-mail ou mot de passe")
    browser.check(page, "login-refused")
    log_in(page, "operator@tambour.test")
    assert page.get_by_role("heading", level=1).inner_text() == "Vos espaces"
    # Keyboard: the skip link is the first stop and leads to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
    browser.check(page, "home-operator")


# --- the second factor, set up by a QR code ------------------------------------------------------


def _svg_path(svg: str) -> str:
    found = re.search(r'<path [^>]*class="qrline"[^>]*\bd="([^"]+)"', svg)  # dark modules
    assert found, svg[:200]
    return found.group(1)


def test_the_second_factor_is_set_up_by_a_qr_code_drawn_on_the_server(web: WebApp) -> None:
    email = "qr@maison-lumiere.fr"
    web.add_user(email, "admin", "maison-lumiere")
    client = web.client(email)
    page = client.get("/account").text
    started = client.post("/account/totp", data={"csrf_token": csrf_of(page)})
    assert started.status_code == 200, started.text
    shown = started.text
    svg = re.search(r"<svg [^>]*>.*?</svg>", shown, re.S)
    assert svg, "no inline SVG"
    label = "Code QR du second facteur : scannez-le avec votre application d'authentification"
    assert f'role="img" aria-label="{escape(label)}"' in svg.group(0)
    title = re.search(r"<title>([^<]*)</title>", svg.group(0))
    assert title and unescape(title.group(1)) == label
    assert "<script" not in shown.split("<main", 1)[1] and "<img" not in shown
    # The key for typing by hand, and the URI as a link: the QR code holds that very URI.
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', shown)
    link = re.search(r'<a href="(otpauth://[^"]+)"', shown)
    assert secret and link
    uri = unescape(link.group(1))
    assert uri.startswith("otpauth://totp/Tambour:qr%40maison-lumiere.fr?")
    assert f"secret={secret.group(1)}" in uri and "issuer=Tambour" in uri
    expected = segno.make(uri, error="m", micro=False)
    assert _svg_path(svg.group(0)) == _svg_path(expected.svg_inline(scale=4, border=4))
    other = segno.make(uri.replace(secret.group(1), "A" * len(secret.group(1))), error="m")
    assert _svg_path(svg.group(0)) != _svg_path(other.svg_inline(scale=4, border=4))
    # A wrong code: said beside the field, the same key and QR code shown again to retry.
    app = pyotp.TOTP(secret.group(1))
    wrong = "000000" if app.now() != "000000" else "111111"
    retry = client.post("/account/totp/confirm", data={"code": wrong,
                                                       "csrf_token": csrf_of(shown)})  # fmt: skip
    assert retry.status_code == 422 and 'id="f-code-error"' in retry.text
    assert f'<code class="secret">{secret.group(1)}</code>' in retry.text
    assert _svg_path(retry.text) == _svg_path(svg.group(0))
    # Confirmed with a code of the app, from now on each login asks for one.
    code = app.now()
    done = client.post("/account/totp/confirm",
                       data={"code": code, "csrf_token": csrf_of(shown)})  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/account?saved=totp"
    asked = _login(web.client(), email, PASSWORD)
    assert asked.status_code in (401, 422) and "Saisissez le code" in asked.text


def test_the_qr_code_in_chromium_has_a_name_and_the_key_beside_it(
    web: WebApp, browser: Browser
) -> None:
    email = "qr-browser@maison-lumiere.fr"
    web.add_user(email, "admin", "maison-lumiere")
    page = browser.signed_in(web, email)
    page.goto(web.url + "/account")
    page.get_by_role("button", name="Configurer un second facteur").click()
    image = page.get_by_role("img", name=re.compile("^Code QR du second facteur"))
    expect(image).to_be_visible()
    secret = page.locator("code.secret").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret)
    browser.check(page, "account-totp-qr")
    page.get_by_label("Code de votre application d'authentification").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Activer le second facteur").click()
    expect(page.get_by_role("status")).to_contain_text("second facteur est activé")
