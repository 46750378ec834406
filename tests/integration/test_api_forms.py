"""`/api/v1/forms` over real HTTP against `tambour serve`: a form created with its first version,
a changed wording published as a new version (the same wording: 200, no version), a wording
without its French text refused at its place, the wording found by its hash; another
advertiser's forms are 404 and never listed; a read-only key cannot write."""

from pathlib import Path

from tests.integration.api_server import ApiServer, assert_problem, new_key
from tests.integration.api_tenants import two_advertisers
from tests.integration.cli import Cli

FORMS = "/api/v1/forms"


def test_forms_versions_and_tenancy(db_url: str, tmp_path: Path) -> None:
    cli = Cli(db_url)
    key = two_advertisers(cli)
    reader = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read")
    other = new_key(db_url, "--advertiser", "copie", "--scopes", "read,write")
    with ApiServer(db_url, tmp_path) as server:
        made = server.post(
            FORMS, token=key,
            json={"slug": "club", "origins": ["https://boutique.example/"], "double_opt_in": True},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        form = made.json()
        assert form["origins"] == ["https://boutique.example"] and form["double_opt_in"]
        assert form["path"] == "/f/maison-lumiere/club" and form["current"]["version"] == 1
        first_hash = form["current"]["wording_hash"]
        wording = form["current"]["wording"]
        wording.pop("format")
        same = server.post(f"{FORMS}/club/versions", token=key, json=wording)
        assert same.status_code == 200 and same.json()["created"] is False
        wording["title"]["fr"] = "Le club Maison Lumière"
        changed = server.post(f"{FORMS}/club/versions", token=key, json=wording)
        assert changed.status_code == 201 and changed.json()["form"]["current"]["version"] == 2
        shown = server.get(f"{FORMS}/club", token=reader).json()
        assert [v["version"] for v in shown["versions"]] == [2, 1]
        assert shown["versions"][1]["wording_hash"] == first_hash
        found = server.get(f"/api/v1/form-wordings/sha256:{first_hash}", token=reader)
        assert found.status_code == 200 and found.json()[0]["version"]["version"] == 1

        wording["title"] = {"fr": "", "en": "Club"}
        bad = server.post(f"{FORMS}/club/versions", token=key, json=wording)
        assert bad.status_code == 422 and "/title/fr" in bad.text
        assert_problem(server.post(FORMS, token=key, json={"slug": "club"}), 409, "form_exists")
        refused = server.post(FORMS, token=key, json={"slug": "x", "origins": ["ftp://a"]})
        assert_problem(refused, 422, "invalid_origin")
        assert server.post(FORMS, token=reader, json={"slug": "y"}).status_code == 403
        # The other advertiser sees nothing of them.
        assert server.get(FORMS, token=other).json() == []
        assert_problem(server.get(f"{FORMS}/club", token=other), 404, "form_not_found")
        assert_problem(
            server.get(f"/api/v1/form-wordings/{first_hash}", token=other), 404, "version_not_found"
        )
        hidden = server.get(f"{FORMS}/club", token=key, params={"advertiser": "copie"})
        assert hidden.status_code == 404
        patched = server.request("PATCH", f"{FORMS}/club", token=key, json={"double_opt_in": False})
        assert patched.status_code == 200 and patched.json()["double_opt_in"] is False
