"""Who followed a short link (issue 17): a person, or a bot, a prefetch or a link scanner, told
apart so that only people are counted (the others are kept, flagged). Pure: the caller gives
the request's method and headers and the instants. A click is never consent (rules.md section
3: only a person's dated, proven consent is), at most an action (`last_activity_at`).
"""

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final


class Bot(StrEnum):
    """Why a click is not a person's (stored with it; None for a person's)."""

    HEAD = "head"  # a HEAD request: a checker, never a browser following a link
    PREFETCH = "prefetch"  # `Purpose: prefetch`, `Sec-Purpose: prefetch` (browsers, messengers)
    USER_AGENT = "user_agent"  # a known bot, scanner or link-preview user agent, or none
    TOO_SOON = "too_soon"  # within a second of the message leaving: a carrier's link scanner


SCANNER_WINDOW: Final = timedelta(seconds=1)
# User agents of crawlers, link previews of messengers and social networks, security
# scanners and HTTP libraries (folded to lower case).
_BOT_AGENT: Final = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|preview|facebookexternalhit|whatsapp|telegram|skype|"
    r"slack|discord|twitter|linkedin|embedly|quora|pinterest|vkshare|bitly|"
    r"curl|wget|python-|httpx|aiohttp|go-http-client|java/|okhttp|libwww|scrapy|"
    r"headless|phantomjs|lighthouse|pingdom|uptime|monitor|check|scan|"
    r"proofpoint|mimecast|barracuda|safelinks|urldefense|trendmicro|symantec|zscaler|"
    r"google-read-aloud|googleother|yahoo! slurp|bingpreview|applebot"
)


def classify(method: str, user_agent: str | None, headers: Mapping[str, str]) -> Bot | None:
    """Why this request is not a person following the link, or None (`headers` with lower
    case names)."""
    if method.upper() == "HEAD":
        return Bot.HEAD
    for name in ("purpose", "sec-purpose", "x-purpose", "x-moz"):
        if (
            "prefetch" in headers.get(name, "").lower()
            or "preview" in headers.get(name, "").lower()
        ):
            return Bot.PREFETCH
    if not user_agent or _BOT_AGENT.search(user_agent.lower()):
        return Bot.USER_AGENT
    return None


def too_soon(clicked_at: datetime, sent_at: datetime | None) -> bool:
    """A follow within a second of the message leaving: no person reads a message so fast."""
    return sent_at is not None and clicked_at - sent_at < SCANNER_WINDOW
