"""The platform's pages, for operators: advertisers and operators."""

from tambour.web.routing import WebRouter

router = WebRouter()
