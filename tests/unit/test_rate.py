"""The token bucket the client paces with and the local SMSC throttles with."""

import pytest

from tambour.dispatch.rate import TokenBucket, client_bucket


def test_try_take_allows_the_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=10, burst=3)
    assert [bucket.try_take(0.0) for _ in range(4)] == [True, True, True, False]
    assert not bucket.try_take(0.05)  # half a token
    assert bucket.try_take(0.1)
    assert not bucket.try_take(0.1)
    assert [bucket.try_take(10.0) for _ in range(4)] == [True, True, True, False]  # capped


def test_reserve_spaces_callers_by_one_over_rate() -> None:
    bucket = TokenBucket(rate=100, burst=2)
    waits = [bucket.reserve(0.0) for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.0, 0.01, 0.02, 0.03])
    assert bucket.reserve(1.0) == 0.0  # refilled


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
    small = client_bucket(10)
    assert small is not None and small.burst == 1
    in_one_second = sum(1 for i in range(2000) if bucket.try_take(i / 2000))
    assert 1000 <= in_one_second <= 1020


def test_invalid_buckets() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(rate=0, burst=1)
    with pytest.raises(ValueError, match="burst"):
        TokenBucket(rate=1, burst=0.5)
