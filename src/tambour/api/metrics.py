"""`/metrics`, in the Prometheus text format, read from the database at each scrape (the
truth is there, whichever process answers): messages by state, the queue's depth and the age
of its oldest due message, jobs by state, the webhook backlog, the workers alive and the
carriers they send through (each worker holds its own sessions to each); and this process's
own figures (memory, CPU, open files) from prometheus_client's process collector.

Nothing here names an advertiser, a number or a text: counts only.
"""

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Final

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, func, select

from tambour.store.engine import reader
from tambour.store.tables import (
    JOB_STATES,
    OUTBOX_STATES,
    jobs,
    outbox,
    webhook_deliveries,
    webhook_endpoints,
    workers,
)

ALIVE: Final = timedelta(minutes=2)  # a worker beats every lease / 3 (20 s by default)


class StoreCollector(Collector):
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        with reader(self.engine) as conn:
            yield from _messages(conn, now)
            yield from _workers(conn, now)
            yield from _jobs(conn)
            yield from _webhooks(conn, now)


def _messages(conn: Connection, now: datetime) -> Iterator[Metric]:
    counts = dict.fromkeys(OUTBOX_STATES, 0)
    for state, count in conn.execute(select(outbox.c.state, func.count()).group_by(outbox.c.state)):
        counts[state] = count
    by_state = GaugeMetricFamily(
        "tambour_messages", "Messages in the outbox, by state.", labels=["state"]
    )
    for state, count in counts.items():
        by_state.add_metric([state], count)
    yield by_state
    due = (outbox.c.state == "queued") & (outbox.c.send_at <= now)
    depth, oldest = conn.execute(select(func.count(), func.min(outbox.c.send_at)).where(due)).one()
    yield GaugeMetricFamily(
        "tambour_queue_depth", "Queued messages due now (their send time has come).", depth
    )
    yield GaugeMetricFamily(
        "tambour_queue_oldest_age_seconds",
        "How long the oldest due queued message has been due (0 when none is).",
        0.0 if oldest is None else max(0.0, (now - _aware(oldest, now)).total_seconds()),
    )


def _workers(conn: Connection, now: datetime) -> Iterator[Metric]:
    alive = conn.execute(
        select(workers.c.carriers).where(workers.c.seen_at >= now - ALIVE)
    ).scalars()
    carriers: dict[str, int] = {}
    count = 0
    for listed in alive:
        count += 1
        for carrier in listed.split(" "):
            carriers[carrier or "default"] = carriers.get(carrier or "default", 0) + 1
    yield GaugeMetricFamily(
        "tambour_workers", "Workers alive (seen at their heartbeat in the last 2 minutes).", count
    )
    sessions = GaugeMetricFamily(
        "tambour_carrier_workers",
        "Workers alive sending through each carrier (each holds its own sessions to it).",
        labels=["carrier"],
    )
    for carrier, n in sorted(carriers.items()):
        sessions.add_metric([carrier], n)
    yield sessions


def _jobs(conn: Connection) -> Iterator[Metric]:
    counts = dict.fromkeys(JOB_STATES, 0)
    for state, count in conn.execute(select(jobs.c.state, func.count()).group_by(jobs.c.state)):
        counts[state] = count
    by_state = GaugeMetricFamily("tambour_jobs", "Background jobs, by state.", labels=["state"])
    for state, count in counts.items():
        by_state.add_metric([state], count)
    yield by_state


def _webhooks(conn: Connection, now: datetime) -> Iterator[Metric]:
    pending = webhook_deliveries.c.state == "pending"
    backlog, oldest = conn.execute(
        select(func.count(), func.min(webhook_deliveries.c.created_at)).where(pending)
    ).one()
    yield GaugeMetricFamily(
        "tambour_webhook_backlog",
        "Webhook deliveries waiting for their first or next attempt.",
        backlog,
    )
    yield GaugeMetricFamily(
        "tambour_webhook_backlog_oldest_age_seconds",
        "Age of the oldest webhook delivery still waiting (0 when none is).",
        0.0 if oldest is None else max(0.0, (now - _aware(oldest, now)).total_seconds()),
    )
    disabled = conn.execute(
        select(func.count()).where(webhook_endpoints.c.state == "disabled")
    ).scalar_one()
    yield GaugeMetricFamily(
        "tambour_webhook_endpoints_disabled",
        "Webhook endpoints disabled (410 Gone, failing for a day, or by their owner).",
        disabled,
    )


def _aware(instant: datetime, now: datetime) -> datetime:
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=now.tzinfo)


def registry(engine: Engine, clock: Callable[[], datetime]) -> CollectorRegistry:
    found = CollectorRegistry(auto_describe=False)
    found.register(StoreCollector(engine, clock))
    ProcessCollector(registry=found)
    return found


def exposition(found: CollectorRegistry) -> bytes:
    return generate_latest(found)
