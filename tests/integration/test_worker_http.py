"""The worker over the HTTP aggregator transport, end to end, with `tambour serve` taking the
aggregator's delivery callbacks (the worker no longer listens for them), on SQLite and
PostgreSQL: messages POSTed once each with their window's end and the server's callback
address; receipts posted to the server closing them (a failure keeps its code), one of them
before the worker has written its message down (it waits, then applies), each posted twice
(the second changes nothing); a STOP opting the number out and stopping its pending message of
a later campaign."""

import asyncio
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from tambour.dispatch.config import read_config
from tambour.dispatch.transports.factory import make_transport
from tambour.dispatch.worker import Worker, WorkerSettings
from tambour.store.tables import early_receipts, evidence
from tambour.store.tables import outbox as outbox_rows
from tests.dispatch_setup import STOP_NUMBER, launched_campaign, mobile, paris
from tests.integration.api_server import ApiServer
from tests.integration.http_peers import aggregator
from tests.integration.smpp_peers import eventually
from tests.integration.test_worker import Clock, run

TUESDAY_10 = paris("2026-12-01T10:00")
LATER = paris("2026-12-01T15:00")
TOKEN = "cb-secret-5e0c1a"
CALLBACKS = "/api/v1/callbacks"


def http_config(path: Path, aggregator_url: str, callback_url: str) -> Path:
    path.write_text(
        f'[transport]\nkind = "http"\nurl = "{aggregator_url}"\nwindow = 8\n'
        f'callback_url = "{callback_url}"\ncallback_token = "{TOKEN}"\n',
        encoding="utf-8",
    )
    return path


def test_the_worker_sends_through_an_aggregator_and_the_server_takes_its_callbacks(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    numbers = [mobile(i) for i in range(30)]
    launched_campaign(engine, tmp_path, numbers, now=TUESDAY_10)
    launched_campaign(engine, tmp_path, numbers, now=TUESDAY_10, name="relance", start=LATER)
    clock = Clock(TUESDAY_10)
    config = tmp_path / "http.toml"
    early: list[int] = []  # the server's answer to the receipt that came before its message

    def answer(request: dict[str, Any]) -> tuple[int, object]:
        carrier_id = f"agg-{request['reference']}"
        if request["to"] == numbers[7] and not early:
            # The aggregator calls back before it answers the submit: the worker has not
            # written the message's part down yet.
            receipt = {"type": "receipt", "id": carrier_id, "status": "DELIVRD"}
            early.append(callback(receipt).status_code)
        return 200, {"id": carrier_id}

    with aggregator(answer=answer) as peer:
        http_config(config, peer.url, "http://127.0.0.1:9/not-yet")
        env = {"TAMBOUR_CONFIG": str(config), "TAMBOUR_NOW": LATER.isoformat()}
        with ApiServer(db_url, tmp_path, env=env) as server:
            callback_url = server.url + CALLBACKS
            # The worker reads the file as it finds it when it starts: the server's address.
            transport = read_config(http_config(config, peer.url, callback_url)).transport

            def callback(payload: dict[str, str]) -> httpx.Response:
                auth = {"Authorization": f"Bearer {TOKEN}"}
                return httpx.post(callback_url, json=payload, headers=auth, timeout=30)

            async def scenario() -> None:
                runner = Worker(
                    engine,
                    lambda on_inbound: make_transport(transport, on_inbound),
                    settings=WorkerSettings(receipt_wait=15.0),
                    clock=clock,
                )
                task = asyncio.create_task(runner.run(until_idle=True))
                await eventually(lambda: len(peer.requests) == 30, 30, "the first campaign")
                stop = {"type": "reply", "from": numbers[0], "to": STOP_NUMBER, "text": "STOP"}
                assert (await asyncio.to_thread(callback, stop)).status_code == 200
                clock.jump(LATER - TUESDAY_10)  # the second campaign falls due
                await eventually(lambda: len(peer.requests) == 59, 30, "the second campaign")

                def receipts() -> list[int]:
                    answers = []
                    for _, body in peer.requests:
                        failing = body["to"] == numbers[5]
                        receipt = {
                            "type": "receipt",
                            "id": f"agg-{body['reference']}",
                            "status": "UNDELIV" if failing else "DELIVRD",
                            "error": "0x0B",
                        }
                        answers.append(callback(receipt).status_code)
                        # Posted again (the aggregator heard no answer), even saying otherwise:
                        # the first receipt of a part stands.
                        again = {**receipt, "status": "DELIVRD" if failing else "UNDELIV"}
                        answers.append(callback(again).status_code)
                    return answers

                assert set(await asyncio.to_thread(receipts)) == {200}
                report = await task  # once every receipt is in
                assert report.submitted == 59
                # The receipts are the server's: the worker recorded none itself.
                assert (report.receipts, report.replies) == (0, 0)

            run(scenario)
            logged = server.log_path.read_text()
        sent = Counter(body["to"] for _, body in peer.requests)
        valid_until = {datetime.fromisoformat(body["valid_until"]) for _, body in peer.requests}
        told = {body["callback_url"] for _, body in peer.requests}

    assert early == [200]
    assert told == {callback_url}
    assert sent == Counter({**dict.fromkeys(numbers, 2), numbers[0]: 1})  # numbers[0] STOPped
    assert valid_until == {paris("2026-12-01T20:00")}  # no delivery after the window
    with engine.connect() as conn:
        found = conn.execute(
            select(outbox_rows.c.e164, outbox_rows.c.state, outbox_rows.c.reason,
                   outbox_rows.c.error_code, outbox_rows.c.campaign_id)
        ).all()  # fmt: skip
        sources = conn.execute(select(evidence.c.data).where(evidence.c.kind == "opt_out"))
        opt_outs = [data["source"] for data in sources.scalars()]
        waiting = conn.execute(select(func.count()).select_from(early_receipts)).scalar_one()
    first = min(row.campaign_id for row in found)
    assert Counter(r.state for r in found if r.campaign_id == first) == Counter(
        {"delivered": 29, "failed": 1}
    )
    assert [r.error_code for r in found if r.state == "failed"] == [11, 11]  # both numbers[5]
    second = {r.e164: (r.state, r.reason) for r in found if r.campaign_id != first}
    assert second[numbers[0]] == ("cancelled", "opted_out")
    assert Counter(state for state, _ in second.values()) == Counter(
        {"delivered": 28, "failed": 1, "cancelled": 1}
    )
    early_one = [r.state for r in found if r.campaign_id == first and r.e164 == numbers[7]]
    assert early_one == ["delivered"]  # the early receipt, applied once its part was written
    assert opt_outs == ["sms_stop"]
    assert waiting == 0  # no receipt left waiting, the duplicates neither
    for number in numbers:
        assert number[3:] not in logged  # no phone number in the server's log
