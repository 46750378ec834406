"""Advertisers (tenants): create, update, list, show. Sender IDs and the STOP number checked by
the core; a sender ID belongs to one advertiser on the whole platform."""

import re
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, insert, select
from sqlalchemy import update as update_
from sqlalchemy.exc import IntegrityError

from tambour import keys as process_keys
from tambour.keys import Keys
from tambour.rules.content import sender_id_problem, stop_number_problem
from tambour.rules.facts import AdvertiserFacts
from tambour.rules.fold import fold_set
from tambour.rules.template import control_character
from tambour.services import audit, installation
from tambour.services.context import (
    ConflictError,
    Context,
    NotFoundError,
    Problem,
    refuse_any,
)
from tambour.store.engine import reader
from tambour.store.tables import advertisers, sender_ids

_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
SUPPRESSION_PURPOSE = "suppression"

# What a refusal says, by its code (the parameter it is about is said by each entry point).
TEXTS: Final = {
    "invalid_slug": "slug {slug!r}: lower-case letters, digits and dashes, up to 64",
    "name_required": "the legal name is required",
    "name_empty": "the legal name cannot be empty",
    "sender_required": "at least one brand sender ID is required",
    "phone_in_text": "{text!r} holds a phone number",
    "advertiser_exists": "an advertiser {slug!r} exists already",
    "id_and_clear": "a new non-commercial ID and its removal: choose one",
    "nothing_to_change": (
        "nothing to change: give a new name, ID, sender, categories or contact details"
    ),
    "invalid_email": "{value!r} is not an e-mail address (name@domain.fr)",
    "value_too_long": "longer than {limit} characters",
    "sender_taken": (
        "{senders} is the sender ID of another advertiser already (a sender ID belongs to one "
        "advertiser on the platform, whatever its case)"
    ),
    "sender_just_taken": (
        "one of these sender IDs was just given to another advertiser (a sender ID belongs to "
        "one advertiser on the platform)"
    ),
    "advertiser_not_found": "no advertiser {slug!r}",
    "invalid_siren": "{value!r}: not a valid SIREN (its check digit is wrong)",
    "invalid_non_commercial_id": (
        "{value!r} is neither an RNA number (W followed by 9 digits, e.g. W751234567) "
        "nor a SIREN (9 digits)"
    ),
}


# The controller's contact details (GDPR Art. 30(1)(a)), each optional, by column, with the
# longest value the column takes; the e-mail addresses are checked as such.
CONTACT_FIELDS: Final = {"address": 300, "contact_email": 254, "dpo_name": 200, "dpo_email": 254}
_EMAILS: Final = frozenset({"contact_email", "dpo_email"})
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


@dataclass(frozen=True, slots=True)
class Advertiser:
    id: int
    slug: str
    name: str
    senders: tuple[str, ...]
    stop_number: str | None
    categories: tuple[str, ...]
    hash_key: bytes = field(repr=False)  # of the suppression list: see suppression_key
    created_at: datetime
    non_commercial_id: str | None = None  # RNA or SIREN: may send `non_commercial` campaigns
    stop_link: bool = False  # every prospection message ends with its one-click opt-out link
    # The controller's contact details and data-protection officer (its record of processing);
    # None: not given.
    address: str | None = None
    contact_email: str | None = None
    dpo_name: str | None = None
    dpo_email: str | None = None

    @property
    def facts(self) -> AdvertiserFacts:
        return AdvertiserFacts(
            slug=self.slug,
            name=self.name,
            senders=self.senders,
            stop_number=self.stop_number,
            categories=fold_set(self.categories),
            non_commercial_id=self.non_commercial_id,
            stop_link=self.stop_link,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "name": self.name,
            "senders": list(self.senders),
            "stop_number": self.stop_number,
            "categories": list(self.categories),
            "non_commercial_id": self.non_commercial_id,
            "stop_link": self.stop_link,
            "address": self.address,
            "contact_email": self.contact_email,
            "dpo_name": self.dpo_name,
            "dpo_email": self.dpo_email,
            "created_at": self.created_at.isoformat(),
        }


