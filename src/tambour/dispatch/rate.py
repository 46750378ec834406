"""Rates of SMPP submits, pure (the caller passes the time):

- `TokenBucket`: `rate` tokens a second, at most `burst` saved up; the client paces with it, the
  local SMSC throttles with it.
- `AdaptiveRate`: the rate a client session submits at, learnt from the SMSC's throttling answers
  (ESME_RTHROTTLED, ESME_RMSGQFUL) by additive increase, multiplicative decrease (AIMD), under an
  optional ceiling: the configured `tps`, or an account's share of it changed while running.

How AdaptiveRate behaves, and why (the figures are those of `AimdTuning`):

1. Unpaced. With no ceiling and no throttling answer yet, nothing paces the submits, but what is
   in flight grows from one submit by one more every three accepted (a slow start, as TCP's): a
   carrier that throttles at 100 a second with a burst of 10 refuses the few submits in flight
   when its burst runs out, not a whole window of 64. Against a carrier that does not throttle,
   a window of 64 is full after 189 accepted submits (milliseconds on a fast link, under a
   second at 50 ms a round trip).
2. The first throttling answer sets a rate: 0.8 times the submits accepted over the last second.
   That first second is often mostly the carrier's burst, so the figure is low: while probing,
   the rate doubles every half second in which it was used, until the next throttling answer.
3. Steady. Each throttling answer then multiplies the rate by 0.8; each period in which the rate
   was used (half a second and at least 50 submits, of which 75 % of what the rate allowed)
   adds 2.5 % of the last rate found too high. Against a carrier's token bucket the rate crosses
   the carrier's limit slowly, the carrier's burst takes the excess for a while, and its first
   refusal brings the rate down at once: one refused submit in a cycle of about four seconds
   at 100 a second (0.25 % of them), at over 95 % of the carrier's rate once steady. The 50
   submits keep slow carriers' cycles as long in submits: at 20 a second, one refusal in about
   400 submits too (in a simulation of both ends).

Answers to submits that left before the last slow-down were caused by the old rate: they do not
slow it down again (several throttles answering one burst count as one decrease). The rate never
grows while it is not used (a worker back from a quiet spell would otherwise come back far too
fast), never above the ceiling, never below `min_rate`.

Figures over real TCP against `tambour smsc --tps 100` (tests/integration/test_smpp_throttling.py,
benches/bench_dispatch.py --only throttled): about 0.5 % of the submits refused over 1,500
parts, at 89 a second, most of them in the first seconds (the slow start and probing).
"""

import math
from dataclasses import dataclass, field
from enum import Enum

# A token's worth, give or take the rounding of `wait`: a caller that waits as long as it says
# finds a token there.
_WHOLE = 1 - 1e-9


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
        if self._tokens >= _WHOLE:
            self._tokens -= 1
            return True
        return False

    def wait(self, now: float) -> float:
        """Seconds until a token is there (0.0: one is)."""
        self._refill(now)
        return max(0.0, (1 - self._tokens) / self.rate) if self._tokens < _WHOLE else 0.0

    def retune(self, rate: float, burst: float, now: float, *, empty: bool = False) -> None:
        """Change the rate and the burst from `now` on; with `empty`, what was saved up is
        forgotten, so that the next token comes 1/rate from now."""
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self._refill(now)
        self.rate, self.burst = rate, burst
        self._tokens = 0.0 if empty else min(self._tokens, burst)


def client_burst(tps: float) -> float:
    """Submits the client lets go at once at `tps` a second: 20 ms worth, so that any one-second
    span sees at most 2 % (or one submit) over `tps`; the event loop wakes in steps of about a
    millisecond, a strict 1/tps spacing would only be approximate."""
    return max(1.0, tps / 50)


def client_bucket(tps: float) -> TokenBucket | None:
    """The client's pacing for `tps` submits a second (0: no limit)."""
    if tps <= 0:
        return None
    return TokenBucket(rate=tps, burst=client_burst(tps))


@dataclass(frozen=True, slots=True)
class AimdTuning:
    decrease: float = 0.8  # the rate is multiplied by this on a throttling answer
    increase: float = 0.05  # added a second while used: this share of the last rate too high
    probe: float = 2.0  # while probing (after the first answer), the rate's growth a period
    probe_period: float = 0.5  # seconds between two increases while probing
    period: float = 0.5  # seconds between two increases
    period_submits: int = 50  # steady: submits between two increases, at least
    used: float = 0.75  # a period counts as used when this share of its rate was sent
    min_rate: float = 1.0  # submits a second, however often the SMSC throttles
    flight_growth: int = 3  # unpaced: accepted submits for each one more in flight

    def __post_init__(self) -> None:
        if not 0 < self.decrease < 1 or self.increase <= 0 or self.probe <= 1:
            raise ValueError("decrease is in (0, 1), increase above 0, probe above 1")
        if self.period <= 0 or not 0 < self.used <= 1 or self.min_rate <= 0:
            raise ValueError("period and min_rate are above 0, used in (0, 1]")
        if self.flight_growth < 1:
            raise ValueError("flight_growth is at least 1")


class Phase(Enum):
    UNPACED = "unpaced"  # no ceiling, never throttled: slow start of what is in flight
    PROBING = "probing"  # throttled once, unpaced before: the rate doubles while used
    STEADY = "steady"  # additive increase, multiplicative decrease


