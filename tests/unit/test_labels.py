"""Every stable code has a French label."""

from enum import StrEnum
from pathlib import Path

import pytest

from tambour.rules import codes
from tambour.rules.labels import LABELS_FR, label

ENUMS: tuple[type[StrEnum], ...] = (codes.Basis, codes.Reason, codes.Deferral, codes.Block)

# Codes being added to codes.py at the same time as the labels: covered whether or not codes.py
# has them yet.
EXTRA_CODES = (
    "political_membership",
    "consent_partner_unnamed",
    "consent_unproven",
    "customer_not_own_sale",
    "no_transaction_reference",
    "political_no_consent",
    "promotional_content",
    "too_many_parts",
    "nothing_to_send",
    "non_commercial_unrecorded",
    "no_transaction_field",
    "sender_not_owned",
)

ALL_CODES = sorted({str(m) for e in ENUMS for m in e} | set(EXTRA_CODES))


@pytest.mark.parametrize("code", ALL_CODES)
def test_every_code_has_a_french_label(code: str) -> None:
    assert code in LABELS_FR
    assert label(code) == LABELS_FR[code]
    assert label(code) != code


@pytest.mark.parametrize("member", [m for e in ENUMS for m in e], ids=str)
def test_enum_members_are_looked_up_as_their_code(member: StrEnum) -> None:
    assert label(member) == LABELS_FR[str(member)]


def test_labels_are_distinct_and_not_blank() -> None:
    values = list(LABELS_FR.values())
    assert all(v.strip() == v and v for v in values)
    assert len(set(values)) == len(values)


def test_no_label_for_a_code_that_does_not_exist() -> None:
    known = set(ALL_CODES)
    assert set(LABELS_FR) <= known, set(LABELS_FR) - known


def test_unknown_code_reads_as_itself() -> None:
    assert label("some_future_code") == "some_future_code"
    assert label("") == ""


def test_labels_are_read_only() -> None:
    with pytest.raises(TypeError):
        LABELS_FR["consent"] = "x"  # type: ignore[index]


def test_a_few_labels() -> None:
    assert label(codes.Reason.COMPLAINT_33700) == "Signalement de spam au 33700"
    assert "STOP" in label("missing_stop_mention")
    assert "RNA" in label("non_commercial_unrecorded")


DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


@pytest.mark.parametrize("code", ALL_CODES)
def test_the_rules_page_gives_every_code_with_its_label(code: str) -> None:
    rows = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    assert any(f"| `{code}` | {LABELS_FR[code]} |" in row for row in rows), code
