"""Requests per API key: a token bucket in the process (`rate` a second, up to `burst` at once),
told to the client on every response by the IETF headers (draft-ietf-httpapi-ratelimit-headers):
`RateLimit-Policy: "default";q=<burst>;w=<seconds to refill>` and
`RateLimit: "default";r=<remaining>;t=<seconds until full>`; past it, 429 with `Retry-After`.
"""

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

POLICY: Final = "default"
_MAX_BUCKETS: Final = 100_000  # past it, full buckets (idle keys) are forgotten


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


@dataclass(frozen=True, slots=True)
class Allowance:
    allowed: bool
    remaining: int  # whole requests left now
    reset: int  # seconds until the bucket is full again
    retry_after: int  # seconds until one request is allowed (0 when allowed)


class RateLimiter:
    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self.policy = f'"{POLICY}";q={burst};w={max(1, math.ceil(burst / rate))}'

    def take(self, key: str) -> Allowance:
        """Spend one request of `key`'s, when it has one."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= _MAX_BUCKETS:
                    self._forget_idle(now)
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            else:
                bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
                bucket.at = now
            allowed = bucket.tokens >= 1
            if allowed:
                bucket.tokens -= 1
            tokens = bucket.tokens
        return Allowance(
            allowed=allowed,
            remaining=int(tokens),
            reset=math.ceil((self.burst - tokens) / self.rate),
            retry_after=0 if allowed else max(1, math.ceil((1 - tokens) / self.rate)),
        )

    @staticmethod
    def header(allowance: Allowance) -> str:
        return f'"{POLICY}";r={allowance.remaining};t={allowance.reset}'

    def _forget_idle(self, now: float) -> None:
        full = [
            key
            for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.at) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]
