"""The OpenAPI 3.1 document, at `/api/v1/openapi.json`: FastAPI's, with every error response
as what it is, `application/problem+json` (FastAPI would say application/json)."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from tambour.api.problems import MEDIA_TYPE


def install(app: FastAPI) -> None:
    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            found = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            for path in found.get("paths", {}).values():
                for operation in path.values():
                    _problems_as_problems(operation.get("responses", {}))
            app.openapi_schema = found
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]


def _problems_as_problems(responses: dict[str, Any]) -> None:
    for status, response in responses.items():
        content = response.get("content", {})
        if status[:1] in "45" and "application/json" in content:
            content[MEDIA_TYPE] = content.pop("application/json")
