"""The hosted consent form in Chromium against a real `tambour serve` (issue 17): the boxes are
unticked, a submit without ticking records nothing and says so, the double opt-in code goes
through the normal dispatch to the local SMSC and, typed in, records the consent, which
`tambour proof` shows with its wording hash. axe-core on every page. Both backends."""

import asyncio
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.pool import NullPool

from tambour import keys
from tambour.services.context import utc_now
from tambour.store.engine import make_engine
from tambour.store.tables import evidence, form_submissions
from tests.conftest import TEST_SECRET_KEY
from tests.integration.api_server import ApiServer
from tests.integration.cli import Cli
from tests.integration.smpp_peers import running_smsc
from tests.integration.test_worker import worker
from tests.integration.web_browser import Browser

HOME = "maison-lumiere"
MIN_FILL = 0.5


@pytest.fixture(scope="module")
def site(
    module_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ApiServer, Cli]]:
    cli = Cli(module_db_url)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(keys.KEY_ENV, TEST_SECRET_KEY)
        patch.delenv(keys.KEY_FILE_ENV, raising=False)
        cli.advertiser(HOME)
        cli("form", "create", "club", "--advertiser", HOME, "--double-opt-in",
            "--origin", "https://boutique.example")  # fmt: skip
        cli("form", "create", "pro", "--advertiser", HOME, "--kind", "b2b")
        folder = tmp_path_factory.mktemp("forms")
        env = {"TAMBOUR_FORM_MIN_FILL": str(MIN_FILL), "TAMBOUR_FORM_RATE": "100",
               "TAMBOUR_FORM_BURST": "100"}  # fmt: skip
        with ApiServer(module_db_url, folder, env=env) as server:
            yield server, cli


def _count(db_url: str, table: Any) -> int:
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return len(conn.execute(select(table)).all())
    finally:
        engine.dispose()


def _deliver(db_url: str) -> list[str]:
    """A worker sends what is queued to the local SMSC; the texts it received. On a thread of
    its own (Playwright's sync API holds this one's event loop)."""
    texts: list[str] = []

    async def scenario() -> None:
        engine = make_engine(db_url)
        try:
            async with running_smsc() as smsc:
                await worker(engine, smsc, utc_now).run(until_idle=True)
                texts.extend(m.text for m in smsc.messages)
        finally:
            engine.dispose()

    thread = threading.Thread(target=lambda: asyncio.run(asyncio.wait_for(scenario(), 60)))
    thread.start()
    thread.join(90)
    return texts


def test_fill_unticked_refused_then_confirmed_by_sms_code_and_proved(
    site: tuple[ApiServer, Cli], browser: Browser, module_db_url: str
) -> None:
    server, cli = site
    page = browser.new_page("fr-FR")
    page.goto(f"{server.url}/f/{HOME}/club")
    boxes = page.get_by_role("checkbox")
    assert boxes.count() == 2
    assert not any(boxes.nth(i).is_checked() for i in range(2))  # never pre-ticked
    assert "prospection commerciale par SMS de la part de Maison Lumière SAS" in page.content()
    browser.check(page, "public-form")
    page.get_by_label("Numéro de téléphone mobile").fill("06 12 34 56 78")
    time.sleep(MIN_FILL)
    page.get_by_role("button", name="Envoyer").click()
    page.wait_for_load_state()
    assert "Vous n'avez coché aucune case" in page.content()
    browser.check(page, "public-form-nothing-ticked")
    assert _count(module_db_url, form_submissions) == 0
    assert _count(module_db_url, evidence) == 0

    page.get_by_label("Numéro de téléphone mobile").fill("0612345678")
    page.get_by_label(re.compile("par SMS de la part")).check()
    time.sleep(MIN_FILL)
    page.get_by_role("button", name="Envoyer").click()
    page.wait_for_load_state()
    assert "/confirm/" in page.url
    browser.check(page, "public-form-code")
    assert _count(module_db_url, evidence) == 0  # nothing counts before the code

    texts = _deliver(module_db_url)
    (sms,) = [t for t in texts if "Maison Lumière SAS" in t]
    code = re.search(r"\b(\d{6})\b", sms).group(1)  # type: ignore[union-attr]
    page.get_by_label("Code reçu par SMS").fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="Confirmer").click()
    page.wait_for_load_state()
    assert "Ce n'est pas le code" in page.content()
    browser.check(page, "public-form-wrong-code")
    page.get_by_label("Code reçu par SMS").fill(code)
    page.get_by_role("button", name="Confirmer").click()
    page.wait_for_load_state()
    assert "Votre choix est enregistré" in page.content()
    browser.check(page, "public-form-thanks")

    shown = cli("form", "show", "club", "--advertiser", HOME, "--json").json()
    digest = shown["current"]["wording_hash"]
    report = cli("proof", "06 12 34 56 78", "--advertiser", HOME).out
    assert f"wording hash sha256:{digest}" in report
    assert "consent_given" in report and f"proof=sha256:{digest}" in report
    assert "confirmed by the code sent by SMS" in report
    data = cli("proof", "0612345678", "--advertiser", HOME, "--json").json()
    (sent,) = data["forms"]
    assert sent["wording_hash"] == digest and sent["double_opt_in"] and sent["confirmed_at"]
    assert sent["ip_prefix"] == "127.0.0.0/24" and sent["choices"]["purposes"] == ["sms"]
    wording = cli("form", "wording", f"sha256:{digest}", "--advertiser", HOME).out
    assert "prospection commerciale par SMS de la part de Maison Lumière SAS" in wording


