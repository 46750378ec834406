"""What recipients open, served by `tambour serve` without a login: the hosted consent forms
(pages.py, antibot.py). French first; no JavaScript needed."""

from fastapi import FastAPI

from tambour.public import pages


def install(app: FastAPI) -> None:
    """Mount the public pages on `app` (before the web app's catch-all error pages)."""
    app.include_router(pages.router)
