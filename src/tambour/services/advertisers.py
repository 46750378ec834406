"""Advertisers (tenants): create, list, show. Sender IDs and the STOP number checked by the core."""

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from tambour.rules.content import sender_id_problem, stop_number_problem
from tambour.rules.facts import AdvertiserFacts
from tambour.rules.fold import fold_set
from tambour.services import audit
from tambour.services.context import Context, NotFoundError, ServiceError
from tambour.store.engine import reader
from tambour.store.tables import advertisers, sender_ids

_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")


@dataclass(frozen=True, slots=True)
class Advertiser:
    id: int
    slug: str
    name: str
    senders: tuple[str, ...]
    stop_number: str | None
    categories: tuple[str, ...]
    hash_key: bytes
    created_at: datetime

    @property
    def facts(self) -> AdvertiserFacts:
        return AdvertiserFacts(
            slug=self.slug,
            name=self.name,
            senders=self.senders,
            stop_number=self.stop_number,
            categories=fold_set(self.categories),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "name": self.name,
            "senders": list(self.senders),
            "stop_number": self.stop_number,
            "categories": list(self.categories),
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
) -> Advertiser:
    problems = []
    if not _SLUG.fullmatch(slug):
        problems.append(f"slug {slug!r}: lower-case letters, digits and dashes, up to 64")
    if not name.strip():
        problems.append("--name: the legal name is required")
    stop_problem = stop_number_problem(stop_number)
    if stop_problem:
        problems.append(f"--stop-number: {stop_problem}")
    facts = AdvertiserFacts(slug=slug, name=name, senders=tuple(senders), stop_number=stop_number)
    if not senders:
        problems.append("--sender: at least one brand sender ID is required")
    for sender in senders:
        problem = sender_id_problem(sender, facts)
        if problem:
            problems.append(f"--sender: {problem}")
    named = [("slug", slug), ("--name", name), *(("--categories", c) for c in categories)]
    for option, text in named:
        if audit.looks_like_phone(text):
            problems.append(f"{option}: {text!r} holds a phone number")
    if problems:
        raise ServiceError("; ".join(problems))
    now = ctx.now()
    with ctx.engine.begin() as conn:
        if conn.execute(select(advertisers.c.id).where(advertisers.c.slug == slug)).first():
            raise ServiceError(f"an advertiser {slug!r} exists already")
        advertiser_id = conn.execute(
            insert(advertisers).returning(advertisers.c.id),
            {
                "slug": slug,
                "name": name.strip(),
                "stop_number": stop_number,
                "categories": categories,
                "window": None,
                "hash_key": secrets.token_bytes(32),
                "created_at": now,
            },
        ).scalar_one()
        unique_senders = list(dict.fromkeys(s.upper() for s in senders))
        conn.execute(
            insert(sender_ids),
            [{"advertiser_id": advertiser_id, "sender": s} for s in unique_senders],
        )
        audit.append(
            conn,
            actor=ctx.actor,
            action="advertiser.create",
            advertiser_id=advertiser_id,
            details={"slug": slug, "senders": unique_senders, "categories": categories},
            at=now,
        )
        return _load(conn, slug)


def _load(conn: Connection, slug: str) -> Advertiser:
    row = conn.execute(select(advertisers).where(advertisers.c.slug == slug)).first()
    if row is None:
        raise NotFoundError(f"no advertiser {slug!r} (see `tambour advertiser list`)")
    return _built([row], conn)[row.id]


def _built(rows: Iterable[Any], conn: Connection) -> dict[int, Advertiser]:
    """Advertisers from their rows, with their sender IDs (one query for all of them)."""
    found = list(rows)
    senders: dict[int, list[str]] = {row.id: [] for row in found}
    if senders:
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
            hash_key=row.hash_key,
            created_at=row.created_at,
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
