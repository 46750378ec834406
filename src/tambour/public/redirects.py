"""Short links, `/s/<code>`: a redirect (302) to the link's address, the click handed to the
app's ClickRecorder (services/clicks.py), which writes it off the request path.

The redirects answer from an ASGI layer in front of the app (`ShortLinks`): no routing, no
dependencies, no template; a code looked up once is remembered. What it does not answer (a
code that names no short link) goes on to the app's route, which answers the 404 page. Bots,
prefetches and scanners are redirected like anyone, and flagged (rules/clicks.py)."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from tambour.public.link_pages import gone
from tambour.rules.clicks import classify
from tambour.rules.links import CODE_LENGTH, SHORT_PATH
from tambour.rules.network import truncated_ip
from tambour.services.clicks import Click, ClickRecorder, LinkTarget, Resolver

router = APIRouter(include_in_schema=False)
_PREFIX_LENGTH = len(SHORT_PATH)


@router.api_route(SHORT_PATH + "{code}", methods=["GET", "HEAD"], name="short_link")
async def unknown(request: Request, code: str) -> HTMLResponse:
    """What ShortLinks left: a code that names no short link."""
    return gone(request, 404)


class ShortLinks:
    """The redirects of short links, in front of `app` (which gets every other request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "") if scope["type"] == "http" else ""
        if (
            len(path) != _PREFIX_LENGTH + CODE_LENGTH
            or not path.startswith(SHORT_PATH)
            or scope["method"] not in ("GET", "HEAD")
        ):
            await self.app(scope, receive, send)
            return
        state: Any = scope["app"].state
        resolver: Resolver = state.link_resolver
        code = path[_PREFIX_LENGTH:]
        found = resolver.remembered(code)
        if found is True:
            found = resolver.look_up(code)
        if not isinstance(found, LinkTarget):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        agent = headers.get("user-agent")
        client = scope.get("client")
        recorder: ClickRecorder = state.click_recorder
        recorder.add(
            Click(
                found,
                state.runtime.clock(),
                truncated_ip(client[0] if client else None),
                agent,
                classify(scope["method"], agent, headers),
            )
        )
        await send(
            {
                "type": "http.response.start",
                "status": 302,
                "headers": [
                    (b"location", found.target.encode()),
                    (b"cache-control", b"no-store"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})
