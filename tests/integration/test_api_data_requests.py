"""`/api/v1/data-requests` over real HTTP against `tambour serve`, on SQLite and PostgreSQL: the
same register and answers as the command line (one service under both): a request registered,
answered with the person's data and its French document, an erasure after which the contact is
gone and the number suppressed; refusals as problem+json; another advertiser's request 404; the
number never in the server's log."""

from pathlib import Path

from sqlalchemy import Engine

from tests.integration.api_server import ApiServer, assert_problem, new_key
from tests.integration.api_tenants import two_advertisers
from tests.integration.cli import Cli
from tests.integration.test_api_optouts import suppressed

REQUESTS = "/api/v1/data-requests"
PERSON = "+33612345678"
CONSENT = {
    "given": True, "at": "2026-10-10T14:05:00+02:00", "method": "web_form",
    "wording": "J'accepte de recevoir les offres de Maison Lumière par SMS",
}  # fmt: skip


def test_requests_are_registered_and_answered_over_the_api(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    key = two_advertisers(Cli(db_url))
    theirs = new_key(db_url, "--advertiser", "copie", "--scopes", "read,write")
    reader = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read")
    with ApiServer(db_url, tmp_path, env={"TAMBOUR_NOW": "2026-12-01T09:00:00+01:00"}) as server:
        made = server.post(
            "/api/v1/contacts", token=key,
            json={"number": PERSON, "first_name": "Léa", "consent": CONSENT},
        )  # fmt: skip
        assert made.status_code in (200, 201), made.text
        body = {"kind": "access", "number": "06 12 34 56 78", "requester": "Léa, par courriel",
                "received_on": "2026-11-30"}  # fmt: skip
        added = server.post(REQUESTS, token=key, json=body)
        assert added.status_code == 201, added.text
        access = added.json()
        assert (access["due_by"], access["status"], access["days_left"]) == (
            "2026-12-30", "open", 29,
        )  # fmt: skip
        assert "612345678" not in added.text
        assert [r["id"] for r in server.get(REQUESTS, token=key).json()] == [access["id"]]
        # Another advertiser: not found, exactly as a request that does not exist.
        for path in (f"{REQUESTS}/{access['id']}", f"{REQUESTS}/{2**63 - 1}"):
            assert_problem(server.get(path, token=theirs), 404, "request_not_found")
        answered = server.post(f"{REQUESTS}/{access['id']}/answer", token=theirs, json={})
        assert_problem(answered, 404, "request_not_found")
        assert server.get(REQUESTS, token=theirs).json() == []
        assert_problem(server.post(REQUESTS, token=reader, json=body), 403, "missing_scope")
        bad = server.post(REQUESTS, token=key, json={**body, "kind": "deletion"})
        assert assert_problem(bad, 422, "validation_failed")["errors"][0]["field"] == "/kind"
        later = server.post(REQUESTS, token=key, json={**body, "received_on": "2026-12-24"})
        assert assert_problem(later, 422, "received_in_future")["errors"][0]["field"] == (
            "/received_on"
        )
        # Access: the data and its document; the request closed.
        done = server.post(f"{REQUESTS}/{access['id']}/answer", token=key, json={})
        assert done.status_code == 200, done.text
        answer = done.json()
        assert answer["request"]["status"] == "answered"
        assert answer["data"]["number"] == PERSON
        assert answer["data"]["contact"]["fields"]["first_name"] == "Léa"
        assert [f["kind"] for f in answer["data"]["evidence"]] == ["consent_given"]
        assert "Vos données chez Maison Lumière SAS" in answer["document"]
        again = server.post(f"{REQUESTS}/{access['id']}/answer", token=key, json={})
        assert_problem(again, 409, "not_open")
        # Erasure: the contact is gone, the number stays suppressed.
        erasure = server.post(REQUESTS, token=key, json={**body, "kind": "erasure"}).json()
        path = f"{REQUESTS}/{erasure['id']}/answer"
        assert_problem(server.post(path, token=key, json={}), 422, "erasure_unconfirmed")
        erased = server.post(path, token=key, json={"confirm_erasure": True}).json()
        assert erased["erased"]["contact_id"] == made.json()["id"]
        assert erased["erased"]["suppressed"] is True and erased["data"] is None
        gone = server.get(f"/api/v1/contacts/{made.json()['id']}", token=key)
        assert_problem(gone, 404, "contact_not_found")  # erased: as if it never was
        logged = server.log_path.read_text()
    assert suppressed(engine, "maison-lumiere", PERSON) == "data_request"
    assert suppressed(engine, "copie", PERSON) is None
    assert "612345678" not in logged and "12 34 56 78" not in logged and "Léa" not in logged
