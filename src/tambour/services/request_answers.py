"""Answering a data request of the register (services/data_requests.py), each kind by its use
case, in one transaction with the register's update and its audit entry:
- access and portability: every datum held on the number (services/subject_access.py), as JSON
  data the caller hands over (the CLI writes it with its French document; the API returns it);
- objection: the number on the suppression list (source `data_request`): no more prospection
  from this advertiser, whatever the consent it gave before;
- erasure: services/erasure.py;
- rectification: the contact's identity fields corrected (a consent or an opposition is not
  rectified: it is a fact with a date, and a new fact supersedes it).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, Row, select, update

from tambour.contacts.ledger import PERSONAL_FIELDS, canonical_json, profile_hash
from tambour.rules.codes import OptOutSource
from tambour.rules.template import control_character
from tambour.services import advertisers, audit
from tambour.services.advertisers import Advertiser
from tambour.services.context import Context, InvalidInputError, Problem, refuse_any
from tambour.services.data_requests import (
    DataRequest,
    RequestKind,
    open_request,
    settle,
    view,
)
from tambour.services.erasure import Erased, erase
from tambour.services.optouts import record_optouts, tell_opted_out
from tambour.services.seals import Written, with_rows
from tambour.services.subject_access import collect
from tambour.services.views import View
from tambour.store.tables import contacts

MAX_VALUE: Final = 200
_POSTAL_CODE = re.compile(r"\d{5}")
TEXTS: Final = {
    "no_contact": "the number is not a contact of {slug}: there is nothing to rectify",
    "not_rectifiable": (
        "{field!r} cannot be rectified here: the fields are {choices}, or a custom field the "
        "contact has (a consent or an opposition is a dated fact: record a new one)"
    ),
    "no_corrections": "give at least one field to correct",
    "erasure_unconfirmed": "confirm the erasure: it cannot be undone",
    "bad_value": "{field}: {problem}",
    "bad_postal_code": "{field}: {value!r} is not a French postal code (5 digits)",
}


@dataclass(frozen=True, slots=True)
class AccessAnswer(View):
    """An access or portability request answered: the register's entry and the data."""

    request: DataRequest
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ErasureAnswer(View):
    request: DataRequest
    erased: Erased


def _start(
    conn: Connection, slug: str, request_id: int, *kinds: RequestKind
) -> tuple[Advertiser, Row[Any]]:
    advertiser = advertisers.get(conn, slug)
    return advertiser, open_request(conn, advertiser, request_id, kinds)


def answer_access(ctx: Context, *, slug: str, request_id: int) -> AccessAnswer:
    """Answer an access or portability request with everything held on the number; the
    register records when, by whom, and what kinds of data and how many of each went."""
    with ctx.engine.begin() as conn:
        advertiser, row = _start(
            conn, slug, request_id, RequestKind.ACCESS, RequestKind.PORTABILITY
        )
        data = collect(conn, advertiser, row.e164, ctx.now())
        counts = {key: len(value) for key, value in data.items() if isinstance(value, list)}
        counts["contact"] = int(data["contact"] is not None)
        settle(conn, ctx, advertiser, row, "answered", {"format": data["format"], **counts})
        return AccessAnswer(view(conn, ctx, advertiser, request_id), data)


