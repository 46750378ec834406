"""The audit log of an advertiser, and its verification."""

from tambour.web.routing import WebRouter

router = WebRouter()
