"""The SMPP client session against the local SMSC over real TCP: binds, the window, throttling,
the TPS limit, keepalive, dropped connections and reconnection with backoff, clean unbind."""

import asyncio
import itertools
import time

import pytest

from tambour.dispatch.smpp.client import (
    Accepted,
    BindRefusedError,
    InDoubt,
    NotSent,
    Refused,
    SmppSession,
    SubmitOutcome,
)
from tambour.dispatch.smpp.connection import SmppConnection
from tambour.dispatch.smpp.pdu import (
    Address,
    Bind,
    BindResp,
    EnquireLink,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)
from tambour.dispatch.smpp.status import Status
from tambour.dispatch.smsc import Smsc
from tests.integration.smpp_peers import (
    PASSWORD,
    SYSTEM_ID,
    bound_session,
    eventually,
    run,
    running_smsc,
    session_settings,
)

BRAND = Address(5, 0, "BRAND")
MOBILE = Address(1, 1, "33612345678")


def submit(n: int) -> SubmitSm:
    return SubmitSm(BRAND, MOBILE, f"message {n}".encode(), registered_delivery=1)


def received_texts(smsc: Smsc) -> list[str]:
    return [m.text for m in smsc.messages]


async def past_the_slow_start(session: SmppSession, smsc: Smsc) -> None:
    """Submit enough for the slow start (one more in flight every 3 accepted) to reach any
    window of up to 64, then forget them on the SMSC's side."""
    warm_up = await asyncio.gather(*(session.submit(submit(-n)) for n in range(1, 200)))
    assert all(isinstance(o, Accepted) for o in warm_up)
    assert session._pacer.control.flight_limit > 64
    smsc.parts.clear()
    smsc.messages.clear()
    smsc.stats.submits = smsc.stats.accepted = 0


@pytest.mark.parametrize(
    ("system_id", "password", "status"),
    [
        (SYSTEM_ID, "wrong", Status.ESME_RINVPASWD),
        ("someone", PASSWORD, Status.ESME_RINVSYSID),
    ],
)
def test_the_smsc_checks_bind_credentials(system_id: str, password: str, status: int) -> None:
    async def scenario() -> None:
        async with running_smsc() as smsc:
            settings = session_settings(smsc.port, system_id=system_id, password=password)
            with pytest.raises(BindRefusedError) as caught:
                await SmppSession(settings).start()
            assert caught.value.status == status
            assert smsc.bound_sessions == 0

    run(scenario)


def test_nobody_listening_fails_the_first_start() -> None:
    async def scenario() -> None:
        async with running_smsc() as smsc:
            port = smsc.port
        with pytest.raises(OSError):
            await SmppSession(session_settings(port)).start()

    run(scenario)


def test_submits_are_acknowledged_with_message_ids() -> None:
    async def scenario() -> None:
        async with running_smsc() as smsc, bound_session(smsc) as session:
            outcomes = await asyncio.gather(*(session.submit(submit(n)) for n in range(200)))
            ids = [o.message_id for o in outcomes if isinstance(o, Accepted)]
            assert len(set(ids)) == 200
            assert ids == [p.message_id for p in smsc.parts]  # in order, one window
            assert sorted(received_texts(smsc)) == sorted(f"message {n}" for n in range(200))

    run(scenario)


def test_the_window_bounds_what_is_in_flight_and_a_drop_resumes_without_duplicates() -> None:
    """The SMSC takes submits without answering; only `window` of them are ever out. The
    server side of the socket is then killed: those are in doubt (reported, never sent again),
    the others, which never left, go on the next connection, once each."""

    async def scenario() -> None:
        async with running_smsc() as smsc, bound_session(smsc, window=8) as session:
            await past_the_slow_start(session, smsc)
            smsc.mute()
            tasks = [asyncio.create_task(session.submit(submit(n))) for n in range(30)]
            await eventually(lambda: smsc.stats.submits == 8, what="8 submits in flight")
            await asyncio.sleep(0.2)
            assert smsc.stats.submits == 8  # no more while none is answered
            in_flight = set(received_texts(smsc))
            smsc.mute(False)
            smsc.drop_connections()
            outcomes: list[SubmitOutcome] = await asyncio.gather(*tasks)

            doubtful = {f"message {n}" for n, o in enumerate(outcomes) if isinstance(o, InDoubt)}
            accepted = [o for o in outcomes if isinstance(o, Accepted)]
            assert doubtful == in_flight
            assert len(accepted) == 22
            assert session.stats.connections == 2
            assert session.stats.in_doubt == 8
            texts = received_texts(smsc)
            assert len(texts) == len(set(texts)) == 30  # every message once, none twice
            assert {p.message_id for p in smsc.parts[8:]} == {o.message_id for o in accepted}

    run(scenario)


