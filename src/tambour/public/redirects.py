"""Short links, `/s/<code>`: a redirect (302) to the link's address, the click handed to the
app's ClickRecorder (services/clicks.py), which writes it off the request path. A code that
names no short link answers the 404 page. Bots, prefetches and scanners are redirected like
anyone, and flagged (rules/clicks.py)."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tambour.public.pages import gone
from tambour.rules.clicks import classify, truncated_ip
from tambour.rules.links import SHORT_PATH
from tambour.services.clicks import Click, ClickRecorder, LinkTarget, Resolver

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@router.api_route(SHORT_PATH + "{code}", methods=["GET", "HEAD"], name="short_link")
async def follow(request: Request, code: str) -> Response:
    state = request.app.state
    found_links: Resolver = state.link_resolver
    found = found_links.remembered(code)
    if found is True:
        found = await run_in_threadpool(found_links.look_up, code)
    if not isinstance(found, LinkTarget):
        return gone(request, 404)
    headers = request.headers
    agent = headers.get("user-agent")
    recorder: ClickRecorder = state.click_recorder
    recorder.add(
        Click(
            found,
            state.runtime.clock(),
            truncated_ip(request.client.host if request.client else None),
            agent,
            classify(request.method, agent, headers),
        )
    )
    return RedirectResponse(found.target, status_code=302, headers=NO_STORE)
