"""What a person sends through a hosted form (issue 17), and the evidence it makes.

A submission records what a control needs: the form and its version, the wording hash, the
time, what was ticked (channels, objection), the IP truncated (IPv4 /24, IPv6 /48) and the user
agent. It becomes evidence through the importer's own path (services/contact_writes.py): the
same facts a file row stating them would give, sealed, in the ledger with the form and version
as their source and the wording hash as the consent's proof, under one audit entry; then a
`forms.submission` entry names the submission.

- A consent form without any box ticked records nothing (`nothing_ticked`).
- With double opt-in, a code goes by SMS (a transactional message through the normal dispatch,
  services/messages.py) and nothing counts until it is confirmed: the code is kept as an HMAC
  (never in clear), expires, and allows a few attempts. The evidence's time is the
  submission's; the confirmation's is kept beside it.
- A number may submit a form of an advertiser a few times an hour at most, counted in the
  database (every server process sees the same count).
"""

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, func, insert, select, update

from tambour import i18n
from tambour.contacts.form_wording import FormKind
from tambour.rules.codes import ContactKind, Nature, OptOutSource
from tambour.rules.network import truncated_ip
from tambour.services import advertisers, audit, consent_forms, contact_writes, messages
from tambour.services.consent_forms import ConsentForm
from tambour.services.contact_writes import Collection, Consent, ContactInput, Opposition
from tambour.services.contacts import valid_number
from tambour.services.context import Context, InvalidInputError, NotFoundError, ServiceError
from tambour.services.views import View
from tambour.sms.phone import parse_phone
from tambour.store.engine import reader
from tambour.store.tables import consent_form_versions, evidence, form_submissions
from tambour.store.tables import consent_forms as consent_forms_table

CODE_DIGITS: Final = 6
CODE_MINUTES: Final = 15
MAX_ATTEMPTS: Final = 5
PER_NUMBER_HOUR: Final = 5  # submissions of one number to one advertiser's forms an hour
MAX_USER_AGENT: Final = 300
METHOD: Final = "web_form"
CODE_PURPOSE: Final = "form-code"

TEXTS: Final = {
    "not_mobile": "{number} is not a mobile number: messages by SMS need one",
    "nothing_ticked": "no box was ticked: no consent is recorded",
    "unknown_purpose": "{key!r} is not a box of this form",
    "too_many_submissions": "this number was sent too many times: try again in an hour",
    "submission_not_found": "no submission awaits a code here",
    "code_expired": "the code has expired: send the form again",
    "too_many_attempts": "too many wrong codes: send the form again",
    "wrong_code": "this is not the code sent",
    "already_confirmed": "this submission is already confirmed",
}
N_ = i18n.N_
CODE_TEXT: Final = N_(
    "{advertiser}: your confirmation code is {code}. It expires in {minutes} minutes."
)


class TooManyError(ServiceError):
    status = 429


class GoneError(ServiceError):
    status = 410


@dataclass(frozen=True, slots=True)
class Submitted(View):
    """A submission taken: `pending` until its code is given (double opt-in), else recorded."""

    id: int
    token: str  # names it in the code page's address (kept hashed)
    pending: bool
    form: str
    version: int
    wording_hash: str
    submitted_at: datetime
    contact_id: int | None  # once recorded
    evidence_added: int


@dataclass(frozen=True, slots=True)
class FormSubmission(View):
    """A recorded submission, as a proof shows it."""

    id: int
    form: str
    version: int
    wording_hash: str
    submitted_at: datetime
    confirmed_at: datetime | None
    double_opt_in: bool
    choices: dict[str, Any]
    ip_prefix: str | None
    user_agent: str | None
    via: str


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _code_hash(ctx: Context, token: str, code: str) -> bytes:
    key = ctx.keys.derive(CODE_PURPOSE)
    return hmac.digest(key, f"{token}|{code}".encode(), "sha256")


def _source(form: ConsentForm) -> str:
    return f"form:{form.slug}:v{form.current.version}"


