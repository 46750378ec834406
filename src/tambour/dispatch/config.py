"""Tambour's configuration file: TOML, named by the TAMBOUR_CONFIG environment variable (a
commented sample is tambour.example.toml at the root of the repository). Read once at start-up
into typed, frozen settings; every error names the file, the table and the key.

Secrets may stay out of the file: TAMBOUR_SMPP_PASSWORD, TAMBOUR_HTTP_TOKEN and
TAMBOUR_HTTP_CALLBACK_TOKEN, when set, win over the file's `password`, `token` and
`callback_token`. An HTTP aggregator's delivery callbacks are received by `tambour serve`
(api/routes/callbacks.py), which reads the same file for each HTTP carrier's `callback_token`
(`callback_tokens`): `/api/v1/callbacks` for the one [transport], `/api/v1/callbacks/<name>`
for a carrier of [[carriers]]; `callback_url` is the address the aggregator is told to post
to, so one of those. Without TAMBOUR_CONFIG, or without a [transport] table, there is no
transport and the worker refuses to start: nothing may look sent that was not. The local
record-only transport (`kind = "record-only"`, formerly `"outbox"`, still read) sends nothing
and must be named.

Several carriers (issue 14): `[[carriers]]` tables instead of [transport], each with a `name`
and the keys of its kind, plus `binds` (sessions to open to it), `account_tps` (the carrier's
limit for the whole account, shared among the workers sending through it) and
`failover_after` (seconds a message waits for a carrier that went down before the next takes
it). Their secrets: TAMBOUR_CARRIER_<NAME>_PASSWORD, _TOKEN, _CALLBACK_TOKEN (the name upper
case, `-` as `_`). `[[routes]]` say which carriers a message may go through, in order
(dispatch/routing.py); without them, every carrier in the file's order.
"""

import difflib
import os
import re
import stat
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from tambour.dispatch.routing import Route, SenderType
from tambour.dispatch.smpp.client import SessionSettings
from tambour.dispatch.tls import TlsSettings, TlsSetupError, client_context
from tambour.dispatch.transports.http import HttpSettings
from tambour.rules.territory import TERRITORIES

CONFIG_ENV: Final = "TAMBOUR_CONFIG"
SMPP_PASSWORD_ENV: Final = "TAMBOUR_SMPP_PASSWORD"
HTTP_TOKEN_ENV: Final = "TAMBOUR_HTTP_TOKEN"
HTTP_CALLBACK_TOKEN_ENV: Final = "TAMBOUR_HTTP_CALLBACK_TOKEN"
_MISSING: Final = object()


class ConfigError(ValueError):
    """A configuration that cannot be used; the message says where and what to write."""


@dataclass(frozen=True, slots=True)
class SmppTransportConfig:
    session: SessionSettings
    short_number_ton: int = 3
    short_number_npi: int = 0


@dataclass(frozen=True, slots=True)
class HttpTransportConfig:
    http: HttpSettings


@dataclass(frozen=True, slots=True)
class OutboxTransportConfig:
    """The record-only transport (transports/outbox.py): sends nothing, records each message."""

    path: Path | None = None  # where to record the messages as JSON lines; None: memory only


RECORD_ONLY: Final = "record-only"
RECORD_ONLY_KINDS: Final = (RECORD_ONLY, "outbox")  # "outbox": its name before issue 13
_EXAMPLE: Final = (
    f'set {CONFIG_ENV} to a TOML file with a [transport] table, such as [transport] kind = "smpp", '
    'host = "smsc.example.net", port = 2775, system_id = "...", password = "..." (a carrier or '
    'an SMSC), or [transport] kind = "http", url = "https://aggregator.example/v1/messages" (an '
    f'aggregator); kind = "{RECORD_ONLY}" records the messages without sending any '
    "(tambour.example.toml documents every key)"
)


@dataclass(frozen=True, slots=True)
class CarrierConfig:
    name: str
    transport: SmppTransportConfig | HttpTransportConfig
    binds: int = 1  # sessions to this carrier from each worker (SMPP)
    account_tps: float = 0.0  # the carrier's limit for the account, shared by every worker

    @property
    def window(self) -> int:
        match self.transport:
            case SmppTransportConfig(session=session):
                return session.window * self.binds
            case HttpTransportConfig(http=http):
                return http.window
        return 64


@dataclass(frozen=True, slots=True)
class CarriersConfig:
    """[[carriers]] and [[routes]]."""

    carriers: tuple[CarrierConfig, ...]
    routes: tuple[Route, ...] = ()