def test_a_part_that_never_left_is_sent_on_the_next_connection() -> None:
    """A submit queued in the same loop turn as the drop never reached the socket: it is not in
    doubt, it goes once on the next connection."""

    async def scenario() -> None:
        async with running_smsc() as smsc, bound_session(smsc) as session:
            connection = session._connection
            assert connection is not None
            queued, flushed = connection.queued, connection.flushed  # the bind
            task = asyncio.create_task(session.submit(submit(1)))
            await asyncio.sleep(0)  # the submit is queued; the write comes next turn
            assert (connection.queued, connection.flushed) == (queued + 1, flushed)
            connection.abort()
            outcome = await task
            assert isinstance(outcome, Accepted)
            assert session.stats.resent == 1
            assert session.stats.in_doubt == 0
            assert received_texts(smsc) == ["message 1"]

    run(scenario)


def test_throttling_slows_without_loss() -> None:
    async def scenario() -> None:
        async with running_smsc(tps=100) as smsc, bound_session(smsc, window=64) as session:
            started = time.monotonic()
            outcomes = await asyncio.gather(*(session.submit(submit(n)) for n in range(200)))
            elapsed = time.monotonic() - started
            assert all(isinstance(o, Accepted) for o in outcomes)
            assert smsc.stats.throttled > 0
            assert session.stats.throttled == smsc.stats.throttled
            assert smsc.stats.accepted == 200
            texts = received_texts(smsc)
            assert len(texts) == len(set(texts)) == 200
            assert elapsed >= 0.9  # 100 at once, the next 100 at 100 a second

    run(scenario)


def test_the_client_tps_stays_under_the_carrier_limit() -> None:
    async def scenario() -> None:
        async with running_smsc(tps=100) as smsc, bound_session(smsc, tps=100) as session:
            started = time.monotonic()
            outcomes = await asyncio.gather(*(session.submit(submit(n)) for n in range(150)))
            elapsed = time.monotonic() - started
            assert all(isinstance(o, Accepted) for o in outcomes)
            assert smsc.stats.throttled == 0
            assert elapsed >= 1.4  # 2 at once (a 20 ms burst), then one every 10 ms

    run(scenario)


def test_a_throttled_part_gives_up_after_its_budget() -> None:
    """An SMSC that keeps throttling (its queue stays full): the session slows down to its
    floor, one submit a second, and a part whose next turn would come after its budget gives
    up then, refused with the SMSC's status; nothing was taken."""

    async def scenario() -> None:
        async with running_smsc() as smsc:
            async with bound_session(smsc, throttle_give_up=0.5) as session:
                assert isinstance(await session.submit(submit(0)), Accepted)
                smsc.refuse("+33612345678", Status.ESME_RMSGQFUL)
                started = time.monotonic()
                outcome = await session.submit(submit(1))
                elapsed = time.monotonic() - started
                assert outcome == Refused(Status.ESME_RMSGQFUL)
                assert 0.45 <= elapsed < 1.0  # at its budget, not at its next turn (1 s)
                assert (session.stats.throttled, session.stats.slowdowns) == (1, 1)
                assert session.stats.rate == 1.0
            assert smsc.stats.submits == 2
            assert received_texts(smsc) == ["message 0"]

    run(scenario)


def test_permanent_and_temporary_refusals_come_back_with_their_status() -> None:
    async def scenario() -> None:
        async with running_smsc() as smsc, bound_session(smsc) as session:
            smsc.refuse("+33612345678", Status.ESME_RINVDSTADR)
            outcome = await session.submit(submit(0))
            assert str(outcome) == "refused: ESME_RINVDSTADR (0x0B)"
            assert session.stats.refused == 1
            assert smsc.parts == []

    run(scenario)


def test_enquire_link_keeps_an_idle_session_alive() -> None:
    async def scenario() -> None:
        async with (
            running_smsc() as smsc,
            bound_session(smsc, enquire_link_interval=0.1) as session,
        ):
            await eventually(lambda: smsc.stats.enquire_links >= 3, what="3 enquire_link")
            assert session.bound
            assert session.stats.disconnects == 0

    run(scenario)


class _DeafSmsc(SmppConnection):
    """A real SMPP peer that binds anyone, then answers nothing but unbind."""

    binds = 0

    def pdu_received(self, pdu: Pdu) -> None:
        if isinstance(pdu.body, Bind):
            _DeafSmsc.binds += 1
            self.send(BindResp(pdu.body.mode, "DEAF"), pdu.sequence)
        elif isinstance(pdu.body, Unbind):
            self.send(UnbindResp(), pdu.sequence)


