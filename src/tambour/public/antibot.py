"""What keeps bots off the public forms, without a session nor JavaScript:

- a signed per-render token (HMAC of the form, the instant it was shown, and what it is for,
  under a key derived from the installation's secret key): a submission must carry one made
  for this form, at least `MIN_FILL` seconds and at most `MAX_AGE` before; it is the form's
  CSRF token too (no other site can make one);
- a honeypot field, hidden from people and from screen readers, that a bot fills in;
- rate limits per truncated IP in the process (api/rate_limit.py); per number, the service
  counts in the database (services/form_submissions.py).
"""

import base64
import hmac
import time
from typing import Final

from tambour.keys import Keys

PURPOSE: Final = "public-form"
MIN_FILL: Final = 2.0  # seconds: a person reads the text before ticking a box
MAX_AGE: Final = 2 * 3600.0
HONEYPOT: Final = "website"


def _sign(keys: Keys, message: str) -> str:
    digest = hmac.digest(keys.derive(PURPOSE), message.encode(), "sha256")
    return base64.urlsafe_b64encode(digest[:18]).decode()


def issue(keys: Keys, binding: str, now: float | None = None) -> str:
    """A token for the form (or code page) named by `binding`, shown at `now`."""
    shown = int((time.time() if now is None else now) * 1000)
    return f"{shown}.{_sign(keys, f'{binding}|{shown}')}"


def check(
    keys: Keys,
    binding: str,
    token: str | None,
    now: float | None = None,
    *,
    min_fill: float = MIN_FILL,
) -> str | None:
    """Why `token` is refused (`expired`, `too_fast`, `forged`), or None when it is good."""
    if not token or "." not in token:
        return "forged"
    shown, _, signature = token.partition(".")
    if not shown.isdigit() or not hmac.compare_digest(signature, _sign(keys, f"{binding}|{shown}")):
        return "forged"
    age = (time.time() if now is None else now) - int(shown) / 1000
    if age > MAX_AGE:
        return "expired"
    if age < min_fill:
        return "too_fast"
    return None
