"""`tambour user`: the accounts of the web app (services/users.py). `create` makes the first
operator (the password asked twice, not echoed, or read from stdin); everyone else is invited
by a link, printed once."""

import sys
from datetime import timedelta
from typing import Annotated, Any

import typer

from tambour.cli.context import open_context, refusals
from tambour.cli.output import fail, parse_choice, print_json, within
from tambour.services import sessions, users
from tambour.services.roles import Role
from tambour.services.users import User

app = typer.Typer(no_args_is_help=True, help="Accounts of the web app: operators and users.")
sessions_app = typer.Typer(no_args_is_help=True, help="An account's sessions.")
app.add_typer(sessions_app, name="sessions")

# The use cases' parameters, as these commands name them.
_OPTIONS = {
    "email": "EMAIL",
    "role": "--role",
    "advertiser": "--advertiser",
    "password": "password",
    "valid_for": "--valid-days",
}
_HINTS = {"user_not_found": " (see `tambour user list`)"}


def _line(user: User) -> str:
    roles = ", ".join(
        m.role.value if m.advertiser is None else f"{m.role.value} of {m.advertiser}"
        for m in user.memberships
    )
    extra = " [TOTP]" if user.totp_enrolled else ""
    state = "" if user.active else " (disabled)"
    return f"{user.email}: {roles or 'no role'}{extra}{state}"


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if not password:
            fail("--password-stdin: no password on the standard input")
        return password
    typed: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return typed


