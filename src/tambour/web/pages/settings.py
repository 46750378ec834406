"""An advertiser's settings: its identity (name, senders, STOP number), its users and their
invitations, its API keys, its webhooks. The column mapping is the contacts pages'.

- /a/{slug}/settings: the identity, read-only here: the platform's operator changes it
  (services/advertisers.update is Action.MANAGE_ADVERTISERS, the operator's);
- /a/{slug}/settings/users: the accounts with a role here, the open invitations; an admin
  (Action.MANAGE_USERS) invites by e-mail (the link is shown once, to send), revokes an
  invitation, disables or enables an account of this advertiser alone, changes the role of
  an account here (never its own; the advertiser keeps an enabled admin);
- /a/{slug}/settings/keys: the API keys; an admin (MANAGE_KEYS) creates one (its token shown
  once) or revokes one;
- /a/{slug}/settings/webhooks (and /{id}): the endpoints, their recent deliveries; an admin
  (MANAGE_WEBHOOKS) creates one (its signing secret shown once), disables or enables it,
  rotates its secret (the new one shown once), replays a delivery.

Everyone who reads the advertiser's data sees the accounts and the keys (never a token); the
webhooks, whose URLs may carry a receiver's credentials, only those who manage them. A token or
a secret is shown once, on the page that answers the form (not after a redirect: it is in no
URL and no log), and never again.
"""

from typing import Annotated, Any, Final

from fastapi import Form, Path, Query, Request
from starlette.responses import Response

from tambour import i18n
from tambour.services import api_keys, users, webhooks
from tambour.services.api_keys import ADVERTISER_SCOPES, Scope
from tambour.services.context import ServiceError
from tambour.services.roles import ADVERTISER_ROLES, Action, Role
from tambour.web import refusals
from tambour.web.responses import redirect
from tambour.web.routing import WebRouter
from tambour.web.templating import render
from tambour.web.visitors import AtAdvertiser, Desk, Page, web_settings

router = WebRouter()
N_ = i18n.N_
DELIVERIES_SHOWN: Final = 20

SAVED: Final = {
    "disabled": N_("The account is disabled: it can no longer log in, its sessions are ended."),
    "enabled": N_("The account is enabled again: it can log in."),
    "role": N_("The role is changed: the account's pages follow it from its next click."),
    "revoked-invitation": N_("The invitation is revoked: its link no longer works."),
    "revoked-key": N_("The key is revoked: the API refuses it from now on."),
    "endpoint-disabled": N_(
        "The endpoint is disabled: its pending deliveries are dropped (they can be replayed)."
    ),
    "endpoint-enabled": N_("The endpoint is enabled again."),
    "replayed": N_("The event will be delivered again, with the same webhook-id."),
}
ROLE_CHOICES: Final = ("marketer", "viewer", "admin")
SCOPES: Final = {
    "read": N_("read: campaigns, contacts, reports"),
    "write": N_("write: campaigns, contacts, opt-outs"),
    "send": N_("send: messages one by one"),
}
EVENTS: Final = {
    "message.submitted": N_("a message left"),
    "message.delivered": N_("a message was delivered"),
    "message.failed": N_("a message failed"),
    "message.expired": N_("a message expired"),
    "message.cancelled": N_("a message was cancelled"),
    "contact.opted_out": N_("a contact opted out"),
    "contact.complained": N_("a contact complained to the 33700"),
    "reply.received": N_("a reply came"),
    "link.clicked": N_("a person followed a short link"),
    "campaign.launched": N_("a campaign was launched"),
    "campaign.finished": N_("a campaign is over"),
    "campaign.paused": N_("a campaign was paused for its 33700 complaint rate"),
    "campaign.resumed": N_("a paused campaign was resumed"),
    "campaign.winner_chosen": N_("an A/B test's winner was chosen"),
    "job.finished": N_("a job is over (import, plan, export)"),
    "data_request.due": N_("a data request is due within a week, or overdue"),
}
DELIVERY_STATES: Final = {
    "pending": N_("waiting"),
    "sending": N_("being sent"),
    "delivered": N_("received (2xx)"),
    "failed": N_("failed for good"),
    "dropped": N_("dropped (endpoint disabled)"),
}
DISABLED_REASONS: Final = {
    "gone": N_("the receiver answered 410 Gone"),
    "failing": N_("it failed for over a day without a success"),
    "by_user": N_("disabled by an administrator"),
}