def test_an_unanswered_enquire_link_drops_the_connection_and_reconnects() -> None:
    async def scenario() -> None:
        _DeafSmsc.binds = 0
        server = await asyncio.get_running_loop().create_server(_DeafSmsc, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        settings = session_settings(port, enquire_link_interval=0.1, response_timeout=0.2)
        session = SmppSession(settings)
        await session.start()
        await eventually(lambda: _DeafSmsc.binds >= 2, what="a second bind")
        assert session.stats.disconnects >= 1
        await session.close(timeout=0.5)
        server.close()

    run(scenario)


class _HangUpAfterFirstBind(SmppConnection):
    """A real SMPP peer: the first connection is closed right after its bind_resp; later ones
    bind and acknowledge submits."""

    connections = 0

    def pdu_received(self, pdu: Pdu) -> None:
        if isinstance(pdu.body, Bind):
            _HangUpAfterFirstBind.connections += 1
            self.send(BindResp(pdu.body.mode, "FLAKY"), pdu.sequence)
            if _HangUpAfterFirstBind.connections == 1:
                self.abort(flush=True)
        elif isinstance(pdu.body, SubmitSm):
            self.send(SubmitSmResp("id-1"), pdu.sequence)
        elif isinstance(pdu.body, Unbind):
            self.send(UnbindResp(), pdu.sequence)


def test_a_connection_closed_right_after_its_bind_is_replaced() -> None:
    async def scenario() -> None:
        _HangUpAfterFirstBind.connections = 0
        server = await asyncio.get_running_loop().create_server(
            _HangUpAfterFirstBind, "127.0.0.1", 0
        )
        session = SmppSession(session_settings(server.sockets[0].getsockname()[1]))
        await session.start()
        assert await session.submit(submit(1)) == Accepted("id-1")
        assert _HangUpAfterFirstBind.connections == 2
        await session.close()
        server.close()

    run(scenario)


def test_reconnection_backs_off_exponentially_until_the_smsc_is_back() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        async with running_smsc() as first:
            port = first.port
            settings = session_settings(port, reconnect_initial=0.05, reconnect_max=0.15)
            session = SmppSession(settings)
            await session.start()
        # The SMSC is gone; a listener on its port hangs up at once: each bind attempt fails.
        attempts: list[float] = []

        def hang_up(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            attempts.append(loop.time())
            writer.close()

        down = await asyncio.start_server(hang_up, "127.0.0.1", port)
        await eventually(lambda: len(attempts) >= 5, what="5 reconnection attempts")
        down.close()
        await down.wait_closed()
        gaps = [b - a for a, b in itertools.pairwise(attempts)]
        # Waits of 0.1, then 0.15 (the cap) each time, +-20% jitter; without the cap the
        # fourth would be 0.8 s. Upper bounds leave room for a busy machine.
        assert 0.08 <= gaps[0] <= 0.3
        assert all(0.12 <= gap <= 0.4 for gap in gaps[1:4]), gaps
        assert not session.bound

        async with running_smsc(port=port) as second:
            await eventually(lambda: session.bound, what="bound again")
            assert isinstance(await session.submit(submit(1)), Accepted)
            assert len(second.parts) == 1
            assert session.stats.connections == 2
            await session.close()
            assert second.stats.unbinds == 1

    run(scenario)


def test_close_waits_for_what_is_in_flight_then_unbinds() -> None:
    async def scenario() -> None:
        async with running_smsc() as smsc:
            session = SmppSession(session_settings(smsc.port))
            await session.start()
            tasks = [asyncio.create_task(session.submit(submit(n))) for n in range(100)]
            await asyncio.sleep(0)  # the first window goes out
            await session.close()
            outcomes = await asyncio.gather(*tasks)
            accepted = sum(isinstance(o, Accepted) for o in outcomes)
            not_sent = sum(isinstance(o, NotSent) for o in outcomes)
            assert accepted + not_sent == 100
            assert accepted == len(smsc.parts) > 0
            assert smsc.stats.unbinds == 1
            await eventually(lambda: smsc.bound_sessions == 0, what="no session left")
            assert isinstance(await session.submit(submit(0)), NotSent)

    run(scenario)


def test_the_smsc_unbinding_makes_the_client_bind_again() -> None:
    async def scenario() -> None:
        async with running_smsc() as smsc, bound_session(smsc) as session:
            [server_side] = list(smsc._sessions)
            server_side.send(Unbind(), 99)
            await eventually(lambda: session.stats.connections == 2, what="a second bind")
            assert isinstance(await session.submit(submit(0)), Accepted)

    run(scenario)


def test_an_enquire_link_from_the_smsc_is_answered() -> None:
    async def scenario() -> None:
        async with running_smsc() as smsc, bound_session(smsc):
            [server_side] = list(smsc._sessions)
            answers: list[Pdu] = []
            original = server_side.pdu_received

            def spy(pdu: Pdu) -> None:
                answers.append(pdu)
                original(pdu)

            server_side.pdu_received = spy  # type: ignore[method-assign]
            server_side.send(EnquireLink(), 1234)
            await eventually(lambda: bool(answers), what="an enquire_link_resp")
            assert answers[0].sequence == 1234
            assert answers[0].status == 0

    run(scenario)
