"""The fast path of an import's preparation: a plan compiled once per file layout that turns the
raw cells of an ordinary row straight into what the database stores.

The reference path (`check_record`, then `evidence_of` and `profile_of`) builds a typed row and
evidence objects, then their JSON and fingerprints: about 50 us a row, most of an import's time.
Here the same parsers run once per distinct cell value (files repeat their dates, booleans,
tags and methods), and the stored form is built without the intermediate objects.

The fast path only ever accepts: a row it is not sure of (any cell its cache does not know and
its parser refuses, a phone number that is missing, invalid or doubled, a date in the future)
returns None and goes through the reference path, which says why it is rejected. Its output is
tested to be identical to the reference's, row for row (tests/unit/test_import_fast.py).
"""

import hashlib
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring
from typing import Any

from tambour.contacts.ledger import profile_hash
from tambour.contacts.reader import FileFormat
from tambour.contacts.row import COLUMN_PARSERS, SEVERAL_NUMBERS, TEXT_COLUMNS
from tambour.contacts.values import PARIS, parse_datetime
from tambour.rules.codes import ContactKind, OptOutSource
from tambour.sms.phone import parse_phone
from tambour.store.bulk import sqlite_time

CACHE_LIMIT = 100_000  # distinct values kept per column; a full cache starts again empty

# A parsed date as the import needs it: the instant, its fingerprint text, its stored form.
Stamp = tuple[datetime, str, object]
PreparedEvent = tuple[str, object, str, bytes, tuple[str, datetime | None] | None]
FastRow = tuple[str, str | None, str, bytes, tuple[PreparedEvent, ...]]

_DATE_ATTRIBUTES = (
    "consent_at", "collected_at", "account_created_at", "last_purchase_at", "opted_out_at",
    "last_activity_at",
)  # fmt: skip
# Profile attributes in the order canonical JSON writes them (sorted).
_PROFILE_ATTRIBUTES = (
    "company", "external_id", "first_name", "last_name", "postal_code", "profession_tags", "tags",
)  # fmt: skip
# Attributes in the order of their JSON keys (canonical JSON sorts keys), and those keys.
_CONSENT_ATTRIBUTES = (
    "consent_advertiser", "consent_bundled_with_terms", "consent_channels", "consent_method",
    "consent_prechecked", "consent_proof", "consent_source", "consent_wording",
)  # fmt: skip
_COLLECTION_ATTRIBUTES = (
    "collected_by", "informed_at_collection", "objection_offered_at_collection",
    "third_party_information_proof",
)  # fmt: skip
_KEYS = {
    **{a: f'"{a}":' for a in _PROFILE_ATTRIBUTES},
    **{a: f'"{a.removeprefix("consent_")}":' for a in _CONSENT_ATTRIBUTES},
    "consent_prechecked": '"prechecked":',
    "collected_by": '"by":', "informed_at_collection": '"informed":',
    "objection_offered_at_collection": '"objection_offered":',
    "third_party_information_proof": '"third_party_proof":',
}  # fmt: skip
_str = encode_basestring  # the function canonical_json quotes strings with (ensure_ascii off)


def _list(values: tuple[str, ...]) -> str:
    return "[" + ",".join(map(_str, values)) + "]"


_COMPLAINT = OptOutSource.COMPLAINT_33700
_MANUAL = OptOutSource.MANUAL.value


_offsets: dict[str, timedelta | None] = {}
_YEARS = (1900, 2200)


def _paris_offset(day: str, naive: datetime) -> timedelta | None:
    """Paris's UTC offset all through `day` (YYYY-MM-DD), or None on a day it changes."""
    try:
        return _offsets[day]
    except KeyError:
        pass
    start = naive.replace(hour=0, minute=0, second=0)
    first = start.replace(tzinfo=PARIS).utcoffset()
    last = start.replace(hour=23, minute=59, second=59, tzinfo=PARIS).utcoffset()
    if len(_offsets) >= CACHE_LIMIT:
        _offsets.clear()
    offset = _offsets[day] = first if first == last else None
    return offset


def _fingerprint(kind: str, stamp: Stamp | None, data_json: str) -> bytes:
    """As `Evidence.fingerprint`: kind, POSIX timestamp and data JSON."""
    key = f"{kind}|{stamp[1] if stamp else ''}|{data_json}".encode()
    return hashlib.blake2b(key, digest_size=16).digest()


def _event(kind: str, stamp: Stamp | None, data_json: str = "{}") -> PreparedEvent:
    stored = stamp[2] if stamp else None
    return (kind, stored, data_json, _fingerprint(kind, stamp, data_json), None)


