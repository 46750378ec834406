"""The platform's pages, for operators: advertisers and operators.

- /operator/advertisers: every advertiser, and the form of `tambour advertiser create` (slug,
  name, sender IDs, STOP number, categories, non-commercial registration);
- /operator/advertisers/{slug}: one advertiser, and the form of `tambour advertiser update`
  (name, sender IDs added, categories, non-commercial registration, contact details and
  data-protection officer); its accounts, each with its role there, which the operator
  changes as `tambour user role` does;
- /operator/record: the operator's record of processing as processor (GDPR Art. 30(2)),
  printable (web/pages/records.py);
- /operator/operators: the operators, the open invitations (revocable), and two invitations by
  link: an operator's, and an advertiser's first administrator's.

Each takes `Operator` (web/visitors.py): any other account gets 404. An operator manages the
platform, never an advertiser's contacts or campaigns (services/roles.py): nothing here reads
them.
"""

import re
from typing import Annotated, Any, Final

from fastapi import Form, Path, Query, Request
from starlette.responses import Response

from tambour import i18n
from tambour.rules.fold import split_list
from tambour.services import advertisers, users
from tambour.services.advertisers import CONTACT_FIELDS
from tambour.services.context import Context, ServiceError
from tambour.services.roles import ADVERTISER_ROLES, Role
from tambour.web import refusals
from tambour.web.responses import redirect
from tambour.web.routing import WebRouter
from tambour.web.templating import render
from tambour.web.visitors import Operator, Page, Signed

router = WebRouter()
N_ = i18n.N_
SAVED: Final = {
    "created": N_("The advertiser is created. Next: invite its first administrator."),
    "updated": N_("The advertiser is saved."),
    "role": N_("The role is changed: the account's pages follow it from its next click."),
    "revoked-invitation": N_("The invitation is revoked: its link no longer works."),
}
_SENDERS: Final = re.compile(r"[\s,;]+")
ROLE_CHOICES: Final = ("admin", "marketer", "viewer")

Line = Annotated[str, Form(max_length=200)]
Short = Annotated[str, Form(max_length=64)]
SlugPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]


def _notice(saved: str | None, lang: str) -> str | None:
    text = SAVED.get(saved or "")
    return i18n.translator(lang).gettext(text) if text else None


def _senders(text: str) -> list[str]:
    """Sender IDs as typed in one field: separated by spaces, commas or semicolons."""
    return [part for part in _SENDERS.split(text.strip()) if part]


# --- advertisers --------------------------------------------------------------------------------


def _advertisers_page(
    request: Request, ctx: Context, *, status: int = 200, **values: Any
) -> Response:
    shown = {
        "advertisers": advertisers.list_all(ctx),
        "form": {"slug": "", "name": "", "senders": "", "stop_number": "", "categories": "",
                 "non_commercial_id": ""},
        "errors": {},
        "notice": None,
        "tab": "advertisers",
        **values,
    }  # fmt: skip
    return render(request, "operator/advertisers.html", shown, status=status)


