"""Who may do what (issue 16 point 2): the roles of a user and the one policy every entry point
asks, `can(user, action, advertiser_id)`. Pure: no database, no clock.

A user holds memberships, each a role with an advertiser (or none, for the operator):

- viewer: reads its advertiser's data (a data-protection officer: reads everything, changes
  nothing);
- marketer: also writes its advertiser's campaigns and contacts (opt-outs included);
- admin: also manages its advertiser's users, API keys and webhooks;
- operator (no advertiser): manages the platform, its advertisers and its operators, and the
  users of any advertiser (an advertiser's first admin is invited by the operator). An operator
  reads or writes no advertiser's data (campaigns, contacts), as an operator API key does not.

A role at one advertiser grants nothing at another: the advertiser an action is about must be
the membership's own. The table `ALLOWED` is the whole policy.
"""

from collections.abc import Iterable
from enum import StrEnum
from typing import Final, Protocol


class Role(StrEnum):
    OPERATOR = "operator"
    ADMIN = "admin"
    MARKETER = "marketer"
    VIEWER = "viewer"


class Action(StrEnum):
    READ = "read"  # campaigns, contacts, reports, proofs, the advertiser's audit entries
    WRITE_CAMPAIGNS = "campaigns.write"  # create, edit, plan, launch, cancel
    WRITE_CONTACTS = "contacts.write"  # imports, opt-outs, mappings
    MANAGE_USERS = "users.manage"  # invite, disable, change roles of the advertiser's users
    MANAGE_KEYS = "keys.manage"  # the advertiser's API keys
    MANAGE_WEBHOOKS = "webhooks.manage"
    MANAGE_ADVERTISERS = "advertisers.manage"  # the platform's: create, update advertisers
    MANAGE_OPERATORS = "operators.manage"  # the platform's: invite, disable operators


# Actions about the platform itself: they take no advertiser.
PLATFORM_ACTIONS: Final = frozenset({Action.MANAGE_ADVERTISERS, Action.MANAGE_OPERATORS})

# The roles that may do each action (for an advertiser's action: at that advertiser; the
# operator's membership has no advertiser and counts for every one).
ALLOWED: Final[dict[Action, frozenset[Role]]] = {
    Action.READ: frozenset({Role.VIEWER, Role.MARKETER, Role.ADMIN}),
    Action.WRITE_CAMPAIGNS: frozenset({Role.MARKETER, Role.ADMIN}),
    Action.WRITE_CONTACTS: frozenset({Role.MARKETER, Role.ADMIN}),
    Action.MANAGE_USERS: frozenset({Role.ADMIN, Role.OPERATOR}),
    Action.MANAGE_KEYS: frozenset({Role.ADMIN}),
    Action.MANAGE_WEBHOOKS: frozenset({Role.ADMIN}),
    Action.MANAGE_ADVERTISERS: frozenset({Role.OPERATOR}),
    Action.MANAGE_OPERATORS: frozenset({Role.OPERATOR}),
}

# The roles that belong to an advertiser (every one but the operator's).
ADVERTISER_ROLES: Final = frozenset({Role.ADMIN, Role.MARKETER, Role.VIEWER})


class Grant(Protocol):
    """A membership: a role, at an advertiser (None for the operator)."""

    @property
    def role(self) -> Role: ...

    @property
    def advertiser_id(self) -> int | None: ...


class Principal(Protocol):
    """Whoever acts: a user with its memberships."""

    @property
    def memberships(self) -> tuple[Grant, ...]: ...


def can(user: Principal, action: Action, advertiser_id: int | None = None) -> bool:
    """Whether `user` may do `action`: for a platform action, as an operator; for any other,
    at `advertiser_id` (None: at no advertiser, which no role allows)."""
    allowed = ALLOWED[action]
    if action in PLATFORM_ACTIONS:
        return any(grant.role is Role.OPERATOR for grant in user.memberships)
    if advertiser_id is None:
        return False
    return any(_grants(grant, allowed, advertiser_id) for grant in user.memberships)


def _grants(grant: Grant, allowed: frozenset[Role], advertiser_id: int) -> bool:
    if grant.role not in allowed:
        return False
    if grant.role is Role.OPERATOR:
        return grant.advertiser_id is None
    return grant.advertiser_id == advertiser_id


def can_grant(user: Principal, role: Role, advertiser_id: int | None) -> bool:
    """Whether `user` may give `role` (an invitation, a change of role): the operator's role
    takes an operator, any other role someone who manages that advertiser's users."""
    if role is Role.OPERATOR:
        return advertiser_id is None and can(user, Action.MANAGE_OPERATORS)
    return advertiser_id is not None and can(user, Action.MANAGE_USERS, advertiser_id)


def advertisers_readable(user: Principal) -> frozenset[int]:
    """The advertisers whose data `user` may read (a menu of advertisers, a search's scope)."""
    return frozenset(
        grant.advertiser_id
        for grant in user.memberships
        if grant.advertiser_id is not None and grant.role in ALLOWED[Action.READ]
    )


def roles_of(grants: Iterable[Grant], advertiser_id: int | None) -> frozenset[Role]:
    """The roles held at `advertiser_id` (None: the operator's)."""
    return frozenset(grant.role for grant in grants if grant.advertiser_id == advertiser_id)
