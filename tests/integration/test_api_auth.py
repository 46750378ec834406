"""Authentication and tenancy over real HTTP: 401 with WWW-Authenticate for a missing or bad
key, a revoked key refused within two seconds, 403 for a missing scope on one's own data, and
404, never 403, for another advertiser's."""

import time
from pathlib import Path

from tests.integration.api_server import ApiServer, assert_problem, new_key
from tests.integration.cli import Cli


def test_keys_missing_malformed_unknown_or_revoked_get_401(db_url: str, tmp_path: Path) -> None:
    cli = Cli(db_url)
    cli.advertiser()
    token = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read")
    key_id = token.split("_")[2]
    unknown = token[:-6] + ("abcdef" if not token.endswith("abcdef") else "ghijkl")
    with ApiServer(db_url, tmp_path) as server:
        missing = server.get("/api/v1/me")
        assert_problem(missing, 401, "missing_api_key")
        assert missing.headers["www-authenticate"] == 'Bearer realm="tambour"'
        basic = server.get("/api/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
        assert_problem(basic, 401, "missing_api_key")
        for bad, code in [("tbr_live_nope", "malformed_api_key"), (unknown, "invalid_api_key")]:
            refused = server.get("/api/v1/me", token=bad)
            assert_problem(refused, 401, code)
            assert 'error="invalid_token"' in refused.headers["www-authenticate"]
            assert "ratelimit" not in refused.headers  # no key, no bucket
        me = server.get("/api/v1/me", token=token)
        assert me.status_code == 200, me.text
        assert me.json()["key_id"] == key_id and me.json()["scopes"] == ["read"]
        cli("apikey", "revoke", key_id)
        revoked_at = time.monotonic()
        while (answer := server.get("/api/v1/me", token=token)).status_code == 200:
            assert time.monotonic() - revoked_at < 2.0, "a revoked key served for 2 s"
            time.sleep(0.05)
        assert_problem(answer, 401, "revoked_api_key")


def test_a_missing_scope_is_403_on_ones_own_data(db_url: str, tmp_path: Path) -> None:
    Cli(db_url).advertiser()
    sender = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "send")
    reader = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read,write")
    with ApiServer(db_url, tmp_path) as server:
        assert server.get("/api/v1/me", token=sender).json()["advertiser"] == "maison-lumiere"
        body = assert_problem(
            server.get("/api/v1/advertisers/maison-lumiere", token=sender), 403, "missing_scope"
        )
        assert "read" in body["detail"]
        assert server.get("/api/v1/advertisers/maison-lumiere", token=reader).status_code == 200
        patch = server.request(
            "PATCH", "/api/v1/advertisers/maison-lumiere", token=reader, json={"name": "X"}
        )
        assert_problem(patch, 403, "missing_scope")  # advertisers are the operator's to change
        new = {"slug": "neuve", "name": "Neuve", "senders": ["NEUVE"], "stop_number": "36111"}
        assert_problem(
            server.post("/api/v1/advertisers", token=reader, json=new), 403, "missing_scope"
        )
        operator = new_key(db_url, "--operator")
        assert_problem(server.get("/api/v1/advertisers", token=sender), 403, "missing_scope")
        assert server.post("/api/v1/advertisers", token=operator, json=new).status_code == 201


def test_another_advertisers_data_is_404_never_403(db_url: str, tmp_path: Path) -> None:
    cli = Cli(db_url)
    cli.advertiser("maison-lumiere")
    cli.advertiser("copie")
    mine = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read,write,send")
    weak = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "send")
    operator = new_key(db_url, "--operator")
    with ApiServer(db_url, tmp_path) as server:
        for token in (mine, weak):
            theirs = server.get("/api/v1/advertisers/copie", token=token)
            nobody = server.get("/api/v1/advertisers/personne", token=token)
            assert_problem(theirs, 404, "advertiser_not_found")
            assert_problem(nobody, 404, "advertiser_not_found")
            assert theirs.json()["detail"].replace("copie", "X") == nobody.json()["detail"].replace(
                "personne", "X"
            )  # nothing tells one from the other
            change = server.request(
                "PATCH", "/api/v1/advertisers/copie", token=token, json={"name": "Volé"}
            )
            assert_problem(change, 404, "advertiser_not_found")
        listed = server.get("/api/v1/advertisers", token=mine).json()
        assert [item["slug"] for item in listed["items"]] == ["maison-lumiere"]
        everyone = server.get("/api/v1/advertisers", token=operator).json()
        assert [item["slug"] for item in everyone["items"]] == ["copie", "maison-lumiere"]
        assert server.get("/api/v1/advertisers/copie", token=operator).json()["name"] == (
            "Maison Lumière SAS"
        )
        missing = server.get("/api/v1/advertisers/personne", token=operator)
        assert_problem(missing, 404, "advertiser_not_found")  # as for another tenant's
    assert cli("advertiser", "show", "copie", "--json").json()["name"] == "Maison Lumière SAS"
