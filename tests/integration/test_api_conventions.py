"""The API's conventions over real HTTP: Idempotency-Key (replay, mismatch, running, expiry),
rate limits with their headers, cursor pagination, French or English by Accept-Language,
request validation as problem+json with per-field errors, unknown routes and methods."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from tambour.api import idempotency_store
from tambour.api.idempotency import fingerprint
from tambour.services import api_keys
from tambour.services.context import Context
from tambour.store.tables import advertisers
from tests.integration.api_server import ApiServer, assert_problem, new_key
from tests.integration.cli import Cli

PATH = "/api/v1/advertisers"


def advertiser(slug: str, **extra: Any) -> dict[str, Any]:
    sender = slug.replace("-", "").upper()[:11]
    return {
        "slug": slug,
        "name": f"{slug} SAS",
        "senders": [sender],
        "stop_number": "36111",
    } | extra


def count_advertisers(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(advertisers)).scalar_one()


def test_an_idempotent_post_is_replayed_never_done_twice(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    operator = new_key(db_url, "--operator")
    other_operator = new_key(db_url, "--operator")
    key = {"Idempotency-Key": "commande-2026-0001"}
    with ApiServer(db_url, tmp_path) as server:
        first = server.post(PATH, token=operator, headers=key, json=advertiser("alpha"))
        assert first.status_code == 201, first.text
        assert first.json()["created_at"].endswith("+00:00")  # ISO 8601 with its offset
        assert "idempotent-replayed" not in first.headers
        # The same body, its members in another order and spaced otherwise: the same request.
        same = json.dumps(dict(reversed(list(advertiser("alpha").items()))), indent=2)
        again = server.post(
            PATH, token=operator, headers={**key, "Content-Type": "application/json"}, content=same
        )
        assert again.status_code == 201 and again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers["location"] == first.headers["location"] == f"{PATH}/alpha"
        assert count_advertisers(engine) == 1
        other = server.post(PATH, token=operator, headers=key, json=advertiser("beta"))
        assert_problem(other, 422, "idempotency_key_reused")
        # Keys are per API key: another key's same Idempotency-Key is another operation.
        theirs = server.post(PATH, token=other_operator, headers=key, json=advertiser("beta"))
        assert theirs.status_code == 201 and "idempotent-replayed" not in theirs.headers
        # A refusal is replayed as well: the retry gets the same answer.
        taken = {"Idempotency-Key": "commande-2026-0002"}
        refused = server.post(PATH, token=operator, headers=taken, json=advertiser("alpha"))
        assert refused.status_code in (409, 422) and refused.headers["content-type"] == (
            "application/problem+json"
        )
        replayed = server.post(PATH, token=operator, headers=taken, json=advertiser("alpha"))
        assert replayed.json() == refused.json()
        assert replayed.headers["idempotent-replayed"] == "true"
        bad = server.post(PATH, token=operator, headers={"Idempotency-Key": "deux mots"}, json={})
        body = assert_problem(bad, 422, "validation_failed")
        assert body["errors"][0]["field"] == "Idempotency-Key"
    assert count_advertisers(engine) == 2


def test_a_key_still_running_gets_409_and_an_expired_one_runs_again(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    operator = new_key(db_url, "--operator")
    ctx = Context(engine=engine, actor="test")
    stored = api_keys.lookup(ctx, operator.split("_")[2])
    assert stored is not None
    row_id = stored.key.id
    body = json.dumps(advertiser("gamma")).encode()
    digest = fingerprint("POST", PATH, body)
    now = datetime.now(UTC)

    def take(key: str, at: datetime) -> object:
        return idempotency_store.begin(
            engine, row_id, key, digest, now=at, keep=timedelta(hours=24),
            stale_after=timedelta(minutes=5),
        )  # fmt: skip

    assert take("running", now) is idempotency_store.Begun.STARTED  # a first request, running
    assert take("dead", now - timedelta(minutes=6)) is idempotency_store.Begun.STARTED
    assert take("old", now - timedelta(hours=25)) is idempotency_store.Begun.STARTED
    idempotency_store.complete(
        engine,
        row_id,
        "old",
        idempotency_store.StoredResponse(201, "application/json", None, b"{}"),
    )
    sent = {"Content-Type": "application/json"}
    with ApiServer(db_url, tmp_path) as server:
        running = server.post(
            PATH, token=operator, headers={**sent, "Idempotency-Key": "running"}, content=body
        )
        assert_problem(running, 409, "idempotency_in_progress")
        assert running.headers["retry-after"] == "1"
        assert count_advertisers(engine) == 0
        # Left running by a server that died: taken over.
        dead = server.post(
            PATH, token=operator, headers={**sent, "Idempotency-Key": "dead"}, content=body
        )
        assert dead.status_code == 201 and "idempotent-replayed" not in dead.headers
        # Kept 24 hours: after, the key is new again (here refused: gamma exists).
        old = server.post(
            PATH, token=operator, headers={**sent, "Idempotency-Key": "old"}, content=body
        )
        assert "idempotent-replayed" not in old.headers and old.content != b"{}"
    assert count_advertisers(engine) == 1


def test_rate_limits_per_key_with_their_headers(db_url: str, tmp_path: Path) -> None:
    first = new_key(db_url, "--operator")
    second = new_key(db_url, "--operator")
    limits = {"TAMBOUR_API_RATE": "0.5", "TAMBOUR_API_BURST": "3"}
    with ApiServer(db_url, tmp_path, env=limits) as server:
        answers = [server.get("/api/v1/me", token=first) for _ in range(4)]
        others = server.get("/api/v1/me", token=second)
        unauthenticated = server.get("/api/v1/me")
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert [answer.headers["ratelimit"] for answer in answers] == [
        '"default";r=2;t=2',
        '"default";r=1;t=4',
        '"default";r=0;t=6',
        '"default";r=0;t=6',
    ]
    assert {answer.headers["ratelimit-policy"] for answer in answers} == {'"default";q=3;w=6'}
    limited = assert_problem(answers[3], 429, "rate_limited")
    assert answers[3].headers["retry-after"] == "2" and "2 s" in limited["detail"]
    assert others.status_code == 200 and others.headers["ratelimit"] == '"default";r=2;t=2'
    assert unauthenticated.status_code == 401


def test_pages_follow_their_next_links(db_url: str, tmp_path: Path) -> None:
    operator = new_key(db_url, "--operator")
    slugs = [f"annonceur-{n}" for n in range(5)]
    with ApiServer(db_url, tmp_path) as server:
        for slug in reversed(slugs):
            assert server.post(PATH, token=operator, json=advertiser(slug)).status_code == 201
        seen, pages = [], []
        url: str | None = f"{PATH}?limit=2"
        while url is not None:
            page = server.get(url, token=operator)
            assert page.status_code == 200, page.text
            url = page.json()["next"]
            pages.append(len(page.json()["items"]))
            seen += [item["slug"] for item in page.json()["items"]]
            if url is None:
                assert "link" not in page.headers
            else:
                assert page.headers["link"] == f'<{url}>; rel="next"'
                assert "limit=2" in url
        whole = server.get(PATH, token=operator).json()
        for cursor in ("nimporte", "eyJ2IjoyfQ"):  # not base64 JSON; another version
            refused = server.get(f"{PATH}?cursor={cursor}", token=operator)
            body = assert_problem(refused, 422, "invalid_cursor")
            assert body["errors"][0]["field"] == "cursor"
        for limit in ("0", "101", "deux"):
            refused = server.get(f"{PATH}?limit={limit}", token=operator)
            body = assert_problem(refused, 422, "validation_failed")
            assert [error["field"] for error in body["errors"]] == ["limit"]
    assert seen == slugs and pages == [2, 2, 1]
    assert [item["slug"] for item in whole["items"]] == slugs and whole["next"] is None


def test_french_by_default_english_when_asked(db_url: str, tmp_path: Path) -> None:
    operator = new_key(db_url, "--operator")
    languages = {
        None: "fr",
        "en": "en",
        "en-US,en;q=0.9,fr;q=0.8": "en",
        "fr-CH, fr;q=0.9, en;q=0.8": "fr",
        "de-DE, en;q=0.5": "en",
        "de": "fr",
        "en;q=0": "fr",
        "*": "fr",
    }
    with ApiServer(db_url, tmp_path) as server:
        for accept, expected in languages.items():
            headers = {} if accept is None else {"Accept-Language": accept}
            body = assert_problem(server.get("/api/v1/me", headers=headers), 401, "missing_api_key")
            said = ("Authentification requise", "Aucune clé") if expected == "fr" else (
                "Authentication required", "No API key"
            )  # fmt: skip
            assert body["title"] == said[0] and body["detail"].startswith(said[1]), accept
        invalid = {"slug": "Pas Bon", "senders": ["OK", 5], "extra": True}
        english = server.post(PATH, token=operator, json=invalid, headers={"Accept-Language": "en"})
        french = server.post(PATH, token=operator, json=invalid)
    errors = {
        language: {(e["field"], e["code"]): e["detail"] for e in body.json()["errors"]}
        for language, body in (("en", english), ("fr", french))
    }
    assert (
        set(errors["en"])
        == set(errors["fr"])
        == {
            ("/slug", "string_pattern_mismatch"),
            ("/name", "missing"),
            ("/senders/1", "string_type"),
            ("/stop_number", "missing"),
            ("/extra", "extra_forbidden"),
        }
    )
    assert errors["en"][("/name", "missing")] == "Field required"
    assert errors["fr"][("/name", "missing")] == "champ obligatoire"
    assert french.headers["content-language"] == "fr"
    assert english.headers["content-language"] == "en"


def test_every_error_is_a_problem(db_url: str, tmp_path: Path) -> None:
    Cli(db_url).advertiser()
    operator = new_key(db_url, "--operator")
    with ApiServer(db_url, tmp_path) as server:
        assert_problem(server.get("/api/v1/nothing-here", token=operator), 404, "not_found")
        assert_problem(server.get("/api/docs/assets/nothing.js"), 404, "not_found")
        wrong_method = server.request("DELETE", "/api/v1/me", token=operator)
        assert_problem(wrong_method, 405, "method_not_allowed")
        assert wrong_method.headers["allow"] == "GET"
        broken = server.post(
            PATH, token=operator, content=b'{"slug": ', headers={"Content-Type": "application/json"}
        )
        assert_problem(broken, 422, "validation_failed")
        not_json = server.post(PATH, token=operator, content=b"slug=x")
        assert_problem(not_json, 422, "validation_failed")
        refused = server.post(
            PATH, token=operator, json=advertiser("neuve", stop_number="12"),
            headers={"Accept-Language": "en"},
        )  # fmt: skip
        body = assert_problem(refused, 422, refused.json()["code"])
        assert "Traceback" not in refused.text
        nothing = server.request("PATCH", f"{PATH}/maison-lumiere", token=operator, json={})
        assert nothing.status_code == 422 and nothing.headers["content-type"] == (
            "application/problem+json"
        )
        unknown = server.request("PATCH", f"{PATH}/personne", token=operator, json={"name": "N"})
        assert unknown.status_code == 404
        assert body["instance"] == PATH
