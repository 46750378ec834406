"""`POST /api/v1/messages` and `GET /api/v1/messages/{id}` over real HTTP against `tambour
serve`, on SQLite and PostgreSQL: a message decided by the core (201 with its basis and send
time, held to the next window when needed) or refused with the reason code as a problem, in
French or English; replayed by its Idempotency-Key; another advertiser's message is 404; no
number in the server's log."""

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from tambour.store.tables import outbox
from tests.dispatch_setup import mobile, paris, write_contacts
from tests.integration.api_server import ApiServer, assert_problem, new_key
from tests.integration.api_tenants import two_advertisers
from tests.integration.cli import Cli

MESSAGES = "/api/v1/messages"
TUESDAY_10 = paris("2026-12-01T10:00")
TUESDAY_21 = paris("2026-12-01T21:30")
PROMO = "Maison Lumière : -20% sur nos luminaires ce week-end, {first_name}."


@pytest.fixture
def tokens(db_url: str, tmp_path: Path) -> dict[str, str]:
    """maison-lumiere with three consenting contacts, the second opted out; keys: `send` (send
    and read), `read` (read only), `theirs` (copie's, send and read)."""
    cli = Cli(db_url)
    two_advertisers(cli)
    numbers = [mobile(i) for i in range(3)]
    contacts = write_contacts(tmp_path / "contacts.csv", numbers)
    cli("contacts", "import", str(contacts), "--advertiser", "maison-lumiere")
    cli("optout", "add", numbers[1], "--advertiser", "maison-lumiere")
    return {
        "send": new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "send,read"),
        "read": new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read"),
        "theirs": new_key(db_url, "--advertiser", "copie", "--scopes", "send,read"),
    }


def server_at(db_url: str, tmp_path: Path, now: str) -> ApiServer:
    return ApiServer(db_url, tmp_path, env={"TAMBOUR_NOW": now})


def queued(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(outbox)).scalar_one()


def test_a_message_is_decided_sent_on_its_basis_and_read_back(
    db_url: str, engine: Engine, tmp_path: Path, tokens: dict[str, str]
) -> None:
    body = {"to": "06 10 00 00 00", "text": PROMO, "sender": "MLUMIERE",
            "nature": "commercial", "campaign": "bienvenue"}  # fmt: skip
    with server_at(db_url, tmp_path, TUESDAY_10.isoformat()) as server:
        once = {"Idempotency-Key": "msg-1"}
        made = server.post(MESSAGES, token=tokens["send"], headers=once, json=body)
        assert made.status_code == 201, made.text
        sent = made.json()
        assert made.headers["location"] == f"{MESSAGES}/{sent['id']}"
        assert (sent["state"], sent["basis"], sent["deferral"]) == ("queued", "consent", None)
        assert (sent["to"], sent["campaign"], sent["kind"]) == (mobile(0), "bienvenue", "message")
        # Now (the server's clock runs from TAMBOUR_NOW), shown in the recipient's own time.
        assert sent["send_at"].startswith("2026-12-01T09:00:0")
        assert sent["send_at"].endswith("+00:00") and sent["send_at_local"].endswith("+01:00")
        assert sent["send_at_local"].startswith("2026-12-01T10:00:0")
        assert sent["text"].startswith(
            "Maison Lumière : -20% sur nos luminaires ce week-end, Léa0."
        )
        assert "STOP" in sent["text"] and sent["parts"] == []
        # Replayed, not sent twice; the same key with another body is refused.
        again = server.post(MESSAGES, token=tokens["send"], headers=once, json=body)
        assert again.json() == sent and again.headers["idempotent-replayed"] == "true"
        assert queued(engine) == 1
        other = server.post(
            MESSAGES, token=tokens["send"], headers=once, json={**body, "campaign": "autre"}
        )
        assert other.status_code == 422, other.text

        read = server.get(made.headers["location"], token=tokens["read"])
        assert read.status_code == 200 and read.json() == sent
        # Another advertiser's key: 404, as for a message that does not exist; a key without
        # the `send` scope may not send.
        assert_problem(server.get(f"{MESSAGES}/{sent['id']}", token=tokens["theirs"]), 404,
                       "message_not_found")  # fmt: skip
        assert_problem(server.get(f"{MESSAGES}/{sent['id'] + 1}", token=tokens["send"]), 404,
                       "message_not_found")  # fmt: skip
        assert_problem(server.post(MESSAGES, token=tokens["read"], json=body), 403,
                       "missing_scope")  # fmt: skip
        log = server.log_path.read_text()
    assert "610000000" not in log and "06 10 00" not in log


