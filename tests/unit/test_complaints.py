"""The pure rules of 33700 complaints (rules/complaints.py): which message a report is about,
and when a rate pauses an advertiser."""

from datetime import UTC, datetime, timedelta

import pytest

from tambour.rules.complaints import PausePolicy, Sent, comparable, match, per_thousand

REPORTED = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def sent(message_id: int, days_before: float, text: str | None = "Maison Lumière") -> Sent:
    return Sent(message_id, REPORTED - timedelta(days=days_before), text)


def test_texts_compare_folded() -> None:
    assert comparable("  -20 % sur nos LUMINAIRES, Léa !") == "20 sur nos luminaires lea"


def test_the_most_recent_message_sent_before_the_report() -> None:
    candidates = [sent(1, 10), sent(2, 1), sent(3, -1)]  # 3 left after the report
    assert match(candidates, REPORTED, None) == candidates[1]


def test_the_excerpt_chooses_between_several() -> None:
    candidates = [sent(1, 10, "Soldes d'hiver : -30 %"), sent(2, 1, "Nouvelle collection")]
    assert match(candidates, REPORTED, "SOLDES d’hiver").id == 1  # type: ignore[union-attr]
    # An excerpt found in none, or a text removed since: the most recent.
    assert match(candidates, REPORTED, "rien de tel").id == 2  # type: ignore[union-attr]
    assert match([sent(1, 3, None), sent(2, 5)], REPORTED, "Maison").id == 2  # type: ignore[union-attr]


def test_nothing_older_than_the_window() -> None:
    assert match([sent(1, 31)], REPORTED, None) is None
    assert match([sent(1, 30)], REPORTED, None) is not None
    assert match([], REPORTED, "x") is None


@pytest.mark.parametrize(
    ("complaints", "sent_", "crossed"),
    [(1, 10, False), (2, 1000, True), (1, 1000, True), (0, 5000, False), (1, 1001, False)],
)
def test_a_rate_pauses_from_the_threshold_with_enough_messages(
    complaints: int, sent_: int, crossed: bool
) -> None:
    assert PausePolicy(per_1000=1.0, min_messages=1000).crossed(complaints, sent_) is crossed


def test_rates_and_an_advertisers_own_threshold() -> None:
    assert per_thousand(3, 20) == 150.0 and per_thousand(1, 0) is None
    policy = PausePolicy().with_threshold(0.5)
    assert policy.per_1000 == 0.5 and PausePolicy().with_threshold(None) == PausePolicy()
    assert PausePolicy(per_1000=0).problems() and not PausePolicy().problems()
