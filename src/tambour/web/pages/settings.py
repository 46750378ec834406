"""An advertiser's settings: senders, STOP number, users, API keys, webhooks, the column mapping."""

from tambour.web.routing import WebRouter

router = WebRouter()
