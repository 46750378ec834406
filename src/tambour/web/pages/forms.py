"""The advertiser's hosted consent forms, for the marketer (services/consent_forms.py):

- /a/{slug}/forms: the forms, each with its current version and public address; a marketer
  (Action.WRITE_CONTACTS) creates one (its default wording names the advertiser);
- /a/{slug}/forms/{form}: its versions with their wording hashes, the snippet that embeds it,
  and the wording to edit: "Preview" shows the edited texts as a person would read them (the
  boxes unticked), "Publish" makes them a new version (a published one never changes).
"""

from typing import Annotated, Any, Final

from fastapi import Form, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from tambour import i18n
from tambour.contacts.form_wording import LANGUAGES, Wording, WordingError, parse_wording
from tambour.services import consent_forms
from tambour.services.consent_forms import ConsentForm
from tambour.services.context import ServiceError
from tambour.services.roles import Action
from tambour.web import refusals
from tambour.web.responses import redirect
from tambour.web.routing import WebRouter
from tambour.web.templating import render
from tambour.web.visitors import AtAdvertiser, Desk, Page, web_settings

router = WebRouter()
N_ = i18n.N_
FormSlug = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
KINDS: Final = {
    "consent": N_("Consent (an unticked box per channel)"),
    "b2b": N_("B2B: information and an objection box"),
    "customer_notice": N_("Customer notice at checkout: information and an objection box"),
}
SAVED: Final = {
    "created": N_("The form is created and its first version published."),
    "published": N_("The new wording is published as a new version."),
    "unchanged": N_("The wording is the current version's: nothing was published."),
}


def _base(desk: Desk) -> str:
    return f"/a/{desk.slug}/forms"


def _public_base(request: Request) -> str:
    return web_settings(request).base.public_url or str(request.base_url).rstrip("/")


def _public(request: Request, form: ConsentForm) -> str:
    return _public_base(request) + form.path


def _list_page(
    request: Request, desk: Desk, lang: str, *, status: int = 200, **values: Any
) -> Response:
    _ = i18n.translator(lang).gettext
    shown = {
        "desk": desk,
        "forms": [
            (f, _public(request, f)) for f in consent_forms.list_forms(desk.ctx, slug=desk.slug)
        ],
        "kinds": {code: _(text) for code, text in KINDS.items()},
        "may_write": desk.can(Action.WRITE_CONTACTS),
        "form": {"slug": "", "kind": "consent", "origins": "", "double_opt_in": False},
        "errors": {},
        "error": None,
        **values,
    }
    return render(request, "forms/list.html", shown, status=status)


@router.get("/a/{slug}/forms")
def forms_page(request: Request, desk: AtAdvertiser, state: Page) -> Response:
    return _list_page(request, desk, state.lang)


@router.post("/a/{slug}/forms")
def create_form(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    form: Annotated[str, Form(max_length=64)] = "",
    kind: Annotated[str, Form(max_length=24)] = "consent",
    origins: Annotated[str, Form(max_length=5000)] = "",
    double_opt_in: Annotated[str | None, Form(max_length=8)] = None,
) -> Response:
    desk.require(Action.WRITE_CONTACTS)
    listed = [line.strip() for line in origins.splitlines() if line.strip()]
    try:
        made = consent_forms.create(
            desk.ctx, slug=desk.slug, form=form.strip(), kind=kind, origins=listed,
            double_opt_in=bool(double_opt_in),
        )  # fmt: skip
    except ServiceError as error:
        given = {
            "slug": form,
            "kind": kind,
            "origins": origins,
            "double_opt_in": bool(double_opt_in),
        }
        return _list_page(
            request, desk, state.lang, status=error.status, form=given,
            errors=refusals.by_field(error, state.lang), error=refusals.said(error, state.lang),
        )  # fmt: skip
    return redirect(request, f"{_base(desk)}/{made.slug}?saved=created")


def _edited(form: ConsentForm, values: dict[str, str]) -> dict[str, Any]:
    """The wording data of the edit form's fields (the boxes' keys and channels kept)."""
    current = form.current.wording

    def texts(name: str) -> dict[str, str]:
        return {lang: values.get(f"{name}_{lang}", "") for lang in LANGUAGES}

    data: dict[str, Any] = {
        "kind": form.kind.value, "title": texts("title"), "information": texts("information"),
    }  # fmt: skip
    if current.purposes:
        data["purposes"] = [
            {"key": p.key, "channels": list(p.channels), "label": texts(f"purpose_{p.key}")}
            for p in current.purposes
        ]
    if current.objection:
        data["objection"] = texts("objection")
    return data


def _fields(wording: Wording) -> dict[str, str]:
    values: dict[str, str] = {}
    for lang in LANGUAGES:
        values[f"title_{lang}"] = wording.title.get(lang, "")
        values[f"information_{lang}"] = wording.information.get(lang, "")
        for p in wording.purposes:
            values[f"purpose_{p.key}_{lang}"] = p.label.get(lang, "")
        if wording.objection:
            values[f"objection_{lang}"] = wording.objection.get(lang, "")
    return values


def _form_page(
    request: Request, desk: Desk, lang: str, form: str, *, status: int = 200, **values: Any
) -> Response:
    found, versions = consent_forms.show(desk.ctx, slug=desk.slug, form=form)
    url = _public(request, found)
    shown = {
        "desk": desk,
        "form": found,
        "versions": versions,
        "url": url,
        "snippet": found.snippet(_public_base(request)),
        "may_write": desk.can(Action.WRITE_CONTACTS),
        "values": _fields(found.current.wording),
        "preview": None,
        "error": None,
        "notice": None,
        **values,
    }
    return render(request, "forms/form.html", shown, status=status)


@router.get("/a/{slug}/forms/{form}")
def form_page(
    request: Request, desk: AtAdvertiser, state: Page, form: FormSlug, saved: str | None = None
) -> Response:
    text = SAVED.get(saved or "")
    notice = i18n.translator(state.lang).gettext(text) if text else None
    return _form_page(request, desk, state.lang, form, notice=notice)


@router.post("/a/{slug}/forms/{form}")
async def form_edited(
    request: Request, desk: AtAdvertiser, state: Page, form: FormSlug
) -> Response:
    """Preview (action=preview) or publish (action=publish) the edited wording."""
    sent = await request.form()
    values = {k: v for k, v in sent.items() if isinstance(v, str) and len(v) <= 4000}
    action = values.get("action")
    return await run_in_threadpool(_edit, request, desk, state.lang, form, values, action)


def _edit(
    request: Request, desk: Desk, lang: str, form: str, values: dict[str, str], action: str | None
) -> Response:
    found, _ = consent_forms.show(desk.ctx, slug=desk.slug, form=form)
    data = _edited(found, values)
    if action != "publish":
        try:
            preview: Wording | None = parse_wording(data)
            error = None
        except WordingError as refused:
            preview, error = None, refusals.REFUSALS.get(refused.code, refused.message)
            error = i18n.translator(lang).gettext(error)
        return _form_page(request, desk, lang, form, values=values, preview=preview, error=error)
    desk.require(Action.WRITE_CONTACTS)
    try:
        done = consent_forms.publish(desk.ctx, slug=desk.slug, form=form, wording=data)
    except ServiceError as error:
        return _form_page(
            request, desk, lang, form, status=error.status, values=values,
            error=refusals.said(error, lang),
        )  # fmt: skip
    saved = "published" if done.created else "unchanged"
    return redirect(request, f"{_base(desk)}/{form}?saved={saved}")