@app.command("create")
def create(
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The account's address.")],
    role: Annotated[str, typer.Option("--role", help="operator, admin, marketer or viewer.")],
    advertiser: Annotated[
        str | None, typer.Option("--advertiser", help="The advertiser's slug (not an operator).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin's first line.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create an account with a password: the first operator, for one."""
    chosen = parse_choice(role, Role, "--role")
    password = _password(password_stdin)
    ctx = open_context()
    with refusals(_OPTIONS, hints=_HINTS):
        user = users.create_user(
            ctx, email=email, password=password, role=chosen, advertiser=advertiser
        )
    if as_json:
        print_json(user.as_dict())
    else:
        typer.echo(_line(user))


@app.command("invite")
def invite(
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="Who is invited.")],
    role: Annotated[str, typer.Option("--role", help="operator, admin, marketer or viewer.")],
    advertiser: Annotated[
        str | None, typer.Option("--advertiser", help="The advertiser's slug (not an operator).")
    ] = None,
    valid_days: Annotated[
        int,
        typer.Option(
            "--valid-days", help="How long the link works.", callback=within("--valid-days", 1, 30)
        ),
    ] = 7,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Invite someone by a link, printed once: its path on the web app (/invitations/...)."""
    chosen = parse_choice(role, Role, "--role")
    ctx = open_context()
    with refusals(_OPTIONS, hints=_HINTS):
        made = users.invite(
            ctx,
            email=email,
            role=chosen,
            advertiser=advertiser,
            valid_for=timedelta(days=valid_days),
        )
    invitation = made.invitation
    if as_json:
        print_json(
            {
                "email": invitation.email,
                "role": invitation.role.value,
                "advertiser": invitation.advertiser,
                "expires_at": invitation.expires_at.isoformat(),
                "path": made.path,
            }
        )
        return
    typer.echo(made.path)
    typer.echo(
        f"Invitation of {invitation.email} as {invitation.role.value}"
        f"{'' if invitation.advertiser is None else ' of ' + invitation.advertiser}, valid until "
        f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC.\nThis link is shown once: send it now.",
        err=True,
    )


@app.command("list")
def list_cmd(
    advertiser: Annotated[
        str | None, typer.Option("--advertiser", help="Only the accounts of this advertiser.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Every account with its roles, disabled ones included."""
    ctx = open_context()
    with refusals(_OPTIONS, hints=_HINTS):
        found = users.list_users(ctx, advertiser=advertiser)
    if as_json:
        print_json([user.as_dict() for user in found])
        return
    for user in found:
        typer.echo(_line(user))


@app.command("disable")
def disable(
    email: Annotated[str, typer.Argument(metavar="EMAIL")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Disable an account: it can no longer log in, and its sessions end now."""
    ctx = open_context()
    with refusals(_OPTIONS, hints=_HINTS):
        user = users.disable_user(ctx, email)
    _said(user, as_json)


@app.command("enable")
def enable(
    email: Annotated[str, typer.Argument(metavar="EMAIL")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Let a disabled account log in again."""
    ctx = open_context()
    with refusals(_OPTIONS, hints=_HINTS):
        user = users.enable_user(ctx, email)
    _said(user, as_json)


@app.command("role")
def role_cmd(
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The account's address.")],
    advertiser: Annotated[str, typer.Option("--advertiser", help="The advertiser's slug.")],
    role: Annotated[str, typer.Option("--role", help="admin, marketer or viewer.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Change the role of an account at an advertiser (its sessions see it at their next
    request). An advertiser keeps at least one enabled admin."""
    chosen = parse_choice(role, Role, "--role")
    ctx = open_context()
    with refusals(_OPTIONS, hints=_HINTS):
        user = users.change_role(ctx, email=email, advertiser=advertiser, role=chosen)
    _said(user, as_json)


def _invitation_dict(invitation: users.Invitation) -> dict[str, Any]:
    return {
        "id": invitation.id,
        "email": invitation.email,
        "role": invitation.role.value,
        "advertiser": invitation.advertiser,
        "created_at": invitation.created_at.isoformat(),
        "created_by": invitation.created_by,
        "expires_at": invitation.expires_at.isoformat(),
    }


@app.command("invitations")
def invitations(
    advertiser: Annotated[
        str | None, typer.Option("--advertiser", help="Only this advertiser's invitations.")
    ] = None,
    operators: Annotated[
        bool, typer.Option("--operators", help="Only the invitations of operators.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The invitations still open (neither used, expired nor revoked), oldest first."""
    ctx = open_context()
    with refusals({**_OPTIONS, "operators": "--operators"}, hints=_HINTS):
        found = users.list_invitations(ctx, advertiser=advertiser, operators=operators)
    if as_json:
        print_json([_invitation_dict(invitation) for invitation in found])
        return
    for invitation in found:
        where = "" if invitation.advertiser is None else f" of {invitation.advertiser}"
        typer.echo(
            f"{invitation.id}: {invitation.email} as {invitation.role.value}{where}, valid until "
            f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC (by {invitation.created_by})"
        )


@app.command("revoke-invitation")
def revoke_invitation(
    invitation_id: Annotated[
        int, typer.Argument(metavar="ID", help="The invitation's id (`tambour user invitations`).")
    ],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Revoke an open invitation: its link stops working now."""
    ctx = open_context()
    options = {**_OPTIONS, "invitation": "ID"}
    hints = {**_HINTS, "invitation_not_found": " (see `tambour user invitations`)"}
    with refusals(options, hints=hints):
        revoked = users.revoke_invitation(ctx, invitation_id)
    if as_json:
        print_json(_invitation_dict(revoked))
    else:
        typer.echo(f"invitation {revoked.id} of {revoked.email} revoked: its link no longer works")


@sessions_app.command("revoke")
def revoke_sessions(
    email: Annotated[str, typer.Argument(metavar="EMAIL")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """End every session of an account (it must log in again)."""
    ctx = open_context()
    with refusals(_OPTIONS, hints=_HINTS):
        count = sessions.revoke_all(ctx, email)
    if as_json:
        print_json({"email": email.strip().casefold(), "revoked": count})
    else:
        typer.echo(f"{count} session{'s' if count != 1 else ''} ended")


@app.command("purge")
def purge(
    days: Annotated[
        int,
        typer.Option("--days", min=1, max=3650, help="Keep ended sessions this many days."),
    ] = 30,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Delete the sessions that ended more than --days ago and the failed logins the throttle
    no longer counts (the audit log keeps the logins and logouts). Run it daily, with cron."""
    ctx = open_context()
    done = sessions.purge(ctx, ended_kept=timedelta(days=days))
    if as_json:
        print_json({"sessions": done.sessions, "login_failures": done.login_failures})
    else:
        typer.echo(
            f"{done.sessions} ended session(s) and {done.login_failures} old failed login(s) "
            "deleted"
        )


def _said(user: User, as_json: bool) -> None:
    payload: Any = user.as_dict()
    if as_json:
        print_json(payload)
    else:
        typer.echo(_line(user))
