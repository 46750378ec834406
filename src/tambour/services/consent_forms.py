"""An advertiser's hosted consent forms and their versions (issue 17): create a form, publish a
wording (a new version only when the wording changed: its hash differs), list, show, and find
the wording a consent's proof names by its hash.

A published version is never updated: nothing here updates one, and a trigger of migration
0018 refuses an UPDATE on either database. Every change is audited.
"""

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from tambour.contacts.form_wording import (
    FormKind,
    Wording,
    WordingError,
    default_wording,
    parse_wording,
)
from tambour.services import advertisers, audit
from tambour.services.advertisers import Advertiser
from tambour.services.context import ConflictError, Context, InvalidInputError, NotFoundError
from tambour.services.views import View
from tambour.store.engine import reader
from tambour.store.tables import consent_form_versions, consent_forms

SLUG: Final = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MAX_ORIGINS: Final = 20
TEXTS: Final = {
    "invalid_form_slug": "lower-case letters, digits and '-', at most 64, not starting with '-'",
    "invalid_form_kind": "one of consent, b2b, customer_notice",
    "invalid_origin": "{origin!r} is not an origin: https://host (or http://localhost:port)",
    "too_many_origins": "at most {most} origins",
    "form_exists": "{slug} already has a form {form}",
    "form_not_found": "{slug} has no form {form}",
    "version_not_found": "{slug} has no form version with wording hash {hash}",
    "no_sender": "a double opt-in sends its code by SMS: the advertiser needs a sender ID",
    "kind_changed": "the wording is of kind {given}, the form of kind {kind}",
}


@dataclass(frozen=True, slots=True)
class FormVersion(View):
    version: int
    wording_hash: str
    wording: Wording
    published_at: datetime
    published_by: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "wording_hash": self.wording_hash,
            "wording": self.wording.as_data(),
            "published_at": self.published_at.isoformat(),
            "published_by": self.published_by,
        }


