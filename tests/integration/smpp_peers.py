"""Real peers for the SMPP tests: tambour's local SMSC on an ephemeral port of 127.0.0.1 and a
client session bound to it, over real TCP. Nothing between them is mocked."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Protocol

from tambour.dispatch.inbound import Inbound
from tambour.dispatch.smpp.client import DeliverHandler, SessionSettings, SmppSession
from tambour.dispatch.smsc import Smsc, SmscSettings
from tambour.dispatch.transports.smpp import SmppTransport
from tambour.services.context import utc_now
from tambour.traffic import Receipt, Reply

SYSTEM_ID = "tambour"
PASSWORD = "s3cret"
# Three-part messages: GSM-7 with escaped characters, UCS-2 with surrogate pairs.
LONG_GSM = (
    "Bonjour Marie ! Les soldes d'été commencent demain : jusqu'à -50% sur les robes, "
    "les sandales et les maillots de bain, et la livraison est offerte dès 30 € d'achat. "
    "Profitez aussi de nos ventes privées réservées aux membres du club [code ETE24] "
    "sur exemple.fr/soldes avant dimanche minuit. A très vite ! {Offre} ~ STOP au 36111"
)
LONG_UCS2 = (
    "🎉 Marie, c’est la fête ! -30% sur tout le rayon pâtisserie 🍰 ce week-end, avec un cadeau "
    "surprise 🎁 dès 20 € d’achat. Rendez-vous en boutique ou sur exemple.fr, à très vite ! "
    "STOP au 36111"
)


def run(scenario: Callable[[], Coroutine[Any, Any, None]], timeout: float = 30.0) -> None:
    """Run an async test scenario on a fresh event loop, bounded in time."""

    async def bounded() -> None:
        await asyncio.wait_for(scenario(), timeout)

    asyncio.run(bounded())


@asynccontextmanager
async def running_smsc(**settings: Any) -> AsyncIterator[Smsc]:
    defaults: dict[str, Any] = {
        "port": 0,
        "system_id": SYSTEM_ID,
        "password": PASSWORD,
        "receipt_delay": 0.0,
        "redeliver_after": 0.05,
    }
    smsc = Smsc(SmscSettings(**{**defaults, **settings}))
    await smsc.start()
    try:
        yield smsc
    finally:
        await smsc.close()


def session_settings(port: int, **overrides: Any) -> SessionSettings:
    defaults: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "system_id": SYSTEM_ID,
        "password": PASSWORD,
        "reconnect_initial": 0.05,
        "reconnect_max": 0.2,
        "response_timeout": 5.0,
    }
    return SessionSettings(**{**defaults, **overrides})


@asynccontextmanager
async def bound_session(
    smsc: Smsc, on_deliver: DeliverHandler | None = None, **overrides: Any
) -> AsyncIterator[SmppSession]:
    session = SmppSession(session_settings(smsc.port, **overrides), on_deliver)
    await session.start()
    try:
        yield session
    finally:
        await session.close(timeout=2.0)


class Inbox:
    """An inbound handler that keeps what comes: receipts and replies apart."""

    def __init__(self) -> None:
        self.receipts: list[Receipt] = []
        self.replies: list[Reply] = []

    def __call__(self, inbound: Inbound) -> None:
        if isinstance(inbound, Receipt):
            self.receipts.append(inbound)
        else:
            self.replies.append(inbound)


class _Listening(Protocol):
    @property
    def port(self) -> int: ...


@asynccontextmanager
async def transport_to(
    smsc: _Listening, inbox: Any = None, **overrides: Any
) -> AsyncIterator[SmppTransport]:
    """Our SMPP transport bound to `smsc` (ours or another implementation), closed after."""
    transport = SmppTransport(session_settings(smsc.port, **overrides), inbox)
    await asyncio.wait_for(transport.start(), 10)
    try:
        yield transport
    finally:
        await asyncio.wait_for(transport.close(), 10)


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], timeout: float = 5.0, what: str = ""
) -> None:
    """Wait until `check()` holds; fail the test with `what` when it does not in time."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or check}")
        await asyncio.sleep(0.01)


class SmscThread:
    """The local SMSC on its own event loop in a thread, for tests whose client is another
    process (a `tambour worker` the test kills). Read `smsc` only through `call`."""

    def __init__(self, clock: Callable[[], datetime] = utc_now, **settings: Any) -> None:
        import threading

        self._settings = settings
        self._clock = clock
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.smsc: Smsc | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        defaults: dict[str, Any] = {
            "port": 0, "system_id": SYSTEM_ID, "password": PASSWORD, "receipt_delay": 0.0,
            "redeliver_after": 0.05,
        }  # fmt: skip
        self.smsc = Smsc(SmscSettings(**{**defaults, **self._settings}), clock=self._clock)
        self._loop.run_until_complete(self.smsc.start())
        self._ready.set()
        self._loop.run_forever()

    def __enter__(self) -> "SmscThread":
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the SMSC thread did not start")
        return self

    def call(self, function: Callable[[Smsc], Any]) -> Any:
        """`function(smsc)` run on the SMSC's loop; its result."""

        async def inside() -> Any:
            assert self.smsc is not None
            return function(self.smsc)

        return asyncio.run_coroutine_threadsafe(inside(), self._loop).result(10)

    @property
    def port(self) -> int:
        return int(self.call(lambda smsc: smsc.port))

    def __exit__(self, *_: object) -> None:
        assert self.smsc is not None
        asyncio.run_coroutine_threadsafe(self.smsc.close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
