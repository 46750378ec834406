"""Who looks at a page: the signed-in account (a server-side session named by a cookie), the
page's language, the CSRF token of its forms, and the advertiser whose data it shows.

- The session cookie holds a random token; the database its SHA-256 (services/sessions.py).
  It is HttpOnly, SameSite=Lax, and Secure when the request came over HTTPS (or always, with
  TAMBOUR_WEB_SECURE_COOKIES=1 behind a proxy that does not say so).
- CSRF: every form carries a token, the HMAC of the session token (before login: of a random
  cookie of its own) under a key derived from the installation's secret key, so it cannot be
  made without the cookie, nor the cookie read by a page of another site. A POST without the
  right token, or from another origin (`Origin` header), is refused 403 before anything runs.
- Tenancy: pages of an advertiser's data live under `/a/{slug}/`; a slug the account holds no
  reading role at is 404, exactly as one that does not exist.
"""

import base64
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Annotated, Any, Final
from urllib.parse import quote, urlsplit

from fastapi import Depends, Path, Request
from starlette.concurrency import run_in_threadpool

from tambour import i18n
from tambour.api import texts
from tambour.api.runtime import Runtime
from tambour.services import advertisers, sessions
from tambour.services.advertisers import Advertiser
from tambour.services.api_keys import UnauthenticatedError
from tambour.services.context import Context
from tambour.services.roles import Action, Role, can
from tambour.services.sessions import SessionPolicy, SignedIn
from tambour.services.users import User
from tambour.store.engine import reader

SESSION_COOKIE: Final = "tambour_session"
PRE_SESSION_COOKIE: Final = "tambour_csrf"  # binds the forms shown before a login
LANGUAGE_COOKIE: Final = "tambour_lang"
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "X-CSRF-Token"  # htmx requests send it (base.html's hx-headers)
CSRF_PURPOSE: Final = "web-csrf"


class LoginRequiredError(Exception):
    """No live session: the page asks to log in, then comes back to `next_path`."""

    def __init__(self, next_path: str, code: str = "invalid_session") -> None:
        super().__init__(code)
        self.next_path = next_path
        self.code = code


class ForbiddenError(Exception):
    """The account may see this but not do it (a viewer's POST): 403."""

    def __init__(self, code: str = "forbidden") -> None:
        super().__init__(code)
        self.code = code


class PageNotFoundError(Exception):
    """Nothing here for this account (another advertiser's data looks exactly like this)."""


@dataclass(slots=True)
class PageState:
    """What a page knows of its request, kept in the ASGI scope's state (templating.render
    reads it): the language, the CSRF token, the cookies to set, the account once known."""

    lang: str
    csrf: str
    secure: bool
    cookies: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    visitor: "Visitor | None" = None
    desk: "Desk | None" = None


@dataclass(frozen=True, slots=True)
class Visitor:
    user: User
    signed_in: SignedIn
    token: str = field(repr=False)  # the session cookie's: logout revokes it

    @property
    def is_operator(self) -> bool:
        return any(m.role is Role.OPERATOR for m in self.user.memberships)

    @property
    def advertisers(self) -> tuple[str, ...]:
        """The slugs of the advertisers this account holds a role at, in order."""
        return tuple(sorted({m.advertiser for m in self.user.memberships if m.advertiser}))


@dataclass(frozen=True, slots=True)
class Desk:
    """An advertiser's pages as one account sees them: who, where, and what it may do."""

    visitor: Visitor
    advertiser: Advertiser
    ctx: Context

    @property
    def slug(self) -> str:
        return self.advertiser.slug

    def can(self, action: Action) -> bool:
        return can(self.visitor.user, action, self.advertiser.id)

    def require(self, action: Action) -> None:
        if not self.can(action):
            raise ForbiddenError("not_allowed")

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(
            m.role.value for m in self.visitor.user.memberships if m.advertiser == self.slug
        )


def runtime(request: Request) -> Runtime:
    found: Runtime = request.app.state.runtime
    return found


def web_settings(request: Request) -> Any:
    return runtime(request).settings


