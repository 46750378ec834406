"""What this installation is configured with, as the record of processing (GDPR Art. 30,
services/processing_record.py) states it: the operator (processor) from the settings
(TAMBOUR_PROCESSOR_*), the carriers of the transport configuration (TAMBOUR_CONFIG's
[transport] or [[carriers]], dispatch/config.py) with their hosts and whether the way to them is
encrypted, and the retention periods of the settings. Read when a record is made, never cached:
the record says what the configuration says now.

No secret is kept: a carrier is its name, kind and host, never its credentials.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from tambour.dispatch.config import (
    CONFIG_ENV,
    CarriersConfig,
    ConfigError,
    HttpTransportConfig,
    OutboxTransportConfig,
    SmppTransportConfig,
    read_config,
)
from tambour.services.views import View
from tambour.settings import Settings

# The states of the transport configuration, as the record says them.
CONFIGURED: Final = "configured"
NO_TRANSPORT: Final = "none"  # no TAMBOUR_CONFIG, or a file without a transport
UNREADABLE: Final = "unreadable"  # the file could not be read: the problem is said

# Country-code top-level domains of the European Economic Area (the EU's 27, Iceland,
# Liechtenstein, Norway), `.eu`, and those of France's outermost regions, which are in the EU.
# A carrier's or an endpoint's host under another country's code is a possible transfer
# outside the EEA; a generic domain (.com, .net...) or an address says nothing of where it is.
EEA_DOMAINS: Final = frozenset(
    (
        "at", "be", "bg", "hr", "cy", "cz", "dk", "ee", "fi", "fr", "de", "gr", "hu", "ie", "it",
        "lv", "lt", "lu", "mt", "nl", "pl", "pt", "ro", "sk", "si", "es", "se", "is", "li", "no",
        "eu", "re", "gp", "mq", "gf", "yt",
    )
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Party(View):
    """A controller or a processor: its name and contact details, and its data-protection
    officer; `missing` names what is not known (name, address, email, dpo)."""

    name: str | None
    address: str | None
    email: str | None
    dpo_name: str | None
    dpo_email: str | None
    missing: tuple[str, ...]


def party(
    name: str | None,
    address: str | None,
    email: str | None,
    dpo_name: str | None,
    dpo_email: str | None,
) -> Party:
    missing = [
        what
        for what, value in (
            ("name", name), ("address", address), ("email", email),
            ("dpo", dpo_name or dpo_email),
        )
        if not value
    ]  # fmt: skip
    return Party(name, address, email, dpo_name, dpo_email, tuple(missing))


@dataclass(frozen=True, slots=True)
class Carrier(View):
    """A carrier or aggregator messages are handed to: its name in the configuration ('' for
    the one [transport]), its kind (smpp, http, record-only), its host (None for record-only,
    which sends nothing) and whether the connection to it is encrypted (SMPP over TLS, https)."""

    name: str
    kind: str
    host: str | None
    encrypted: bool


@dataclass(frozen=True, slots=True)
class Transport(View):
    """The transport configuration: `state` one of configured, none, unreadable (with the
    `problem` found), and its carriers."""

    state: str
    problem: str | None
    carriers: tuple[Carrier, ...]


@dataclass(frozen=True, slots=True)
class Setup:
    """What a record of processing is made from, besides the database."""

    processor: Party
    transport: Transport
    clicks_days: int
    texts_days: int
    replies_days: int


def read_setup(settings: Settings, env: Mapping[str, str] | None = None) -> Setup:
    """The setup `settings` and the transport configuration TAMBOUR_CONFIG names (in `env`,
    the process's environment by default) describe."""
    env = os.environ if env is None else env
    who = settings.processor
    return Setup(
        processor=party(who.name, who.address, who.email, who.dpo_name, who.dpo_email),
        transport=read_transport(env),
        clicks_days=settings.clicks_retention_days,
        texts_days=settings.texts_retention_days,
        replies_days=settings.replies_retention_days,
    )


def read_transport(env: Mapping[str, str]) -> Transport:
    """The carriers of the configuration file TAMBOUR_CONFIG names."""
    name = env.get(CONFIG_ENV)
    if not name:
        return Transport(NO_TRANSPORT, None, ())
    try:
        config = read_config(Path(name), env)
    except ConfigError as error:
        if "no [transport] table" in str(error):
            return Transport(NO_TRANSPORT, None, ())
        return Transport(UNREADABLE, str(error), ())
    transport = config.transport
    if isinstance(transport, CarriersConfig):
        found = [_carrier(c.name, c.transport) for c in transport.carriers]
    else:
        found = [_carrier("", transport)]
    return Transport(CONFIGURED, None, tuple(found))


def _carrier(
    name: str,
    transport: SmppTransportConfig | HttpTransportConfig | OutboxTransportConfig,
) -> Carrier:
    match transport:
        case SmppTransportConfig(session=session):
            return Carrier(name, "smpp", session.host, session.tls is not None)
        case HttpTransportConfig(http=http):
            parts = urlsplit(http.url)
            return Carrier(name, "http", parts.hostname, parts.scheme == "https")
    return Carrier(name, "record-only", None, False)


def country_outside_eea(host: str) -> str | None:
    """The country code of `host`'s domain when it is a country's outside the EEA (`uk`,
    `us`...), else None: in the EEA, or a generic domain or an address, which say nothing."""
    last = host.rstrip(".").rsplit(".", 1)[-1].casefold()
    if len(last) != 2 or not last.isalpha() or last in EEA_DOMAINS:
        return None
    return last
