"""What recipients open (issue 17), served by `tambour serve` beside the API and the web app:
no session, no login, French first (`Accept-Language` may choose English), no JavaScript needed.

- pages.py, antibot.py: the hosted consent forms, `/f/<advertiser>/<form>`;
- optout.py: the one-click opt-out page, `/o/<token>`: a GET shows it, only its form's POST
  opts out (link scanners fetch pages, they do not press buttons);
- redirects.py: short links, `/s/<code>`: a redirect to the address, the click recorded.
"""

from fastapi import FastAPI

from tambour.public import optout as optout
from tambour.public import pages as pages
from tambour.public import redirects as redirects


def install(app: FastAPI) -> None:
    """Mount the recipients' routes on `app` (before the web app's pages)."""
    app.include_router(pages.router)
    app.include_router(optout.router)
    app.include_router(redirects.router)
