"""Contacts: search by number with the timeline and the standing, imports by upload with the column
mapping, opt-outs."""

from tambour.web.routing import WebRouter

router = WebRouter()