class RowPreparer:
    """Compiled for one file layout and one database dialect; call it with a row's cells."""

    def __init__(self, fmt: FileFormat, dialect: str) -> None:
        names = [c for c in fmt.columns if c is not None]
        # Two columns of one name: the reference keeps the last non-empty one; not worth a
        # fast path of its own.
        self.usable = "phone" in names and len(set(names)) == len(names)
        self.sqlite = dialect == "sqlite"
        self.phone = -1
        self.texts: list[tuple[int, str]] = []
        self.parsed: list[tuple[int, str, Callable[[str], Any], dict[str, Any]]] = []
        extras: list[tuple[str, int]] = []
        for index, column in enumerate(fmt.columns):
            if column is None:
                continue
            if column == "phone":
                self.phone = index
            elif column in TEXT_COLUMNS:
                self.texts.append((index, COLUMN_PARSERS[column][0]))
            elif column in COLUMN_PARSERS:
                attribute, parse = COLUMN_PARSERS[column]
                if attribute in _DATE_ATTRIBUTES:
                    parse = self._stamp
                self.parsed.append((index, attribute, parse, {}))
            elif column:
                extras.append((column, index))
        # JSON key order, each name quoted once
        self.extras = [(index, _str(name) + ":") for name, index in sorted(extras)]

    def _stamp(self, raw: str) -> Stamp | None:
        """`parse_datetime` for the two forms exports use most, `2024-03-15` and
        `2024-03-15T10:30:00` (or with a space), in Paris time; everything else through it.

        `parse_datetime` converts with `astimezone`, which looks the zone up again for every
        value: here Paris's offset is looked up once per day, and days on which it changes go
        through `parse_datetime` as well. The equivalence tests sweep both changes of a year."""
        text = raw.strip()
        size = len(text)
        naive: datetime | None = None
        if (size == 10 or (size == 19 and text[10] in "T " and text[13] == ":" == text[16])) and (
            text[4] == "-" == text[7]
        ):
            with suppress(ValueError):
                naive = datetime.fromisoformat(text)
        if naive is not None and _YEARS[0] <= naive.year <= _YEARS[1]:  # far off: the reference
            offset = _paris_offset(text[:10], naive)
            if offset is not None:
                utc = naive - offset
                at = utc.replace(tzinfo=UTC)
                stored = utc.isoformat(" ", "microseconds") if self.sqlite else at
                return (at, repr(at.timestamp()), stored)
        parsed = parse_datetime(raw)
        if parsed is None:
            return None
        return (parsed, repr(parsed.timestamp()), sqlite_time(parsed) if self.sqlite else parsed)

    def __call__(self, cells: list[str], latest: datetime) -> FastRow | None:
        """(e164, stated kind, profile JSON, profile hash, events), or None: use the reference.

        Mirrors `check_record`, `profile_of` and `evidence_of`; a change there must be made
        here too (the equivalence tests fail until it is)."""
        phone_raw = cells[self.phone].strip()
        if not phone_raw or SEVERAL_NUMBERS.search(phone_raw):
            return None
        info = parse_phone(phone_raw)
        if info.e164 is None or not info.valid:
            return None
        v: dict[str, Any] = {}
        for index, attribute in self.texts:
            raw = cells[index]
            if raw:
                raw = raw.strip()
                if raw:
                    v[attribute] = raw
        for index, attribute, parse, cache in self.parsed:
            raw = cells[index]
            if raw:
                try:
                    value = cache[raw]
                except KeyError:
                    try:
                        value = parse(raw)
                    except ValueError:
                        return None
                    if len(cache) >= CACHE_LIMIT:
                        cache.clear()
                    cache[raw] = value
                if value is not None:
                    v[attribute] = value
        for attribute in _DATE_ATTRIBUTES:
            stamp = v.get(attribute)
            if stamp is not None and stamp[0] > latest:
                return None  # the reference rejects it and names the column

        parts = []
        for attribute in _PROFILE_ATTRIBUTES:
            value = v.get(attribute)
            if value:
                parts.append(
                    _KEYS[attribute] + (_list(value) if type(value) is tuple else _str(value))
                )
            if attribute == "external_id" and self.extras:
                fields = []
                for index, name in self.extras:
                    raw = cells[index]
                    if raw:
                        raw = raw.strip()
                        if raw:
                            fields.append(name + _str(raw))
                if fields:
                    parts.append('"fields":{' + ",".join(fields) + "}")
        profile_json = "{" + ",".join(parts) + "}"
        kind = v.get("kind")
        stated = kind.value if kind is not None else None
        digest = profile_hash(stated or ContactKind.PERSON.value, profile_json)

        events: list[PreparedEvent] = []
        consent = v.get("consent")
        if consent is True:
            parts = []
            for attribute in _CONSENT_ATTRIBUTES:
                value = v.get(attribute)
                if attribute == "consent_channels":
                    parts.append('"channels":' + _list(tuple(sorted(value or ("sms",)))))
                elif value:
                    parts.append(_KEYS[attribute] + ("true" if value is True else _str(value)))
            events.append(_event("consent_given", v.get("consent_at"), "{" + ",".join(parts) + "}"))
        elif consent is False:
            events.append(_event("consent_withdrawn", v.get("consent_at")))
        parts = []
        for attribute in _COLLECTION_ATTRIBUTES:
            value = v.get(attribute)
            if value:
                parts.append(_KEYS[attribute] + ("true" if value is True else _str(value)))
        collected_at = v.get("collected_at")
        if parts or collected_at is not None:
            events.append(_event("collected", collected_at, "{" + ",".join(parts) + "}"))
        if "account_created_at" in v:
            events.append(_event("account_created", v["account_created_at"]))
        categories = v.get("purchased_categories")
        purchased_at = v.get("last_purchase_at")
        if purchased_at is not None or categories:
            data_json = '{"categories":' + _list(categories) + "}" if categories else "{}"
            events.append(_event("purchase", purchased_at, data_json))
        if "last_activity_at" in v:
            events.append(_event("activity", v["last_activity_at"]))
        source = v.get("opt_out_source")
        if v.get("opted_out") or source is not None:
            kind_value = "complaint" if source is _COMPLAINT else "opt_out"
            source_value = source.value if source is not None else _MANUAL
            stamp = v.get("opted_out_at")
            data_json = '{"source":' + _str(source_value) + "}"
            events.append(
                (kind_value, stamp[2] if stamp else None, data_json,
                 _fingerprint(kind_value, stamp, data_json),
                 (source_value, stamp[0] if stamp else None))
            )  # fmt: skip
        return (info.e164, stated, profile_json, digest, tuple(events))
