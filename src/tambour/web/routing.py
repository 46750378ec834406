"""The router of every page: it gives each route what all share, so that a page added later
cannot forget it: the page's state (language, CSRF token), and on every POST the CSRF check.
Pages are not in the API's OpenAPI document."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from tambour.web.visitors import csrf_checked, page_state


class WebRouter(APIRouter):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(include_in_schema=False, default_response_class=HTMLResponse, **kwargs)

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {method.upper() for method in kwargs.get("methods") or ("GET",)}
        shared = [Depends(page_state)]
        if methods - {"GET", "HEAD", "OPTIONS"}:
            shared.append(Depends(csrf_checked))
        kwargs["dependencies"] = [*shared, *(kwargs.get("dependencies") or ())]
        super().add_api_route(path, endpoint, **kwargs)