def _contact_input(
    form: ConsentForm, e164: str, at: datetime, ticked: Sequence[str], objection: bool, lang: str
) -> ContactInput:
    """The facts a submission states, as the API's contact input (so the import's checks)."""
    wording = form.current.wording
    if form.kind is FormKind.CONSENT:
        chosen = [p for p in wording.purposes if p.key in ticked]
        channels = sorted({c for p in chosen for c in p.channels})
        said = "\n".join(wording.text(p.label, lang) for p in chosen)
        return ContactInput(
            number=e164,
            consent=Consent(
                given=True, at=at, channels=tuple(channels), method=METHOD,
                checkbox_prechecked=False, bundled_with_terms=False, wording=said,
                source=_source(form), proof=f"sha256:{form.current.wording_hash}",
            ),
            collection=Collection(at=at, informed=True),
        )  # fmt: skip
    return ContactInput(
        number=e164,
        kind=ContactKind.PROFESSIONAL if form.kind is FormKind.B2B else None,
        collection=Collection(at=at, informed=True, objection_offered=True),
        opt_out=Opposition(at=at, source=OptOutSource.DATA_REQUEST) if objection else None,
    )


def submit(
    ctx: Context,
    *,
    slug: str,
    form: str,
    number: str,
    ticked: Sequence[str] = (),
    objection: bool = False,
    lang: str = "fr",
    ip: str | None = None,
    user_agent: str | None = None,
    via: str = "page",
) -> Submitted:
    """Take a person's submission of form `form` of advertiser `slug`. Refused: a number that
    cannot be read or is not a mobile (field `number`), a consent form with no box ticked
    (`nothing_ticked`, field `purposes`: nothing is recorded), a box the form has not
    (`unknown_purpose`), a number sent too often (TooManyError)."""
    e164 = valid_number(number)
    if not parse_phone(e164).mobile:
        said = TEXTS["not_mobile"].format(number=number)
        raise InvalidInputError("number", "not_mobile", said)
    lang = i18n.language_of(lang) or i18n.DEFAULT_LANGUAGE
    now = ctx.now()
    with reader(ctx.engine) as conn:
        owner = advertisers.get(conn, slug)
        found = consent_forms.find(conn, owner, form)
        _check_rate(conn, owner.id, e164, now)
    keys = {p.key for p in found.current.wording.purposes}
    for key in ticked:
        if key not in keys:
            raise InvalidInputError(
                "purposes", "unknown_purpose", TEXTS["unknown_purpose"].format(key=key)
            )
    if found.kind is FormKind.CONSENT and not ticked:
        raise InvalidInputError("purposes", "nothing_ticked", TEXTS["nothing_ticked"])
    choices = {"purposes": sorted(set(ticked)), "objection": objection, "lang": lang}
    stated = contact_writes.prepared(
        _contact_input(found, e164, now, ticked, objection, lang), ctx.engine.dialect.name, now
    )
    token = secrets.token_urlsafe(24)
    code_hash = expires = None
    if found.double_opt_in and not owner.senders:  # its sender ID was removed since
        said = consent_forms.TEXTS["no_sender"]
        raise InvalidInputError("double_opt_in", "no_sender", said)
    if found.double_opt_in:
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        code_hash, expires = _code_hash(ctx, token, code), now + timedelta(minutes=CODE_MINUTES)
        _send_code(ctx, owner, found, e164, code, lang)
    with ctx.engine.begin() as conn:
        owner = advertisers.get(conn, slug)
        submission_id = conn.execute(
            insert(form_submissions)
            .values(
                advertiser_id=owner.id, form_id=found.id, version_id=_version_id(conn, found),
                token_hash=_token_hash(token), e164=e164, choices=choices, submitted_at=now,
                ip_prefix=truncated_ip(ip), user_agent=(user_agent or "")[:MAX_USER_AGENT] or None,
                via=via, code_hash=code_hash, expires_at=expires, attempts=0,
            )
            .returning(form_submissions.c.id)
        ).scalar_one()  # fmt: skip
        contact_id, added = None, 0
        if not found.double_opt_in:
            contact_id, added = _record(conn, ctx, owner, found, submission_id, stated, now, now)
    return Submitted(
        id=submission_id, token=token, pending=found.double_opt_in, form=found.slug,
        version=found.current.version, wording_hash=found.current.wording_hash,
        submitted_at=now, contact_id=contact_id, evidence_added=added,
    )  # fmt: skip


