"""An advertiser's dashboard: campaigns by state, messages and opt-outs over time, what needs
attention."""

from tambour.web.routing import WebRouter

router = WebRouter()
