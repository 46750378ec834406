"""A token bucket: `rate` tokens a second, at most `burst` saved up. Pure (the caller passes the
time), used by the client to stay under a carrier's TPS and by the local SMSC to enforce one."""

from dataclasses import dataclass, field


@dataclass(slots=True)
class TokenBucket:
    rate: float  # tokens a second, > 0
    burst: float  # tokens the bucket holds at most, >= 1
    _tokens: float = field(init=False)
    _at: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError("rate must be positive")
        if self.burst < 1:
            raise ValueError("burst must be at least 1")
        self._tokens = self.burst

    def _refill(self, now: float) -> None:
        if self._at is not None and now > self._at:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        if self._at is None or now > self._at:
            self._at = now

    def try_take(self, now: float) -> bool:
        """Take a token if one is there (the SMSC: accept or throttle)."""
        self._refill(now)
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    def reserve(self, now: float) -> float:
        """Take a token, borrowing from the future when none is left, and return how many
        seconds to wait before using it (0.0: at once). Callers that reserve in turn are
        spaced exactly 1/rate apart (the client: pace submits)."""
        self._refill(now)
        self._tokens -= 1
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self.rate


def client_bucket(tps: float) -> TokenBucket | None:
    """The client's pacing for `tps` submits a second (0: no limit). Bursts hold at most 20 ms
    worth, so any one-second span sees at most 2% (or one submit) over `tps`: the event loop
    wakes in steps of about a millisecond, a strict 1/tps spacing would only be approximate."""
    if tps <= 0:
        return None
    return TokenBucket(rate=tps, burst=max(1.0, tps / 50))