def _check_rate(conn: Connection, advertiser_id: int, e164: str, now: datetime) -> None:
    s = form_submissions.c
    recent = conn.execute(
        select(func.count()).where(
            s.advertiser_id == advertiser_id, s.e164 == e164,
            s.submitted_at > now - timedelta(hours=1),
        )
    ).scalar_one()  # fmt: skip
    if recent >= PER_NUMBER_HOUR:
        raise TooManyError(
            TEXTS["too_many_submissions"], code="too_many_submissions", field="number"
        )


def _version_id(conn: Connection, form: ConsentForm) -> int:
    v = consent_form_versions
    return int(
        conn.execute(
            select(v.c.id).where(v.c.form_id == form.id, v.c.version == form.current.version)
        ).scalar_one()
    )


def _send_code(
    ctx: Context, owner: advertisers.Advertiser, form: ConsentForm, e164: str, code: str, lang: str
) -> None:
    """The code, by a transactional message through the normal dispatch (refused as any
    message would be: a 33700 complaint recorded for the number stops it)."""
    text = (
        i18n.translator(lang)
        .gettext(CODE_TEXT)
        .format(advertiser=owner.name, code=code, minutes=CODE_MINUTES)
    )
    request = messages.MessageRequest(
        to=e164, text=text, sender=owner.senders[0], nature=Nature.TRANSACTIONAL,
        label=f"form {form.slug}", transaction=f"form {form.slug} confirmation",
    )  # fmt: skip
    messages.send(ctx, slug=owner.slug, request=request)


def _record(
    conn: Connection, ctx: Context, owner: advertisers.Advertiser, form: ConsentForm,
    submission_id: int, stated: Any, submitted_at: datetime, now: datetime,
) -> tuple[int, int]:  # fmt: skip
    """The submission's facts written as evidence (their time: the submission's), the
    submission marked confirmed at `now`, and audited."""
    saved = contact_writes.write(
        conn, owner, stated, source=_source(form), actor=ctx.actor, now=now
    )
    ids = list(
        conn.execute(
            select(evidence.c.id).where(
                evidence.c.contact_id == saved.id, evidence.c.advertiser_id == owner.id,
                evidence.c.source == _source(form), evidence.c.occurred_at == submitted_at,
            ).order_by(evidence.c.id)
        ).scalars()
    )  # fmt: skip
    conn.execute(
        update(form_submissions)
        .where(form_submissions.c.id == submission_id)
        .values(confirmed_at=now, contact_id=saved.id, evidence_ids=ids)
    )
    audit.append(
        conn, actor=ctx.actor, action="forms.submission", advertiser_id=owner.id, at=now,
        details={"form": form.slug, "version": form.current.version, "submission": submission_id,
                 "wording_hash": form.current.wording_hash, "contact": saved.id,
                 "double_opt_in": form.double_opt_in,
                 "facts": audit.id_ranges(ids)},
    )  # fmt: skip
    return saved.id, saved.evidence_added