Email = Annotated[str, Form(max_length=320)]
Line = Annotated[str, Form(max_length=200)]
Url = Annotated[str, Form(max_length=2048)]


def _notice(saved: str | None, lang: str) -> str | None:
    text = SAVED.get(saved or "")
    return i18n.translator(lang).gettext(text) if text else None


def _words(lang: str) -> dict[str, Any]:
    """The texts of codes the pages show, in the page's language."""
    _ = i18n.translator(lang).gettext
    return {
        "scope_names": {code: _(text) for code, text in SCOPES.items()},
        "event_names": {code: _(text) for code, text in EVENTS.items()},
        "delivery_states": {code: _(text) for code, text in DELIVERY_STATES.items()},
        "disabled_reasons": {code: _(text) for code, text in DISABLED_REASONS.items()},
    }


def _base(desk: Desk) -> str:
    return f"/a/{desk.slug}/settings"


# --- the identity -------------------------------------------------------------------------------


@router.get("/a/{slug}/settings")
def identity_page(request: Request, desk: AtAdvertiser, state: Page) -> Response:
    return render(request, "settings/identity.html", {"advertiser": desk.advertiser, "tab": ""})


# --- users and invitations ----------------------------------------------------------------------


def _users_page(
    request: Request, desk: Desk, lang: str, *, status: int = 200, **values: Any
) -> Response:
    found = users.list_users(desk.ctx, advertiser=desk.slug)
    invitations = (
        users.list_invitations(desk.ctx, advertiser=desk.slug)
        if desk.can(Action.MANAGE_USERS)
        else []
    )
    shown = {
        "users": found,
        "invitations": invitations,
        "may_manage": desk.can(Action.MANAGE_USERS),
        "me": desk.visitor.user.email,
        "role_choices": ROLE_CHOICES,
        "invited": None,
        "form": {"email": "", "role": "marketer"},
        "errors": {},
        "error": None,
        "notice": None,
        "tab": "users",
        **values,
    }
    return render(request, "settings/users.html", shown, status=status)


