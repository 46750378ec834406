"""Delivering webhooks: claim due deliveries, POST each signed body to its endpoint, record what
came of it (services/webhook_queue.py decides retries and disabling).

One asyncio loop with one HTTP client, aiohttp (connections kept alive per endpoint; httpx's
connection pool, measured, spent most of its time matching requests to connections past a few
dozen at once: 114 deliveries a second in benches/bench_webhooks.py): a batch is claimed
in one transaction, sent concurrently (at most `concurrency` requests at once), and its results
recorded in one transaction. Each attempt is bounded: `timeout` seconds in all, redirects not
followed (a 3xx is a failure: a webhook endpoint answers where it is), at most 4 KiB of the
answer read. Before a request, the endpoint's host is resolved and refused when it leads to a
private address (webhooks/targets.py), unless the configuration allows private targets. Logs
name endpoints and deliveries by id, never a URL (it may carry a token) nor a body.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aiohttp
from sqlalchemy import Engine

from tambour.keys import Keys
from tambour.services import webhook_queue
from tambour.services.webhook_queue import RETRY_AFTER, Claimed, Result
from tambour.webhooks.targets import TargetError, check_addresses, parse_target

log = logging.getLogger("tambour.webhooks")

MAX_ANSWER = 4096  # bytes of an answer read (and thrown away): its status is what counts
RESOLVED_FOR = 60.0  # seconds a host found public is not resolved again


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    batch: int = 200  # deliveries claimed at once
    concurrency: int = 100  # requests in flight at once
    per_endpoint: int = 32  # of which to one host at most: a receiver is not to be flooded
    timeout: float = 10.0  # seconds an attempt may take, connection included
    lease: timedelta = timedelta(minutes=2)  # a claim's; rescued after (worker gone)
    allow_private: bool = False  # private and loopback targets (tests, one-host setups)
    retry_after: Sequence[timedelta] = RETRY_AFTER
    idle_wait: float = 0.5  # seconds between looks at an empty queue


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed_attempts: int = 0
    rescued: int = 0
    rounds: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


class Deliverer:
    def __init__(
        self,
        engine: Engine,
        *,
        owner: str,
        actor: str,
        keys: Keys,
        clock: Callable[[], datetime],
        settings: DeliverySettings | None = None,
    ) -> None:
        self.engine = engine
        self.owner = owner
        self.actor = actor
        self.keys = keys
        self.clock = clock
        self.settings = settings or DeliverySettings()
        self.report = DeliveryReport()
        self._public_until: dict[str, float] = {}  # host -> monotonic time its check lapses

    async def run(self, *, until_idle: bool = False, stop: asyncio.Event | None = None) -> None:
        """Deliver until `stop` is set or, with `until_idle`, until nothing is due now."""
        stop = stop or asyncio.Event()
        connector = aiohttp.TCPConnector(
            limit=self.settings.concurrency, limit_per_host=self.settings.per_endpoint
        )
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout)
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, trust_env=False, auto_decompress=False
        ) as client:
            next_rescue = 0.0
            # A batch's results are recorded while the next batch is claimed and sent.
            recording: asyncio.Task[None] | None = None
            try:
                while not stop.is_set():
                    if time.monotonic() >= next_rescue:
                        self.report.rescued += await asyncio.to_thread(self._rescue)
                        next_rescue = time.monotonic() + 30.0
                    claimed = await asyncio.to_thread(self._claim)
                    if not claimed:
                        if recording is not None:
                            await recording
                            recording = None
                            continue  # what it freed may be due again
                        if until_idle:
                            return
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), self.settings.idle_wait)
                        continue
                    self.report.rounds += 1
                    results = await self._send_all(client, claimed)
                    if recording is not None:
                        await recording
                    recording = asyncio.create_task(asyncio.to_thread(self._record, results))
            finally:
                if recording is not None:
                    await recording

    def _claim(self) -> list[Claimed]:
        with self.engine.begin() as conn:
            return webhook_queue.claim(
                conn, self.owner, self.clock(), self.settings.lease, self.settings.batch, self.keys
            )

    def _record(self, results: Sequence[Result]) -> None:
        with self.engine.begin() as conn:
            webhook_queue.record(
                conn, self.owner, self.clock(), results, self.actor, self.settings.retry_after
            )
        for r in results:
            key = str(r.status) if r.status is not None else "no_answer"
            self.report.by_status[key] = self.report.by_status.get(key, 0) + 1
            if r.delivered:
                self.report.delivered += 1
            else:
                self.report.failed_attempts += 1
                log.info(
                    "webhook delivery %d to endpoint %d: attempt %d failed (%s)",
                    r.delivery_id, r.endpoint_id, r.attempt, r.error or f"HTTP {r.status}",
                    extra={"event": "webhook_failed", "delivery": r.delivery_id,
                           "endpoint": r.endpoint_id, "status": r.status},
                )  # fmt: skip

    def _rescue(self) -> int:
        with self.engine.begin() as conn:
            return webhook_queue.rescue(conn, self.clock())

    async def _send_all(
        self, client: aiohttp.ClientSession, claimed: Sequence[Claimed]
    ) -> list[Result]:
        gate = asyncio.Semaphore(self.settings.concurrency)

        async def one(delivery: Claimed) -> Result:
            async with gate:
                return await self._send(client, delivery)

        return list(await asyncio.gather(*(one(d) for d in claimed)))

    async def _send(self, client: aiohttp.ClientSession, delivery: Claimed) -> Result:
        attempted_at = self.clock()
        started = time.monotonic()

        def result(status: int | None, error: str | None) -> Result:
            took = int((time.monotonic() - started) * 1000)
            return Result(
                delivery.id, delivery.endpoint_id, delivery.attempt, attempted_at, took, status,
                error,
            )  # fmt: skip

        try:
            await self._check_target(delivery.url)
        except TargetError as error:
            return result(None, f"{error.code}: {error}")
        try:
            async with client.post(
                delivery.url, data=delivery.body, headers=delivery.headers, allow_redirects=False
            ) as answer:
                await answer.content.read(MAX_ANSWER)
                status = answer.status
        except TimeoutError:
            return result(None, f"no answer within {self.settings.timeout:g} s")
        except (aiohttp.ClientError, OSError) as error:
            return result(None, f"{type(error).__name__}: {error}"[:200])
        if 300 <= status < 400:
            return result(status, f"HTTP {status}: redirects are not followed")
        return result(status, None if 200 <= status < 300 else f"HTTP {status}")

    async def _check_target(self, url: str) -> None:
        allow = self.settings.allow_private
        target = parse_target(url, allow_private=allow)
        if allow or self._public_until.get(target.host, 0.0) > time.monotonic():
            return
        await asyncio.to_thread(check_addresses, target, allow_private=allow)
        self._public_until[target.host] = time.monotonic() + RESOLVED_FOR
