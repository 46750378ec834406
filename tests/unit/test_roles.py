"""The whole policy of services/roles.py: every role, every action, at its own advertiser, at
another and at none, written out here by hand rather than read back from the table it tests."""

from dataclasses import dataclass

import pytest

from tambour.services.roles import (
    ALLOWED,
    Action,
    Role,
    advertisers_readable,
    can,
    can_grant,
    roles_of,
)

HOME, OTHER = 1, 2


@dataclass(frozen=True)
class Grant:
    role: Role
    advertiser_id: int | None


@dataclass(frozen=True)
class Someone:
    memberships: tuple[Grant, ...]


def holding(role: Role) -> Someone:
    return Someone((Grant(role, None if role is Role.OPERATOR else HOME),))


# What each role may do at its own advertiser (the operator: at any), by hand.
EXPECTED = {
    Role.VIEWER: {Action.READ},
    Role.MARKETER: {Action.READ, Action.WRITE_CAMPAIGNS, Action.WRITE_CONTACTS},
    Role.ADMIN: {
        Action.READ,
        Action.WRITE_CAMPAIGNS,
        Action.WRITE_CONTACTS,
        Action.MANAGE_USERS,
        Action.MANAGE_KEYS,
        Action.MANAGE_WEBHOOKS,
    },
    Role.OPERATOR: {Action.MANAGE_USERS, Action.MANAGE_ADVERTISERS, Action.MANAGE_OPERATORS},
}
PLATFORM = {Action.MANAGE_ADVERTISERS, Action.MANAGE_OPERATORS}


def test_the_table_covers_every_action() -> None:
    assert set(ALLOWED) == set(Action)
    assert {action for role in EXPECTED.values() for action in role} == set(Action)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_each_role_and_action_at_home_elsewhere_and_nowhere(role: Role, action: Action) -> None:
    user = holding(role)
    allowed = action in EXPECTED[role]
    assert can(user, action, HOME) is allowed
    if role is Role.OPERATOR:
        assert can(user, action, OTHER) is allowed  # the platform's: every advertiser
    else:
        assert can(user, action, OTHER) is False  # never another advertiser's
    # Without an advertiser: platform actions only, for the operator only.
    assert can(user, action, None) is (allowed and action in PLATFORM)


def test_a_role_held_at_two_advertisers_counts_at_each_for_itself() -> None:
    agency = Someone((Grant(Role.ADMIN, HOME), Grant(Role.VIEWER, OTHER)))
    assert can(agency, Action.MANAGE_KEYS, HOME) and not can(agency, Action.MANAGE_KEYS, OTHER)
    assert can(agency, Action.READ, OTHER) and not can(agency, Action.WRITE_CONTACTS, OTHER)
    assert not can(agency, Action.READ, 3)
    assert advertisers_readable(agency) == {HOME, OTHER}
    assert roles_of(agency.memberships, OTHER) == {Role.VIEWER}


def test_no_membership_allows_nothing() -> None:
    nobody = Someone(())
    assert not any(can(nobody, action, HOME) for action in Action)
    assert not any(can(nobody, action, None) for action in Action)


def test_an_operator_grant_tied_to_an_advertiser_is_no_operator() -> None:
    """A row that should not exist (an operator role with an advertiser) grants nothing of
    the platform's, and nothing at its advertiser but what the operator may do anywhere."""
    odd = Someone((Grant(Role.OPERATOR, HOME),))
    assert can(odd, Action.MANAGE_ADVERTISERS)  # platform actions look at the role only
    assert not can(odd, Action.MANAGE_USERS, HOME)
    assert not can(odd, Action.READ, HOME)


def test_an_operator_reads_no_advertisers_data() -> None:
    ops = holding(Role.OPERATOR)
    assert advertisers_readable(ops) == frozenset()
    for action in (Action.READ, Action.WRITE_CAMPAIGNS, Action.WRITE_CONTACTS,
                   Action.MANAGE_KEYS, Action.MANAGE_WEBHOOKS):  # fmt: skip
        assert not can(ops, action, HOME)


@pytest.mark.parametrize(
    ("giver", "role", "advertiser", "expected"),
    [
        (Role.OPERATOR, Role.OPERATOR, None, True),
        (Role.OPERATOR, Role.ADMIN, OTHER, True),  # an advertiser's first admin
        (Role.OPERATOR, Role.OPERATOR, HOME, False),  # an operator has no advertiser
        (Role.ADMIN, Role.ADMIN, HOME, True),
        (Role.ADMIN, Role.VIEWER, HOME, True),
        (Role.ADMIN, Role.VIEWER, OTHER, False),
        (Role.ADMIN, Role.OPERATOR, None, False),
        (Role.ADMIN, Role.MARKETER, None, False),  # an advertiser's role needs one
        (Role.MARKETER, Role.VIEWER, HOME, False),
        (Role.VIEWER, Role.VIEWER, HOME, False),
    ],
)
def test_who_may_give_which_role(
    giver: Role, role: Role, advertiser: int | None, expected: bool
) -> None:
    assert can_grant(holding(giver), role, advertiser) is expected