TransportConfig = SmppTransportConfig | HttpTransportConfig | OutboxTransportConfig | CarriersConfig


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """[worker]: how the outbox workers behave (seconds throughout)."""

    lease: float = 60.0  # a crashed worker's messages are free again after this
    window_margin: float = 60.0  # window left for a message to go now; else next window
    receipt_wait: float = 30.0  # `worker --until-idle`: longest wait for the last receipts
    confirm_stop: bool = False  # answer a STOP with a confirmation (no promotion in it)


# Standard Webhooks' retry schedule, in seconds: a little over a day in all.
WEBHOOK_RETRY_AFTER: Final = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


@dataclass(frozen=True, slots=True)
class WebhooksConfig:
    """[webhooks]: how workers deliver webhooks (seconds throughout)."""

    # Endpoints on private, loopback or link-local addresses (and plain http://): refused
    # unless this is true (a receiver on the same host, a test bench).
    allow_private_targets: bool = False
    concurrency: int = 100  # requests in flight at once, per worker
    timeout: float = 10.0  # an attempt's longest wait, connection included
    retry_after: tuple[float, ...] = WEBHOOK_RETRY_AFTER  # waits before each retry


@dataclass(frozen=True, slots=True)
class Config:
    transport: TransportConfig
    source: Path | None = None  # the file it was read from
    worker: WorkerConfig = WorkerConfig()
    webhooks: WebhooksConfig = WebhooksConfig()

    @property
    def window(self) -> int:
        """Messages the transport takes in flight at once."""
        match self.transport:
            case SmppTransportConfig(session=session):
                return session.window
            case HttpTransportConfig(http=http):
                return http.window
            case CarriersConfig(carriers=carriers):
                return max(carrier.window for carrier in carriers)
        return 64


