"""The plan's fast paths give what the plain definitions give: plan-row seals (encoded parts
remembered), suppression-list hashes (HMAC begun once per key), folded lists (remembered)."""

import hmac
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, cast

import pytest

from tambour.rules.codes import Basis, Deferral, Reason
from tambour.rules.fold import fold, fold_set
from tambour.rules.template import parse_template
from tambour.services.advertisers import Advertiser
from tambour.services.seals import Sealer, instant
from tambour.services.suppression import phone_hash

_NONE = "\x01"


def _plain_plan_seal(sealer: Sealer, row: tuple[Any, ...]) -> bytes:
    """A plan row's seal as services/seals.py defines its encoding: the values joined by NUL,
    in that order, hashed at once."""
    (cid, gen, contact, aid, e164, decision, basis, reason, deferral, territory, zone,
     postal, send_at, segments, encoding, ucs2, text, profile, seen, retain, variant,
     group) = row  # fmt: skip
    hashed = sealer._base.copy()
    hashed.update(
        f"p\0{cid}\0{gen}\0{contact}\0{aid}\0{e164}\0{decision}\0{basis}\0{reason}\0"
        f"{deferral}\0{territory}\0{zone}\0{instant(send_at)}\0{segments}\0{encoding}\0"
        f"{instant(retain)}\0{profile.hex()}\0{seen}\0{_NONE if postal is None else postal}"
        f"\0{_NONE if ucs2 is None else ucs2}\0{_NONE if text is None else text}".encode()
    )
    # An A/B test's row (migration 0023) adds its variant and group; a row of no test is
    # sealed exactly as before the tests existed, so the seals of older plans still hold.
    if variant is not None or group is not None:
        hashed.update(f"\0ab\0{variant or ''}\0{group or ''}".encode())
    return cast(bytes, hashed.digest())


_AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
_TEXT = "Bonjour Léa, c’est le printemps ! STOP au 36111"
_SEND = (
    1, 2, 3, 4, "+33612345678", "send", Basis.CONSENT, None, None, "metropole", "Europe/Paris",
    "75011", "2026-12-01 09:00:00.000000", 1, "UCS-2", "’", _TEXT, b"\x01" * 16, 7,
    "2029-03-04 00:00:00.000000", None, None,
)  # fmt: skip
_EXCLUDE = (
    1, 2, 5, 4, "+33612345679", "exclude", None, Reason.OPTED_OUT, None, None, None, None, None,
    None, None, None, None, b"\x02" * 16, 0, None, None, None,
)  # fmt: skip


def _variants() -> list[tuple[Any, ...]]:
    """Rows as the planner writes them, as they are read back (codes as plain texts, instants
    as SQLite's text or PostgreSQL's datetimes, naive or aware), and rows differing from them
    in one value each."""
    rows: list[tuple[Any, ...]] = [_SEND, _EXCLUDE]
    send, exclude = list(_SEND), list(_EXCLUDE)
    rows.append((*send[:6], "consent", *send[7:]))  # the code as read back
    rows.append((*exclude[:7], "opted_out", *exclude[8:]))
    naive = _AT.replace(tzinfo=None)
    paris = _AT.astimezone(timezone(timedelta(hours=1)))
    for when in (naive, _AT, paris, naive + timedelta(microseconds=1)):
        row = list(send)
        row[12] = row[19] = when
        rows.append(tuple(row))
    for index, value in (
        (8, Deferral.QUIET_HOURS), (11, None), (15, None), (16, "Bonjour Léa STOP au 36111"),
        (16, None), (13, 2), (9, "martinique"), (10, "America/Martinique"), (2, 6), (0, 9),
        (20, "A"), (21, "rest"),
    ):  # fmt: skip
        row = list(send)
        row[index] = value
        rows.append(tuple(row))
    tested = list(send)
    tested[20:22] = ["B", "test"]
    rows.append(tuple(tested))
    return rows


def test_plan_row_seals_match_the_encoding_whatever_was_remembered_before() -> None:
    sealer = Sealer(b"k" * 32)
    rows = _variants()
    for _ in range(2):  # the second pass meets every remembered part again
        for row in [*rows, *reversed(rows)]:
            assert sealer.plan_row(row) == _plain_plan_seal(sealer, row), row
    assert len({sealer.plan_row(row) for row in rows}) == len(
        {_plain_plan_seal(sealer, row) for row in rows}
    )


@pytest.mark.parametrize("size", [0, 1, 16, 32, 63, 64, 65, 128])
def test_phone_hash_is_hmac_sha256_under_the_advertisers_key(size: int) -> None:
    key = bytes(range(size))
    advertiser = cast(Advertiser, SimpleNamespace(hash_key=key))
    for number in ("+33612345678", "+33700000000", "+590690123456", ""):
        expected = hmac.digest(key, number.encode(), "sha256")
        assert phone_hash(advertiser, number) == expected
        assert phone_hash(advertiser, number) == expected  # the key's hashes begun once


def test_fold_set_of_several_members_is_remembered_alike() -> None:
    for items in (["VIP", "newsletter"], ("Électroménager ", "", "vip", "VIP"), ["a", "b", "c"]):
        expected = frozenset(f for f in (fold(i) for i in items) if f)
        assert fold_set(items) == expected
        assert fold_set(items) == expected
        assert fold_set(iter(items)) == expected


def test_missing_names_only_placeholders_without_a_default() -> None:
    template = parse_template("{prenom} {ville|chez vous} {code}, {prenom}")
    assert [p.name for p in template.required] == ["prenom", "code", "prenom"]
    assert template.missing({"prenom": "Léa"}) == ("code",)
    assert template.missing({}) == ("prenom", "code", "prenom")
    with_defaults = parse_template("{prenom|} {ville|chez vous}")
    assert with_defaults.required == ()
    assert with_defaults.missing({}) == ()