def create(
    ctx: Context,
    *,
    slug: str,
    name: str,
    senders: list[str],
    stop_number: str,
    categories: list[str],
    non_commercial_id: str | None = None,
    contact: Mapping[str, str] | None = None,
) -> Advertiser:
    """A new advertiser (audited). `contact`: its contact details by CONTACT_FIELDS' names
    (an empty value: not given). Refused, with every problem found: a bad slug, name, STOP
    number, sender ID, non-commercial ID or contact detail (InvalidInputError); a slug or a
    sender ID taken (ConflictError)."""
    problems = []
    if not _SLUG.fullmatch(slug):
        problems.append(Problem("slug", "invalid_slug", TEXTS["invalid_slug"].format(slug=slug)))
    if not name.strip():
        problems.append(Problem("name", "name_required", TEXTS["name_required"]))
    stop_problem = stop_number_problem(stop_number)
    if stop_problem:
        problems.append(Problem("stop_number", "invalid_stop_number", stop_problem))
    facts = AdvertiserFacts(slug=slug, name=name, senders=tuple(senders), stop_number=stop_number)
    if not senders:
        problems.append(Problem("senders", "sender_required", TEXTS["sender_required"]))
    problems.extend(_sender_problems("senders", senders, facts))
    named = [("slug", slug), ("name", name), *_items("categories", categories)]
    problems.extend(_phone_problems(named))
    registered = None
    if non_commercial_id is not None:
        registered, problem = _non_commercial_problem(non_commercial_id)
        problems.extend(problem)
    given, contact_problems = contact_values(contact or {})
    problems.extend(contact_problems)
    refuse_any(problems)
    now = ctx.now()
    brand_senders = _brand_senders(senders)
    with _unique_senders("senders"), ctx.engine.begin() as conn:
        installation.adopt_key(conn, ctx.keys)
        if conn.execute(select(advertisers.c.id).where(advertisers.c.slug == slug)).first():
            raise ConflictError(
                TEXTS["advertiser_exists"].format(slug=slug), code="advertiser_exists", field="slug"
            )
        _refuse_taken(conn, brand_senders, owner=None, field="senders")
        advertiser_id = conn.execute(
            insert(advertisers).returning(advertisers.c.id),
            {
                "slug": slug,
                "name": name.strip(),
                "stop_number": stop_number,
                "categories": categories,
                "window": None,
                "non_commercial_id": registered,
                "created_at": now,
                **given,
            },
        ).scalar_one()
        # A random suppression key, stored only wrapped under the installation's key.
        conn.execute(
            update_(advertisers)
            .where(advertisers.c.id == advertiser_id)
            .values(hash_key=stored_key(ctx.keys, advertiser_id, secrets.token_bytes(32)))
        )
        _insert_senders(conn, advertiser_id, brand_senders)
        details: dict[str, Any] = {
            "slug": slug,
            "senders": brand_senders,
            "categories": categories,
        }
        if registered is not None:
            details["non_commercial_id"] = _audited_id(registered)
        if any(given.values()):
            details["contact"] = sorted(name for name, value in given.items() if value)
        audit.append(
            conn,
            actor=ctx.actor,
            action="advertiser.create",
            advertiser_id=advertiser_id,
            details=details,
            at=now,
        )
        return _load(conn, slug)