class _Table:
    """Typed reads of one TOML table, remembering which keys were read."""

    def __init__(self, where: str, table: Mapping[str, Any]) -> None:
        self.where = where
        self.table = table
        self.read: set[str] = set()

    def _get(self, key: str, default: object, hint: str = "") -> object:
        self.read.add(key)
        if key in self.table:
            return self.table[key]
        if default is _MISSING:
            typo = difflib.get_close_matches(key, list(self.table), n=1)
            if typo:
                raise ConfigError(f"{self.where} {typo[0]}: unknown key (did you mean {key!r}?)")
            raise ConfigError(f"{self.where} {key} is missing{hint}")
        return default

    def text(
        self,
        key: str,
        default: object = _MISSING,
        max_length: int | None = None,
        env: tuple[Mapping[str, str], str] | None = None,
    ) -> str:
        if env is not None and env[0].get(env[1]):
            value: object = env[0][env[1]]
            self.read.add(key)
        else:
            hint = f": write it there or set {env[1]}" if env is not None else ""
            value = self._get(key, default, hint)
        if not isinstance(value, str):
            # A secret (those the environment may give) is never quoted back.
            got = type(value).__name__ if env is not None else repr(value)
            raise ConfigError(f"{self.where} {key}: expected a string, got {got}")
        if max_length is not None and len(value) > max_length:
            raise ConfigError(
                f"{self.where} {key}: at most {max_length} characters in SMPP, got {len(value)}"
            )
        return value

    def optional_text(
        self, key: str, env: tuple[Mapping[str, str], str] | None = None
    ) -> str | None:
        if (env is None or not env[0].get(env[1])) and key not in self.table:
            self.read.add(key)
            return None
        return self.text(key, env=env) or None

    def integer(self, key: str, default: object, low: int, high: int) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(
                f"{self.where} {key}: expected an integer from {low} to {high}, got {value!r}"
            )
        return value

    def optional_integer(self, key: str, low: int, high: int) -> int | None:
        if key not in self.table:
            self.read.add(key)
            return None
        return self.integer(key, _MISSING, low, high)

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self._get(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise ConfigError(
                f"{self.where} {key}: expected a number from {low:g} to {high:g}, got {value!r}"
            )
        return float(value)

    def finish(self) -> None:
        unknown = sorted(set(self.table) - self.read)
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(key, sorted(self.read), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{self.where} {key}: unknown key{hint}")


def _smpp(
    table: _Table,
    env: Mapping[str, str],
    password_env: str = SMPP_PASSWORD_ENV,
    down_wait: float | None = None,
) -> SmppTransportConfig:
    # TLS: the SMSC's certificate is always verified (no switch to skip it); ca_file replaces
    # the system's trust store, client_cert and client_key go together. The files are checked
    # now, so that a wrong path stops here with its key named.
    tls_on = table._get("tls", False)
    if not isinstance(tls_on, bool):
        raise ConfigError(f"{table.where} tls: expected true or false, got {tls_on!r}")
    tls = TlsSettings(
        ca_file=table.optional_text("ca_file"),
        client_cert=table.optional_text("client_cert"),
        client_key=table.optional_text("client_key"),
        server_name=table.optional_text("tls_server_name"),
    )
    if not tls_on and tls != TlsSettings():
        given = next(
            k
            for k in ("ca_file", "client_cert", "client_key", "tls_server_name")
            if k in table.table
        )
        raise ConfigError(f"{table.where} {given}: only with tls = true")
    if tls_on:
        try:
            client_context(tls)
        except TlsSetupError as error:
            raise ConfigError(f"{table.where} {error}") from None
    session = SessionSettings(
        host=table.text("host"),
        port=table.integer("port", _MISSING, 1, 65535),
        system_id=table.text("system_id", max_length=15),
        password=table.text("password", max_length=8, env=(env, password_env)),
        system_type=table.text("system_type", "", max_length=12),
        window=table.integer("window", 64, 1, 10_000),
        tps=table.number("tps", 0.0, 0.0, 1_000_000.0),
        enquire_link_interval=table.number("enquire_link_interval", 30.0, 1.0, 3600.0),
        response_timeout=table.number("response_timeout", 30.0, 0.5, 600.0),
        reconnect_max=table.number("reconnect_max", 30.0, 1.0, 3600.0),
        tls=tls if tls_on else None,
        down_wait=down_wait,
    )
    return SmppTransportConfig(
        session,
        short_number_ton=table.integer("short_number_ton", 3, 0, 6),
        short_number_npi=table.integer("short_number_npi", 0, 0, 18),
    )


def _http(
    table: _Table,
    env: Mapping[str, str],
    token_env: str = HTTP_TOKEN_ENV,
    callback_token_env: str = HTTP_CALLBACK_TOKEN_ENV,
    carrier: str = "",
) -> HttpTransportConfig:
    url = table.text("url")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{table.where} url: expected http:// or https://, got {url!r}")
    # An https:// url: the aggregator's certificate is always verified, against ca_file when
    # given (instead of the system's trust store).
    ca_file = table.optional_text("ca_file")
    if ca_file is not None:
        if not url.startswith("https://"):
            raise ConfigError(f"{table.where} ca_file: only with an https:// url")
        try:
            client_context(TlsSettings(ca_file=ca_file))
        except TlsSetupError as error:
            raise ConfigError(f"{table.where} {error}") from None
    for gone in ("callback_port", "callback_host"):  # the worker's listener (before issue 15)
        if gone in table.table:
            raise ConfigError(
                f"{table.where} {gone}: no longer read: the aggregator's callbacks go to "
                f"`tambour serve` now, at {callback_path(carrier)}; set callback_url to that "
                "address and remove callback_port and callback_host"
            )
    callback_url = table.optional_text("callback_url")
    callback_token = table.optional_text("callback_token", env=(env, callback_token_env))
    if callback_url is not None and not callback_token:
        raise ConfigError(
            f"{table.where} callback_token: required with callback_url (or set "
            f"{callback_token_env}): without it anyone could post receipts and STOPs"
        )
    return HttpTransportConfig(
        HttpSettings(
            url=url,
            token=table.optional_text("token", env=(env, token_env)),
            timeout=table.number("timeout", 10.0, 0.1, 600.0),
            window=table.integer("window", 16, 1, 1000),
            callback_url=callback_url,
            callback_token=callback_token,
            ca_file=ca_file,
        )
    )


def _outbox(table: _Table) -> OutboxTransportConfig:
    path = table.optional_text("path")
    return OutboxTransportConfig(Path(path) if path else None)


def parse_config(
    document: Mapping[str, Any], env: Mapping[str, str], name: str = "the configuration"
) -> Config:
    """The settings of a parsed TOML document."""
    unknown = sorted(set(document) - {"transport", "worker", "carriers", "routes", "webhooks"})
    if unknown:
        raise ConfigError(
            f"{name}: unknown table [{unknown[0]}] (known: [transport] or [[carriers]] with "
            "[[routes]], [worker], [webhooks])"
        )
    worker = _worker(document.get("worker", {}), name)
    webhooks = _webhooks(document.get("webhooks", {}), name)
    if "carriers" in document:
        if "transport" in document:
            raise ConfigError(
                f"{name}: [transport] and [[carriers]]: one or the other ([[carriers]] with a "
                "single carrier is a [transport] with a name)"
            )
        return Config(_carriers(document, env, name), worker=worker, webhooks=webhooks)
    if "routes" in document:
        raise ConfigError(f"{name}: [[routes]] need [[carriers]] to route between")
    if "transport" not in document:
        raise ConfigError(f"{name}: no [transport] table, so nothing can be sent: {_EXAMPLE}")
    raw = document["transport"]
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{name}: transport must be a table, [transport]")
    table = _Table(f"{name}: [transport]", raw)
    kind = table.text("kind")
    transport: TransportConfig
    if kind == "smpp":
        transport = _smpp(table, env)
    elif kind == "http":
        transport = _http(table, env)
    elif kind in RECORD_ONLY_KINDS:
        transport = _outbox(table)
    else:
        raise ConfigError(
            f"{table.where} kind: expected 'smpp', 'http' or '{RECORD_ONLY}', got {kind!r}"
        )
    table.finish()
    return Config(transport, worker=worker, webhooks=webhooks)


_CARRIER_NAME: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def _secret_env(carrier: str, what: str) -> str:
    return f"TAMBOUR_CARRIER_{carrier.upper().replace('-', '_')}_{what}"


def _carriers(document: Mapping[str, Any], env: Mapping[str, str], name: str) -> CarriersConfig:
    raw = document["carriers"]
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{name}: carriers must be tables, [[carriers]], at least one")
    several = len(raw) > 1
    carriers: list[CarrierConfig] = []
    for index, item in enumerate(raw, 1):
        if not isinstance(item, Mapping):
            raise ConfigError(f"{name}: [[carriers]] number {index} must be a table")
        table = _Table(f"{name}: [[carriers]] number {index}", item)
        carrier = table.text("name")
        if not _CARRIER_NAME.fullmatch(carrier):
            raise ConfigError(
                f"{table.where} name: 1 to 40 lower-case letters, digits, - or _, starting "
                f"with a letter or digit, got {carrier!r}"
            )
        if any(c.name == carrier for c in carriers):
            raise ConfigError(f"{table.where} name: {carrier!r} names another carrier already")
        table.where = f"{name}: [[carriers]] {carrier}"
        kind = table.text("kind")
        failover = table.number("failover_after", 5.0, 0.1, 3600.0)
        transport: SmppTransportConfig | HttpTransportConfig
        if kind == "smpp":
            transport = _smpp(
                table, env, _secret_env(carrier, "PASSWORD"), failover if several else None
            )
        elif kind == "http":
            transport = _http(
                table,
                env,
                _secret_env(carrier, "TOKEN"),
                _secret_env(carrier, "CALLBACK_TOKEN"),
                carrier,
            )
        else:
            raise ConfigError(f"{table.where} kind: expected 'smpp' or 'http', got {kind!r}")
        binds = table.integer("binds", 1, 1, 64)
        if binds > 1 and kind != "smpp":
            raise ConfigError(f"{table.where} binds: only for an SMPP carrier")
        account_tps = table.number("account_tps", 0.0, 0.0, 1_000_000.0)
        table.finish()
        carriers.append(CarrierConfig(carrier, transport, binds, account_tps))
    names = [c.name for c in carriers]
    routes = document.get("routes", [])
    if not isinstance(routes, list):
        raise ConfigError(f"{name}: routes must be tables, [[routes]]")
    return CarriersConfig(
        tuple(carriers), tuple(_route(r, i, names, name) for i, r in enumerate(routes, 1))
    )


def _names(table: _Table, key: str, allowed: Iterable[str] | None = None) -> list[str] | None:
    """A list of strings, each among `allowed` when given; None when absent."""
    value = table._get(key, None)
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{table.where} {key}: expected a non-empty list of strings")
    if allowed is not None:
        known = list(allowed)
        for item in value:
            if item not in known:
                close = difflib.get_close_matches(item, known, n=1)
                hint = (
                    f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
                )
                raise ConfigError(f"{table.where} {key}: {item!r} is not one{hint}")
    return list(value)


def _route(raw: object, index: int, carriers: list[str], name: str) -> Route:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{name}: [[routes]] number {index} must be a table")
    table = _Table(f"{name}: [[routes]] number {index}", raw)
    chosen = _names(table, "carriers", carriers)
    if chosen is None:
        raise ConfigError(f"{table.where} carriers is missing: the carriers to use, in order")
    territories = _names(table, "territories", [*TERRITORIES, "foreign"])
    prefixes = _names(table, "prefixes")
    for prefix in prefixes or ():
        if not re.fullmatch(r"\+[0-9]{1,15}", prefix):
            raise ConfigError(f"{table.where} prefixes: {prefix!r} is not +digits (E.164)")
    senders = _names(table, "sender_types", [t.value for t in SenderType])
    campaigns = _names(table, "campaigns")
    table.finish()
    return Route(
        tuple(dict.fromkeys(chosen)),
        frozenset(territories) if territories else None,
        tuple(prefixes) if prefixes else None,
        frozenset(SenderType(t) for t in senders) if senders else None,
        frozenset(campaigns) if campaigns else None,
    )


def _worker(raw: object, name: str) -> WorkerConfig:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{name}: worker must be a table, [worker]")
    table = _Table(f"{name}: [worker]", raw)
    confirm = table._get("confirm_stop", False)
    if not isinstance(confirm, bool):
        raise ConfigError(f"{table.where} confirm_stop: expected true or false, got {confirm!r}")
    config = WorkerConfig(
        lease=table.number("lease", 60.0, 5.0, 3600.0),
        window_margin=table.number("window_margin", 60.0, 0.0, 3600.0),
        receipt_wait=table.number("receipt_wait", 30.0, 0.0, 3600.0),
        confirm_stop=confirm,
    )
    table.finish()
    return config


def _webhooks(raw: object, name: str) -> WebhooksConfig:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{name}: webhooks must be a table, [webhooks]")
    table = _Table(f"{name}: [webhooks]", raw)
    allow = table._get("allow_private_targets", False)
    if not isinstance(allow, bool):
        raise ConfigError(
            f"{table.where} allow_private_targets: expected true or false, got {allow!r}"
        )
    waits = table._get("retry_after", list(WEBHOOK_RETRY_AFTER))
    if (
        not isinstance(waits, list)
        or not 1 <= len(waits) <= 20
        or not all(
            isinstance(w, int | float) and not isinstance(w, bool) and 0 < w <= 86400 for w in waits
        )
    ):
        raise ConfigError(
            f"{table.where} retry_after: expected a list of 1 to 20 waits in seconds (each "
            f"above 0, at most 86400), got {waits!r}"
        )
    config = WebhooksConfig(
        allow_private_targets=allow,
        concurrency=table.integer("concurrency", 100, 1, 1000),
        timeout=table.number("timeout", 10.0, 0.5, 60.0),
        retry_after=tuple(float(w) for w in waits),
    )
    table.finish()
    return config


def webhooks_config(env: Mapping[str, str] | None = None) -> WebhooksConfig:
    """The [webhooks] table of the file TAMBOUR_CONFIG names (the defaults without one): the
    API server and `tambour webhook` read it without needing a transport."""
    env = os.environ if env is None else env
    name = env.get(CONFIG_ENV)
    if not name:
        return WebhooksConfig()
    path = Path(name)
    return _webhooks(_document(path).get("webhooks", {}), str(path))


CALLBACKS_PATH: Final = "/api/v1/callbacks"


def callback_path(carrier: str) -> str:
    """Where `tambour serve` receives the delivery callbacks of the HTTP carrier `carrier` (''
    for the one [transport])."""
    return f"{CALLBACKS_PATH}/{carrier}" if carrier else CALLBACKS_PATH


def callback_tokens(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The HTTP carriers of the file TAMBOUR_CONFIG names that take delivery callbacks: carrier
    name ('' for the one [transport]) -> its callback_token. The API server reads it at start:
    empty without a file, or with one that configures no transport (the server needs none);
    ConfigError for a file the worker could not use either."""
    env = os.environ if env is None else env
    name = env.get(CONFIG_ENV)
    if not name:
        return {}
    path = Path(name)
    document = _document(path)
    if "transport" not in document and "carriers" not in document:
        return {}
    transport = parse_config(document, env, str(path)).transport
    carriers: list[tuple[str, SmppTransportConfig | HttpTransportConfig | object]] = (
        [(c.name, c.transport) for c in transport.carriers]
        if isinstance(transport, CarriersConfig)
        else [("", transport)]
    )
    return {
        carrier: config.http.callback_token
        for carrier, config in carriers
        if isinstance(config, HttpTransportConfig) and config.http.callback_token
    }


def read_config(path: Path, env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    config = parse_config(_document(path), env, str(path))
    return Config(config.transport, path, config.worker, config.webhooks)


def _document(path: Path) -> dict[str, Any]:
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a folder; a device or a pipe never ends
            raise ConfigError(f"{path}: not a file")
        with path.open("rb") as source:
            document = tomllib.load(source)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text (a TOML file)") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read it: {error.strerror}") from None
    return document


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """The configuration TAMBOUR_CONFIG names. Raises ConfigError when it names none: without
    a transport nothing can be sent, and nothing is to look sent."""
    env = os.environ if env is None else env
    name = env.get(CONFIG_ENV)
    if not name:
        raise ConfigError(f"no transport is configured, so nothing can be sent: {_EXAMPLE}")
    return read_config(Path(name), env)