def test_a_refusal_says_the_reason_code_in_french_or_english(
    db_url: str, engine: Engine, tmp_path: Path, tokens: dict[str, str]
) -> None:
    stopped = {"to": mobile(1), "text": PROMO, "sender": "MLUMIERE", "nature": "commercial"}
    with server_at(db_url, tmp_path, TUESDAY_10.isoformat()) as server:
        french = assert_problem(
            server.post(MESSAGES, token=tokens["send"], json=stopped), 422, "opted_out"
        )
        assert french["detail"] == "Opposition enregistrée (STOP, lien, demande)"
        assert french["errors"] == [
            {"field": "/to", "code": "opted_out", "detail": french["detail"]}
        ]
        english = assert_problem(
            server.post(
                MESSAGES, token=tokens["send"], json=stopped, headers={"Accept-Language": "en"}
            ),
            422,
            "opted_out",
        )
        assert "may not be sent" in english["detail"]
        # Not a contact: no basis for prospection. A promotion declared transactional.
        stranger = {**stopped, "to": "+33699887766"}
        assert_problem(server.post(MESSAGES, token=tokens["send"], json=stranger), 422,
                       "no_legal_basis")  # fmt: skip
        disguised = {**stopped, "to": mobile(0), "nature": "transactional", "transaction": "A1"}
        assert_problem(server.post(MESSAGES, token=tokens["send"], json=disguised), 422,
                       "promotional_content")  # fmt: skip
        # Bad input: every problem named by its field.
        bad = assert_problem(
            server.post(MESSAGES, token=tokens["send"],
                        json={**stopped, "to": "12", "sender": "NOBODY"}),
            422, "invalid_input",
        )  # fmt: skip
        assert {(e["field"], e["code"]) for e in bad["errors"]} == {
            ("/to", "invalid_number"), ("/sender", "unknown_sender"),
        }  # fmt: skip
        naive = assert_problem(
            server.post(MESSAGES, token=tokens["send"],
                        json={**stopped, "send_at": "2026-12-01T12:00:00"}),
            422, "validation_failed",
        )  # fmt: skip
        assert naive["errors"][0]["field"] == "/send_at"
    assert queued(engine) == 0


def test_quiet_hours_hold_it_to_the_next_window_and_a_transaction_goes_at_once(
    db_url: str, tmp_path: Path, tokens: dict[str, str]
) -> None:
    body = {"to": mobile(0), "text": PROMO, "sender": "MLUMIERE", "nature": "commercial"}
    order = {"to": mobile(1), "sender": "MLUMIERE", "nature": "transactional",
             "text": "Maison Lumière : votre commande {transaction} est partie.",
             "transaction": "CMD-7"}  # fmt: skip
    with server_at(db_url, tmp_path, TUESDAY_21.isoformat()) as server:
        held = server.post(MESSAGES, token=tokens["send"], json=body)
        assert held.status_code == 201, held.text
        assert (held.json()["deferral"], held.json()["send_at_local"]) == (
            "quiet_hours", "2026-12-02T08:00:00+01:00"
        )  # fmt: skip
        # Its own order reaches a person who opted out of marketing, at once.
        answered = server.post(MESSAGES, token=tokens["send"], json=order)
        assert answered.status_code == 201, answered.text
        assert (answered.json()["basis"], answered.json()["deferral"]) == ("transactional", None)
        assert "commande CMD-7 est partie" in answered.json()["text"]