@router.get("/operator/advertisers")
def advertisers_page(
    request: Request,
    ctx: Operator,
    state: Page,
    saved: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    return _advertisers_page(request, ctx, notice=_notice(saved, state.lang))


@router.post("/operator/advertisers")
def create_advertiser(
    request: Request,
    ctx: Operator,
    state: Page,
    slug: Short = "",
    name: Line = "",
    senders: Line = "",
    stop_number: Annotated[str, Form(max_length=32)] = "",
    categories: Annotated[str, Form(max_length=2000)] = "",
    non_commercial_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    form = {"slug": slug, "name": name, "senders": senders, "stop_number": stop_number,
            "categories": categories, "non_commercial_id": non_commercial_id}  # fmt: skip
    try:
        made = advertisers.create(
            ctx, slug=slug.strip(), name=name, senders=_senders(senders),
            stop_number=stop_number.strip(), categories=list(split_list(categories)),
            non_commercial_id=non_commercial_id.strip() or None,
        )  # fmt: skip
    except ServiceError as error:
        return _advertisers_page(
            request, ctx, status=error.status, form=form,
            errors=refusals.by_field(error, state.lang),
        )  # fmt: skip
    return redirect(request, f"/operator/advertisers/{made.slug}?saved=created")


def _advertiser_page(
    request: Request, ctx: Context, slug: str, *, status: int = 200, **values: Any
) -> Response:
    found = advertisers.show(ctx, slug)
    shown = {
        "advertiser": found,
        "accounts": users.list_users(ctx, advertiser=slug),
        "role_choices": ROLE_CHOICES,
        "error": None,
        "form": {"name": found.name, "add_senders": "", "categories": "; ".join(found.categories),
                 "non_commercial_id": found.non_commercial_id or "", "clear": False,
                 "stop_link": found.stop_link,
                 **{name: getattr(found, name) or "" for name in CONTACT_FIELDS}},
        "errors": {},
        "notice": None,
        "tab": "advertisers",
        **values,
    }  # fmt: skip
    return render(request, "operator/advertiser.html", shown, status=status)


@router.get("/operator/advertisers/{slug}")
def advertiser_page(
    request: Request,
    ctx: Operator,
    state: Page,
    slug: SlugPath,
    saved: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    return _advertiser_page(request, ctx, slug, notice=_notice(saved, state.lang))


@router.post("/operator/advertisers/{slug}")
def update_advertiser(
    request: Request,
    ctx: Operator,
    state: Page,
    slug: SlugPath,
    name: Line = "",
    add_senders: Line = "",
    categories: Annotated[str, Form(max_length=2000)] = "",
    non_commercial_id: Annotated[str, Form(max_length=40)] = "",
    clear_non_commercial: Annotated[str, Form(max_length=8)] = "",
    stop_link: Annotated[str, Form(max_length=8)] = "",
    address: Annotated[str, Form(max_length=600)] = "",
    contact_email: Annotated[str, Form(max_length=320)] = "",
    dpo_name: Line = "",
    dpo_email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    clear = bool(clear_non_commercial)
    contact = {"address": address, "contact_email": contact_email, "dpo_name": dpo_name,
               "dpo_email": dpo_email}  # fmt: skip
    form = {"name": name, "add_senders": add_senders, "categories": categories,
            "non_commercial_id": non_commercial_id, "clear": clear,
            "stop_link": bool(stop_link), **contact}  # fmt: skip
    try:
        advertisers.update(
            ctx, slug, name=name,
            non_commercial_id=None if clear else non_commercial_id.strip() or None,
            clear_non_commercial=clear, add_senders=_senders(add_senders),
            categories=list(split_list(categories)), contact=contact,
            stop_link=bool(stop_link),
        )  # fmt: skip
    except ServiceError as error:
        return _advertiser_page(
            request, ctx, slug, status=error.status, form=form,
            errors=refusals.by_field(error, state.lang),
        )  # fmt: skip
    return redirect(request, f"/operator/advertisers/{slug}?saved=updated")


@router.post("/operator/advertisers/{slug}/users/role")
def change_role(
    request: Request,
    ctx: Operator,
    visitor: Signed,
    state: Page,
    slug: SlugPath,
    email: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """The role of an account at this advertiser (the advertiser keeps an enabled admin)."""
    if role not in ADVERTISER_ROLES:
        said = i18n.translator(state.lang).gettext("Choose a role among those listed.")
        return _advertiser_page(request, ctx, slug, status=422, error=said)
    try:
        users.change_role(
            ctx, email=email, advertiser=slug, role=Role(role), acting=visitor.user.email
        )
    except ServiceError as error:
        return _advertiser_page(
            request, ctx, slug, status=error.status, error=refusals.said(error, state.lang)
        )
    return redirect(request, f"/operator/advertisers/{slug}?saved=role")


# --- operators and invitations ------------------------------------------------------------------


def _operators_page(
    request: Request, ctx: Context, *, status: int = 200, **values: Any
) -> Response:
    shown = {
        "operators": users.list_operators(ctx),
        "invitations": users.list_invitations(ctx),
        "advertisers": advertisers.list_all(ctx),
        "invited": None,
        "operator_form": {"email": ""},
        "admin_form": {"email": "", "advertiser": ""},
        "operator_errors": {},
        "admin_errors": {},
        "error": None,
        "notice": None,
        "tab": "operators",
        **values,
    }
    return render(request, "operator/operators.html", shown, status=status)


@router.get("/operator/operators")
def operators_page(
    request: Request,
    ctx: Operator,
    state: Page,
    saved: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    return _operators_page(request, ctx, notice=_notice(saved, state.lang))


@router.post("/operator/operators/invite")
def invite_operator(
    request: Request,
    ctx: Operator,
    state: Page,
    email: Annotated[str, Form(max_length=320, alias="operator_email")] = "",
) -> Response:
    try:
        made = users.invite(ctx, email=email, role=Role.OPERATOR)
    except ServiceError as error:
        return _operators_page(
            request, ctx, status=error.status, operator_form={"email": email},
            operator_errors=refusals.by_field(error, state.lang),
        )  # fmt: skip
    return _operators_page(request, ctx, invited=_invited(request, made))


@router.post("/operator/admins/invite")
def invite_admin(
    request: Request,
    ctx: Operator,
    state: Page,
    email: Annotated[str, Form(max_length=320, alias="admin_email")] = "",
    advertiser: Short = "",
) -> Response:
    try:
        made = users.invite(ctx, email=email, role=Role.ADMIN, advertiser=advertiser or None)
    except ServiceError as error:
        return _operators_page(
            request, ctx, status=error.status,
            admin_form={"email": email, "advertiser": advertiser},
            admin_errors=refusals.by_field(error, state.lang),
        )  # fmt: skip
    return _operators_page(request, ctx, invited=_invited(request, made))


def _invited(request: Request, made: users.NewInvitation) -> dict[str, Any]:
    return {"invitation": made.invitation, "link": str(request.base_url).rstrip("/") + made.path}


@router.post("/operator/invitations/{invitation_id}/revoke")
def revoke_invitation(request: Request, ctx: Operator, state: Page, invitation_id: int) -> Response:
    try:
        users.revoke_invitation(ctx, invitation_id)
    except ServiceError as error:
        return _operators_page(
            request, ctx, status=error.status, error=refusals.said(error, state.lang)
        )
    return redirect(request, "/operator/operators?saved=revoked-invitation")
