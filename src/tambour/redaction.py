"""Passwords out of what Tambour prints: a database URL is shown with its password masked,
also when it cannot be parsed, and an error text that may quote it is masked the same way."""

import re
from urllib.parse import unquote

MASK = "***"
# user:password@ in anything that looks like a URL (scheme://...), parsed or not.
# The password runs to the last @ (one left unescaped in it must not cut it short).
_USERINFO = re.compile(r"(?P<head>[A-Za-z][\w+.\-]*://[^:/?#@\s'\"]*:)(?P<secret>[^\s'\"]*)(?=@)")
# password=... in a query string or a libpq connection string.
_PARAMETER = re.compile(
    r"(?i)(?P<head>\b(?:password|passwd|pwd)\s*=\s*)(?P<secret>'[^']*'|[^&\s]+)"
)
# A URL without its scheme (user:password@host), as in a malformed setting.
_BARE_USERINFO = re.compile(r"^(?P<head>[^:/?#@\s]+:)(?P<secret>\S+)(?=@)")


def _passwords(url: str) -> list[str]:
    found = [m.group("secret") for m in _USERINFO.finditer(url)]
    found += [m.group("secret").strip("'") for m in _PARAMETER.finditer(url)]
    if "://" not in url:
        found += [m.group("secret") for m in _BARE_USERINFO.finditer(url)]
    return [p for secret in found if secret for p in {secret, unquote(secret)}]


def _hide(match: re.Match[str]) -> str:
    return match.group("head") + MASK


def mask_url(url: str) -> str:
    """`url` with its password replaced by ***."""
    masked = _PARAMETER.sub(_hide, _USERINFO.sub(_hide, url))
    if "://" in url:
        return masked
    return _BARE_USERINFO.sub(_hide, masked)


def redact(text: str, url: str | None = None) -> str:
    """`text` (an error message) with the password of `url`, and any password written as a
    URL's or a connection string's, masked."""
    masked = _PARAMETER.sub(_hide, _USERINFO.sub(_hide, text))
    for secret in sorted(_passwords(url or ""), key=len, reverse=True):
        if len(secret) >= 3:  # a one-letter password would mask half the message
            masked = masked.replace(secret, MASK)
    return masked
