"""The token bucket the client paces with and the local SMSC throttles with, and the adaptive
rate (AIMD) a session learns from throttling answers: pure, on a clock the tests move."""

import pytest

from tambour.dispatch.rate import (
    AdaptiveRate,
    AimdTuning,
    Phase,
    TokenBucket,
    client_bucket,
    client_burst,
)


def test_try_take_allows_the_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=10, burst=3)
    assert [bucket.try_take(0.0) for _ in range(4)] == [True, True, True, False]
    assert not bucket.try_take(0.05)  # half a token
    assert bucket.try_take(0.1)
    assert not bucket.try_take(0.1)
    assert [bucket.try_take(10.0) for _ in range(4)] == [True, True, True, False]  # capped


def test_wait_tells_when_the_next_token_comes() -> None:
    bucket = TokenBucket(rate=100, burst=2)
    assert bucket.wait(0.0) == 0.0
    assert bucket.try_take(0.0) and bucket.try_take(0.0)
    assert bucket.wait(0.0) == pytest.approx(0.01)
    assert bucket.wait(0.004) == pytest.approx(0.006)
    assert bucket.wait(0.02) == 0.0


def test_retune_changes_the_rate_and_may_forget_what_was_saved() -> None:
    bucket = TokenBucket(rate=100, burst=10)
    assert bucket.try_take(0.0)
    bucket.retune(50, 1, 0.0)
    assert bucket.try_take(0.0)  # a token kept (capped to the new burst)
    assert not bucket.try_take(0.0)
    assert bucket.wait(0.0) == pytest.approx(0.02)
    bucket.retune(10, 1, 1.0, empty=True)  # a second later it would have one; forgotten
    assert not bucket.try_take(1.0)
    assert bucket.wait(1.0) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="rate"):
        bucket.retune(0, 1, 2.0)


def test_time_going_backwards_adds_nothing() -> None:
    bucket = TokenBucket(rate=1, burst=1)
    assert bucket.try_take(5.0)
    assert not bucket.try_take(4.0)
    assert not bucket.try_take(5.5)
    assert bucket.try_take(6.0)


def test_the_client_bucket() -> None:
    assert client_bucket(0) is None
    bucket = client_bucket(1000)
    assert bucket is not None
    assert (bucket.rate, bucket.burst) == (1000, 20)
    assert client_burst(10) == 1
    in_one_second = sum(1 for i in range(2000) if bucket.try_take(i / 2000))
    assert 1000 <= in_one_second <= 1020


def test_invalid_buckets_and_tunings() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(rate=0, burst=1)
    with pytest.raises(ValueError, match="burst"):
        TokenBucket(rate=1, burst=0.5)
    with pytest.raises(ValueError, match="decrease"):
        AimdTuning(decrease=1.0)
    with pytest.raises(ValueError, match="flight_growth"):
        AimdTuning(flight_growth=0)
    with pytest.raises(ValueError, match="a tps limit is a number"):
        AdaptiveRate(-1)
    with pytest.raises(ValueError, match="a tps limit is a number"):
        AdaptiveRate(0).set_ceiling(float("nan"), 0.0)


# AdaptiveRate ---------------------------------------------------------------------------------


def accept(rate: AdaptiveRate, count: int, start: float, every: float) -> float:
    """`count` submits sent and accepted, `every` seconds apart from `start`; the time after."""
    for n in range(count):
        rate.sending(start + n * every)
        rate.accepted(start + n * every)
    return start + count * every + 1e-9  # past the last period's end, whatever the rounding


def test_unpaced_until_throttled_with_a_slow_start_of_what_is_in_flight() -> None:
    rate = AdaptiveRate()
    assert (rate.rate, rate.phase, rate.flight_limit) == (None, Phase.UNPACED, 1)
    accept(rate, 9, 0.0, 0.001)
    assert rate.flight_limit == 4  # one more every three accepted
    accept(rate, 180, 0.01, 0.001)
    assert rate.flight_limit == 64
    assert rate.rate is None
    assert not rate.sending(0.5)  # nothing to pace, nothing grows


def test_the_first_throttle_paces_at_what_was_accepted_then_probes() -> None:
    rate = AdaptiveRate()
    now = accept(rate, 50, 0.0, 0.01)  # 50 in half a second
    assert rate.accepted_rate(now) == 50
    assert rate.throttled(now, sent_at=now - 0.001)
    assert rate.rate == pytest.approx(40)  # 0.8 x 50
    assert (rate.phase, rate.slowdowns) == (Phase.PROBING, 1)
    # While probing, a half second in which the rate was used doubles it.
    now = accept(rate, 20, now, 1 / 40)
    assert rate.sending(now)
    assert rate.rate == pytest.approx(80)


