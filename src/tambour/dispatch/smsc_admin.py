"""The local SMSC's admin port (HTTP, JSON, on 127.0.0.1 by default): inject replies into a
bound session and look at what the SMSC received.

    POST /mo        {"from": "+33612345678", "to": "36111", "text": "STOP", "wait": 5}
                    200 {"delivered": true}: every part acknowledged by a bound ESME;
                    202 {"delivered": false, ...}: queued, delivered once an ESME binds
    GET  /stats     counters, bound sessions, deliveries pending
    GET  /messages  the reassembled messages (the latest 1,000)
"""

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import Any, Final

from tambour.dispatch.json_http import JsonHttpServer, post_json
from tambour.dispatch.smsc import DeliveryRefusedError, Smsc

MAX_LISTED: Final = 1000


class SmscAdmin(JsonHttpServer):
    def __init__(self, smsc: Smsc, host: str = "127.0.0.1", port: int = 0) -> None:
        self.smsc = smsc
        super().__init__(
            host,
            port,
            {
                ("POST", "/mo"): self._mo,
                ("GET", "/stats"): self._stats,
                ("GET", "/messages"): self._messages,
            },
        )

    async def _mo(self, payload: dict[str, Any] | None, _: Mapping[str, str]) -> tuple[int, object]:
        payload = payload or {}
        fields = {key: payload.get(key) for key in ("from", "to", "text")}
        bad = [key for key, value in fields.items() if not isinstance(value, str) or not value]
        if bad:
            return 400, {"error": f"{', '.join(bad)}: a non-empty string is required"}
        wait = payload.get("wait", 5)
        if isinstance(wait, bool) or not isinstance(wait, int | float) or not 0 <= wait <= 60:
            return 400, {"error": "wait: seconds from 0 to 60"}
        system_id = payload.get("system_id")
        if system_id is not None and not isinstance(system_id, str):
            return 400, {"error": "system_id: a string"}
        try:
            done = self.smsc.inject_mo(
                str(fields["from"]), str(fields["to"]), str(fields["text"]), system_id
            )
        except ValueError as error:
            return 400, {"error": str(error)}
        done.add_done_callback(_consume)  # answered after `wait`: nobody awaits it any more
        try:
            await asyncio.wait_for(asyncio.shield(done), wait)
        except DeliveryRefusedError as error:
            return 422, {"error": str(error)}
        except TimeoutError:
            return 202, {
                "delivered": False,
                "queued": True,
                "bound_sessions": self.smsc.bound_sessions,
            }
        return 200, {"delivered": True}

    async def _stats(self, _: dict[str, Any] | None, __: Mapping[str, str]) -> tuple[int, object]:
        smsc = self.smsc
        return 200, {
            **dataclasses.asdict(smsc.stats),
            "bound_sessions": smsc.bound_sessions,
            "pending_deliveries": smsc.pending_deliveries,
            "messages": len(smsc.messages),
        }

    async def _messages(
        self, _: dict[str, Any] | None, __: Mapping[str, str]
    ) -> tuple[int, object]:
        return 200, [
            {
                "from": m.source.address,
                "to": m.destination.address,
                "data_coding": m.data_coding,
                "text": m.text,
                "message_ids": list(m.message_ids),
            }
            for m in self.smsc.messages[-MAX_LISTED:]
        ]


def _consume(future: "asyncio.Future[list[None]]") -> None:
    if not future.cancelled():
        future.exception()


def inject_mo(
    host: str, port: int, source: str, short_number: str, text: str, wait: float = 5.0
) -> tuple[int, Any]:
    """Ask a running SMSC's admin port to deliver a reply (blocking); status and answer."""
    payload = {"from": source, "to": short_number, "text": text, "wait": wait}
    return post_json(f"http://{host}:{port}/mo", payload, timeout=wait + 5)