def test_english_b2b_form_records_an_objection(
    site: tuple[ApiServer, Cli], browser: Browser
) -> None:
    server, cli = site
    page = browser.new_page("en-GB")
    page.goto(f"{server.url}/f/{HOME}/pro?lang=en")
    box = page.get_by_label(re.compile("I object"))
    assert not box.is_checked()
    browser.check(page, "public-form-b2b-en")
    page.get_by_label("Mobile phone number").fill("not a number")
    time.sleep(MIN_FILL)
    page.get_by_role("button", name="Send").click()
    page.wait_for_load_state()
    error = page.locator("#f-number-error")
    assert "not a phone number" in error.inner_text()
    assert page.get_by_label("Mobile phone number").get_attribute("aria-invalid") == "true"
    browser.check(page, "public-form-b2b-error")
    page.get_by_label("Mobile phone number").fill("06 98 76 54 32")
    box.check()
    time.sleep(MIN_FILL)
    page.get_by_role("button", name="Send").click()
    page.wait_for_load_state()
    assert "Your objection is recorded" in page.content()
    report = cli("proof", "0698765432", "--advertiser", HOME).out
    assert "opt_out" in report and "source=data_request" in report


def test_embedding_bots_and_cross_origin_posts(site: tuple[ApiServer, Cli]) -> None:
    server, _ = site
    with httpx.Client(base_url=server.url, timeout=30) as client:
        shown = client.get(f"/f/{HOME}/club")
        assert shown.headers["content-security-policy"] == (
            "frame-ancestors 'self' https://boutique.example"
        )
        started = re.search(r'name="started" value="([^"]+)"', shown.text).group(1)  # type: ignore[union-attr]
        # Too fast: a bot.
        fast = client.post(
            f"/f/{HOME}/club", data={"number": "0612000001", "purpose": "sms", "started": started}
        )
        assert fast.status_code == 422 and "très rapidement" in fast.text
        # The honeypot: answered as a success, nothing recorded.
        time.sleep(MIN_FILL)
        trapped = client.post(
            f"/f/{HOME}/club",
            data={"number": "0612000002", "purpose": "sms", "started": started, "website": "x"},
        )
        assert trapped.status_code == 200
        # A forged token.
        forged = client.post(
            f"/f/{HOME}/club", data={"number": "0612000003", "purpose": "sms", "started": "1.x"}
        )
        assert forged.status_code == 422
        # CORS: only the form's origins.
        preflight = client.options(
            f"/f/{HOME}/club/submissions", headers={"Origin": "https://evil.example"}
        )
        assert preflight.status_code == 403
        allowed = {"Origin": "https://boutique.example"}
        preflight = client.options(f"/f/{HOME}/club/submissions", headers=allowed)
        assert preflight.headers["access-control-allow-origin"] == "https://boutique.example"
        token = client.get(f"/f/{HOME}/club/token", headers=allowed).json()["started"]
        time.sleep(MIN_FILL)
        refused = client.post(
            f"/f/{HOME}/club/submissions", headers=allowed,
            json={"number": "0612000004", "purposes": [], "started": token},
        )  # fmt: skip
        assert refused.status_code == 422 and refused.json()["code"] == "nothing_ticked"
        taken = client.post(
            f"/f/{HOME}/club/submissions", headers=allowed,
            json={"number": "0612000004", "purposes": ["sms"], "started": token},
        )  # fmt: skip
        assert taken.status_code == 201, taken.text
        assert taken.json()["pending"] and taken.json()["confirm_url"].startswith(
            f"/f/{HOME}/club/confirm/"
        )
        other = client.post(
            f"/f/{HOME}/club/submissions", headers={"Origin": "https://evil.example"},
            json={"number": "0612000005", "purposes": ["sms"], "started": token},
        )  # fmt: skip
        assert other.status_code == 403
        assert client.get("/f/copie/club").status_code == 404