def update(
    ctx: Context,
    slug: str,
    *,
    name: str | None = None,
    non_commercial_id: str | None = None,
    clear_non_commercial: bool = False,
    add_senders: Sequence[str] = (),
    categories: list[str] | None = None,
    stop_link: bool | None = None,
    contact: Mapping[str, str] | None = None,
) -> Advertiser:
    """Change an advertiser's name, non-commercial registration, categories, whether its
    prospection messages end with their one-click opt-out link (`stop_link`), its contact
    details (`contact`, by CONTACT_FIELDS' names: those given change, an empty value removes
    one), or add sender IDs (a sender ID is never taken away: past campaigns and plans name
    it). Audited with what changed, from what (contact details by name only: an address is
    no business of the audit log). Refused like `create`; NotFoundError for an unknown slug."""
    problems = []
    if non_commercial_id is not None and clear_non_commercial:
        problems.append(
            Problem("clear_non_commercial", "conflicting_arguments", TEXTS["id_and_clear"])
        )
    if (
        name is None
        and non_commercial_id is None
        and not clear_non_commercial
        and not add_senders
        and categories is None
        and stop_link is None
        and not contact
    ):
        problems.append(Problem(None, "nothing_to_change", TEXTS["nothing_to_change"]))
    if name is not None and not name.strip():
        problems.append(Problem("name", "name_required", TEXTS["name_empty"]))
    registered = None
    if non_commercial_id is not None:
        registered, problem = _non_commercial_problem(non_commercial_id)
        problems.extend(problem)
    named = [("name", name or ""), *_items("categories", categories or [])]
    problems.extend(_phone_problems(named))
    given, contact_problems = contact_values(contact or {})
    problems.extend(contact_problems)
    refuse_any(problems)
    now = ctx.now()
    with _unique_senders("add_senders"), ctx.engine.begin() as conn:
        installation.adopt_key(conn, ctx.keys)
        before = _load(conn, slug)
        facts = replace(before.facts, senders=(*before.facts.senders, *add_senders))
        refuse_any(_sender_problems("add_senders", list(add_senders), facts))
        has = {s.upper() for s in before.senders}
        new_senders = [s for s in _brand_senders(list(add_senders)) if s not in has]
        _refuse_taken(conn, new_senders, owner=before.id, field="add_senders")
        values: dict[str, Any] = {}
        changes: dict[str, Any] = {}
        if name is not None and name.strip() != before.name:
            values["name"] = name.strip()
            changes["name"] = {"from": before.name, "to": name.strip()}
        if categories is not None and list(categories) != list(before.categories):
            values["categories"] = categories
            changes["categories"] = {"from": list(before.categories), "to": categories}
        if stop_link is not None and stop_link != before.stop_link:
            values["stop_link"] = stop_link
            changes["stop_link"] = {"from": before.stop_link, "to": stop_link}
        for field_name, value in given.items():
            if value != getattr(before, field_name):
                values[field_name] = value
                changes[field_name] = {"set": value is not None}
        wanted_id = None if clear_non_commercial else registered
        if (registered is not None or clear_non_commercial) and (
            wanted_id != before.non_commercial_id
        ):
            values["non_commercial_id"] = wanted_id
            changes["non_commercial_id"] = {
                "from": _audited_id(before.non_commercial_id),
                "to": _audited_id(wanted_id),
            }
        if values:
            conn.execute(update_(advertisers).where(advertisers.c.id == before.id).values(values))
        if new_senders:
            _insert_senders(conn, before.id, new_senders)
            changes["senders_added"] = new_senders
        if changes:
            audit.append(
                conn,
                actor=ctx.actor,
                action="advertiser.update",
                advertiser_id=before.id,
                details={"slug": slug, "changes": changes},
                at=now,
            )
        return _load(conn, slug)


_RNA = re.compile(r"W\d{9}")
_SIREN = re.compile(r"\d{9}")


def parse_non_commercial_id(value: str) -> tuple[str, str | None]:
    """An association's RNA number (W and 9 digits, W751234567) or a SIREN (9 digits whose
    Luhn sum checks), as stored (upper case, no spaces); with what is wrong, or None."""
    given = re.sub(r"[\s.\u00a0\u202f]", "", value).upper()
    if _RNA.fullmatch(given):
        return given, None
    if _SIREN.fullmatch(given):
        if _luhn_valid(given):
            return given, None
        return given, TEXTS["invalid_siren"].format(value=value)
    return given, TEXTS["invalid_non_commercial_id"].format(value=value)


def _non_commercial_problem(value: str) -> tuple[str, list[Problem]]:
    registered, problem = parse_non_commercial_id(value)
    if problem is None:
        return registered, []
    return registered, [Problem("non_commercial_id", "invalid_non_commercial_id", problem)]


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def _audited_id(registered: str | None) -> str | None:
    """How the audit log names the ID: a bare SIREN reads as a phone number there (nine
    digits standing alone), and the log refuses phone numbers; `SIREN732829320` does not."""
    if registered is None or registered.startswith("W"):
        return registered
    return f"SIREN{registered}"


