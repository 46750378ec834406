"""The API server's settings, from the environment like every command's (tambour/settings.py),
read once per process when the app is built: each uvicorn worker builds its own app."""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from tambour.dispatch.config import ConfigError, callback_tokens, webhooks_config
from tambour.services.sessions import SessionPolicy
from tambour.settings import Settings


class ApiSettingsError(ValueError):
    """A variable of the environment holds what the server cannot run with (says which)."""


@dataclass(frozen=True, slots=True)
class ApiSettings:
    base: Settings = field(default_factory=Settings)
    # Requests a second each API key may make, and how many at once: a token bucket per key
    # in each server process (a server of N workers lets a key make up to N times as many).
    rate: float = 50.0
    burst: int = 100
    # How long a process trusts a key it looked up: a revoked key is refused within that time.
    key_cache_seconds: float = 1.0
    pool_size: int = 10  # database connections kept open per process
    idempotency_hours: float = 24.0
    # [webhooks] allow_private_targets of TAMBOUR_CONFIG: endpoints on private or loopback
    # addresses (and plain http://) are refused unless it is true.
    allow_private_webhooks: bool = False
    # The largest contacts file `POST /api/v1/contacts/imports` takes (TAMBOUR_API_MAX_UPLOAD).
    max_upload_bytes: int = 200 * 1024 * 1024
    # The HTTP carriers of TAMBOUR_CONFIG whose delivery callbacks this server receives: name
    # ('' for the one [transport]) -> the callback_token they carry (api/routes/callbacks.py).
    callbacks: Mapping[str, str] = field(default_factory=dict, repr=False)
    callback_max_body: int = 64 * 1024  # bytes of a callback's body (413 over it)
    callback_read_timeout: float = 10.0  # seconds for a callback's body to arrive whole
    # The web app's sessions: ended after TAMBOUR_SESSION_IDLE_MINUTES without a request, and
    # TAMBOUR_SESSION_HOURS after the login whatever happens.
    session_policy: SessionPolicy = field(default_factory=SessionPolicy)
    # Secure cookies even over plain HTTP (TAMBOUR_WEB_SECURE_COOKIES=1): behind a TLS proxy
    # that does not forward the scheme. Over HTTPS they are Secure anyway.
    secure_cookies: bool = False
    # The public consent forms (public/): submissions a truncated IP may make a second, and at
    # once (TAMBOUR_FORM_RATE, TAMBOUR_FORM_BURST), and the least seconds between showing a
    # form and its submission (TAMBOUR_FORM_MIN_FILL: faster is a bot's).
    form_rate: float = 0.2
    form_burst: int = 10
    form_min_fill: float = 2.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "ApiSettings":
        env = os.environ if env is None else env
        try:
            webhooks = webhooks_config(env)
            callbacks = callback_tokens(env)
        except ConfigError as error:
            raise ApiSettingsError(str(error)) from None
        base = Settings.from_env(env)
        if base.problems():
            raise ApiSettingsError("; ".join(base.problems()))
        return cls(
            base=base,
            rate=_number(env, "TAMBOUR_API_RATE", 50.0, low=0.001, high=1e6),
            burst=int(_number(env, "TAMBOUR_API_BURST", 100, low=1, high=1e6)),
            key_cache_seconds=_number(env, "TAMBOUR_API_KEY_CACHE_SECONDS", 1.0, low=0, high=60),
            pool_size=int(_number(env, "TAMBOUR_API_POOL_SIZE", 10, low=1, high=200)),
            max_upload_bytes=int(
                _number(env, "TAMBOUR_API_MAX_UPLOAD", 200 << 20, low=1, high=1e12)
            ),
            allow_private_webhooks=webhooks.allow_private_targets,
            callbacks=callbacks,
            callback_read_timeout=_number(
                env, "TAMBOUR_CALLBACK_READ_TIMEOUT", 10.0, low=0.1, high=600
            ),
            session_policy=SessionPolicy(
                idle=timedelta(
                    minutes=_number(env, "TAMBOUR_SESSION_IDLE_MINUTES", 60, low=1, high=7 * 1440)
                ),
                absolute=timedelta(
                    hours=_number(env, "TAMBOUR_SESSION_HOURS", 12, low=0.1, high=24 * 30)
                ),
            ),
            secure_cookies=env.get("TAMBOUR_WEB_SECURE_COOKIES", "").lower()
            in ("1", "true", "yes"),
            form_rate=_number(env, "TAMBOUR_FORM_RATE", 0.2, low=0.001, high=1e6),
            form_burst=int(_number(env, "TAMBOUR_FORM_BURST", 10, low=1, high=1e6)),
            form_min_fill=_number(env, "TAMBOUR_FORM_MIN_FILL", 2.0, low=0, high=600),
        )


def _number(env: Mapping[str, str], name: str, default: float, *, low: float, high: float) -> float:
    given = env.get(name)
    if not given:
        return default
    try:
        value = float(given)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # NaN fails too
        raise ApiSettingsError(f"{name}: {given!r} is not a number from {low:g} to {high:g}")
    return value
