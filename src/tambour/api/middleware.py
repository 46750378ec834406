"""The outermost layer of every request: the access log, the rate-limit headers, and the last
word on an unexpected exception (500 problem+json, no traceback to the client, the error in
the log).

The access log names the route by its template (`/api/v1/advertisers/{slug}`), never the
path as sent nor its query string, either of which may hold a phone number; with the method,
the status, the duration and the API key's id.
"""

import logging
import time

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tambour.api import texts
from tambour.api.problems import language, problem
from tambour.api.rate_limit import RateLimiter
from tambour.api.runtime import RequestInfo

access_log = logging.getLogger("tambour.api.access")
error_log = logging.getLogger("tambour.api")


class ServerEdge:
    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        info = RequestInfo()
        scope.setdefault("state", {})["tambour"] = info
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if info.rate is not None:
                    headers = MutableHeaders(scope=message)
                    headers.append("RateLimit-Policy", self.limiter.policy)
                    headers.append("RateLimit", self.limiter.header(info.rate))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            error_log.exception(
                "unexpected error", extra={"event": "api_error", **_naming(scope, info)}
            )
            if not status:
                request = Request(scope)
                detail = texts.detail("internal_error", language(request)) or ""
                await problem(request, 500, "internal_error", detail)(scope, receive, sending)
            status = status or 500
        access_log.info(
            "%s %s %s",
            scope["method"],
            _route(scope) or "-",
            status,
            extra={
                "event": "http_request",
                **_naming(scope, info),
                "status": status,
                "duration_ms": round((time.perf_counter() - began) * 1000, 2),
            },
        )


def _route(scope: Scope) -> str | None:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else None


def _naming(scope: Scope, info: RequestInfo) -> dict[str, object]:
    return {"method": scope["method"], "route": _route(scope), "key_id": info.key_id}