def contact_values(given: Mapping[str, str]) -> tuple[dict[str, str | None], list[Problem]]:
    """The contact details given (CONTACT_FIELDS' names), as stored: stripped, an empty one as
    None (removed); with what is wrong with each: an unknown name, a value too long, an
    e-mail address that is none, a phone number in a text (the audit log refuses them)."""
    values: dict[str, str | None] = {}
    problems = []
    for field_name, raw in given.items():
        limit = CONTACT_FIELDS.get(field_name)
        if limit is None:
            raise ValueError(f"no contact detail {field_name!r}")  # a caller's mistake
        value = raw.strip() or None
        values[field_name] = value
        if value is None:
            continue
        if len(value) > limit:
            said = TEXTS["value_too_long"].format(limit=limit)
            problems.append(Problem(field_name, "value_too_long", said))
        elif field_name in _EMAILS and (not _EMAIL.fullmatch(value) or control_character(value)):
            said = TEXTS["invalid_email"].format(value=value)
            problems.append(Problem(field_name, "invalid_email", said))
        elif problem := control_character(value, allowed="\n"):
            problems.append(Problem(field_name, "control_character", problem))
        else:
            problems.extend(_phone_problems([(field_name, value)]))
    return values, problems


def _items(field: str, values: Iterable[str]) -> list[tuple[str, str]]:
    """(`field[i]`, value) for each value of a list argument."""
    return [(f"{field}[{index}]", value) for index, value in enumerate(values)]


def _phone_problems(named: Iterable[tuple[str, str]]) -> list[Problem]:
    return [
        Problem(field, "phone_in_text", TEXTS["phone_in_text"].format(text=text))
        for field, text in named
        if audit.looks_like_phone(text)
    ]


def _sender_problems(field: str, senders: list[str], facts: AdvertiserFacts) -> list[Problem]:
    return [
        Problem(where, "invalid_sender", problem)
        for where, sender in _items(field, senders)
        if (problem := sender_id_problem(sender, facts))
    ]


def _brand_senders(senders: list[str]) -> list[str]:
    """The sender IDs to record, upper-cased, once each. The numeric short number is not one:
    it is the advertiser's `stop_number`, which advertisers may share (one STOP number for
    several brands), and a campaign may use it as its sender anyway."""
    return list(dict.fromkeys(s.upper() for s in senders if not s.isdigit()))


def _refuse_taken(conn: Connection, senders: list[str], owner: int | None, field: str) -> None:
    """Refuse sender IDs another advertiser has (a sender ID names one advertiser on the
    whole platform, whatever its case). Which advertiser is not said: tenants are private."""
    if not senders:
        return
    taken = select(sender_ids.c.sender_key).where(sender_ids.c.sender_key.in_(senders))
    if owner is not None:
        taken = taken.where(sender_ids.c.advertiser_id != owner)
    found = sorted(conn.execute(taken).scalars())
    if found:
        said = TEXTS["sender_taken"].format(senders=", ".join(found))
        raise ConflictError(said, code="sender_taken", field=field)


def _insert_senders(conn: Connection, advertiser_id: int, senders: list[str]) -> None:
    if senders:
        conn.execute(
            insert(sender_ids),
            [{"advertiser_id": advertiser_id, "sender": s, "sender_key": s} for s in senders],
        )


@contextmanager
def _unique_senders(field: str) -> Iterator[None]:
    """Two advertisers given one sender ID at the same instant (PostgreSQL, READ COMMITTED):
    the checks of both passed, the unique index refuses the second."""
    try:
        yield
    except IntegrityError as error:
        if "sender_key" not in str(error.orig):
            raise
        raise ConflictError(TEXTS["sender_just_taken"], code="sender_taken", field=field) from None


def _load(conn: Connection, slug: str) -> Advertiser:
    row = conn.execute(select(advertisers).where(advertisers.c.slug == slug)).first()
    if row is None:
        raise NotFoundError(
            TEXTS["advertiser_not_found"].format(slug=slug),
            code="advertiser_not_found",
            field="slug",
        )
    return _built([row], conn)[row.id]


