"""The worker over the HTTP aggregator transport, end to end: messages POSTed once each with
their window's end, delivery callbacks closing them (a failure keeps its code), a STOP callback
opting the number out and stopping its pending message of a later campaign."""

import asyncio
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from tambour.dispatch.transports.http import HttpSettings, HttpTransport
from tambour.dispatch.worker import Worker, WorkerSettings
from tambour.store.tables import evidence
from tambour.store.tables import outbox as outbox_rows
from tests.dispatch_setup import STOP_NUMBER, launched_campaign, mobile, paris
from tests.integration.http_peers import aggregator, post_callback
from tests.integration.smpp_peers import eventually
from tests.integration.test_worker import Clock, run

TUESDAY_10 = paris("2026-12-01T10:00")
TOKEN = "cb-secret"


def test_the_worker_sends_through_an_aggregator_and_reads_its_callbacks(
    engine: Engine, tmp_path: Path
) -> None:
    numbers = [mobile(i) for i in range(30)]
    launched_campaign(engine, tmp_path, numbers, now=TUESDAY_10)
    later = paris("2026-12-01T15:00")
    launched_campaign(engine, tmp_path, numbers, now=TUESDAY_10, name="relance", start=later)
    clock = Clock(TUESDAY_10)
    transports: list[HttpTransport] = []

    def make(on_inbound: Any) -> HttpTransport:
        settings = HttpSettings(peer.url, callback_port=0, callback_token=TOKEN, window=8)
        transports.append(HttpTransport(settings, on_inbound))
        return transports[-1]

    def answer(request: dict[str, Any]) -> tuple[int, object]:
        return 200, {"id": f"agg-{request['reference']}"}

    with aggregator(answer=answer) as peer:

        async def scenario() -> None:
            runner = Worker(engine, make, settings=WorkerSettings(receipt_wait=10.0), clock=clock)
            task = asyncio.create_task(runner.run(until_idle=True))
            await eventually(lambda: len(peer.requests) == 30, 20, "the first campaign")
            url = f"http://127.0.0.1:{transports[0].callback_port}/callbacks"
            stop = {"type": "reply", "from": numbers[0], "to": STOP_NUMBER, "text": "STOP"}
            assert (await asyncio.to_thread(post_callback, url, stop, TOKEN))[0] == 200
            clock.jump(later - TUESDAY_10)  # the second campaign falls due
            await eventually(lambda: len(peer.requests) == 59, 20, "the second campaign")

            def receipts() -> set[int]:
                return {
                    post_callback(
                        url,
                        {"type": "receipt", "id": f"agg-{body['reference']}",
                         "status": "UNDELIV" if body["to"] == numbers[5] else "DELIVRD",
                         "error": "0x0B"},
                        TOKEN,
                    )[0]
                    for _, body in peer.requests
                }  # fmt: skip

            assert await asyncio.to_thread(receipts) == {200}
            report = await task  # once every receipt is in
            assert (report.submitted, report.receipts, report.replies) == (59, 59, 1)

        run(scenario)
        sent = Counter(body["to"] for _, body in peer.requests)
        valid_until = {datetime.fromisoformat(body["valid_until"]) for _, body in peer.requests}

    assert sent == Counter({**dict.fromkeys(numbers, 2), numbers[0]: 1})  # numbers[0] STOPped
    assert valid_until == {paris("2026-12-01T20:00")}  # no delivery after the window
    with engine.connect() as conn:
        found = conn.execute(
            select(outbox_rows.c.e164, outbox_rows.c.state, outbox_rows.c.reason,
                   outbox_rows.c.error_code, outbox_rows.c.campaign_id)
        ).all()  # fmt: skip
        sources = conn.execute(select(evidence.c.data).where(evidence.c.kind == "opt_out"))
        opt_outs = [data["source"] for data in sources.scalars()]
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
    assert opt_outs == ["sms_stop"]
