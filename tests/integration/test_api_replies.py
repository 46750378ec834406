"""`/api/v1/replies` over real HTTP against `tambour serve`: the advertiser's inbox newest
first, by status, in Paris time; a reply marked read, or as an opt-out (its number then on the
suppression list), each replayed by its Idempotency-Key; another advertiser's replies are
neither listed nor markable (404)."""

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from tambour.rules.replies import classify_reply
from tambour.services.replies import record_replies
from tambour.traffic import Reply
from tests.integration.api_server import ApiServer, assert_problem, new_key
from tests.integration.api_tenants import two_advertisers
from tests.integration.cli import Cli
from tests.integration.test_api_optouts import suppressed

REPLIES = "/api/v1/replies"
PERSON = "+33612345678"
OTHER = "+33698765432"
AT = datetime(2027, 3, 20, 10, 0, tzinfo=UTC)  # 11:00 in Paris


def received(engine: Engine, text: str, sender: str, short_number: str, minute: int) -> int:
    reply = Reply(sender, sender, short_number, text, classify_reply(text))
    with engine.begin() as conn:
        (effect,) = record_replies(
            conn, [reply], now=AT.replace(minute=minute), actor="worker:test"
        )
    (reply_id,) = effect.kept
    return reply_id


def test_the_inbox_is_listed_and_its_replies_marked(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    key = two_advertisers(Cli(db_url))
    question = received(engine, "Quels horaires ?", PERSON, "36111", 1)
    vague = received(engine, "j'en veux plus", OTHER, "36111", 2)
    received(engine, "Bonjour", PERSON, "36222", 3)  # copie's
    reader = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read")
    with ApiServer(db_url, tmp_path) as server:
        inbox = server.get(REPLIES, token=reader)
        assert inbox.status_code == 200, inbox.text
        items = inbox.json()["items"]
        assert [r["id"] for r in items] == [vague, question]
        assert items[1]["number"] == PERSON and items[1]["text"] == "Quels horaires ?"
        assert items[1]["received_at"] == "2027-03-20T11:01:00+01:00"
        assert items[1]["status"] == "new" and items[1]["meaning"] == "other"
        assert [
            r["id"] for r in server.get(REPLIES, token=reader, params={"limit": 1}).json()["items"]
        ] == [vague]

        read = f"{REPLIES}/{question}/read"
        assert_problem(server.post(read, token=reader), 403, "missing_scope")
        once = {"Idempotency-Key": "lu-1"}
        marked = server.post(read, token=key, headers=once)
        assert marked.status_code == 200, marked.text
        assert marked.json() == {
            "id": question,
            "status": "read",
            "changed": True,
            "source": None,
            "phone_hash": None,
            "known_contact": None,
        }
        assert server.post(read, token=key, headers=once).json() == marked.json()
        assert server.post(read, token=key).json()["changed"] is False
        new = server.get(REPLIES, token=reader, params={"status": "new"}).json()["items"]
        assert [r["id"] for r in new] == [vague]

        opted = server.post(f"{REPLIES}/{vague}/opt-out", token=key)
        assert opted.status_code == 200, opted.text
        assert opted.json()["status"] == "opted_out" and opted.json()["source"] == "sms_stop"
        assert suppressed(engine, "maison-lumiere", OTHER) == "sms_stop"
        missing = assert_problem(
            server.post(f"{REPLIES}/99999/read", token=key), 404, "reply_not_found"
        )
        assert missing["errors"][0]["field"] == "/reply_id"
        logged = server.log_path.read_text()
    assert "698765432" not in logged and "612345678" not in logged


def test_another_advertisers_replies_are_404(db_url: str, engine: Engine, tmp_path: Path) -> None:
    mine = two_advertisers(Cli(db_url))
    theirs = received(engine, "j'en veux plus", PERSON, "36222", 1)
    with ApiServer(db_url, tmp_path) as server:
        assert server.get(REPLIES, token=mine).json()["items"] == []
        assert_problem(
            server.get(REPLIES, token=mine, params={"advertiser": "copie"}),
            404,
            "advertiser_not_found",
        )
        for action in ("read", "opt-out"):
            assert_problem(
                server.post(f"{REPLIES}/{theirs}/{action}", token=mine), 404, "reply_not_found"
            )
    assert suppressed(engine, "copie", PERSON) is None
    copie = new_key(db_url, "--advertiser", "copie", "--scopes", "read")
    with ApiServer(db_url, tmp_path) as server:
        (untouched,) = server.get(REPLIES, token=copie).json()["items"]
    assert untouched["status"] == "new"


def test_the_inbox_is_paged_by_cursor_newest_first(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    """Pages of `limit`, each with the next one's link, until the last; two replies received
    at one instant are both listed once; a cursor that is not ours is 422."""
    two_advertisers(Cli(db_url))
    ids = [received(engine, f"Question {n}", PERSON, "36111", minute) for n, minute in
           enumerate((1, 2, 2, 3, 4))]  # fmt: skip
    received(engine, "Bonjour", PERSON, "36222", 5)  # copie's: never listed
    reader = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read")
    with ApiServer(db_url, tmp_path) as server:
        seen: list[int] = []
        page = server.get(REPLIES, token=reader, params={"limit": 2})
        pages = 0
        while True:
            assert page.status_code == 200, page.text
            body = page.json()
            seen += [item["id"] for item in body["items"]]
            pages += 1
            if body["next"] is None:
                assert "link" not in page.headers
                break
            assert page.headers["link"] == f'<{body["next"]}>; rel="next"'
            page = server.get(body["next"], token=reader)
        assert pages == 3
        assert seen == [ids[4], ids[3], ids[2], ids[1], ids[0]]
        assert_problem(
            server.get(REPLIES, token=reader, params={"cursor": "pas-un-curseur"}),
            422,
            "invalid_cursor",
        )