def suppression_key(keys: Keys, advertiser_id: int, stored: bytes | None) -> bytes:
    """The key of an advertiser's suppression-list hashes, never in the database in clear:
    the row stores it XOR-ed with HMAC-SHA256 of `advertiser:<id>` under the installation key
    (tambour/keys.py), which is outside the database; without that key the stored value is no
    key at all. The key itself is random (drawn at creation; for a database made before the
    installation key, the one its hashes were made with, which erased numbers cannot be
    hashed again from, wrapped by `tambour db upgrade`), so that a rotation of the installation
    key (`tambour keys rotate`) wraps it again and the old installation key alone opens
    nothing. A row without one (None) has the pad itself as its key."""
    return keys.wrap(SUPPRESSION_PURPOSE, _label(advertiser_id), stored or bytes(32))


def stored_key(keys: Keys, advertiser_id: int, key: bytes) -> bytes:
    """What an advertiser row stores so that `suppression_key(keys, id, it)` is `key`."""
    return keys.wrap(SUPPRESSION_PURPOSE, _label(advertiser_id), key)


def _label(advertiser_id: int) -> bytes:
    return b"advertiser:%d" % advertiser_id


def _built(rows: Iterable[Any], conn: Connection) -> dict[int, Advertiser]:
    """Advertisers from their rows, with their sender IDs (one query for all of them), and
    their suppression keys, under the process's key (tambour/keys.py), once it is checked to
    be the database's: a worker left running across a key rotation stops here rather than
    read every key wrong and miss opt-outs."""
    found = list(rows)
    senders: dict[int, list[str]] = {row.id: [] for row in found}
    if not senders:
        return {}
    keys = process_keys.current()
    installation.check_key(conn, keys)
    for advertiser_id, sender in conn.execute(
        select(sender_ids.c.advertiser_id, sender_ids.c.sender)
        .where(sender_ids.c.advertiser_id.in_(list(senders)))
        .order_by(sender_ids.c.id)
    ):
        senders[advertiser_id].append(sender)
    return {
        row.id: Advertiser(
            id=row.id,
            slug=row.slug,
            name=row.name,
            senders=tuple(senders[row.id]),
            stop_number=row.stop_number,
            categories=tuple(row.categories),
            hash_key=suppression_key(keys, row.id, row.hash_key),
            created_at=row.created_at,
            non_commercial_id=row.non_commercial_id,
            stop_link=bool(row.stop_link),
            address=row.address,
            contact_email=row.contact_email,
            dpo_name=row.dpo_name,
            dpo_email=row.dpo_email,
        )
        for row in found
    }


def by_ids(conn: Connection, ids: Iterable[int]) -> dict[int, Advertiser]:
    """The advertisers with these ids (unknown ids are left out), in two queries."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return _built(conn.execute(select(advertisers).where(advertisers.c.id.in_(wanted))), conn)


def get(conn: Connection, slug: str) -> Advertiser:
    return _load(conn, slug)


def list_all(ctx: Context) -> list[Advertiser]:
    with reader(ctx.engine) as conn:
        slugs = conn.execute(select(advertisers.c.slug).order_by(advertisers.c.slug)).scalars()
        return [_load(conn, slug) for slug in list(slugs)]


def show(ctx: Context, slug: str) -> Advertiser:
    """One advertiser, by its slug (NotFoundError when there is none)."""
    with reader(ctx.engine) as conn:
        return _load(conn, slug)


def page(
    ctx: Context, *, after: str | None = None, limit: int = 50, only: int | None = None
) -> list[Advertiser]:
    """Up to `limit` advertisers in slug order, those after `after` (a page of a list);
    `only`: the advertiser of this id alone (a tenant's view)."""
    with reader(ctx.engine) as conn:
        query = select(advertisers).order_by(advertisers.c.slug).limit(limit)
        if after is not None:
            query = query.where(advertisers.c.slug > after)
        if only is not None:
            query = query.where(advertisers.c.id == only)
        rows = list(conn.execute(query))
        built = _built(rows, conn)
        return [built[row.id] for row in rows]
