"""A campaign's plan report, its launch, its live view while it sends, and its proof."""

from tambour.web.routing import WebRouter

router = WebRouter()