@router.get("/a/{slug}/settings/users")
def users_page(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    saved: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    return _users_page(request, desk, state.lang, notice=_notice(saved, state.lang))


def _role_chosen(value: str) -> Role | None:
    """The advertiser's role a form's select sent (None: not one of them)."""
    return Role(value) if value in ADVERTISER_ROLES else None


def _choose_a_role(lang: str) -> str:
    return i18n.translator(lang).gettext("Choose a role among those listed.")


@router.post("/a/{slug}/settings/users/invite")
def invite(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    email: Email = "",
    role: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    desk.require(Action.MANAGE_USERS)
    form = {"email": email, "role": role}
    chosen = _role_chosen(role)
    if chosen is None:
        said = _choose_a_role(state.lang)
        return _users_page(request, desk, state.lang, status=422, form=form, errors={"role": said})
    try:
        made = users.invite(desk.ctx, email=email, role=chosen, advertiser=desk.slug)
    except ServiceError as error:
        return _users_page(
            request, desk, state.lang, status=error.status, form=form,
            errors=refusals.by_field(error, state.lang),
        )  # fmt: skip
    link = str(request.base_url).rstrip("/") + made.path
    return _users_page(request, desk, state.lang, invited={"invitation": made.invitation,
                                                             "link": link})  # fmt: skip


@router.post("/a/{slug}/settings/users/disable")
def disable(request: Request, desk: AtAdvertiser, state: Page, email: Email = "") -> Response:
    return _account_change(request, desk, state.lang, email, enable=False)


@router.post("/a/{slug}/settings/users/enable")
def enable(request: Request, desk: AtAdvertiser, state: Page, email: Email = "") -> Response:
    return _account_change(request, desk, state.lang, email, enable=True)


def _account_change(
    request: Request, desk: Desk, lang: str, email: str, *, enable: bool
) -> Response:
    desk.require(Action.MANAGE_USERS)
    change = users.enable_user if enable else users.disable_user
    try:
        change(desk.ctx, email, advertiser=desk.slug, acting=desk.visitor.user.email)
    except ServiceError as error:
        return _users_page(
            request, desk, lang, status=error.status, error=refusals.said(error, lang)
        )
    return redirect(request, f"{_base(desk)}/users?saved={'enabled' if enable else 'disabled'}")


@router.post("/a/{slug}/settings/users/role")
def change_role(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    email: Email = "",
    role: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    desk.require(Action.MANAGE_USERS)
    chosen = _role_chosen(role)
    if chosen is None:
        return _users_page(request, desk, state.lang, status=422, error=_choose_a_role(state.lang))
    try:
        users.change_role(
            desk.ctx, email=email, advertiser=desk.slug, role=chosen,
            acting=desk.visitor.user.email,
        )  # fmt: skip
    except ServiceError as error:
        return _users_page(
            request, desk, state.lang, status=error.status, error=refusals.said(error, state.lang)
        )
    return redirect(request, f"{_base(desk)}/users?saved=role")


@router.post("/a/{slug}/settings/invitations/{invitation_id}/revoke")
def revoke_invitation(
    request: Request, desk: AtAdvertiser, state: Page, invitation_id: int
) -> Response:
    desk.require(Action.MANAGE_USERS)
    try:
        users.revoke_invitation(desk.ctx, invitation_id, advertiser=desk.slug)
    except ServiceError as error:
        return _users_page(
            request, desk, state.lang, status=error.status, error=refusals.said(error, state.lang)
        )
    return redirect(request, f"{_base(desk)}/users?saved=revoked-invitation")


# --- API keys -----------------------------------------------------------------------------------


def _keys_page(
    request: Request, desk: Desk, lang: str, *, status: int = 200, **values: Any
) -> Response:
    shown = {
        "keys": api_keys.list_keys(desk.ctx, advertiser=desk.slug),
        "may_manage": desk.can(Action.MANAGE_KEYS),
        "scope_choices": [s.value for s in sorted(ADVERTISER_SCOPES)],
        "created": None,
        "form": {"name": "", "scopes": ["read"]},
        "errors": {},
        "error": None,
        "notice": None,
        "tab": "keys",
        "api_url": str(request.base_url).rstrip("/") + "/api/v1",
        **_words(lang),
        **values,
    }
    return render(request, "settings/keys.html", shown, status=status)


@router.get("/a/{slug}/settings/keys")
def keys_page(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    saved: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    return _keys_page(request, desk, state.lang, notice=_notice(saved, state.lang))


@router.post("/a/{slug}/settings/keys")
def create_key(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    name: Annotated[str, Form(max_length=200)] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
) -> Response:
    desk.require(Action.MANAGE_KEYS)
    wanted = list(dict.fromkeys(scopes or []))
    form = {"name": name, "scopes": wanted}
    known = {s.value for s in ADVERTISER_SCOPES}
    if any(scope not in known for scope in wanted):
        said = i18n.translator(state.lang).gettext("Choose scopes among those listed.")
        return _keys_page(request, desk, state.lang, status=422, form=form, errors={"scopes": said})
    try:
        made = api_keys.create(
            desk.ctx, scopes=[Scope(s) for s in wanted], advertiser=desk.slug, name=name.strip()
        )
    except ServiceError as error:
        return _keys_page(
            request, desk, state.lang, status=error.status, form=form,
            errors=refusals.by_field(error, state.lang),
        )  # fmt: skip
    return _keys_page(request, desk, state.lang, created=made)


@router.post("/a/{slug}/settings/keys/{key_id}/revoke")
def revoke_key(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    key_id: Annotated[str, Path(max_length=16)],
) -> Response:
    desk.require(Action.MANAGE_KEYS)
    try:
        api_keys.revoke(desk.ctx, key_id, advertiser=desk.slug)
    except ServiceError as error:
        return _keys_page(
            request, desk, state.lang, status=error.status, error=refusals.said(error, state.lang)
        )
    return redirect(request, f"{_base(desk)}/keys?saved=revoked-key")


# --- webhooks -----------------------------------------------------------------------------------


def _webhooks_page(
    request: Request, desk: Desk, lang: str, *, status: int = 200, **values: Any
) -> Response:
    may = desk.can(Action.MANAGE_WEBHOOKS)
    shown = {
        "endpoints": webhooks.list_endpoints(desk.ctx, advertiser=desk.slug) if may else [],
        "may_manage": may,
        "event_choices": list(webhooks.EVENT_TYPES),
        "created": None,
        "rotated": None,
        "form": {"url": "", "description": "", "events": []},
        "errors": {},
        "error": None,
        "notice": None,
        "tab": "webhooks",
        **_words(lang),
        **values,
    }
    return render(request, "settings/webhooks.html", shown, status=status)


@router.get("/a/{slug}/settings/webhooks")
def webhooks_page(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    saved: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    return _webhooks_page(request, desk, state.lang, notice=_notice(saved, state.lang))


@router.post("/a/{slug}/settings/webhooks")
def create_endpoint(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    url: Url = "",
    description: Line = "",
    events: Annotated[list[str] | None, Form()] = None,
) -> Response:
    desk.require(Action.MANAGE_WEBHOOKS)
    wanted = list(dict.fromkeys(events or []))
    form = {"url": url, "description": description, "events": wanted}
    try:
        made = webhooks.create_endpoint(
            desk.ctx, advertiser=desk.slug, url=url.strip(), events=wanted,
            description=description.strip(),
            allow_private=web_settings(request).allow_private_webhooks,
        )  # fmt: skip
    except ServiceError as error:
        return _webhooks_page(
            request, desk, state.lang, status=error.status, form=form,
            errors=refusals.by_field(error, state.lang),
        )  # fmt: skip
    return _webhooks_page(request, desk, state.lang, created=made)


def _endpoint_page(
    request: Request, desk: Desk, lang: str, endpoint_id: int, *, status: int = 200,
    **values: Any,
) -> Response:  # fmt: skip
    desk.require(Action.MANAGE_WEBHOOKS)  # the URL may carry the receiver's credentials
    endpoint = webhooks.get_endpoint(desk.ctx, advertiser=desk.slug, endpoint_id=endpoint_id)
    shown = {
        "endpoint": endpoint,
        "deliveries": webhooks.deliveries(
            desk.ctx, advertiser=desk.slug, endpoint_id=endpoint_id, limit=DELIVERIES_SHOWN
        ),
        "may_manage": True,
        "rotated": None,
        "error": None,
        "notice": None,
        "tab": "webhooks",
        **_words(lang),
        **values,
    }
    return render(request, "settings/endpoint.html", shown, status=status)


@router.get("/a/{slug}/settings/webhooks/{endpoint_id}")
def endpoint_page(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    endpoint_id: int,
    saved: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    return _endpoint_page(request, desk, state.lang, endpoint_id, notice=_notice(saved, state.lang))


@router.post("/a/{slug}/settings/webhooks/{endpoint_id}/disable")
def disable_endpoint(
    request: Request, desk: AtAdvertiser, state: Page, endpoint_id: int
) -> Response:
    return _switch(request, desk, state.lang, endpoint_id, enabled=False)


@router.post("/a/{slug}/settings/webhooks/{endpoint_id}/enable")
def enable_endpoint(
    request: Request, desk: AtAdvertiser, state: Page, endpoint_id: int
) -> Response:
    return _switch(request, desk, state.lang, endpoint_id, enabled=True)


def _switch(
    request: Request, desk: Desk, lang: str, endpoint_id: int, *, enabled: bool
) -> Response:
    desk.require(Action.MANAGE_WEBHOOKS)
    webhooks.update_endpoint(
        desk.ctx, advertiser=desk.slug, endpoint_id=endpoint_id, enabled=enabled
    )
    saved = "endpoint-enabled" if enabled else "endpoint-disabled"
    return redirect(request, f"{_base(desk)}/webhooks/{endpoint_id}?saved={saved}")


@router.post("/a/{slug}/settings/webhooks/{endpoint_id}/rotate")
def rotate_secret(request: Request, desk: AtAdvertiser, state: Page, endpoint_id: int) -> Response:
    desk.require(Action.MANAGE_WEBHOOKS)
    rotated = webhooks.rotate_secret(desk.ctx, advertiser=desk.slug, endpoint_id=endpoint_id)
    return _endpoint_page(request, desk, state.lang, endpoint_id, rotated=rotated)


@router.post("/a/{slug}/settings/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay")
def replay(
    request: Request, desk: AtAdvertiser, state: Page, endpoint_id: int, delivery_id: int
) -> Response:
    desk.require(Action.MANAGE_WEBHOOKS)
    try:
        webhooks.replay(desk.ctx, advertiser=desk.slug, delivery_id=delivery_id)
    except ServiceError as error:
        return _endpoint_page(
            request, desk, state.lang, endpoint_id, status=error.status,
            error=refusals.said(error, state.lang),
        )  # fmt: skip
    return redirect(request, f"{_base(desk)}/webhooks/{endpoint_id}?saved=replayed")
