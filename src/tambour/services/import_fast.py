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

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from hashlib import blake2b
from itertools import compress
from json.encoder import encode_basestring
from operator import is_, itemgetter
from typing import Any

from tambour.contacts.ledger import profile_hash
from tambour.contacts.reader import FileFormat
from tambour.contacts.row import (
    CANONICAL_COLUMNS,
    COLUMN_PARSERS,
    SEVERAL_NUMBERS,
    TEXT_COLUMNS,
)
from tambour.contacts.values import PARIS, parse_datetime
from tambour.rules.codes import ContactKind, OptOutSource
from tambour.sms.phone import parse_phone
from tambour.store.bulk import copy_time

CACHE_LIMIT = 20_000  # distinct values kept per column (a few MB); a full cache starts again

# A parsed date as the import needs it: the instant (naive UTC: cheaper to make, and all that
# is needed of it but for oppositions), its fingerprint text, its stored form.
Stamp = tuple[datetime, str, Any]
PreparedEvent = tuple[str, Any, str, bytes, tuple[str, datetime | None] | None]
FastRow = tuple[str, str | None, str, bytes, tuple[PreparedEvent, ...]]

# The canonical columns the preparer reads, in the order it unpacks them.
_PARSED = (
    "kind", "profession_tags", "postal_code", "tags", "consent", "consent_at",
    "consent_channels", "consent_checkbox_prechecked", "consent_bundled_with_terms",
    "collected_at", "informed_at_collection", "objection_offered_at_collection",
    "account_created_at", "last_purchase_at", "purchased_categories", "opted_out",
    "opted_out_at", "opt_out_source", "last_activity_at", "member_since",
)  # fmt: skip
_TEXTS = (
    "external_id", "first_name", "last_name", "company", "consent_method", "consent_advertiser",
    "consent_wording", "consent_source", "consent_proof", "collected_by",
    "third_party_information_proof",
)  # fmt: skip
assert set(_PARSED) | set(_TEXTS) | {"phone"} == set(CANONICAL_COLUMNS)
assert set(_TEXTS) == TEXT_COLUMNS
# What the import counts of the rows it accepts, to tell the user when a file grounds no legal
# basis (`PreparedBatch.facts`): rows stating a consent given, one without a date, one with
# neither method nor wording (`consent_unproven`), a purchase, a collection, a membership, a
# professional contact.
FACTS = (
    "consent", "consent_undated", "consent_unproven", "purchase", "collection", "membership",
    "professional",
)  # fmt: skip
CONSENT, UNDATED, UNPROVEN, PURCHASE, COLLECTION, MEMBERSHIP, PROFESSIONAL = range(len(FACTS))
_MISS = object()  # a cell value not parsed yet
_MISSES = (_MISS,) * len(_PARSED)
_POSITIONS = range(len(_PARSED))
_PERSON = ContactKind.PERSON.value
_PROFESSIONAL = ContactKind.PROFESSIONAL
_COMPLAINT = OptOutSource.COMPLAINT_33700
_MANUAL = OptOutSource.MANUAL.value
_str = encode_basestring  # the function canonical_json quotes strings with (ensure_ascii off)


def _list(values: tuple[str, ...]) -> str:
    return "[" + ",".join(map(_str, values)) + "]"


_offsets: dict[str, timedelta | None] = {}
_YEARS = (1900, 2200)
_EPOCH = datetime(1970, 1, 1)


class _InTheFutureError(ValueError):
    """A date after the import's tolerance: the reference path rejects the row, if it must."""


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


def _event(
    kind: str,
    stamp: Stamp | None,
    data_json: str = "{}",
    opposition: tuple[str, datetime | None] | None = None,
) -> PreparedEvent:
    """A fact with its fingerprint, as `Evidence.fingerprint`: kind, POSIX timestamp, data JSON."""
    if stamp is None:
        key = f"{kind}||{data_json}".encode()
        return (kind, None, data_json, blake2b(key, digest_size=16).digest(), opposition)
    key = f"{kind}|{stamp[1]}|{data_json}".encode()
    return (kind, stamp[2], data_json, blake2b(key, digest_size=16).digest(), opposition)


