"""The suppression list keeps one entry a number: the latest opposition, or a complaint for
good (services/suppression.py), on SQLite and PostgreSQL."""

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from tambour.services import advertisers
from tambour.services.suppression import phone_hash, record_suppressions
from tambour.store.tables import suppressions
from tests.dispatch_setup import ensure_advertiser

NUMBER = "+33612345678"
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _entry(engine: Engine) -> tuple[str, datetime]:
    with engine.connect() as conn:
        advertiser = advertisers.get(conn, "maison-lumiere")
        row = conn.execute(
            select(suppressions.c.source, suppressions.c.suppressed_at).where(
                suppressions.c.phone_hash == phone_hash(advertiser, NUMBER)
            )
        ).one()
    return row.source, row.suppressed_at


def _record(engine: Engine, source: str, at: datetime) -> None:
    with engine.begin() as conn:
        advertiser = advertisers.get(conn, "maison-lumiere")
        record_suppressions(conn, advertiser, [(NUMBER, source, at)], NOW)


def test_a_later_opt_out_moves_the_entry_an_earlier_one_does_not(engine: Engine) -> None:
    ensure_advertiser(engine, NOW)
    first, later, earlier = (
        datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC),
        datetime(2025, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    _record(engine, "manual", first)
    assert _entry(engine) == ("manual", first)
    _record(engine, "sms_stop", later)  # STOP, START, STOP again: the latest STOP counts
    assert _entry(engine) == ("sms_stop", later)
    _record(engine, "manual", earlier)  # an old list re-imported changes nothing
    assert _entry(engine) == ("sms_stop", later)
    _record(engine, "sms_stop", later)  # the same again: nothing either
    assert _entry(engine) == ("sms_stop", later)


def test_a_complaint_is_for_good(engine: Engine) -> None:
    ensure_advertiser(engine, NOW)
    complaint = datetime(2026, 3, 1, tzinfo=UTC)
    _record(engine, "sms_stop", datetime(2026, 1, 1, tzinfo=UTC))
    _record(engine, "complaint_33700", complaint)
    assert _entry(engine) == ("complaint_33700", complaint)
    _record(engine, "sms_stop", datetime(2026, 10, 1, tzinfo=UTC))  # later, but a complaint stays
    assert _entry(engine) == ("complaint_33700", complaint)
