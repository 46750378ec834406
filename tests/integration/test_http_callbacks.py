"""An HTTP aggregator's delivery callbacks, posted to `tambour serve` (real HTTP, port 0) on
SQLite and PostgreSQL: each carrier by its own token (API keys do not get in), unknown carriers
404, bodies bounded in size (413) and time (408), bad ones refused as problems naming the member,
a STOP in force at once and received twice changing nothing, no number nor text in the log.
What a callback means (its JSON read into a receipt or a reply) is tested first, without a
server. The worker's side, receipts settling messages, is test_worker_http.py."""

import contextlib
import json
import selectors
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, Table, func, select

from tambour.dispatch.transports.http_callbacks import CallbackError, parse_callback
from tambour.rules.replies import ReplyKind
from tambour.services import advertisers, suppression
from tambour.store.tables import early_receipts, evidence, replies
from tambour.traffic import MessageState, Outcome, Receipt, Reply
from tests.integration.api_server import ApiServer, assert_problem, new_key
from tests.integration.api_tenants import two_advertisers
from tests.integration.cli import Cli

TOKEN = "cb-7f3a9d2e51c4b8a0"
OTHER = "cb-secours-2b71e0"
AGG = "/api/v1/callbacks/agg"
PERSON = "0612345678"
REPLY = {"type": "reply", "from": PERSON, "to": "36111", "text": "STOP merci Lumière"}


def carriers_config(folder: Path) -> Path:
    """Three carriers: two HTTP aggregators taking callbacks (secours's token from the
    environment) and an SMPP carrier (no callbacks)."""
    path = folder / "carriers.toml"
    path.write_text(
        f"""
[[carriers]]
name = "agg"
kind = "http"
url = "http://127.0.0.1:9/v1/messages"
callback_url = "http://127.0.0.1:8000{AGG}"
callback_token = "{TOKEN}"

[[carriers]]
name = "secours"
kind = "http"
url = "http://127.0.0.1:9/v2/messages"
callback_url = "http://127.0.0.1:8000/api/v1/callbacks/secours"

[[carriers]]
name = "orange"
kind = "smpp"
host = "127.0.0.1"
port = 2775
system_id = "tambour"
password = "secret"
""",
        encoding="utf-8",
    )
    return path