@dataclass(frozen=True, slots=True)
class ConsentForm(View):
    id: int
    advertiser: str  # its slug
    advertiser_id: int
    slug: str
    kind: FormKind
    origins: tuple[str, ...]
    double_opt_in: bool
    created_at: datetime
    current: FormVersion  # the latest published version: what the public page shows
    versions: int  # how many were published

    @property
    def path(self) -> str:
        """Where `tambour serve` shows it (public/pages.py)."""
        return f"/f/{self.advertiser}/{self.slug}"

    def snippet(self, base_url: str) -> str:
        """The HTML an advertiser puts on its page to show the form in a frame (`base_url`:
        where `tambour serve` is reached, TAMBOUR_PUBLIC_URL)."""
        title = html.escape(self.current.wording.title["fr"])
        return (
            f'<iframe src="{html.escape(base_url + self.path)}" title="{title}" '
            'style="width:100%;min-height:32rem;border:0" loading="lazy"></iframe>'
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "advertiser": self.advertiser,
            "kind": self.kind.value,
            "origins": list(self.origins),
            "double_opt_in": self.double_opt_in,
            "created_at": self.created_at.isoformat(),
            "path": self.path,
            "versions": self.versions,
            "current": self.current.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class Published(View):
    form: ConsentForm
    created: bool  # a new version (False: the wording was the current one's)


def _refuse(where: str, code: str, **values: Any) -> InvalidInputError:
    return InvalidInputError(where, code, TEXTS[code].format(**values))


def _wording(data: Any, kind: FormKind) -> Wording:
    try:
        wording = data if isinstance(data, Wording) else parse_wording(data)
    except WordingError as error:
        raise InvalidInputError(error.where, error.code, error.message) from None
    if wording.kind is not kind:
        raise _refuse("wording.kind", "kind_changed", given=wording.kind.value, kind=kind.value)
    return wording


def check_origins(origins: Sequence[str]) -> tuple[str, ...]:
    """Origins as a browser sends them (`https://shop.example`), each checked; sorted, unique."""
    if len(origins) > MAX_ORIGINS:
        raise _refuse("origins", "too_many_origins", most=MAX_ORIGINS)
    found = set()
    for index, given in enumerate(origins):
        origin = given.strip().rstrip("/").lower()
        try:
            parts = urlsplit(origin)
            parts.port  # noqa: B018  # a bad port raises
        except ValueError:
            raise _refuse(f"origins[{index}]", "invalid_origin", origin=given) from None
        local = parts.hostname in ("localhost", "127.0.0.1")
        if (
            parts.scheme not in ("https", "http")
            or (parts.scheme == "http" and not local)
            or not parts.hostname
            or parts.path
            or parts.query
            or parts.fragment
            or parts.username
        ):
            raise _refuse(f"origins[{index}]", "invalid_origin", origin=given)
        found.add(origin)
    return tuple(sorted(found))


def _kind(kind: str | FormKind) -> FormKind:
    try:
        return FormKind(kind)
    except ValueError:
        raise _refuse("kind", "invalid_form_kind") from None


def create(
    ctx: Context,
    *,
    slug: str,
    form: str,
    kind: str | FormKind = FormKind.CONSENT,
    origins: Sequence[str] = (),
    double_opt_in: bool = False,
    wording: Any = None,
) -> ConsentForm:
    """A new form of advertiser `slug`, its first version published at once (`wording`, as
    data or a Wording; none: the default wording of its kind naming the advertiser)."""
    if not SLUG.match(form):
        raise _refuse("form", "invalid_form_slug")
    kind = _kind(kind)
    allowed = check_origins(origins)
    now = ctx.now()
    with ctx.engine.begin() as conn:
        owner = advertisers.get(conn, slug)
        if double_opt_in and not owner.senders:
            raise _refuse("double_opt_in", "no_sender")
        chosen = default_wording(kind, owner.name) if wording is None else _wording(wording, kind)
        try:
            with conn.begin_nested():
                form_id = conn.execute(
                    insert(consent_forms)
                    .values(
                        advertiser_id=owner.id, slug=form, kind=kind.value, origins=list(allowed),
                        double_opt_in=int(double_opt_in), created_at=now, created_by=ctx.actor,
                    )
                    .returning(consent_forms.c.id)
                ).scalar_one()  # fmt: skip
        except IntegrityError:
            said = TEXTS["form_exists"].format(slug=slug, form=form)
            raise ConflictError(said, code="form_exists", field="form") from None
        _insert_version(conn, owner, form_id, 1, chosen, now, ctx.actor)
        audit.append(
            conn, actor=ctx.actor, action="forms.created", advertiser_id=owner.id, at=now,
            details={"form": form, "kind": kind.value, "origins": list(allowed),
                     "double_opt_in": double_opt_in, "version": 1, "wording_hash": chosen.hash},
        )  # fmt: skip
        return _form(conn, owner, form)


def _insert_version(
    conn: Connection, owner: Advertiser, form_id: int, version: int, wording: Wording,
    now: datetime, actor: str,
) -> None:  # fmt: skip
    conn.execute(
        insert(consent_form_versions).values(
            advertiser_id=owner.id, form_id=form_id, version=version,
            wording=wording.canonical(), wording_hash=wording.hash, published_at=now,
            published_by=actor,
        )
    )  # fmt: skip


def publish(ctx: Context, *, slug: str, form: str, wording: Any) -> Published:
    """Publish `wording` for form `form`: a new version when it differs from the current one
    (its hash does), else nothing changes (`created` False). A published version is never
    changed: what the people who signed it saw stays provable."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        owner = advertisers.get(conn, slug)
        found = _form(conn, owner, form)
        chosen = _wording(wording, found.kind)
        if chosen.hash == found.current.wording_hash:
            return Published(found, created=False)
        version = found.current.version + 1
        try:
            with conn.begin_nested():
                _insert_version(conn, owner, found.id, version, chosen, now, ctx.actor)
        except IntegrityError:  # another publication took this number meanwhile
            said = "the form was published meanwhile: publish again"
            raise ConflictError(said, code="publication_conflict", field="form") from None
        audit.append(
            conn, actor=ctx.actor, action="forms.published", advertiser_id=owner.id, at=now,
            details={"form": form, "version": version, "wording_hash": chosen.hash},
        )  # fmt: skip
        return Published(_form(conn, owner, form), created=True)


def configure(
    ctx: Context,
    *,
    slug: str,
    form: str,
    origins: Sequence[str] | None = None,
    double_opt_in: bool | None = None,
) -> ConsentForm:
    """Change where the form may be embedded and whether a code by SMS confirms it (not its
    wording: that is `publish`)."""
    allowed = None if origins is None else check_origins(origins)
    now = ctx.now()
    with ctx.engine.begin() as conn:
        owner = advertisers.get(conn, slug)
        found = _form(conn, owner, form)
        if double_opt_in and not owner.senders:
            raise _refuse("double_opt_in", "no_sender")
        values: dict[str, Any] = {}
        if allowed is not None and allowed != found.origins:
            values["origins"] = list(allowed)
        if double_opt_in is not None and double_opt_in != found.double_opt_in:
            values["double_opt_in"] = int(double_opt_in)
        if not values:
            return found
        conn.execute(update(consent_forms).where(consent_forms.c.id == found.id).values(values))
        audit.append(
            conn, actor=ctx.actor, action="forms.configured", advertiser_id=owner.id, at=now,
            details={"form": form, **values},
        )  # fmt: skip
        return _form(conn, owner, form)


def version_of(row: Any) -> FormVersion:
    return FormVersion(
        version=row.version,
        wording_hash=row.wording_hash,
        wording=parse_wording(json.loads(row.wording)),
        published_at=row.published_at,
        published_by=row.published_by,
    )


def _form(conn: Connection, owner: Advertiser, form: str) -> ConsentForm:
    row = conn.execute(
        select(consent_forms).where(
            consent_forms.c.advertiser_id == owner.id, consent_forms.c.slug == form
        )
    ).first()
    if row is None:
        said = TEXTS["form_not_found"].format(slug=owner.slug, form=form)
        raise NotFoundError(said, code="form_not_found", field="form")
    return _built(conn, owner, row)


def _built(conn: Connection, owner: Advertiser, row: Any) -> ConsentForm:
    v = consent_form_versions.c
    latest = conn.execute(
        select(consent_form_versions)
        .where(v.form_id == row.id, v.advertiser_id == owner.id)
        .order_by(v.version.desc())
        .limit(1)
    ).one()
    return ConsentForm(
        id=row.id, advertiser=owner.slug, advertiser_id=owner.id, slug=row.slug,
        kind=FormKind(row.kind), origins=tuple(row.origins), double_opt_in=bool(row.double_opt_in),
        created_at=row.created_at, current=version_of(latest), versions=latest.version,
    )  # fmt: skip


def find(conn: Connection, owner: Advertiser, form: str) -> ConsentForm:
    """The form `form` of `owner`, in the caller's transaction (NotFoundError)."""
    return _form(conn, owner, form)


def list_forms(ctx: Context, *, slug: str) -> list[ConsentForm]:
    with reader(ctx.engine) as conn:
        owner = advertisers.get(conn, slug)
        rows = conn.execute(
            select(consent_forms)
            .where(consent_forms.c.advertiser_id == owner.id)
            .order_by(consent_forms.c.slug)
        ).all()
        return [_built(conn, owner, row) for row in rows]


def show(ctx: Context, *, slug: str, form: str) -> tuple[ConsentForm, list[FormVersion]]:
    """The form and every version of it, the latest first."""
    with reader(ctx.engine) as conn:
        owner = advertisers.get(conn, slug)
        found = _form(conn, owner, form)
        v = consent_form_versions.c
        rows = conn.execute(
            select(consent_form_versions)
            .where(v.form_id == found.id, v.advertiser_id == owner.id)
            .order_by(v.version.desc())
        ).all()
        return found, [version_of(row) for row in rows]


@dataclass(frozen=True, slots=True)
class SignedWording(View):
    """A version found by its wording hash: which form, which version, and what it said."""

    form: str
    kind: FormKind
    version: FormVersion


def by_hash(ctx: Context, *, slug: str, wording_hash: str) -> list[SignedWording]:
    """The versions of advertiser `slug`'s forms whose wording hash is `wording_hash` (with or
    without its `sha256:` prefix); NotFoundError when none."""
    wanted = wording_hash.strip().lower().removeprefix("sha256:")
    with reader(ctx.engine) as conn:
        owner = advertisers.get(conn, slug)
        v = consent_form_versions.c
        rows = conn.execute(
            select(consent_form_versions, consent_forms.c.slug, consent_forms.c.kind)
            .join(consent_forms, consent_forms.c.id == v.form_id)
            .where(v.advertiser_id == owner.id, v.wording_hash == wanted)
            .order_by(v.id)
        ).all()
    if not rows:
        said = TEXTS["version_not_found"].format(slug=slug, hash=wanted)
        raise NotFoundError(said, code="version_not_found", field="wording_hash")
    return [SignedWording(row.slug, FormKind(row.kind), version_of(row)) for row in rows]
