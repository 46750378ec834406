"""API keys: who may call the HTTP API, for which advertiser, with which scopes.

A key belongs to one advertiser, with scopes among `read`, `write` and `send`, or to the
platform operator, with the scope `operator` (advertisers, users) and no advertiser. Its token,
`tbr_live_<key_id>_<secret>`, is shown once, at creation: the database keeps the SHA-256 of
it, under the public key id the token starts with. The secret is 256 random bits, so a fast
hash is right (a slow one, Argon2, would cost every request tens of milliseconds and protect
nothing more: no one guesses 256 bits), and authenticating is one look-up by key id and one
constant-time comparison. The key id is public: logs and the audit log name keys by it.

Creation and revocation are audited, with the key id, never the token.
"""

import hashlib
import hmac
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import Connection, Select, insert, select, update

from tambour.rules.template import control_character
from tambour.services import audit
from tambour.services.context import Conflict, Context, InvalidInput, NotFound, ServiceError
from tambour.store.engine import reader
from tambour.store.tables import advertisers, api_keys


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    SEND = "send"
    OPERATOR = "operator"  # the platform: advertisers, users; never one advertiser's data


ADVERTISER_SCOPES: Final = frozenset({Scope.READ, Scope.WRITE, Scope.SEND})
TOKEN_PREFIX: Final = "tbr_live_"
MAX_NAME: Final = 100  # the column's size
# No 0/o, 1/l: a key id is read aloud and copied from logs.
_KEY_ID_ALPHABET: Final = "abcdefghijkmnpqrstuvwxyz23456789"
_KEY_ID_LENGTH: Final = 12
_TOKEN: Final = re.compile(
    rf"{TOKEN_PREFIX}([{_KEY_ID_ALPHABET}]{{{_KEY_ID_LENGTH}}})_([A-Za-z0-9_-]{{43}})"
)


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: int  # the row's: other tables refer to it (idempotency keys)
    key_id: str  # public: the token starts with it
    name: str
    advertiser_id: int | None  # None: an operator key
    advertiser: str | None  # the advertiser's slug
    scopes: frozenset[Scope]
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None

    @property
    def operator(self) -> bool:
        return self.advertiser_id is None

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes


@dataclass(frozen=True, slots=True)
class NewKey:
    key: ApiKey
    token: str = field(repr=False)  # shown once: never stored, never logged


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A key as authentication compares it: with the digest of its token."""

    key: ApiKey
    token_hash: bytes = field(repr=False)


class UnauthenticatedError(ServiceError):
    """No valid API key: absent, malformed, unknown or revoked (HTTP 401)."""

    status = 401

    def __init__(self, message: str, *, code: str = "invalid_api_key") -> None:
        super().__init__(message, code=code, field=None)


def create(
    ctx: Context,
    *,
    scopes: Collection[Scope],
    advertiser: str | None = None,
    name: str = "",
) -> NewKey:
    """A new key of `advertiser` (its slug) with `scopes` among read, write and send, or,
    without an advertiser, an operator key (scopes: operator alone). Returns the key with its
    token, which nothing can show again."""
    wanted = frozenset(scopes)
    _check_scopes(wanted, advertiser)
    _check_name(name)
    key_id = "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(_KEY_ID_LENGTH))
    token = f"{TOKEN_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    now = ctx.now()
    with ctx.engine.begin() as conn:
        advertiser_id = None if advertiser is None else _advertiser_id(conn, advertiser)
        row_id = conn.execute(
            insert(api_keys).returning(api_keys.c.id),
            {
                "key_id": key_id,
                "advertiser_id": advertiser_id,
                "name": name,
                "scopes": sorted(wanted),
                "secret_hash": token_hash(token),
                "created_at": now,
                "created_by": ctx.actor,
            },
        ).scalar_one()
        audit.append(
            conn,
            actor=ctx.actor,
            action="apikey.create",
            advertiser_id=advertiser_id,
            details={"key_id": key_id, "name": name, "scopes": sorted(wanted)},
            at=now,
        )
    key = ApiKey(
        id=row_id,
        key_id=key_id,
        name=name,
        advertiser_id=advertiser_id,
        advertiser=advertiser,
        scopes=wanted,
        created_at=now,
        created_by=ctx.actor,
    )
    return NewKey(key=key, token=token)


def list_keys(ctx: Context, *, advertiser: str | None = None) -> list[ApiKey]:
    """Every key, revoked ones included, oldest first; only `advertiser`'s when given."""
    with reader(ctx.engine) as conn:
        query = _selected().order_by(api_keys.c.id)
        if advertiser is not None:
            query = query.where(api_keys.c.advertiser_id == _advertiser_id(conn, advertiser))
        return [_key(row) for row in conn.execute(query)]


