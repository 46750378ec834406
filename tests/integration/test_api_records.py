"""`GET /api/v1/processing-record` (and `/processor`) against `tambour serve`, on SQLite and
PostgreSQL: JSON by default, the document by `Accept` or `format`, in the language of
`Accept-Language`; an advertiser's key reads its own record only, the operator's names one or
reads its own as processor; the record follows the configuration file from one request to the
next (no restart) and the contact details the operator sets through the API."""

from pathlib import Path

from tests.integration.api_server import ApiServer, assert_problem, new_key
from tests.integration.api_tenants import two_advertisers
from tests.integration.cli import Cli

RECORD = "/api/v1/processing-record"


def test_the_record_over_http(db_url: str, tmp_path: Path) -> None:
    cli = Cli(db_url)
    mine = two_advertisers(cli)
    operator = new_key(db_url, "--operator")
    sender = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "send")
    config = tmp_path / "tambour.toml"
    config.write_text('[transport]\nkind = "record-only"\n', encoding="utf-8")
    env = {"TAMBOUR_CONFIG": str(config), "TAMBOUR_PROCESSOR_NAME": "Hébergeur SMS SAS"}
    with ApiServer(db_url, tmp_path, env=env) as server:
        answer = server.get(RECORD, token=mine)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/json"
        data = answer.json()
        assert data["slug"] == "maison-lumiere" and data["processor"]["name"] == "Hébergeur SMS SAS"
        assert data["transport"]["carriers"] == [
            {"name": "", "kind": "record-only", "host": None, "encrypted": False}
        ]

        markdown = server.get(RECORD, token=mine, headers={"Accept": "text/markdown"})
        assert markdown.headers["content-type"] == "text/markdown; charset=utf-8"
        assert markdown.text.startswith("# Registre des activités de traitement : Maison Lumière")
        english = server.get(
            RECORD, token=mine,
            headers={"Accept": "text/html, text/markdown;q=0.5", "Accept-Language": "en"},
        )  # fmt: skip
        assert english.headers["content-type"] == "text/html; charset=utf-8"
        assert '<html lang="en">' in english.text and "Record of processing activities" in (
            english.text
        )
        chosen = server.get(RECORD, token=mine, params={"format": "markdown"},
                            headers={"Accept": "text/html"})  # fmt: skip
        assert chosen.text.startswith("# ")

        # The configuration file is read at each record: a carrier added shows at once.
        config.write_text(
            '[transport]\nkind = "http"\nurl = "https://sms.aggregateur.example.fr/v1"\n',
            encoding="utf-8",
        )
        carriers = server.get(RECORD, token=mine).json()["transport"]["carriers"]
        assert carriers == [{"name": "", "kind": "http", "host": "sms.aggregateur.example.fr",
                             "encrypted": True}]  # fmt: skip

        # The contact details, set by the operator through the API, are in the record.
        patched = server.request(
            "PATCH", "/api/v1/advertisers/maison-lumiere", token=operator,
            json={"address": "12 rue des Lampes, 75011 Paris", "dpo_email": "dpo@ml.example.fr"},
        )  # fmt: skip
        assert patched.status_code == 200, patched.text
        assert patched.json()["dpo_email"] == "dpo@ml.example.fr"
        refused = server.request("PATCH", "/api/v1/advertisers/maison-lumiere", token=operator,
                                 json={"contact_email": "nope"})  # fmt: skip
        problem = assert_problem(refused, 422, "invalid_email")
        assert problem["errors"][0]["field"] == "/contact_email"
        controller = server.get(RECORD, token=mine).json()["controller"]
        assert controller["address"] == "12 rue des Lampes, 75011 Paris"
        assert controller["missing"] == ["email"]
        cleared = server.request("PATCH", "/api/v1/advertisers/maison-lumiere", token=operator,
                                 json={"dpo_email": None})  # fmt: skip
        assert cleared.json()["dpo_email"] is None
        # Issue 17: the one-click opt-out link is the advertiser's choice, over the API too.
        assert cleared.json()["stop_link"] is False
        linked = server.request("PATCH", "/api/v1/advertisers/maison-lumiere", token=operator,
                                json={"stop_link": True})  # fmt: skip
        assert linked.status_code == 200 and linked.json()["stop_link"] is True
        shown = server.get("/api/v1/advertisers/maison-lumiere", token=mine).json()
        assert shown["stop_link"] is True and shown["dpo_email"] is None

        # Tenancy: another advertiser is 404 to this key; the operator names one.
        assert_problem(
            server.get(RECORD, token=mine, params={"advertiser": "copie"}), 404,
            "advertiser_not_found",
        )  # fmt: skip
        assert_problem(server.get(RECORD, token=operator), 422, "advertiser_required")
        theirs = server.get(RECORD, token=operator, params={"advertiser": "copie"}).json()
        assert theirs["slug"] == "copie" and theirs["controller"]["name"] == "Copie SARL"
        assert_problem(server.get(RECORD, token=sender), 403, "missing_scope")

        # The processor's: the operator's only.
        assert_problem(server.get(f"{RECORD}/processor", token=mine), 403, "missing_scope")
        processor = server.get(f"{RECORD}/processor", token=operator)
        assert [c["slug"] for c in processor.json()["controllers"]] == ["copie", "maison-lumiere"]
        html = server.get(f"{RECORD}/processor", token=operator, params={"format": "html"})
        assert "Registre des activités de traitement du sous-traitant" in html.text
        assert "Hébergeur SMS SAS" in html.text and "<script" not in html.text
        assert_problem(server.get(RECORD, token=mine, params={"format": "pdf"}), 422,
                       "validation_failed")  # fmt: skip
