"""Campaigns: the list, and the editor (text with a live counter, targeting, schedule)."""

from tambour.web.routing import WebRouter

router = WebRouter()
