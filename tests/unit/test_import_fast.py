"""The import's fast path gives exactly what the reference path gives, row for row.

`prepare(..., fast=False)` runs every row through `check_record`, `evidence_of` and `profile_of`
(the reference); `prepare(...)` runs the rows the compiled `RowPreparer` is sure of through it.
Both must produce the same rows, events, JSON, fingerprints, stored instants and rejects."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tambour.contacts.reader import FileFormat
from tambour.contacts.row import CANONICAL_COLUMNS
from tambour.contacts.values import parse_datetime
from tambour.services.import_fast import RowPreparer
from tambour.services.import_prepare import FACTS, prepare
from tambour.store.bulk import copy_time
from tests.contact_rows import CONTACT_COLUMNS, contact_row

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
LATEST = NOW + timedelta(days=1)  # what `prepare` accepts
DIALECTS = ("sqlite", "postgresql")

# Cell values per column: ordinary ones, and the unusual or invalid ones a file may hold.
STRINGS = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12
) | st.sampled_from(['a "quoted" word', "back\\slash", "tab\there", " padded ", "é\u2028",
                     "\x00\x1f", "Zoë", ""])  # fmt: skip
DATES = st.sampled_from(
    [
        "", "2024-03-15", "2024-03-15T10:30:00", "2024-03-15 10:30:00", " 2025-07-01 ",
        "2025-03-30T02:30:00", "2025-03-30T01:59:59", "2025-03-30T03:00:00", "2025-03-30",
        "2025-10-26T02:30:00", "2025-10-26T01:30:00", "2025-10-26T03:00:00", "2025-10-26",
        "2024-02-29", "2023-02-29", "31/02/2025", "15/03/2024", "15/03/2024 10:30",
        "2024-03-15T10:30:00+05:00", "2024-03-15T10:30:00Z", "2024-03-15T10:30", "20240315",
        "2024-W11-5", "2024-03-15T25:00:00", "2027-01-01", "2026-11-29T08:00:00",
        "2026-11-29T12:00:00", "2026-12-01", "demain", "0001-01-01", "9999-12-31T23:59:59",
    ]
)  # fmt: skip
BOOLEANS = st.sampled_from(
    ["", "oui", "non", "yes", "NO", "1", "0", "vrai", "faux", " O ", "peut-être"]
)
PHONES = st.sampled_from(
    [
        "", "06 12 34 56 78", "0612345678", "+33612345678", "+33 6 12 34 56 78", "06.12.34.56.78",
        "0690 12 34 56", "0692123456", "+262692123456", "0144556677", "06123", "061234567890",
        "06 12 34 56 78; 07 11 22 33 44", "06 12 34 56 78 ou 0711223344", "+44 7911 123456",
        "6.12345678E+08", "0033612345678", "abc",
    ]
)  # fmt: skip
LISTS = st.sampled_from(["", "vip", "vip;newsletter", " Vip ; ", "a,b", "décoration;textile", ";"])
CELLS = {
    "phone": PHONES,
    "kind": st.sampled_from(["", "person", "professionnel", "B2B", "pro", "robot"]),
    "postal_code": st.sampled_from(
        ["", "75011", "7500", "2A004", "97200", "750", "75 011", "ABCDE"]
    ),
    "consent_channels": st.sampled_from(["", "sms", "sms;email", "MMS", "pigeon", "sms;sms"]),
    "opt_out_source": st.sampled_from(
        ["", "sms_stop", "complaint_33700", "manual", "email", "Link"]
    ),
    "profession_tags": LISTS,
    "tags": LISTS,
    "purchased_categories": LISTS,
}  # fmt: skip
BOOLEAN_COLUMNS = {
    "consent", "consent_checkbox_prechecked", "consent_bundled_with_terms",
    "informed_at_collection", "objection_offered_at_collection", "opted_out",
}  # fmt: skip
for _column in CANONICAL_COLUMNS:
    if _column.endswith("_at"):
        CELLS[_column] = DATES
    elif _column in BOOLEAN_COLUMNS:
        CELLS[_column] = BOOLEANS
    else:
        CELLS.setdefault(_column, STRINGS)


def _format(columns: tuple[str | None, ...]) -> FileFormat:
    header = tuple(c or f"ignored{i}" for i, c in enumerate(columns))
    return FileFormat("utf-8", ";", header, columns)


def _compare(fmt: FileFormat, records: list[tuple[int, list[str], list[object]]]) -> int:
    """Assert both paths agree on both dialects; return how many rows the fast path took on
    the dialect where it took the fewest."""
    taken = len(records)
    for dialect in DIALECTS:
        fast = prepare(fmt, records, dialect, NOW)  # type: ignore[arg-type]
        reference = prepare(fmt, records, dialect, NOW, fast=False)  # type: ignore[arg-type]
        assert fast == reference
        preparer = RowPreparer(fmt, dialect, LATEST)
        taken = min(taken, sum(preparer(cells) is not None for _, cells, _ in records))
    return taken


LAYOUT = st.lists(
    st.sampled_from([*CANONICAL_COLUMNS, "ville", "Code Promo", "ville", None, "phone"]),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), columns=LAYOUT)
def test_the_fast_path_agrees_with_the_reference_on_any_layout_and_cells(
    data: st.DataObject, columns: list[str | None]
) -> None:
    if "phone" not in columns:  # `sniff` refuses a file without one
        columns.insert(data.draw(st.integers(0, len(columns))), "phone")
    fmt = _format(tuple(columns))
    records = []
    for line in range(2, 2 + data.draw(st.integers(1, 6))):
        cells = [data.draw(CELLS.get(c or "", STRINGS)) for c in columns]
        records.append((line, cells, []))
    _compare(fmt, records)  # type: ignore[arg-type]


def test_the_fast_path_takes_ordinary_rows_and_agrees_on_them() -> None:
    fmt = _format(CONTACT_COLUMNS)
    rng = random.Random(3)
    records = [(line, list(contact_row(line, rng).values()), []) for line in range(2, 2002)]
    taken = _compare(fmt, records)  # type: ignore[arg-type]
    assert taken == len(records)  # else the comparison above proves little


def test_rows_it_is_not_sure_of_go_to_the_reference() -> None:
    fmt = _format(("phone", "consent", "consent_at", "phone"))
    assert not RowPreparer(fmt, "sqlite", LATEST).usable  # two phone columns: the reference
    fmt = _format(("phone", "consent", "consent_at"))
    preparer = RowPreparer(fmt, "sqlite", LATEST)
    assert preparer(["0612345678", "oui", "2025-01-01"]) is not None
    for cells in (
        ["0612345678", "oui", "2027-01-01"],  # in the future
        ["0612345678", "peut-être", ""],  # not a boolean
        ["06123", "oui", ""],  # not a number
        ["", "oui", ""],  # no number
        ["0612345678;0711223344", "oui", ""],  # two numbers
    ):
        assert preparer(cells) is None


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_minute_around_the_changes_of_time_reads_as_the_reference(dialect: str) -> None:
    """Paris's offset is looked up once a day by the fast path: days it changes, and the days
    either side, read exactly as `parse_datetime` reads them."""
    preparer = RowPreparer(_format(("phone", "consent_at")), dialect, LATEST)
    for day in ("2024-03-31", "2024-10-27", "2025-03-30", "2025-10-26", "2026-03-29"):
        base = datetime.fromisoformat(day)
        for offset in range(-24 * 60, 48 * 60, 7):
            for text in (
                (base + timedelta(minutes=offset)).isoformat(),
                (base + timedelta(minutes=offset)).isoformat(" "),
                (base + timedelta(days=offset // 1440)).date().isoformat(),
            ):
                at = parse_datetime(text)
                assert at is not None
                stored = copy_time(dialect, at)
                expected = (at.replace(tzinfo=None), repr(at.timestamp()), stored)
                assert preparer._stamp(text) == expected, text


@pytest.mark.parametrize("fast", [True, False])
def test_each_batch_counts_the_facts_a_legal_basis_rests_on(fast: bool) -> None:
    fmt = _format(
        ("phone", "consent", "consent_at", "consent_method", "consent_wording",
         "last_purchase_at", "collected_at", "member_since", "kind", "ville")
    )  # fmt: skip
    records = [
        (2, ["0612345601", "oui", "2026-01-01", "web_form", "", "", "", "", "", "Paris"], []),
        (3, ["0612345602", "oui", "", "", "J'accepte", "2026-02-01", "", "", "", ""], []),
        (4, ["0612345603", "oui", "", "", "", "", "2026-01-05", "", "pro", ""], []),
        (5, ["0612345604", "non", "", "", "", "", "", "2025-01-01", "", ""], []),
        (6, ["0612345605", "", "", "", "", "", "", "", "", "Lyon"], []),
        (7, ["06123", "oui", "", "", "", "2026-02-01", "", "", "pro", ""], []),  # rejected
    ]
    batch = prepare(fmt, records, "sqlite", NOW, fast=fast)  # type: ignore[arg-type]
    assert len(batch.rows) == 5
    assert dict(zip(FACTS, batch.facts, strict=True)) == {
        "consent": 3, "consent_undated": 2, "consent_unproven": 1, "purchase": 1,
        "collection": 1, "membership": 1, "professional": 1,
    }  # fmt: skip
    assert prepare(fmt, records, "sqlite", NOW, fast=fast).facts == batch.facts  # not summed
