"""The evidence rows an import writes (`Sealer.facts_rows`, what its batch shares encoded once)
are the rows `insert_evidence` writes, with the seals `Sealer.evidence` gives: the one
`audit verify` checks."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tambour.services.seals import Sealer

_AT = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def _facts(contact: int, count: int) -> tuple[tuple[Any, ...], ...]:
    """`count` facts of one contact as the importer hands them: kind, instant, data JSON,
    fingerprint, then its own value (an opposition), which is not stored."""
    kinds = ("consent_given", "collected", "purchase", "opt_out")
    return tuple(
        (kinds[i % 4], None if i == 2 else "2024-03-15 09:30:00.000000",
         '{"channels":["sms"]}' if i == 0 else "{}", bytes([contact % 256, i]) * 8,
         ("manual", None) if kinds[i % 4] == "opt_out" else None)
        for i in range(count)
    )  # fmt: skip


@pytest.mark.parametrize(
    ("advertiser", "source", "recorded_at", "by"),
    [
        (3, "import:clients.csv", "2026-12-07 01:00:00.000000", "bench"),  # SQLite's stamp
        (12, "import:fichier été.csv", _AT.replace(tzinfo=None), "Léa Martin"),  # PostgreSQL's
        (7, "import:x.csv", _AT.astimezone(timezone(timedelta(hours=1))), "ops"),  # aware
    ],
)
def test_facts_rows_are_the_rows_insert_evidence_writes(
    advertiser: int, source: str, recorded_at: Any, by: str
) -> None:
    sealer = Sealer(b"k" * 32)
    facts = [(101, _facts(101, 3)), (102, ()), (103, _facts(103, 1)), (250, _facts(250, 4))]
    ids = list(range(5000, 5008))
    stored = sealer.facts_rows(ids, advertiser, source, recorded_at, by, facts)
    # What the importer handed insert_evidence: a row of all the values for each fact.
    rows = [
        (advertiser, cid, kind, at, data, fingerprint, source, recorded_at, by)
        for cid, contact_facts in facts
        for kind, at, data, fingerprint, _ in contact_facts
    ]
    assert len(stored) == len(rows) == len(ids)
    for rid, row, written in zip(ids, rows, stored, strict=True):
        assert written[:-1] == (rid, *row)
        assert written[-1] == sealer.evidence((rid, *row)), row


def test_facts_rows_seal_every_shared_value() -> None:
    """A row differing from another by one value its batch shares (advertiser, source, time,
    author) gets another seal; so does one under another key."""
    sealer = Sealer(b"k" * 32)
    facts = [(101, _facts(101, 1))]
    stamp = "2026-12-07 01:00:00.000000"
    batches = [
        (3, "import:a.csv", stamp, "bench"),
        (4, "import:a.csv", stamp, "bench"),
        (3, "import:b.csv", stamp, "bench"),
        (3, "import:a.csv", "2026-12-07 01:00:00.000001", "bench"),
        (3, "import:a.csv", stamp, "autre"),
    ]
    seals = [sealer.facts_rows([9], *batch, facts)[0][-1] for batch in batches]
    assert len(set(seals)) == len(batches)
    assert Sealer(b"j" * 32).facts_rows([9], *batches[0], facts)[0][-1] != seals[0]
