"""`POST /api/v1/optouts` over real HTTP against `tambour serve`: a number opted out at once
(on the advertiser's suppression list, a contact or not), replayed by its Idempotency-Key
without a second record, refused as problems; the number never in the server's log; another
advertiser's list is 404."""

from pathlib import Path

from sqlalchemy import Engine, func, select

from tambour.services import advertisers, suppression
from tambour.store.tables import audit_log
from tests.integration.api_server import ApiServer, assert_problem, new_key
from tests.integration.api_tenants import two_advertisers
from tests.integration.cli import Cli

OPTOUTS = "/api/v1/optouts"
PERSON = "+33612345678"


def suppressed(engine: Engine, slug: str, e164: str) -> str | None:
    """The source of the number's suppression entry, None without one."""
    with engine.connect() as conn:
        found = suppression.entries(conn, advertisers.get(conn, slug), [e164])
    return found[e164].source if e164 in found else None


def audited(engine: Engine, action: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(audit_log).where(audit_log.c.action == action)
        ).scalar_one()


def test_a_number_is_opted_out_at_once_and_never_logged(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    key = two_advertisers(Cli(db_url))
    reader = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read")
    operator = new_key(db_url, "--operator")
    with ApiServer(db_url, tmp_path) as server:
        once = {"Idempotency-Key": "stop-1"}
        body = {"number": "06 12 34 56 78", "source": "link"}
        done = server.post(OPTOUTS, token=key, headers=once, json=body)
        assert done.status_code == 200, done.text
        assert done.json()["source"] == "link" and done.json()["known_contact"] is False
        assert len(done.json()["phone_hash"]) == 16 and "612345678" not in done.text
        again = server.post(OPTOUTS, token=key, headers=once, json=body)
        assert again.json() == done.json() and again.headers["idempotent-replayed"] == "true"
        assert suppressed(engine, "maison-lumiere", PERSON) == "link"
        assert audited(engine, "optout.add") == 1

        manual = server.post(
            OPTOUTS, token=operator, params={"advertiser": "copie"}, json={"number": PERSON}
        )
        assert manual.status_code == 200 and manual.json()["source"] == "manual"
        assert suppressed(engine, "copie", PERSON) == "manual"

        bad = assert_problem(
            server.post(OPTOUTS, token=key, json={"number": "123"}), 422, "invalid_phone"
        )
        assert bad["errors"][0]["field"] == "/number"
        wrong = server.post(OPTOUTS, token=key, json={"number": PERSON, "source": "fax"})
        assert assert_problem(wrong, 422, "validation_failed")["errors"][0]["field"] == "/source"
        assert_problem(server.post(OPTOUTS, token=reader, json=body), 403, "missing_scope")
        assert_problem(server.post(OPTOUTS, token=operator, json=body), 422, "advertiser_required")
        logged = server.log_path.read_text()
    assert "612345678" not in logged and "12 34 56 78" not in logged
    assert '"route": "/api/v1/optouts"' in logged or '"route":"/api/v1/optouts"' in logged


def test_another_advertisers_list_is_404(db_url: str, engine: Engine, tmp_path: Path) -> None:
    mine = two_advertisers(Cli(db_url))
    with ApiServer(db_url, tmp_path) as server:
        theirs = server.post(
            OPTOUTS, token=mine, params={"advertiser": "copie"}, json={"number": PERSON}
        )
        assert_problem(theirs, 404, "advertiser_not_found")
    assert suppressed(engine, "copie", PERSON) is None
    assert suppressed(engine, "maison-lumiere", PERSON) is None