def confirm(ctx: Context, *, slug: str, form: str, token: str, code: str) -> Submitted:
    """Confirm a double opt-in submission with the code sent by SMS: its consent counts from
    then on (dated at the submission). Refused: no such submission awaiting (NotFoundError),
    expired or out of attempts (GoneError), a wrong code (InvalidInputError `wrong_code`,
    field `code`, counted)."""
    now = ctx.now()
    given = "".join(code.split())
    with ctx.engine.begin() as conn:
        owner = advertisers.get(conn, slug)
        found = consent_forms.find(conn, owner, form)
        s = form_submissions.c
        row = conn.execute(
            select(form_submissions).where(
                s.token_hash == _token_hash(token), s.advertiser_id == owner.id,
                s.form_id == found.id, s.code_hash.is_not(None),
            )
        ).first()  # fmt: skip
        if row is None:
            raise NotFoundError(
                TEXTS["submission_not_found"], code="submission_not_found", field="token"
            )
        if row.confirmed_at is not None:
            raise GoneError(TEXTS["already_confirmed"], code="already_confirmed", field="code")
        if row.expires_at is not None and now > row.expires_at:
            raise GoneError(TEXTS["code_expired"], code="code_expired", field="code")
        if row.attempts >= MAX_ATTEMPTS:
            raise GoneError(TEXTS["too_many_attempts"], code="too_many_attempts", field="code")
        right = hmac.compare_digest(bytes(row.code_hash), _code_hash(ctx, token, given))
        if not right:
            conn.execute(
                update(form_submissions).where(s.id == row.id).values(attempts=row.attempts + 1)
            )
    if not right:  # the attempt counted (committed) before the refusal
        raise InvalidInputError("code", "wrong_code", TEXTS["wrong_code"])
    with ctx.engine.begin() as conn:
        owner = advertisers.get(conn, slug)
        version = _as_published(conn, owner, found, row.version_id)
        choices = row.choices
        stated = contact_writes.prepared(
            _contact_input(version, row.e164, row.submitted_at, choices.get("purposes", ()),
                           bool(choices.get("objection")), choices.get("lang", "fr")),
            ctx.engine.dialect.name, now,
        )  # fmt: skip
        claimed = conn.execute(
            update(form_submissions)
            .where(s.id == row.id, s.confirmed_at.is_(None))
            .values(confirmed_at=now)
        ).rowcount
        if not claimed:
            raise GoneError(TEXTS["already_confirmed"], code="already_confirmed", field="code")
        contact_id, added = _record(
            conn, ctx, owner, version, row.id, stated, row.submitted_at, now
        )
    return Submitted(
        id=row.id, token=token, pending=False, form=found.slug, version=version.current.version,
        wording_hash=version.current.wording_hash, submitted_at=row.submitted_at,
        contact_id=contact_id, evidence_added=added,
    )  # fmt: skip


def _as_published(conn: Connection, owner: Any, form: ConsentForm, version_id: int) -> ConsentForm:
    """`form` as it was when the submission was made: its version `version_id`, even when a
    newer one was published since (the person agreed to what they saw)."""
    v = consent_form_versions
    row = conn.execute(select(v).where(v.c.id == version_id, v.c.advertiser_id == owner.id)).one()
    return replace(form, current=consent_forms.version_of(row))


def of_contact(ctx: Context, *, advertiser_id: int, contact_id: int) -> list[FormSubmission]:
    """The recorded submissions of a contact (for its proof), oldest first."""
    v, f = consent_form_versions, consent_forms_table
    s = form_submissions.c
    with reader(ctx.engine) as conn:
        rows = conn.execute(
            select(form_submissions, f.c.slug, f.c.double_opt_in, v.c.version, v.c.wording_hash)
            .join(f, f.c.id == s.form_id)
            .join(v, v.c.id == s.version_id)
            .where(s.advertiser_id == advertiser_id, s.contact_id == contact_id,
                   s.confirmed_at.is_not(None))
            .order_by(s.id)
        ).all()  # fmt: skip
    return [
        FormSubmission(
            id=r.id, form=r.slug, version=r.version, wording_hash=r.wording_hash,
            submitted_at=r.submitted_at, confirmed_at=r.confirmed_at if r.code_hash else None,
            double_opt_in=r.code_hash is not None, choices=dict(r.choices),
            ip_prefix=r.ip_prefix, user_agent=r.user_agent, via=r.via,
        )
        for r in rows
    ]  # fmt: skip