def serving(db_url: str, tmp_path: Path, **env: str) -> ApiServer:
    return ApiServer(
        db_url,
        tmp_path,
        env={
            "TAMBOUR_CONFIG": str(carriers_config(tmp_path)),
            "TAMBOUR_CARRIER_SECOURS_CALLBACK_TOKEN": OTHER,
            **env,
        },
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def count(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


# --- what a callback says --------------------------------------------------------------------


def test_a_callback_read_as_a_receipt_or_a_reply() -> None:
    delivered = parse_callback({"type": "receipt", "id": "agg-1", "status": "delivered"}, "agg")
    assert delivered == Receipt("agg-1", MessageState.DELIVERED, carrier="agg")
    failed = parse_callback(
        {"type": "receipt", "id": "agg-2", "status": "UNDELIV", "error": "0x1A"}
    )
    assert isinstance(failed, Receipt) and (failed.outcome, failed.error) == (Outcome.FAILED, 26)
    stop = parse_callback({"type": "reply", "from": PERSON, "to": "36111", "text": "Stop"})
    assert isinstance(stop, Reply)
    assert (stop.kind, stop.sender, stop.short_number) == (ReplyKind.STOP, "+33612345678", "36111")
    refused = {
        "status": {"type": "receipt", "id": "agg-3", "status": "lost"},
        "error": {"type": "receipt", "id": "agg-3", "status": "failed", "error": 2**40},
        "id": {"type": "receipt", "id": "x" * 65, "status": "failed"},
        "from": {**REPLY, "from": " "},
        "to": {**REPLY, "to": "3" * 40},
        "type": {"type": "mo"},
    }
    for field, payload in refused.items():
        with pytest.raises(CallbackError) as raised:
            parse_callback(payload)
        assert raised.value.field == field


# --- through the server ----------------------------------------------------------------------


def test_only_the_carriers_token_gets_in(db_url: str, engine: Engine, tmp_path: Path) -> None:
    api_key = two_advertisers(Cli(db_url))
    operator = new_key(db_url, "--operator")
    body = json.dumps(REPLY).encode()
    with serving(db_url, tmp_path) as server:
        for path in ("/api/v1/callbacks/nobody", "/api/v1/callbacks/orange", "/api/v1/callbacks"):
            # unknown, not HTTP, and no [transport]: nobody's callbacks are taken there
            assert_problem(
                server.post(path, headers=bearer(TOKEN), content=body),
                404,
                "callback_carrier_not_found",
            )
        for headers in (
            {},
            bearer(TOKEN[:-1]),
            bearer(TOKEN + "0"),
            bearer(OTHER),  # another carrier's token
            bearer(api_key),  # API keys do not get in, not even the operator's
            bearer(operator),
            {"Authorization": TOKEN},  # not as a bearer
        ):
            refused = server.post(AGG, headers=headers, content=body)
            assert_problem(refused, 401, "invalid_callback_token")
            assert refused.headers["www-authenticate"].startswith("Bearer")
        assert count(engine, replies) == 0  # nothing of theirs was read, let alone acted on
        taken = server.post(AGG, headers=bearer(TOKEN), content=body)
        assert taken.status_code == 200 and taken.json() == {"ok": True, "type": "reply"}
        other = {**REPLY, "from": "0612345679"}
        by_secours = server.post("/api/v1/callbacks/secours", headers=bearer(OTHER), json=other)
        assert by_secours.status_code == 200, by_secours.text
        assert count(engine, replies) == 2
        english = server.post(AGG, headers={"Accept-Language": "en"}, content=body)
        assert "callback token" in assert_problem(english, 401, "invalid_callback_token")["detail"]
        paths = server.get("/api/v1/openapi.json").json()["paths"]
        assert not [path for path in paths if "callbacks" in path]  # not an integrator's API


def test_bad_bodies_are_refused_as_problems(db_url: str, engine: Engine, tmp_path: Path) -> None:
    Cli(db_url).advertiser()
    good = json.dumps(REPLY).encode()
    receipt = {"type": "receipt", "id": "agg-1", "status": "delivered"}

    def chunks(size: int) -> Iterator[bytes]:
        for _ in range(size // 1024):
            yield b" " * 1024
        yield good

    with serving(db_url, tmp_path) as server:

        def post(content: bytes | Iterator[bytes]) -> object:
            return server.post(AGG, headers=bearer(TOKEN), content=content)

        too_large = json.dumps({**REPLY, "pad": "x" * 70_000}).encode()
        assert_problem(post(too_large), 413, "callback_too_large")  # by its Content-Length
        assert_problem(post(chunks(70_000)), 413, "callback_too_large")  # chunked, as it came
        assert post(chunks(10_000)).status_code == 200  # chunked and within the limit
        assert_problem(post(b'{"type": "receipt", "id": '), 400, "malformed_body")
        assert_problem(post(b'{"type": "\xff\xfe"}'), 400, "malformed_body")  # not UTF-8
        assert_problem(post(b""), 400, "malformed_body")
        deep = json.dumps({**REPLY, "x": [[[[[1]]]]]}).encode()
        assert_problem(post(deep), 422, "callback_too_deep")
        assert_problem(post(b"[" * 60_000), 422, "callback_too_deep")
        fields = {
            b'["receipt"]': "",
            json.dumps({"type": "mo"}).encode(): "/type",
            json.dumps({"type": "receipt", "status": "delivered"}).encode(): "/id",
            json.dumps({**receipt, "status": "lost"}).encode(): "/status",
            json.dumps({**receipt, "error": 2**40}).encode(): "/error",
            json.dumps({**receipt, "error": [1]}).encode(): "/error",
            json.dumps({**REPLY, "from": " "}).encode(): "/from",
            json.dumps({**REPLY, "to": "3" * 40}).encode(): "/to",
            json.dumps({**REPLY, "text": None}).encode(): "/text",
        }
        for raw, field in fields.items():
            refused = assert_problem(post(raw), 422, "validation_failed")
            said = refused["errors"][0]["field"]
            assert said == field or (field and said.startswith(field + "/")), (raw, refused)
        assert count(engine, replies) == 1 and count(engine, early_receipts) == 0
        assert post(good).status_code == 200  # the server is whole; and twice is once
        assert count(engine, replies) == 1
        assert server.get("/api/v1/callbacks/agg").status_code == 405


def test_a_slow_body_is_cut_at_its_deadline(db_url: str, tmp_path: Path) -> None:
    """A sender that trickles its body is answered 408 once the deadline passes, however
    steady its trickle; others are served meanwhile."""
    Cli(db_url).advertiser()
    with serving(db_url, tmp_path, TAMBOUR_CALLBACK_READ_TIMEOUT="1") as server:
        address = urlsplit(server.url)
        body = json.dumps(REPLY).encode()
        head = (
            f"POST {AGG} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection((address.hostname, address.port), timeout=5) as slow:
            slow.sendall(head)
            readable = selectors.DefaultSelector()
            readable.register(slow, selectors.EVENT_READ)
            started = time.monotonic()
            answer = b""
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                for tick, byte in enumerate(body[:40]):  # a byte every 0.1 s
                    slow.sendall(bytes([byte]))
                    if tick == 3:
                        other = {**REPLY, "from": "0612345679"}
                        asked = time.monotonic()
                        fast = server.post(AGG, headers=bearer(TOKEN), json=other)
                        assert fast.status_code == 200
                        started += time.monotonic() - asked  # the trickle paused meanwhile
                    if readable.select(0.1):  # answered: cut
                        break
            cut_after = time.monotonic() - started
            # The whole answer, to the close it announces (its head and body may come apart).
            with contextlib.suppress(ConnectionResetError, TimeoutError):
                while chunk := slow.recv(65536):
                    answer += chunk
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"callback_too_slow" in answer
        assert cut_after < 3.0  # the 1 s deadline, not the 4 s the whole trickle takes


def test_a_stop_is_in_force_at_once_and_twice_is_once(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    two_advertisers(Cli(db_url))
    with serving(db_url, tmp_path) as server:
        for _ in range(2):  # the aggregator did not hear the first answer: it posts again
            done = server.post(AGG, headers=bearer(TOKEN), json=REPLY)
            assert done.status_code == 200 and done.json()["type"] == "reply"
        to_copie = {**REPLY, "from": "0612345670", "to": "36222", "text": "bonjour"}
        assert server.post(AGG, headers=bearer(TOKEN), json=to_copie).status_code == 200
        logged = server.log_path.read_text()
    with engine.connect() as conn:
        lumiere = advertisers.get(conn, "maison-lumiere")
        copie = advertisers.get(conn, "copie")
        stopped = suppression.entries(conn, lumiere, ["+33612345678"])
        elsewhere = suppression.entries(conn, copie, ["+33612345678"])
        kept = conn.execute(select(replies.c.advertiser_id, replies.c.meaning)).all()
        opt_outs = conn.execute(
            select(func.count()).select_from(evidence).where(evidence.c.kind == "opt_out")
        ).scalar_one()
    assert stopped["+33612345678"].source == "sms_stop" and not elsewhere  # its advertiser's
    assert sorted(kept) == sorted([(lumiere.id, "stop"), (copie.id, "other")])
    assert opt_outs <= 1  # a STOP told again adds no second opt-out
    assert '"route": "/api/v1/callbacks/{carrier}"' in logged or (
        '"route":"/api/v1/callbacks/{carrier}"' in logged
    )
    for secret in ("612345678", "12345670", "Lumi", "STOP merci", "bonjour", TOKEN):
        assert secret not in logged
