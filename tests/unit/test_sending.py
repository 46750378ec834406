"""rules/sending.py: whether a planned message may leave now, as the worker asks right before
submitting it."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tambour.rules.calendar import WindowPolicy
from tambour.rules.codes import Deferral, Reason
from tambour.rules.sending import Expire, Go, Hold, send_now
from tambour.rules.territory import locate
from tambour.sms.phone import parse_phone

PARIS = ZoneInfo("Europe/Paris")
PARIS_MOBILE = locate(parse_phone("+33612345678"), "75011")
REUNION = locate(parse_phone("+262692123456"))
MINUTE = timedelta(minutes=1)


def at(text: str, zone: ZoneInfo = PARIS) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(UTC)


def test_inside_the_window_it_goes_and_the_carrier_drops_it_at_the_window_end() -> None:
    verdict = send_now(
        at("2026-12-01T10:00"), PARIS_MOBILE, prospection=True, send_by=None, margin=MINUTE
    )
    assert verdict == Go(at("2026-12-01T20:00"))


def test_too_little_of_the_window_left_holds_it_until_the_next_one() -> None:
    verdict = send_now(
        at("2026-12-01T19:59:30"), PARIS_MOBILE, prospection=True, send_by=None, margin=MINUTE
    )
    assert verdict == Hold(at("2026-12-02T08:00"), Deferral.QUIET_HOURS)
    # with a smaller margin the same instant still goes
    assert send_now(
        at("2026-12-01T19:59:30"), PARIS_MOBILE, prospection=True, send_by=None,
        margin=timedelta(seconds=10),
    ) == Go(at("2026-12-01T20:00"))  # fmt: skip


def test_saturday_evening_waits_for_monday_and_says_why() -> None:
    # what stops it is the evening (quiet hours); then Sunday keeps it until Monday
    verdict = send_now(
        at("2026-12-05T19:59:30"), PARIS_MOBILE, prospection=True, send_by=None, margin=MINUTE
    )
    assert verdict == Hold(at("2026-12-07T08:00"), Deferral.QUIET_HOURS)
    sunday = send_now(
        at("2026-12-06T11:00"), PARIS_MOBILE, prospection=True, send_by=None, margin=MINUTE
    )
    assert sunday == Hold(at("2026-12-07T08:00"), Deferral.SUNDAY)
    christmas = send_now(
        at("2026-12-25T10:00"), PARIS_MOBILE, prospection=True, send_by=None, margin=MINUTE
    )
    assert christmas == Hold(at("2026-12-26T08:00"), Deferral.PUBLIC_HOLIDAY)


def test_the_recipients_own_time_zone_counts() -> None:
    # 17:30 in Paris is 20:30 in Réunion (UTC+4, no daylight saving in December)
    verdict = send_now(
        at("2026-12-01T17:30"), REUNION, prospection=True, send_by=None, margin=MINUTE
    )
    reunion = ZoneInfo("Indian/Reunion")
    assert verdict == Hold(at("2026-12-02T08:00", reunion), Deferral.QUIET_HOURS)


def test_past_the_send_by_deadline_or_with_no_window_before_it_expires() -> None:
    deadline = at("2026-12-01T21:00")
    assert send_now(
        at("2026-12-01T19:59:30"), PARIS_MOBILE, prospection=True, send_by=deadline,
        margin=MINUTE,
    ) == Expire(Reason.WINDOW_EXPIRED)  # fmt: skip
    assert (
        send_now(deadline, PARIS_MOBILE, prospection=False, send_by=deadline, margin=MINUTE)
        == Expire()
    )


def test_the_deadline_cuts_the_validity_short() -> None:
    deadline = at("2026-12-01T18:00")
    verdict = send_now(
        at("2026-12-01T10:00"), PARIS_MOBILE, prospection=True, send_by=deadline, margin=MINUTE
    )
    assert verdict == Go(deadline)


def test_transactional_messages_know_no_window() -> None:
    verdict = send_now(
        at("2026-12-06T23:00"), PARIS_MOBILE, prospection=False, send_by=None, margin=MINUTE
    )
    assert verdict == Go(None)


def test_a_narrowed_window_is_the_advertisers() -> None:
    policy = WindowPolicy(days=frozenset(range(5)), start=datetime(1, 1, 1, 9).time(),
                          end=datetime(1, 1, 1, 18).time())  # fmt: skip
    verdict = send_now(
        at("2026-12-04T17:59:30"), PARIS_MOBILE, prospection=True, send_by=None, margin=MINUTE,
        policy=policy,
    )  # fmt: skip
    assert verdict == Hold(at("2026-12-07T09:00"), Deferral.QUIET_HOURS)  # Friday -> Monday


def test_the_facts_that_stop_a_planned_message_are_ledger_kinds() -> None:
    from tambour.contacts.ledger import EvidenceKind
    from tambour.rules.sending import STOPPING_FACTS

    assert set(STOPPING_FACTS) <= {kind.value for kind in EvidenceKind}
    assert STOPPING_FACTS["complaint"] is Reason.COMPLAINT_33700
    assert STOPPING_FACTS["opt_out"] is Reason.OPTED_OUT
    assert "consent_given" not in STOPPING_FACTS and "purchase" not in STOPPING_FACTS


def test_a_suppression_stops_when_recent_a_complaint_always() -> None:
    from tambour.rules.sending import suppression_stop

    assert suppression_stop("complaint_33700", since_plan=False) is Reason.COMPLAINT_33700
    assert suppression_stop("sms_stop", since_plan=True) is Reason.OPTED_OUT
    assert suppression_stop("sms_stop", since_plan=False) is None  # the planner weighed it


def test_a_recipient_whose_data_lapsed_since_the_plan_is_not_messaged() -> None:
    lapsed = send_now(
        at("2026-12-01T10:00"), PARIS_MOBILE, prospection=True, send_by=None, margin=MINUTE,
        retain_until=at("2026-12-01T09:00"),
    )  # fmt: skip
    assert lapsed == Expire(Reason.RETENTION_EXPIRED)
    # Still retained: it goes, and the carrier must not deliver once the data lapsed.
    soon = send_now(
        at("2026-12-01T10:00"), PARIS_MOBILE, prospection=True, send_by=None, margin=MINUTE,
        retain_until=at("2026-12-01T15:00"),
    )  # fmt: skip
    assert soon == Go(at("2026-12-01T15:00"))


def test_a_marketing_opt_out_stops_prospection_only_a_complaint_stops_all() -> None:
    from tambour.rules.sending import stops_message

    assert stops_message(Reason.OPTED_OUT, prospection=True)
    assert not stops_message(Reason.OPTED_OUT, prospection=False)
    assert stops_message(Reason.COMPLAINT_33700, prospection=False)
    assert stops_message(Reason.OPTED_OUT, prospection=False, erased=True)  # no data, no message