class RowPreparer:
    """Compiled for one file layout and one database dialect; call it with a row's cells."""

    def __init__(self, fmt: FileFormat, dialect: str, latest: datetime) -> None:
        names = [c for c in fmt.columns if c is not None]
        # Two columns of one name: the reference keeps the last non-empty one; not worth a
        # fast path of its own.
        self.usable = "phone" in names and len(set(names)) == len(names)
        self.dialect = dialect
        self.sqlite = dialect == "sqlite"
        self.latest = latest.astimezone(UTC).replace(tzinfo=None)  # a fact after it: the reference
        where = {column: i for i, column in enumerate(fmt.columns) if column is not None}
        absent = len(fmt.columns)  # a column the file lacks reads an empty cell, put there
        self.padded = any(column not in where for column in CANONICAL_COLUMNS)
        self.phone = where.get("phone", absent)
        self.texts = itemgetter(*(where.get(c, absent) for c in _TEXTS))
        self.raw_values = itemgetter(*(where.get(c, absent) for c in _PARSED))
        self.parsers: list[Callable[[str], Any]] = [
            self._stamp
            if COLUMN_PARSERS[column][1] is parse_datetime
            else COLUMN_PARSERS[column][1]
            for column in _PARSED
        ]
        self.caches: list[dict[str, Any]] = [{"": None} for _ in _PARSED]
        self.tally = [0] * len(FACTS)  # of the rows accepted since the caller last reset it
        extras = sorted((c, i) for c, i in where.items() if c and c not in COLUMN_PARSERS)
        extras = [(c, i) for c, i in extras if c != "phone"]
        # JSON key order, each name quoted once
        self.extras = [(index, _str(name) + ":") for name, index in extras]

    def _values(self, raws: tuple[str, ...]) -> list[Any]:
        """The parsed value of each of `_PARSED`: each distinct cell is parsed once. Raises
        ValueError for a cell its parser refuses (the reference path says why)."""
        values = list(map(dict.get, self.caches, raws, _MISSES))
        for i in compress(_POSITIONS, map(is_, values, _MISSES)):  # the cells not seen yet
            cache = self.caches[i]
            if len(cache) >= CACHE_LIMIT:
                cache.clear()
                cache[""] = None
            values[i] = cache[raws[i]] = self.parsers[i](raws[i])
        return values

    def _stamp(self, raw: str) -> Stamp | None:
        """`parse_datetime` for the two forms exports use most, `2024-03-15` and
        `2024-03-15T10:30:00` (or with a space), in Paris time; everything else through it.

        `parse_datetime` converts with `astimezone`, which looks the zone up again for every
        value: here Paris's offset is looked up once per day, and days on which it changes go
        through `parse_datetime` as well. The equivalence tests sweep both changes of a year."""
        text = raw.strip()
        size = len(text)
        naive = None
        if (size == 10 or (size == 19 and text[10] in "T " and text[13] == ":" == text[16])) and (
            text[4] == "-" == text[7]
        ):
            try:  # noqa: SIM105 - contextlib.suppress costs a microsecond here, on the hot path
                naive = datetime.fromisoformat(text)
            except ValueError:
                pass
        if naive is not None and _YEARS[0] <= naive.year <= _YEARS[1]:  # far off: the reference
            offset = _paris_offset(text[:10], naive)
            if offset is not None:
                utc = naive - offset
                if utc > self.latest:
                    raise _InTheFutureError(text)
                stored = utc.isoformat(" ", "microseconds") if self.sqlite else utc  # copy_time
                return (utc, repr((utc - _EPOCH).total_seconds()), stored)
        parsed = parse_datetime(raw)
        if parsed is None:
            return None
        utc = parsed.replace(tzinfo=None)
        if utc > self.latest:
            raise _InTheFutureError(text)
        return (utc, repr(parsed.timestamp()), copy_time(self.dialect, parsed))

    def __call__(self, cells: list[str]) -> FastRow | None:
        """(e164, stated kind, profile JSON, profile hash, events), or None: use the reference.

        Mirrors `check_record`, `profile_of` and `evidence_of`; a change there must be made
        here too (the equivalence tests fail until it is). An empty text is "" here, None
        there: both are left out alike."""
        if self.padded:
            cells = [*cells, ""]
        phone_raw = cells[self.phone].strip()
        if not phone_raw or SEVERAL_NUMBERS.search(phone_raw):
            return None
        info = parse_phone(phone_raw)
        if info.e164 is None or not info.valid:
            return None
        try:
            values = self._values(self.raw_values(cells))
        except ValueError:
            return None
        (
            kind, profession_tags, postal_code, tags, consent, consent_at, channels, prechecked,
            bundled, collected_at, informed, objection_offered, account_created_at,
            last_purchase_at, purchased_categories, opted_out, opted_out_at, opt_out_source,
            last_activity_at, member_since,
        ) = values  # fmt: skip
        (
            external_id, first_name, last_name, company, method, advertiser, wording, source,
            proof, collected_by, third_party_proof,
        ) = map(str.strip, self.texts(cells))  # fmt: skip

        parts = []
        if company:
            parts.append('"company":' + _str(company))
        if external_id:
            parts.append('"external_id":' + _str(external_id))
        if self.extras:
            fields = []
            for index, name in self.extras:
                raw = cells[index]
                if raw:
                    raw = raw.strip()
                    if raw:
                        fields.append(name + _str(raw))
            if fields:
                parts.append('"fields":{' + ",".join(fields) + "}")
        if first_name:
            parts.append('"first_name":' + _str(first_name))
        if last_name:
            parts.append('"last_name":' + _str(last_name))
        if postal_code:
            parts.append('"postal_code":' + _str(postal_code))
        if profession_tags:
            parts.append('"profession_tags":' + _list(profession_tags))
        if tags:
            parts.append('"tags":' + _list(tags))
        profile_json = "{" + ",".join(parts) + "}"
        stated = kind.value if kind is not None else None
        digest = profile_hash(stated or _PERSON, profile_json)

        tally = self.tally
        if kind is _PROFESSIONAL:
            tally[PROFESSIONAL] += 1
        events: list[PreparedEvent] = []
        if consent is True:
            tally[CONSENT] += 1
            if consent_at is None:
                tally[UNDATED] += 1
            if not method and not wording:
                tally[UNPROVEN] += 1
            parts = []
            if advertiser:
                parts.append('"advertiser":' + _str(advertiser))
            if bundled:
                parts.append('"bundled_with_terms":true')
            parts.append('"channels":' + _list(tuple(sorted(channels or ("sms",)))))
            if method:
                parts.append('"method":' + _str(method))
            if prechecked:
                parts.append('"prechecked":true')
            if proof:
                parts.append('"proof":' + _str(proof))
            if source:
                parts.append('"source":' + _str(source))
            if wording:
                parts.append('"wording":' + _str(wording))
            events.append(_event("consent_given", consent_at, "{" + ",".join(parts) + "}"))
        elif consent is False:
            events.append(_event("consent_withdrawn", consent_at))
        parts = []
        if collected_by:
            parts.append('"by":' + _str(collected_by))
        if informed:
            parts.append('"informed":true')
        if objection_offered:
            parts.append('"objection_offered":true')
        if third_party_proof:
            parts.append('"third_party_proof":' + _str(third_party_proof))
        if parts or collected_at is not None:
            tally[COLLECTION] += 1
            events.append(_event("collected", collected_at, "{" + ",".join(parts) + "}"))
        if account_created_at is not None:
            events.append(_event("account_created", account_created_at))
        if last_purchase_at is not None or purchased_categories:
            tally[PURCHASE] += 1
            data_json = (
                '{"categories":' + _list(purchased_categories) + "}"
                if purchased_categories
                else "{}"
            )
            events.append(_event("purchase", last_purchase_at, data_json))
        if last_activity_at is not None:
            events.append(_event("activity", last_activity_at))
        if member_since is not None:
            tally[MEMBERSHIP] += 1
            events.append(_event("membership", member_since))
        if opted_out or opt_out_source is not None or (opted_out is None and opted_out_at):
            kind_value = "complaint" if opt_out_source is _COMPLAINT else "opt_out"
            source_value = opt_out_source.value if opt_out_source is not None else _MANUAL
            stamp = opted_out_at
            data_json = '{"source":' + _str(source_value) + "}"
            opposition = (source_value, stamp[0].replace(tzinfo=UTC) if stamp else None)
            events.append(_event(kind_value, stamp, data_json, opposition))
        return (info.e164, stated, profile_json, digest, tuple(events))
