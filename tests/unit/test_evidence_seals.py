"""The evidence rows an import writes carry the seals `Sealer.evidence` gives (the one `audit
verify` checks), although `evidence_rows` encodes what rows of a batch share only once."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from tambour.services.seals import Sealer

_RECORDED = "2026-12-07 01:00:00.000000"  # SQLite's stored form
_AT = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def _row(contact: int, source: Any = "import:clients.csv", recorded: Any = _RECORDED,
         by: Any = "bench") -> tuple[Any, ...]:  # fmt: skip
    """An evidence row without its id, as the importer hands it (EVIDENCE_COLUMNS order)."""
    fingerprint = bytes([contact % 256]) * 16
    return (3, contact, "consent_given", "2024-03-15 09:30:00.000000", '{"channels":["sms"]}',
            fingerprint, source, recorded, by)  # fmt: skip


def _rows() -> list[tuple[Any, ...]]:
    """A batch's rows sharing source, time and author (the same objects), then rows where each
    changes: an equal text that is another object, None, another value, datetimes as
    PostgreSQL's writers hand them (naive UTC) or read back (aware, in another zone)."""
    rows = [_row(contact) for contact in range(1, 6)]
    rows += [
        _row(6, source="".join(["import:", "clients.csv"])),  # equal, not the same object
        _row(7, source=None),
        _row(8, source="optout:manual"),
        _row(9, by="Léa Martin"),
        _row(10, by=None),
        _row(11, recorded=_AT.replace(tzinfo=None)),
        _row(12, recorded=_AT.replace(tzinfo=None)),
        _row(13, recorded=_AT.astimezone(timezone(timedelta(hours=1)))),
        _row(14, recorded=_AT + timedelta(microseconds=1)),
        _row(15),  # back to the first batch's values
    ]
    return rows


def test_evidence_rows_are_the_rows_with_their_ids_and_reference_seals() -> None:
    sealer = Sealer(b"k" * 32)
    rows = _rows()
    ids = list(range(1000, 1000 + len(rows)))
    stored = sealer.evidence_rows(ids, rows)
    assert len(stored) == len(rows)
    for rid, row, written in zip(ids, rows, stored, strict=True):
        assert written[:-1] == (rid, *row)
        assert written[-1] == sealer.evidence((rid, *row)), row


def test_evidence_rows_seal_differs_with_every_shared_value() -> None:
    """Each value the batch shares is in the seal: a row differing by one of them alone gets
    another seal (the shared text is not kept past a change)."""
    sealer = Sealer(b"k" * 32)
    rows = [_row(1), _row(1, source="import:autre.csv"), _row(1, recorded=_AT.replace(
        tzinfo=None) + timedelta(seconds=1)), _row(1, by="autre")]  # fmt: skip
    seals = [written[-1] for written in sealer.evidence_rows([7, 7, 7, 7], rows)]
    assert len(set(seals)) == 4
    assert Sealer(b"j" * 32).evidence_rows([7], rows[:1])[0][-1] != seals[0]