def revoke(ctx: Context, key_id: str, *, advertiser: str | None = None) -> ApiKey:
    """Revoke a key (audited): servers refuse it within their key cache's time (a second).
    With `advertiser` (its slug: an advertiser's admin acting), only one of its keys: another's
    is not found."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        query = _selected().where(api_keys.c.key_id == key_id)
        if advertiser is not None:
            query = query.where(api_keys.c.advertiser_id == _advertiser_id(conn, advertiser))
        row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"no API key {key_id!r}", code="api_key_not_found", field="key_id")
        if row.revoked_at is not None:
            raise Conflict(
                f"the API key {key_id!r} was revoked already",
                code="api_key_revoked",
                field="key_id",
            )
        conn.execute(
            update(api_keys)
            .where(api_keys.c.id == row.id)
            .values(revoked_at=now, revoked_by=ctx.actor)
        )
        audit.append(
            conn,
            actor=ctx.actor,
            action="apikey.revoke",
            advertiser_id=row.advertiser_id,
            details={"key_id": key_id},
            at=now,
        )
    return _key(row, revoked_at=now)


def parse_token(token: str) -> tuple[str, str]:
    """The key id a token names, and the token itself; UnauthenticatedError if it is not one."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise UnauthenticatedError("not an API key (tbr_live_...)", code="malformed_api_key")
    return match.group(1), token


def lookup(ctx: Context, key_id: str) -> StoredKey | None:
    """The key named `key_id`, revoked or not, in one query; None if there is none."""
    with reader(ctx.engine) as conn:
        row = conn.execute(
            _selected().add_columns(api_keys.c.secret_hash).where(api_keys.c.key_id == key_id)
        ).first()
    return None if row is None else StoredKey(key=_key(row), token_hash=row.secret_hash)


def check(stored: StoredKey | None, token: str) -> ApiKey:
    """The key `token` proves, or UnauthenticatedError (unknown key, wrong secret, revoked)."""
    if stored is None or not hmac.compare_digest(stored.token_hash, token_hash(token)):
        raise UnauthenticatedError("unknown API key")
    if stored.key.revoked_at is not None:
        raise UnauthenticatedError("this API key was revoked", code="revoked_api_key")
    return stored.key


def authenticate(ctx: Context, token: str) -> ApiKey:
    """The key `token` proves (one look-up); UnauthenticatedError otherwise."""
    key_id, token = parse_token(token)
    return check(lookup(ctx, key_id), token)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _check_scopes(scopes: frozenset[Scope], advertiser: str | None) -> None:
    if not scopes:
        raise InvalidInput("scopes", "scopes_missing", "at least one scope is required")
    if advertiser is None:
        if scopes != {Scope.OPERATOR}:
            raise InvalidInput(
                "scopes",
                "operator_scopes",
                "a key without an advertiser is the operator's: its one scope is operator",
            )
        return
    if not scopes <= ADVERTISER_SCOPES:
        raise InvalidInput(
            "scopes",
            "advertiser_scopes",
            "an advertiser's key takes the scopes read, write and send (operator is the "
            "platform's, for a key without an advertiser)",
        )


def _check_name(name: str) -> None:
    problem = control_character(name)
    if len(name) > MAX_NAME or problem:
        raise InvalidInput(
            "name", "invalid_name", problem or f"a key's name has up to {MAX_NAME} characters"
        )
    if audit.looks_like_phone(name):
        raise InvalidInput("name", "phone_in_name", "a key's name must not hold a phone number")


def _advertiser_id(conn: Connection, slug: str) -> int:
    found: int | None = conn.execute(
        select(advertisers.c.id).where(advertisers.c.slug == slug)
    ).scalar()
    if found is None:
        raise NotFound(f"no advertiser {slug!r}", code="advertiser_not_found", field="advertiser")
    return found


def _selected() -> Select[Any]:
    return select(
        api_keys.c.id,
        api_keys.c.key_id,
        api_keys.c.name,
        api_keys.c.advertiser_id,
        advertisers.c.slug,
        api_keys.c.scopes,
        api_keys.c.created_at,
        api_keys.c.created_by,
        api_keys.c.revoked_at,
    ).select_from(api_keys.outerjoin(advertisers, advertisers.c.id == api_keys.c.advertiser_id))


def _key(row: Any, revoked_at: datetime | None = None) -> ApiKey:
    return ApiKey(
        id=row.id,
        key_id=row.key_id,
        name=row.name,
        advertiser_id=row.advertiser_id,
        advertiser=row.slug,
        scopes=frozenset(Scope(scope) for scope in row.scopes),
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=revoked_at or row.revoked_at,
    )
