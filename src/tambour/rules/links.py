"""Links in messages (issue 17): the one-click opt-out link `{stop_link}` and short links
`{link:https://...}`, each made per message at plan time. Pure: the bases come from settings,
the codes from the caller (services/link_codes.py); here only their shapes and lengths.

A short link is `<short base>/s/<code>` (7 characters of code), an opt-out link
`<public base>/o/<token>` (10 characters); both have the same length for every message, so a
stand-in of that length counts the segments of the final text exactly.
"""

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

CODE_LENGTH: Final = 7  # a short link's code: base 62
TOKEN_LENGTH: Final = 10  # an opt-out token: a code and 3 characters of keyed check
SHORT_PATH: Final = "/s/"
STOP_PATH: Final = "/o/"
MAX_TARGET: Final = 2000  # characters of a short link's target
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f-\x9f\u2028\u2029]")


def target_problem(url: str) -> str | None:
    """Why `url` cannot be a short link's target (an absolute http(s) URL with a host), or
    None when it can."""
    if not url:
        return "the link has no address: write {link:https://...}"
    if len(url) > MAX_TARGET:
        return f"the link's address has {len(url)} characters, at most {MAX_TARGET}"
    if _CONTROL_OR_SPACE.search(url):
        return f"the link's address {url!r} holds a space or a control character"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # a port that is not a number raises
    except ValueError:
        return f"the link's address {url!r} is not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"the link's address {url!r} is not an http:// or https:// address with a host"
    return None


def base_problem(url: str) -> str | None:
    """Why `url` cannot be a base of the links recipients open, or None when it can."""
    problem = target_problem(url)
    if problem:
        return problem
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        return f"{url!r}: a base address has no query (?) nor fragment (#)"
    return None


@dataclass(frozen=True, slots=True)
class LinkBases:
    """Where recipients open links: the public pages' base (opt-out) and the short links'.
    None: not configured (a campaign using links is then blocked)."""

    public_url: str | None = None
    short_url: str | None = None  # None: the public URL
    clicks_kept_days: int = 90  # clicks are erased after that many days

    def __post_init__(self) -> None:
        for name in ("public_url", "short_url"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, value.rstrip("/") or None)

    @property
    def short(self) -> str | None:
        return self.short_url or self.public_url

    def stop_link(self, token: str) -> str:
        assert self.public_url is not None
        return f"{self.public_url}{STOP_PATH}{token}"

    def short_link(self, code: str) -> str:
        short = self.short
        assert short is not None
        return f"{short}{SHORT_PATH}{code}"

    def stand_ins(self, kinds: tuple[str, ...]) -> tuple[str, ...]:
        """Links of the final length for a preview, one per kind (`stop`, `go`), in order:
        the segments of a preview are those of the messages. Unconfigured bases: a typical
        length (`https://m.example.fr`)."""
        public = self.public_url or "https://m.example.fr"
        short = self.short or public
        return tuple(
            f"{public}{STOP_PATH}{'x' * TOKEN_LENGTH}"
            if kind == "stop"
            else f"{short}{SHORT_PATH}{'x' * CODE_LENGTH}"
            for kind in kinds
        )
