"""Issue 17 in Chromium (axe-core on each page): a recipient opens the opt-out link of their
message, presses its button, and the next campaign excludes the number; a short link followed
is counted, a prefetcher's fetch of it is not."""

import re
import time
from pathlib import Path

from playwright.sync_api import Page
from sqlalchemy import func, select

from tambour.store.engine import make_engine
from tambour.store.tables import link_clicks
from tests.integration.test_campaigns import GOOD_FRIDAY, NOW
from tests.integration.test_contacts import sample_file
from tests.integration.web_app import HOME, WebApp
from tests.integration.web_browser import Browser

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
STOP = re.compile(r"https?://\S+/o/[0-9A-Za-z]{10}")
SHORT = re.compile(r"https?://\S+/s/[0-9A-Za-z]{7}")


def recipient(browser: Browser, language: str = "fr-FR") -> Page:
    """A phone's browser: an ordinary user agent (a headless one is told apart as a bot), the
    page's own security policy bypassed for axe-core's script only."""
    context = browser.engine.new_context(locale=language, user_agent=CHROME, bypass_csp=True)
    context.set_default_timeout(15_000)
    browser.contexts.append(context)
    return context.new_page()


def clicks(db_url: str) -> dict[str | None, int]:
    engine = make_engine(db_url, pooled=False)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(link_clicks.c.bot, func.count()).group_by(link_clicks.c.bot)
            ).all()
        return {bot: int(n) for bot, n in rows}
    finally:
        engine.dispose()


def test_a_recipient_opts_out_by_the_link_and_follows_a_short_link(
    web: WebApp, browser: Browser, tmp_path: Path
) -> None:
    cli = web.cli
    cli.env["TAMBOUR_NOW"] = NOW
    cli.env["TAMBOUR_PUBLIC_URL"] = web.url
    cli("contacts", "import", str(sample_file(tmp_path)), "--advertiser", HOME)
    cli("advertiser", "update", HOME, "--stop-link")
    target = web.url + "/healthz"
    text = "Maison Lumière : -20% sur nos luminaires ! {link:" + target + "}"
    common = ["--advertiser", HOME, "--nature", "commercial", "--sender", "MLUMIERE",
              "--categories", "luminaires", "--start", GOOD_FRIDAY, "--json"]  # fmt: skip
    cli.blocked_or_not("campaign", "create", "--name", "Liens", "--text", text, *common)
    planned = cli.blocked_or_not("campaign", "plan", "Liens", "--json")
    sends = sorted((r["phone"], r["text"]) for r in planned["rows"] if r["decision"] == "send")
    phone, message = sends[0]
    cli("campaign", "launch", "Liens")

    page = recipient(browser)
    page.goto(STOP.search(message).group(0))  # type: ignore[union-attr]
    assert page.get_by_role("heading", level=1).inner_text().endswith("Maison Lumière SAS")
    browser.check(page, "link-optout")
    page.get_by_role("button", name="Se désinscrire").click()
    page.wait_for_load_state()
    status = page.get_by_role("status")
    assert "enregistrée" in status.inner_text()
    assert "START" in page.content()  # how to come back
    browser.check(page, "link-optout-done")

    page.goto(SHORT.search(sends[1][1]).group(0))  # type: ignore[union-attr]
    assert page.url == target  # redirected
    prefetch = page.request.get(
        SHORT.search(sends[2][1]).group(0),  # type: ignore[union-attr]
        headers={"Sec-Purpose": "prefetch"},
        max_redirects=0,
    )
    assert prefetch.status == 302
    deadline = time.monotonic() + 10
    while sum(clicks(web.server.db_url).values()) < 2:
        assert time.monotonic() < deadline, "clicks not written"
        time.sleep(0.05)
    assert clicks(web.server.db_url) == {None: 1, "prefetch": 1}
    report = cli("links", "report", "Liens", "--json").json()
    assert report["clicks"] == 1 and report["not_counted"] == {"prefetch": 1}
    # The campaign's page says it too, to its advertiser's marketer.
    marketer = browser.signed_in(web, "marketer@maison-lumiere.fr")
    marketer.goto(f"{web.url}/a/{HOME}/campaigns/{report['campaign_id']}")
    section = marketer.get_by_role("region", name="Clics des liens courts")
    assert "1 clic(s) de personnes" in section.inner_text()
    assert "Non comptés (robots, analyseurs de liens, préchargements) : 1" in section.inner_text()
    browser.check(marketer, "link-clicks-campaign")

    # The next campaign excludes the number that opted out.
    cli.blocked_or_not("campaign", "create", "--name", "Suite", "--text", text, *common)
    later = cli.blocked_or_not("campaign", "plan", "Suite", "--json")
    (row,) = [r for r in later["rows"] if r["phone"] == phone]
    assert (row["decision"], row["reason"]) == ("exclude", "opted_out")
