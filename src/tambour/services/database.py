"""The database's schema: where it stands, and migrating it to this version's (audited, the rows
written before seals existed sealed and listed by the entry)."""

from dataclasses import dataclass

from tambour.services import audit, installation
from tambour.services.context import ConflictError, Context
from tambour.services.ledger_proof import seal_unsealed
from tambour.services.seals import Sealer, with_rows
from tambour.services.views import View
from tambour.store.schema import current_revision, head_revision
from tambour.store.schema import upgrade as migrate


@dataclass(frozen=True, slots=True)
class SchemaStatus(View):
    current: str | None  # None: an empty database
    head: str  # the revision this version needs
    up_to_date: bool


@dataclass(frozen=True, slots=True)
class Upgraded(View):
    before: str | None
    after: str


def status(ctx: Context) -> SchemaStatus:
    current = current_revision(ctx.engine)
    return SchemaStatus(current, head_revision(), current == head_revision())


def upgrade(ctx: Context) -> Upgraded:
    """Migrate the schema to this version's; the database's key recorded on its first use.
    ConflictError (code `migration_refused`) when a migration cannot go on, saying why."""
    try:
        before, after = migrate(ctx.engine, ctx.keys)
    except RuntimeError as error:  # a migration that cannot go on says why
        raise ConflictError(str(error), code="migration_refused") from None
    installation.ensure_key(ctx.engine, ctx.keys)
    if before != after:
        with ctx.engine.begin() as conn:
            # Rows written before seals existed are sealed now, and listed by this entry.
            legacy = seal_unsealed(conn, Sealer.of(ctx.keys))
            audit.append(
                conn,
                actor=ctx.actor,
                action="db.upgrade",
                details=with_rows({"from": before, "to": after}, legacy),
                at=ctx.now(),
            )
    return Upgraded(before, after)
