"""The CPU half of an import, for one batch of records: parse and check each record, and turn
each accepted row into what the database stores (profile JSON, events with fingerprints).

Pure and picklable, so batches can be prepared in worker processes while the parent writes the
previous batch: on a 2-core machine that is what lets an import keep up with the database.
"""

from datetime import datetime, timedelta
from typing import Final, NamedTuple

from tambour.contacts.ledger import (
    EvidenceKind,
    canonical_json,
    evidence_of,
    profile_hash,
    profile_of,
)
from tambour.contacts.reader import FileFormat, Record, RecordShape, Reject, check_record
from tambour.rules.codes import ContactKind
from tambour.services.import_fast import (
    COLLECTION,
    CONSENT,
    FACTS,
    MEMBERSHIP,
    PROFESSIONAL,
    PURCHASE,
    UNDATED,
    UNPROVEN,
    PreparedEvent,
    RowPreparer,
)
from tambour.store.bulk import copy_time

OPPOSITION_KINDS = frozenset({EvidenceKind.OPT_OUT, EvidenceKind.COMPLAINT})
__all__ = [
    "E164",
    "EVENTS",
    "FACTS",
    "KIND",
    "PROFILE_HASH",
    "PROFILE_JSON",
    "PreparedBatch",
    "PreparedEvent",
    "PreparedRow",
    "prepare",
]


# One accepted row as stored: (e164, kind stated or None, profile JSON, profile hash, events).
# A plain tuple: batches cross between processes, and a named tuple pickles at twice the cost.
PreparedRow = tuple[str, str | None, str, bytes, tuple[PreparedEvent, ...]]
E164: Final = 0
KIND: Final = 1
PROFILE_JSON: Final = 2
PROFILE_HASH: Final = 3
EVENTS: Final = 4


class PreparedBatch(NamedTuple):
    records: int  # records read, blank rows included
    rows: list[PreparedRow]
    rejects: list[list[Reject]]  # one list per rejected record, in file order
    facts: tuple[int, ...]  # accepted rows stating each of `import_fast.FACTS`


_shapes: dict[FileFormat, RecordShape] = {}
_preparers: dict[tuple[FileFormat, str, datetime], RowPreparer] = {}


# Which column states each kind of fact, to name it when its date is refused.
_DATE_COLUMN = {
    EvidenceKind.CONSENT_GIVEN: "consent_at",
    EvidenceKind.CONSENT_WITHDRAWN: "consent_at",
    EvidenceKind.COLLECTED: "collected_at",
    EvidenceKind.ACCOUNT_CREATED: "account_created_at",
    EvidenceKind.PURCHASE: "last_purchase_at",
    EvidenceKind.ACTIVITY: "last_activity_at",
    EvidenceKind.MEMBERSHIP: "member_since",
    EvidenceKind.OPT_OUT: "opted_out_at",
    EvidenceKind.COMPLAINT: "opted_out_at",
}
# The facts `PreparedBatch.facts` counts, by the kind of evidence that states them.
_COUNTED = {
    EvidenceKind.CONSENT_GIVEN: CONSENT,
    EvidenceKind.PURCHASE: PURCHASE,
    EvidenceKind.COLLECTED: COLLECTION,
    EvidenceKind.MEMBERSHIP: MEMBERSHIP,
}
FUTURE_TOLERANCE = timedelta(days=1)  # clocks and time zones of the systems files come from


def _in_the_future(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC is in the future" if at else "in the future"


def _fast_preparer(fmt: FileFormat, dialect: str, latest: datetime) -> RowPreparer | None:
    preparer = _preparers.get((fmt, dialect, latest))
    if preparer is None:
        if len(_preparers) > 8:  # one import at a time, in practice
            _preparers.clear()
        preparer = _preparers[fmt, dialect, latest] = RowPreparer(fmt, dialect, latest)
    return preparer if preparer.usable else None


def prepare(
    fmt: FileFormat, records: list[Record], dialect: str, now: datetime, *, fast: bool = True
) -> PreparedBatch:
    """Check and convert one batch; instants come out as the `dialect`'s driver stores them.

    A fact dated after `now` (a day's tolerance) rejects its row: a date in the future would
    make a consent "prior" before it is given, or stretch the retention period.

    Rows go through the compiled fast path (`import_fast`) when it is sure of them, else
    through the reference path below; `fast=False` uses the reference only (for tests)."""
    latest = now + FUTURE_TOLERANCE
    shape = _shapes.get(fmt)
    if shape is None:
        shape = _shapes[fmt] = RecordShape.of(fmt)
    preparer = _fast_preparer(fmt, dialect, latest) if fast else None
    rows: list[PreparedRow] = []
    rejects: list[list[Reject]] = []
    tally = [0] * len(FACTS)
    if preparer is not None:
        preparer.tally = [0] * len(FACTS)
    for line, cells, unreadable in records:
        if cells is None:
            rejects.append(unreadable)
            continue
        if preparer is not None:
            done = preparer(cells)
            if done is not None:
                rows.append(done)
                continue
        row, problems = check_record(line, cells, shape)
        if row is None:
            if problems:
                rejects.append(problems)
            continue
        facts = evidence_of(row)
        future = [e for e in facts if e.at is not None and e.at > latest]
        if future:
            raw = tuple(cells)
            rejects.append(
                [Reject(line, _DATE_COLUMN[e.kind], _in_the_future(e.at), raw) for e in future]
            )
            continue
        profile_json = canonical_json(profile_of(row))
        if row.kind_stated and row.kind is ContactKind.PROFESSIONAL:
            tally[PROFESSIONAL] += 1
        events = []
        for event in facts:
            counted = _COUNTED.get(event.kind)
            if counted is not None:
                tally[counted] += 1
                if counted == CONSENT:
                    tally[UNDATED] += event.at is None
                    tally[UNPROVEN] += not (row.consent_method or row.consent_wording)
            opposition = None
            if event.kind in OPPOSITION_KINDS:
                opposition = (str(event.data["source"]), event.at)
            at = None if event.at is None else copy_time(dialect, event.at)
            events.append(
                (event.kind.value, at, event.data_json, event.fingerprint, opposition)
            )  # fmt: skip
        assert row.phone.e164 is not None  # check_record accepts valid numbers only
        rows.append(
            (row.phone.e164, row.kind.value if row.kind_stated else None, profile_json,
             profile_hash(row.kind.value, profile_json), tuple(events))
        )  # fmt: skip
    if preparer is not None:
        tally = [a + b for a, b in zip(tally, preparer.tally, strict=True)]
    return PreparedBatch(len(records), rows, rejects, tuple(tally))
