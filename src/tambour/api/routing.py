"""The router of every `/api/v1` resource. It gives each route what all share, so that a route
added later cannot forget it: the problem responses in the OpenAPI document, and on every POST
the Idempotency-Key guard (api/idempotency.py)."""

from collections.abc import Callable
from typing import Any, Final

from fastapi import APIRouter, Depends

from tambour.api.idempotency import guard
from tambour.api.schemas.problems import Problem

V1: Final = "/api/v1"  # every resource router's prefix starts with it (full route templates)

# The errors any route may answer (problem+json: api/openapi.py gives them their content).
PROBLEMS: Final[dict[int | str, dict[str, Any]]] = {
    status: {"model": Problem, "description": description}
    for status, description in (
        (400, "The body cannot be read (not JSON in UTF-8)."),
        (401, "No valid API key (missing, unknown, revoked)."),
        (403, "The key lacks the scope this needs."),
        (404, "Not found, or another advertiser's."),
        (422, "Invalid input: `errors` says where."),
        (429, "Rate limit reached: retry after `Retry-After` seconds."),
        (500, "Unexpected error (logged)."),
        (503, "The database cannot serve (unreachable, schema not current)."),
    )
}
POST_PROBLEMS: Final[dict[int | str, dict[str, Any]]] = {
    409: {
        "model": Problem,
        "description": "A conflict with the current state, or a request with this "
        "Idempotency-Key still running.",
    },
}


class V1Router(APIRouter):
    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {method.upper() for method in kwargs.get("methods") or ("GET",)}
        responses = {**PROBLEMS, **(kwargs.get("responses") or {})}
        if "POST" in methods:
            kwargs["dependencies"] = [*(kwargs.get("dependencies") or ()), Depends(guard)]
            responses = {**responses, **POST_PROBLEMS}
        if methods & {"PATCH", "PUT", "DELETE"}:
            responses = {**responses, **POST_PROBLEMS}
        kwargs["responses"] = responses
        super().add_api_route(path, endpoint, **kwargs)
