"""The app factory: one app per server process (`tambour serve` runs it on uvicorn, which calls
`create_app()` in each of its workers), its engine pooled, its settings from the environment.

Layers, outermost first: ServerEdge (access log, rate-limit headers, 500 for the unexpected),
the idempotency Recorder, FastAPI's exception handlers (problem+json), the routes.
"""

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI

from tambour import __version__, public, web
from tambour.api import idempotency, metrics, openapi, problems
from tambour.api.auth import KeyCache
from tambour.api.message_batcher import MessageBatcher
from tambour.api.middleware import ServerEdge
from tambour.api.routes import (
    advertisers,
    callbacks,
    campaigns,
    complaints,
    contacts,
    data_requests,
    docs,
    forms,
    health,
    jobs,
    me,
    messages,
    optouts,
    records,
    replies,
    retention,
    webhooks,
)
from tambour.api.runtime import Runtime
from tambour.api.settings import ApiSettings
from tambour.public.link_pages import ACTOR
from tambour.public.redirects import ShortLinks
from tambour.services.clicks import ClickRecorder, Resolver

OPENAPI_URL = "/api/v1/openapi.json"
DESCRIPTION = """\
Tambour's HTTP API: SMS marketing for France that cannot break the CNIL rules.

Authenticate with an API key (`tambour apikey create`) as `Authorization: Bearer tbr_live_...`.
Errors are `application/problem+json` (RFC 9457) with a stable `code`; `detail` is in French
or English by `Accept-Language`. Every POST takes an `Idempotency-Key`. Lists are paginated
by cursor (`limit`, `next`). Rate limits per key come in the `RateLimit` headers.
"""
log = logging.getLogger("tambour.api")


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings.from_env()
    shared = Runtime(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        with suppress(problems.ApiError):  # said in the log; /readyz says 503 until then
            shared.ensure_ready()
        # What start-up made (modules, the app, its routes and schemas) lives as long as the
        # process: moved out of the collector's generations, a full collection no longer walks
        # it again (a pause of tens of milliseconds, in the middle of requests, every few
        # seconds under load). The collector runs as ever on what requests make.
        gc.freeze()
        yield
        batcher.close()
        recorder.close()  # the clicks still queued are written
        app.state.link_resolver.close()
        shared.close()

    app = FastAPI(
        title="Tambour",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=OPENAPI_URL,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        generate_unique_id_function=lambda route: route.name,  # operationId: the function's
    )
    app.state.runtime = shared
    batcher = app.state.message_batcher = MessageBatcher()
    app.state.key_cache = KeyCache(settings.key_cache_seconds)
    app.state.metrics = metrics.registry(shared.engine, shared.clock)
    problems.install(app)
    idempotency.install(app)
    app.add_middleware(ServerEdge, limiter=shared.limiter)
    app.add_middleware(ShortLinks)  # added last: the outermost (redirects answer at once)
    openapi.install(app)
    app.include_router(health.router)
    for resource in (
        me,
        advertisers,
        contacts,
        optouts,
        data_requests,
        complaints,
        replies,
        campaigns,
        messages,
        jobs,
        webhooks,
        forms,
        records,
        retention,
    ):
        app.include_router(resource.router)
    app.include_router(callbacks.router)  # the aggregators' delivery callbacks
    recorder = app.state.click_recorder = ClickRecorder(shared.acting_as(ACTOR))
    app.state.link_resolver = Resolver(shared.engine, lambda: shared.keys)
    public.install(app)  # what recipients open: consent forms, opt-out links, short links
    docs.install(app, OPENAPI_URL)
    web.install(app)  # the pages, at /; after the API, whose handlers they wrap
    return app