_SLOTS = 10  # the accepted rate is measured over the last second, in tenths of a second


class AdaptiveRate:
    """The rate to pace submits at (None: unpaced), learnt from throttling answers. Tell it each
    submit that leaves (`sending`), each accepted (`accepted`) and each throttling answer
    (`throttled`); each says whether the rate changed."""

    def __init__(self, ceiling: float = 0.0, tuning: AimdTuning | None = None) -> None:
        self.tuning = tuning or AimdTuning()
        self._ceiling = _valid_ceiling(ceiling)
        self._learnt: float | None = None  # from throttling answers; None: never throttled
        self.phase = Phase.UNPACED
        self._found = 0.0  # the last rate found too high: the additive step is a share of it
        self._slowed_at = -math.inf
        self.slowdowns = 0
        self.flight_limit = 1  # submits in flight at most, while unpaced
        self._unpaced_accepted = 0
        self._slots = [0] * _SLOTS
        self._slot = 0  # index of the tenth of a second `_slots` ends with
        self._period_start: float | None = None
        self._period_sent = 0

    # what the caller reads ------------------------------------------------------------------

    @property
    def rate(self) -> float | None:
        """Submits a second to pace at; None: unpaced."""
        learnt, ceiling = self._learnt, self._ceiling
        if learnt is None:
            return ceiling or None
        return min(learnt, ceiling) if ceiling else learnt

    @property
    def ceiling(self) -> float:
        """The configured limit, submits a second; 0: none."""
        return self._ceiling

    def accepted_rate(self, now: float) -> float:
        """Submits accepted over the last second (counted in tenths of a second)."""
        self._advance(now)
        return float(sum(self._slots))

    # what the caller tells ------------------------------------------------------------------

    def sending(self, now: float) -> bool:
        """A submit leaves now. True when the rate went up: a period ended in which it was used."""
        rate = self.rate
        if rate is None:
            return False
        start = self._period_start
        if start is None:
            self._start_period(now)
            start = now
        self._period_sent += 1
        elapsed = now - start
        tuning = self.tuning
        if self.phase is Phase.PROBING:
            if elapsed < tuning.probe_period:
                return False
        elif elapsed < tuning.period or self._period_sent < tuning.period_submits:
            return False
        used = self._period_sent >= tuning.used * rate * elapsed
        self._start_period(now)
        return used and self._grow()

    def accepted(self, now: float) -> None:
        self._advance(now)
        self._slots[self._slot % _SLOTS] += 1
        if self.phase is Phase.UNPACED:
            self._unpaced_accepted += 1
            if self._unpaced_accepted % self.tuning.flight_growth == 0:
                self.flight_limit += 1

    def throttled(self, now: float, sent_at: float) -> bool:
        """A throttling answer to a submit that left at `sent_at`. True when the rate went down;
        not for an answer to what left before the last slow-down (the same burst)."""
        if sent_at < self._slowed_at:
            return False
        tuning = self.tuning
        rate = self.rate
        if rate is None:
            # The first answer: nothing was paced, so start from what the SMSC took.
            self.phase = Phase.PROBING
            self._found = max(tuning.min_rate, self.accepted_rate(now))
        else:
            self.phase = Phase.STEADY
            self._found = rate
        self._learnt = max(tuning.min_rate, tuning.decrease * self._found)
        self._slowed(now)
        self.slowdowns += 1
        return True

    def set_ceiling(self, tps: float, now: float) -> bool:
        """Change the ceiling (0: none) from now on; True when the rate changed. Lower, it
        applies at once; higher, a rate never throttled goes up to it at once, a learnt one grows
        to it additively."""
        before = self.rate
        self._ceiling = _valid_ceiling(tps)
        if self._learnt is not None and self._ceiling and self._learnt > self._ceiling:
            self._learnt = self._ceiling
        after = self.rate
        if after is not None and (before is None or after < before):
            self._slowed(now)  # answers to what left at the old rate do not slow it again
        else:
            self._start_period(now)
        return after != before

    # internals ------------------------------------------------------------------------------

    def _slowed(self, now: float) -> None:
        self._slowed_at = now
        self._start_period(now)

    def _start_period(self, now: float) -> None:
        self._period_start = now
        self._period_sent = 0

    def _grow(self) -> bool:
        learnt, ceiling, tuning = self._learnt, self._ceiling, self.tuning
        if learnt is None or (ceiling and learnt >= ceiling):
            return False
        if self.phase is Phase.PROBING:
            learnt *= tuning.probe
        else:
            learnt += tuning.increase * tuning.period * self._found
        self._learnt = min(learnt, ceiling) if ceiling else learnt
        return True

    def _advance(self, now: float) -> None:
        """Move the measuring slots on to the tenth of a second `now` falls in."""
        slot = int(now * _SLOTS)
        if slot <= self._slot:  # the same tenth (or time went backwards: counted in it)
            return
        for index in range(self._slot + 1, min(slot, self._slot + _SLOTS) + 1):
            self._slots[index % _SLOTS] = 0
        self._slot = slot


def _valid_ceiling(tps: float) -> float:
    if not math.isfinite(tps) or tps < 0:
        raise ValueError(f"a tps limit is a number, 0 (none) or more, not {tps!r}")
    return float(tps)