def answer_objection(ctx: Context, *, slug: str, request_id: int) -> DataRequest:
    """Answer an objection: the number opted out of every prospection of the advertiser."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        advertiser, row = _start(conn, slug, request_id, RequestKind.OBJECTION)
        written = Written()
        record_optouts(
            conn, advertiser, [(row.e164, OptOutSource.DATA_REQUEST, now)],
            origin=f"data_request:{row.id}", actor=ctx.actor, now=now, written=written,
        )  # fmt: skip
        if written.suppressions or written.rewritten:  # not an opposition told again
            tell_opted_out(conn, advertiser, row.e164, OptOutSource.DATA_REQUEST, now, now)
        settle(conn, ctx, advertiser, row, "answered", with_rows({"opted_out": True}, written))
        return view(conn, ctx, advertiser, request_id)


def answer_erasure(ctx: Context, *, slug: str, request_id: int, confirmed: bool) -> ErasureAnswer:
    """Answer an erasure request: services/erasure.py, audited with the rows it rewrote.
    `confirmed`: the caller said it knows an erasure cannot be undone (refused otherwise,
    field `confirm`)."""
    if not confirmed:
        raise InvalidInputError("confirm", "erasure_unconfirmed", TEXTS["erasure_unconfirmed"])
    now = ctx.now()
    with ctx.engine.begin() as conn:
        advertiser, row = _start(conn, slug, request_id, RequestKind.ERASURE)
        written = Written()
        erased = erase(
            conn, advertiser, row.e164, now=now, actor=ctx.actor,
            origin=f"data_request:{row.id}", written=written,
        )  # fmt: skip
        outcome = {k: v for k, v in erased.as_dict().items() if k != "phone_ref"}
        settle(conn, ctx, advertiser, row, "answered", with_rows(outcome, written))
        return ErasureAnswer(view(conn, ctx, advertiser, request_id), erased)


def answer_rectification(
    ctx: Context, *, slug: str, request_id: int, corrections: Mapping[str, str | None]
) -> DataRequest:
    """Answer a rectification: the contact's identity fields (PERSONAL_FIELDS) or custom
    fields set to the values given (None or empty: removed). The register and the audit log
    name the fields corrected, never their values."""
    if not corrections:
        raise InvalidInputError("corrections", "no_corrections", TEXTS["no_corrections"])
    now = ctx.now()
    with ctx.engine.begin() as conn:
        advertiser, row = _start(conn, slug, request_id, RequestKind.RECTIFICATION)
        contact = conn.execute(
            select(contacts.c.id, contacts.c.kind, contacts.c.profile).where(
                contacts.c.advertiser_id == advertiser.id, contacts.c.e164 == row.e164
            )
        ).first()
        if contact is None:
            said = TEXTS["no_contact"].format(slug=slug)
            raise InvalidInputError("request", "no_contact", said)
        profile = _corrected(dict(contact.profile), corrections)
        profile_json = canonical_json(profile)
        conn.execute(
            update(contacts)
            .where(contacts.c.id == contact.id)
            .values(
                profile=profile, profile_hash=profile_hash(contact.kind, profile_json),
                updated_at=now,
            )
        )  # fmt: skip
        settle(conn, ctx, advertiser, row, "answered", {"fields": sorted(corrections)})
        audit.append(
            conn, actor=ctx.actor, action="contact.rectify", advertiser_id=advertiser.id,
            details={"contact": contact.id, "fields": sorted(corrections)}, at=now,
        )  # fmt: skip
        return view(conn, ctx, advertiser, request_id)


def _corrected(profile: dict[str, Any], corrections: Mapping[str, str | None]) -> dict[str, Any]:
    custom = dict(profile.get("fields") or {})
    problems: list[Problem] = []
    for name, value in corrections.items():
        field = f"corrections.{name}"
        cleaned = (value or "").strip()
        problem = control_character(cleaned) or (
            f"longer than {MAX_VALUE} characters" if len(cleaned) > MAX_VALUE else None
        )
        if problem is not None:
            said = TEXTS["bad_value"].format(field=name, problem=problem)
            problems.append(Problem(field, "bad_value", said))
            continue
        if name == "postal_code" and cleaned and not _POSTAL_CODE.fullmatch(cleaned):
            said = TEXTS["bad_postal_code"].format(field=name, value=cleaned)
            problems.append(Problem(field, "bad_postal_code", said))
            continue
        if name in PERSONAL_FIELDS:
            target = profile
        elif name in custom:
            target = custom
        else:
            choices = ", ".join(PERSONAL_FIELDS)
            said = TEXTS["not_rectifiable"].format(field=name, choices=choices)
            problems.append(Problem(field, "not_rectifiable", said))
            continue
        if cleaned:
            target[name] = cleaned
        else:
            target.pop(name, None)
    refuse_any(problems)
    if custom:
        profile["fields"] = custom
    else:
        profile.pop("fields", None)
    return profile
