"""Where a webhook may be sent: a URL of the advertiser's that reaches the public Internet.

An endpoint URL is `https://` (plain `http://` only where the configuration allows private
targets: a test bench, a receiver on the same host), with a host and no user or password in it.
Its host must not name or resolve to a private, loopback, link-local, multicast or reserved
address: a webhook is a request the platform makes on an advertiser's say-so, and one aimed at
the platform's own network (its database, a cloud metadata service at 169.254.169.254) would
let a tenant probe it. The addresses are checked when the endpoint is saved and again before
each delivery (a name may resolve elsewhere later: DNS rebinding).
"""

import ipaddress
import socket
from dataclasses import dataclass
from typing import Final
from urllib.parse import SplitResult, urlsplit

MAX_URL: Final = 2000


class TargetError(ValueError):
    """A URL a webhook may not be sent to; `code` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    host: str
    port: int


def parse_target(url: str, *, allow_private: bool) -> Target:
    """The endpoint a URL names; TargetError when it is not one webhooks may reach (its
    addresses are not looked up here: see `check_addresses`)."""
    if len(url) > MAX_URL:
        raise TargetError("url_too_long", f"a webhook URL has at most {MAX_URL} characters")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise TargetError("invalid_url", "a webhook URL holds no space or control character")
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise TargetError("invalid_url", f"not a URL: {error}") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise TargetError("insecure_url", "a webhook URL starts with https://")
    if not parts.hostname:
        raise TargetError("invalid_url", "a webhook URL names a host")
    if parts.username is not None or parts.password is not None:
        raise TargetError(
            "credentials_in_url", "a webhook URL carries no user or password (they would be kept)"
        )
    if parts.fragment:
        raise TargetError("invalid_url", "a webhook URL has no #fragment")
    host = parts.hostname
    if not allow_private:
        literal = _literal(host)
        if literal is not None and not _public(literal):
            raise TargetError("private_target", f"{host} is not a public address")
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            raise TargetError("private_target", f"{host} is not a public host")
    return Target(url, host, port or (443 if parts.scheme == "https" else 80))


def check_addresses(target: Target, *, allow_private: bool) -> None:
    """Resolve the target's host and refuse it when any address it has is not public (a name
    with one public and one private address could be made to reach the private one)."""
    if allow_private:
        return
    try:
        found = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise TargetError("unresolvable_host", f"{target.host} cannot be resolved") from error
    for *_, address in found:
        ip = ipaddress.ip_address(address[0])
        if not _public(ip):
            raise TargetError("private_target", f"{target.host} resolves to a private address")


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is the loopback
    return ip.is_global and not ip.is_multicast
