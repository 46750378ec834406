"""What a submit returns, whatever the transport: statuses kept apart by what may be done next,
SMPP and HTTP codes kept; the outbox transport records and accepts."""

import asyncio
import json
from pathlib import Path

import pytest

from tambour.dispatch.smpp.client import Accepted, InDoubt, NotSent, Refused
from tambour.dispatch.smpp.status import Status
from tambour.dispatch.transports.base import (
    PartResult,
    SubmitStatus,
    TransportError,
    local_failure,
    submit_result,
)
from tambour.dispatch.transports.http import answer_result
from tambour.dispatch.transports.outbox import OutboxTransport
from tambour.dispatch.transports.smpp import part_result
from tambour.traffic import OutboundMessage

OK = PartResult(SubmitStatus.ACCEPTED, "id")


def test_smpp_outcomes_as_part_results() -> None:
    assert part_result(Accepted("abc")) == PartResult(SubmitStatus.ACCEPTED, "abc")
    throttled = part_result(Refused(Status.ESME_RTHROTTLED))
    assert throttled.status == SubmitStatus.RETRY
    assert throttled.error == TransportError("smpp", 0x58, "ESME_RTHROTTLED (0x58)")
    assert part_result(Refused(Status.ESME_RSYSERR)).status == SubmitStatus.RETRY
    refused = part_result(Refused(Status.ESME_RINVDSTADR))
    assert refused.status == SubmitStatus.FAILED
    assert refused.error is not None and refused.error.code == 0x0B
    assert part_result(Refused(0x401)).status == SubmitStatus.FAILED  # a carrier's own code
    assert part_result(InDoubt("dropped")).status == SubmitStatus.IN_DOUBT
    assert part_result(NotSent("closing")).status == SubmitStatus.RETRY


def test_a_message_is_accepted_when_every_part_is() -> None:
    result = submit_result([OK, PartResult(SubmitStatus.ACCEPTED, "id2")], 2)
    assert result.status == SubmitStatus.ACCEPTED
    assert result.carrier_ids == ("id", "id2")
    assert result.error is None
    with pytest.raises(ValueError, match="1 part results for 2 parts"):
        submit_result([OK], 2)


def test_the_first_part_not_accepted_decides() -> None:
    failed = PartResult(SubmitStatus.FAILED, None, TransportError("smpp", 0x0B, "x"))
    result = submit_result([OK, failed], 3)
    assert result.status == SubmitStatus.FAILED
    assert result.error is not None and result.error.code == 0x0B
    assert result.carrier_ids == ("id",)  # its receipt will still come
    doubt = PartResult(SubmitStatus.IN_DOUBT, None, TransportError("smpp", None, "dropped"))
    assert submit_result([OK, doubt], 2).status == SubmitStatus.IN_DOUBT
    retry = PartResult(SubmitStatus.RETRY, None, TransportError("smpp", 0x08, "sys"))
    assert submit_result([retry], 2).status == SubmitStatus.RETRY


def test_a_temporary_refusal_after_a_part_went_fails_the_message() -> None:
    retry = PartResult(SubmitStatus.RETRY, None, TransportError("smpp", 0x08, "ESME_RSYSERR"))
    result = submit_result([OK, retry], 2)
    assert result.status == SubmitStatus.FAILED  # resubmitting would send part 1 twice
    assert result.error is not None
    assert result.error.code == 0x08
    assert "part 2 of 2 refused after the first was accepted" in result.error.detail


def test_local_failure() -> None:
    result = local_failure("empty text")
    assert result.status == SubmitStatus.FAILED
    assert result.error == TransportError("local", None, "empty text")


@pytest.mark.parametrize(
    ("code", "body", "status", "ids"),
    [
        (200, b'{"ids": ["a", "b"]}', SubmitStatus.ACCEPTED, ("a", "b")),
        (201, b'{"id": 42}', SubmitStatus.ACCEPTED, ("42",)),
        (202, b"", SubmitStatus.ACCEPTED, ()),
        (200, b"not json", SubmitStatus.ACCEPTED, ()),
        (429, b"", SubmitStatus.RETRY, ()),
        (503, b"", SubmitStatus.RETRY, ()),
        (500, b"", SubmitStatus.IN_DOUBT, ()),
        (502, b"", SubmitStatus.IN_DOUBT, ()),
        (400, b"", SubmitStatus.FAILED, ()),
        (401, b"", SubmitStatus.FAILED, ()),
    ],
)
def test_http_answers(code: int, body: bytes, status: SubmitStatus, ids: tuple[str, ...]) -> None:
    result = answer_result(code, body)
    assert result.status == status
    assert result.carrier_ids == ids
    if status != SubmitStatus.ACCEPTED:
        assert result.error is not None and result.error.code == code


def test_the_record_only_transport_records_and_says_it_sent_nothing(tmp_path: Path) -> None:
    path = tmp_path / "out" / "outbox.jsonl"
    transport = OutboxTransport(path)
    long_text = "Soldes ! " * 30

    async def scenario() -> list[SubmitStatus]:
        await transport.start()
        results = [
            await transport.submit(OutboundMessage("m1", "BRAND", "+33612345678", "Bonjour")),
            await transport.submit(OutboundMessage("m2", "36111", "+33612345679", long_text)),
            await transport.submit(OutboundMessage("m3", "BRAND", "+33612345679", "")),
        ]
        await transport.close()
        return [r.status for r in results]

    assert asyncio.run(scenario()) == [  # never ACCEPTED: no carrier took anything
        SubmitStatus.RECORDED,
        SubmitStatus.RECORDED,
        SubmitStatus.FAILED,
    ]
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line["reference"] for line in lines] == ["m1", "m2"]
    assert len(lines[1]["ids"]) == 2
    assert lines[1]["text"] == long_text
    assert len(transport.recorded) == 2
    assert len(set(lines[0]["ids"] + lines[1]["ids"])) == 3