def test_answers_to_one_burst_slow_down_once() -> None:
    rate = AdaptiveRate(ceiling=100)
    assert rate.rate == 100
    assert rate.throttled(1.0, sent_at=0.999)
    # The other submits in flight at the old rate are answered the same way: no new decrease.
    assert not rate.throttled(1.001, sent_at=0.998)
    assert not rate.throttled(1.002, sent_at=0.9995)
    assert rate.rate == pytest.approx(80)
    # A submit sent after the slow-down and throttled again: the rate is still too high.
    assert rate.throttled(1.05, sent_at=1.03)
    assert rate.rate == pytest.approx(64)
    assert rate.slowdowns == 2


def test_steady_increase_is_additive_and_only_while_used() -> None:
    rate = AdaptiveRate(ceiling=1000)
    rate.throttled(0.0, 0.0)  # found too high at 1000: paced at 800, steps of 25
    assert (rate.rate, rate.phase) == (800, Phase.STEADY)
    now = accept(rate, 400, 0.0, 1 / 800)  # half a second at the full rate
    rate.sending(now)
    assert rate.rate == pytest.approx(825)
    now = accept(rate, 413, now, 1 / 825)
    assert rate.sending(now)
    assert rate.rate == pytest.approx(850)
    # Used at half its rate: not used enough to grow.
    now = accept(rate, 212, now, 1 / 425)
    assert not rate.sending(now)
    assert rate.rate == pytest.approx(850)
    # A quiet minute, then a submit: nothing grew meanwhile.
    assert not rate.sending(now + 60)
    assert rate.rate == pytest.approx(850)


def test_a_period_holds_at_least_50_submits() -> None:
    """At 20 a second a period lasts 2.5 s: as many submits between refusals as at 100/s."""
    rate = AdaptiveRate(ceiling=25)
    rate.throttled(0.0, 0.0)
    assert rate.rate == pytest.approx(20)
    now = accept(rate, 49, 0.0, 1 / 20)  # 2.45 s, 49 submits: not yet a period
    assert rate.rate == pytest.approx(20)
    assert rate.sending(now)  # the 50th
    assert rate.rate == pytest.approx(20.625)  # 2.5 % of 25


def test_the_rate_never_falls_below_its_floor() -> None:
    rate = AdaptiveRate()
    for n in range(30):
        rate.throttled(float(n), float(n))
    assert rate.rate == 1.0


def test_the_ceiling_caps_and_can_change_while_running() -> None:
    rate = AdaptiveRate(ceiling=50)
    assert rate.rate == 50
    assert rate.set_ceiling(20, 0.0)
    assert rate.rate == 20
    assert rate.set_ceiling(200, 0.0)  # never throttled: straight up to it
    assert rate.rate == 200
    assert rate.set_ceiling(0, 0.0)  # no ceiling, never throttled: unpaced again
    assert rate.rate is None
    assert not rate.set_ceiling(0, 0.0)

    rate.set_ceiling(100, 1.0)
    rate.throttled(1.0, 1.0)  # learnt 80
    assert rate.set_ceiling(40, 1.0)
    assert rate.rate == 40
    # A lower ceiling counts as a slow-down: answers to what left before it change nothing.
    assert not rate.throttled(1.1, sent_at=0.99)
    assert not rate.set_ceiling(100, 2.0)
    assert rate.rate == 40  # learnt: it grows back additively, not at once
    now = accept(rate, 49, 2.0, 1 / 40)
    assert rate.sending(now)
    assert rate.rate == pytest.approx(42.5)  # 2.5 % of the 100 found too high
    assert rate.ceiling == 100


def simulated_carrier(tps: float, parts: int, ceiling: float = 0.0) -> tuple[int, float, float]:
    """One submit in flight at a time, answered at once, against a carrier's token bucket of
    `tps` a second with a tenth of a second's burst, paced as the session paces (the next token
    of a bucket at the rate): (refused, seconds, final rate)."""
    carrier = TokenBucket(tps, tps / 10)
    rate = AdaptiveRate(ceiling)
    pace: TokenBucket | None = None
    now, accepted, refused = 0.0, 0, 0
    while accepted < parts:
        current = rate.rate
        if current is not None:
            if pace is None:
                pace = TokenBucket(current, client_burst(current))
                pace.retune(current, pace.burst, now, empty=True)
            now += pace.wait(now)
            assert pace.try_take(now)
        rate.sending(now)
        if carrier.try_take(now):
            accepted += 1
            rate.accepted(now)
        else:
            refused += 1
            rate.throttled(now, now)
        if pace is not None and rate.rate is not None and rate.rate != pace.rate:
            pace.retune(rate.rate, client_burst(rate.rate), now, empty=not accepted)
        now += 0.0005  # the round trip
    assert rate.rate is not None
    return refused, now, rate.rate


@pytest.mark.parametrize("tps", [20, 100, 1000])
def test_against_a_simulated_carrier_few_submits_are_refused(tps: float) -> None:
    parts = int(tps * 60)  # a minute's worth
    refused, seconds, final = simulated_carrier(tps, parts)
    assert refused / parts < 0.005
    assert parts / seconds > 0.85 * tps  # the start included
    assert 0.7 * tps <= final <= 1.15 * tps
