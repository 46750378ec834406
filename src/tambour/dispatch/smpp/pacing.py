"""When a submit may leave: the asyncio side of tambour.dispatch.rate's AdaptiveRate, for one
client session.

Paced, submits wait in line (first come, first served) for the token bucket's next token, handed
out by one timer: nobody holds a slot reserved at an old rate, so a change of rate (a throttling
answer, an increase, a new ceiling) applies at once to every submit waiting. Unpaced, what is in
flight is bounded by the slow start's flight limit; each answer lets the waiting submits look
again.
"""

import asyncio
import time
from collections import deque
from collections.abc import Awaitable

from tambour.dispatch.rate import AdaptiveRate, AimdTuning, TokenBucket, client_burst


class Pacer:
    def __init__(self, tps: float = 0.0, tuning: AimdTuning | None = None) -> None:
        self.control = AdaptiveRate(tps, tuning)
        self.in_flight = 0
        self._bucket: TokenBucket | None = None
        self._line: deque[asyncio.Future[bool]] = deque()  # True: a token was taken for it
        self._timer: asyncio.TimerHandle | None = None
        self._answered = asyncio.Event()  # something in flight was answered
        self._closed = False

    @property
    def rate(self) -> float | None:
        """Submits a second paced at now; None: unpaced."""
        return self.control.rate

    def ready(self, now: float) -> bool:
        """Whether a submit may leave now without waiting (taking its token when paced): the
        common case, without the cost of a coroutine."""
        if self._closed:
            return False
        control = self.control
        if control.rate is None:
            return self.in_flight < control.flight_limit
        bucket = self._bucket
        return bucket is not None and not self._line and bucket.try_take(now)

    async def turn(self, give_up_at: float | None = None) -> bool:
        """Wait until a submit may leave. False when its turn has not come by `give_up_at` (the
        loop's time): it gives up, nothing was taken. Once closed, True at once: the caller
        sees the session closing."""
        loop = asyncio.get_running_loop()
        while not self._closed:
            if self.control.rate is not None:
                granted = await self._paced_turn(loop, give_up_at)
                if granted is not None:
                    return granted
                continue  # no longer paced: look again
            if self.in_flight < self.control.flight_limit:
                return True
            self._answered.clear()
            if not await _by(self._answered.wait(), give_up_at, loop):
                return False
        return True

    async def _paced_turn(
        self, loop: asyncio.AbstractEventLoop, give_up_at: float | None
    ) -> bool | None:
        bucket = self._bucket
        if bucket is None:
            bucket = self._bucket = self._new_bucket(loop.time(), empty=False)
        if not self._line and bucket.try_take(loop.time()):
            return True
        place: asyncio.Future[bool] = loop.create_future()
        self._line.append(place)
        self._schedule(loop)
        if not await _by(place, give_up_at, loop):
            return False
        return True if place.result() else None

    # what the session tells ----------------------------------------------------------------

    def leaving(self, now: float) -> bool:
        """A submit is written now; True when the rate went up."""
        self.in_flight += 1
        if not self.control.sending(now):
            return False
        self._retune(now, empty=False)
        return True

    def answered(self) -> None:
        """What left got its answer (or will get none)."""
        self.in_flight -= 1
        self._answered.set()

    def accepted(self, now: float) -> None:
        self.control.accepted(now)

    def throttled(self, now: float, sent_at: float) -> bool:
        """A throttling answer to a submit written at `sent_at`; True when the rate went down."""
        if not self.control.throttled(now, sent_at):
            return False
        self._retune(now, empty=True)  # the SMSC has no token left: neither do we
        return True

    def set_ceiling(self, tps: float) -> None:
        now = _now()
        if self.control.set_ceiling(tps, now):
            self._retune(now, empty=False)

    def close(self) -> None:
        """Wake every submit waiting; their turn comes at once from now on."""
        self._closed = True
        self._stop_timer()
        self._let_go_of_line()
        self._answered.set()

    # internals -----------------------------------------------------------------------------

    def _new_bucket(self, now: float, empty: bool) -> TokenBucket:
        rate = self.control.rate
        assert rate is not None
        bucket = TokenBucket(rate, client_burst(rate))
        if empty:
            bucket.retune(rate, bucket.burst, now, empty=True)
        return bucket

    def _retune(self, now: float, empty: bool) -> None:
        rate = self.control.rate
        self._stop_timer()
        if rate is None:
            self._bucket = None
            self._let_go_of_line()
        elif self._bucket is None:
            self._bucket = self._new_bucket(now, empty)
        else:
            self._bucket.retune(rate, client_burst(rate), now, empty=empty)
        self._answered.set()  # those waiting for room in flight look again: maybe paced now
        if self._line:
            self._schedule(asyncio.get_running_loop())

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        bucket = self._bucket
        if self._timer is not None or not self._line or bucket is None:
            return
        now = loop.time()
        self._timer = loop.call_at(now + bucket.wait(now), self._let_through)

    def _let_through(self) -> None:
        """The timer: hand the tokens there are to the first in line."""
        self._timer = None
        bucket, line = self._bucket, self._line
        if bucket is None:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        while line:
            if line[0].done():  # gave up waiting
                line.popleft()
            elif bucket.try_take(now):
                line.popleft().set_result(True)
            else:
                break
        self._schedule(loop)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _let_go_of_line(self) -> None:
        """No token for those in line: they look again (unpaced now, or closed)."""
        while self._line:
            place = self._line.popleft()
            if not place.done():
                place.set_result(False)


async def _by(
    waiting: Awaitable[object], deadline: float | None, loop: asyncio.AbstractEventLoop
) -> bool:
    """Wait for `waiting`, until `deadline` at most; False when it passed."""
    if deadline is None:
        await waiting
        return True
    try:
        await asyncio.wait_for(waiting, max(0.0, deadline - loop.time()))
    except TimeoutError:
        return False
    return True


def _now() -> float:
    """The event loop's time, which is time.monotonic() (asyncio's default) outside one."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()
