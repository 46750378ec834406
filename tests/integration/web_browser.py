"""The web app in a real browser: Debian's Chromium driven by Playwright, axe-core on every page,
and a screenshot of each.

    def test_page(web: WebApp, browser: Browser) -> None:
        page = browser.signed_in(web, "marketer@maison-lumiere.fr")
        page.goto(web.url + "/a/maison-lumiere/")
        browser.check(page, "dashboard")      # axe-core: no serious or critical violation

Chromium is /usr/bin/chromium (the package `chromium`; `.ci/run` and `make test` install it when
it is missing), started headless with the network features this closed machine refuses turned
off. Screenshots go to $TAMBOUR_SCREENSHOTS (default build/screenshots/) as <name>.png.
axe-core comes from tests/reference/node_modules (npm ci, as for the SMS reference).
"""

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser as PlaywrightBrowser
from playwright.sync_api import BrowserContext, Page, sync_playwright

from tests.integration.web_app import PASSWORD, WebApp

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("TAMBOUR_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "tests" / "reference" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("TAMBOUR_SCREENSHOTS", ROOT / "build" / "screenshots"))
FLAGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The WCAG rules axe-core runs (A and AA), and the impacts a page may not have.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
FORBIDDEN_IMPACTS = ("serious", "critical")


@dataclass
class Browser:
    engine: PlaywrightBrowser
    contexts: list[BrowserContext] = field(default_factory=list)

    def new_page(self, language: str = "fr-FR", *, bypass_csp: bool = False) -> Page:
        """A page in a browser of its own; `bypass_csp`: axe-core may be injected into a page
        whose Content-Security-Policy allows no script (a document to print)."""
        context = self.engine.new_context(
            locale=language, viewport={"width": 1280, "height": 900}, bypass_csp=bypass_csp
        )
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        return context.new_page()

    def signed_in(
        self, web: WebApp, email: str, *, language: str = "fr-FR", bypass_csp: bool = False
    ) -> Page:
        """A new browser (its own cookies) logged in as `email` through the login form."""
        page = self.new_page(language, bypass_csp=bypass_csp)
        page.goto(web.url + "/login")
        log_in(page, email)
        return page

    def check(self, page: Page, name: str) -> list[dict[str, Any]]:
        """A screenshot of `page` as <name>.png, then axe-core on it: fails on any serious or
        critical violation, and returns every violation (minor ones included)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        # Written aside then renamed: tests running in parallel (make test) never leave a
        # half-written file, should two of them name the same screenshot.
        partial = SCREENSHOTS / f".{name}.{os.getpid()}.png"
        page.screenshot(path=str(partial), full_page=True)
        partial.replace(SCREENSHOTS / f"{name}.png")
        violations = axe(page)
        serious = [v for v in violations if v["impact"] in FORBIDDEN_IMPACTS]
        assert not serious, f"{name}: axe-core found " + json.dumps(
            [
                {"id": v["id"], "impact": v["impact"], "help": v["help"],
                 "nodes": [n["target"] for n in v["nodes"]][:5]}
                for v in serious
            ],
            indent=1,
        )  # fmt: skip
        return violations

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts.clear()


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Fill the login form by its labels, as a screen reader user would, and send it."""
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()


def axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now."""
    page.add_script_tag(content=AXE.read_text())
    found: list[dict[str, Any]] = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
        ".violations",
        AXE_TAGS,
    )
    return found


@pytest.fixture(scope="module")
def chromium() -> Iterator[PlaywrightBrowser]:
    """Chromium for one module's tests. Not for the session: the sync API leaves its event
    loop running until it stops, and a later test's asyncio.run() would refuse to start."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (make test does it)")
    if not AXE.exists():
        pytest.fail(f"no axe-core at {AXE}: npm ci --prefix tests/reference (make test does it)")
    with sync_playwright() as playwright:
        engine = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield engine
        engine.close()


@pytest.fixture
def browser(chromium: PlaywrightBrowser) -> Iterator[Browser]:
    found = Browser(chromium)
    yield found
    found.close()
