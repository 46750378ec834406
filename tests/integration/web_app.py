"""`tambour serve` with two advertisers and an account of each role, for the web app's tests.

    def test_something(web: WebApp) -> None:
        client = web.client("marketer@maison-lumiere.fr")    # logged in through the form
        page = client.get("/a/maison-lumiere/")

Accounts (password PASSWORD), made by the real command line (`tambour user create`):
operator@tambour.test (operator); admin@, marketer@, viewer@maison-lumiere.fr; and
marketer@copie.fr, of the other advertiser (`copie`), who must never see Maison Lumière's data.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tambour import keys
from tests.conftest import TEST_SECRET_KEY
from tests.integration.api_server import ApiServer
from tests.integration.cli import Cli

PASSWORD = "Lampadaire-bleu-2026"
HOME = "maison-lumiere"
OTHER = "copie"
ACCOUNTS = {
    "operator@tambour.test": ("operator", None),
    "admin@maison-lumiere.fr": ("admin", HOME),
    "marketer@maison-lumiere.fr": ("marketer", HOME),
    "viewer@maison-lumiere.fr": ("viewer", HOME),
    "marketer@copie.fr": ("marketer", OTHER),
}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = _CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@dataclass
class WebApp:
    server: ApiServer
    cli: Cli
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def add_user(self, email: str, role: str, advertiser: str | None = None) -> None:
        args = ["user", "create", email, "--role", role, "--password-stdin"]
        if advertiser:
            args += ["--advertiser", advertiser]
        self.cli(*args, stdin=PASSWORD + "\n")

    def client(self, email: str | None = None, *, language: str = "fr") -> httpx.Client:
        """A browser-like client (cookies kept, redirects not followed), logged in as `email`
        through the login form when one is given."""
        client = httpx.Client(base_url=self.url, timeout=30, headers={"Accept-Language": language})
        self.clients.append(client)
        if email is not None:
            form = client.get("/login")
            answer = client.post(
                "/login",
                data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(form.text)},
            )
            assert answer.status_code == 303, answer.text
        return client

    def post_form(
        self, client: httpx.Client, path: str, data: dict[str, str], *, page: str | None = None
    ) -> httpx.Response:
        """POST `data` to `path` with the CSRF token of `page` (default: `path` itself), as the
        form of that page would."""
        token = csrf_of(client.get(page or path).text)
        return client.post(path, data={**data, "csrf_token": token})

    def close_clients(self) -> None:
        for client in self.clients:
            client.close()
        self.clients.clear()

    def close(self) -> None:
        for client in self.clients:
            client.close()


@pytest.fixture(scope="module")
def web(module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """One server per module and backend (a start costs seconds): its tests share the two
    advertisers and ACCOUNTS, and each makes its own data (its own campaign names, its own
    accounts for what changes an account)."""
    cli = Cli(module_db_url)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(keys.KEY_ENV, TEST_SECRET_KEY)  # the per-test one is not set yet
        patch.delenv(keys.KEY_FILE_ENV, raising=False)
        cli.advertiser(HOME)
        cli.advertiser(OTHER)
        folder = tmp_path_factory.mktemp("web")
        files = {"TAMBOUR_FILES_DIR": str(folder / "files")}  # uploads, exports: the test's own
        with ApiServer(module_db_url, folder, env=files) as server:
            app = WebApp(server, cli)
            for email, (role, advertiser) in ACCOUNTS.items():
                app.add_user(email, role, advertiser)
            yield app
            app.close()