def session_policy(request: Request) -> SessionPolicy:
    settings = web_settings(request)
    policy: SessionPolicy = settings.session_policy
    return policy


def user_context(request: Request, user: User | None) -> Context:
    """The Context of a use case run from the web app (the audit log names the account)."""
    shared = runtime(request)
    actor = "web" if user is None else f"web:{user.email}"
    return shared.acting_as(actor)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def csrf_token(shared: Runtime, binding: str) -> str:
    key = shared.keys.derive(CSRF_PURPOSE)
    return _b64(hmac.digest(key, binding.encode(), "sha256"))


def _language(request: Request) -> str:
    chosen = i18n.language_of(request.cookies.get(LANGUAGE_COOKIE))
    return chosen or texts.negotiate(request.headers.get("accept-language"))


def _secure(request: Request) -> bool:
    return bool(web_settings(request).secure_cookies) or request.url.scheme == "https"


async def page_state(request: Request) -> PageState:
    """The page's language and CSRF token (every web route depends on it)."""
    found = request.scope.setdefault("state", {}).get("tambour_page")
    if isinstance(found, PageState):
        return found
    secure = _secure(request)
    binding = request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRE_SESSION_COOKIE)
    state = PageState(lang=_language(request), csrf="", secure=secure)
    if not binding:
        binding = secrets.token_urlsafe(32)
        state.cookies.append((PRE_SESSION_COOKIE, binding, {"samesite": "strict"}))
    state.csrf = csrf_token(runtime(request), binding)
    request.scope["state"]["tambour_page"] = state
    return state


Page = Annotated[PageState, Depends(page_state)]


async def csrf_checked(request: Request, state: Page) -> None:
    """403 unless a state-changing request carries the form's CSRF token and, when the browser
    says where it comes from, comes from this site."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        raise ForbiddenError("csrf_failed")
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()  # parsed once: the route's Form parameters reuse it
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not given or not hmac.compare_digest(given, state.csrf):
        raise ForbiddenError("csrf_failed")


def back_to(request: Request) -> str:
    """This page's path and query, as a `next` for the login page."""
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return path


def safe_next(value: str | None) -> str:
    """Where to go after a login: a path of this site only (never `//host` or a URL)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def login_path(next_path: str) -> str:
    return "/login" if next_path == "/" else f"/login?next={quote(next_path, safe='/')}"


async def signed_in(request: Request, state: Page) -> Visitor:
    """The account of the session cookie; LoginRequiredError when there is none live."""
    if state.visitor is not None:
        return state.visitor
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequiredError(back_to(request), "login_required")
    try:
        found = await run_in_threadpool(
            sessions.check_session, user_context(request, None), token, session_policy(request)
        )
    except UnauthenticatedError as error:
        raise LoginRequiredError(back_to(request), error.code) from None
    state.visitor = Visitor(found.user, found, token)
    return state.visitor


Signed = Annotated[Visitor, Depends(signed_in)]

Slug = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]


def _advertiser(ctx: Context, slug: str) -> Advertiser:
    with reader(ctx.engine) as conn:
        return advertisers.get(conn, slug)


async def at_advertiser(request: Request, slug: Slug, visitor: Signed, state: Page) -> Desk:
    """The advertiser `slug` of the path, if the account may read its data; else 404."""
    held = [m for m in visitor.user.memberships if m.advertiser == slug]
    if not held or not can(visitor.user, Action.READ, held[0].advertiser_id):
        raise PageNotFoundError
    ctx = user_context(request, visitor.user)
    state.desk = Desk(visitor, await run_in_threadpool(_advertiser, ctx, slug), ctx)
    return state.desk


AtAdvertiser = Annotated[Desk, Depends(at_advertiser)]


async def operator(request: Request, visitor: Signed) -> Context:
    """The Context of an operator's page; 404 for any other account."""
    if not visitor.is_operator:
        raise PageNotFoundError
    return user_context(request, visitor.user)


Operator = Annotated[Context, Depends(operator)]
