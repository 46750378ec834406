"""TLS for the transports, with the standard library's ssl: the client side (SMPP over TLS to a
carrier, HTTPS to an aggregator) and the local SMSC's server side (tests, benches, the demo).

A client always verifies the server's certificate, against `ca_file` when it is given (instead
of the system's trust store: a carrier's private CA), and the name the certificate is for: the
host connected to, or `server_name` (when the host is an address and the certificate names the
carrier's domain). There is no switch to skip either: an SMSC whose certificate cannot be
verified is not talked to. A client certificate is optional, both files or neither; its key
must not be encrypted (there is nobody to type a passphrase to a worker).

Errors say which file and what is wrong with it, without a traceback: `TlsSetupError` for a
file that cannot be used (the configuration turns it into an error naming the key), `TlsError`
(an OSError, as a refused connection is) for a handshake that failed.
"""

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Final, NoReturn

# OpenSSL's verification codes for a certificate that is valid but for another name.
_NAME_MISMATCH: Final = frozenset({62, 64})  # X509_V_ERR_HOSTNAME_MISMATCH, _IP_ADDRESS_


@dataclass(frozen=True, slots=True)
class TlsSettings:
    ca_file: str | None = None  # PEM: the CAs to trust; None: the system's trust store
    client_cert: str | None = None  # PEM: the certificate to show when the server asks
    client_key: str | None = None  # PEM, not encrypted: its private key
    server_name: str | None = None  # the name to verify (and send as SNI); None: the host


class TlsSetupError(ValueError):
    """A certificate, key or CA file that cannot be used; `key` names the setting."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class TlsError(OSError):
    """A TLS handshake that failed, in words (the certificate not trusted, not for the name
    connected to, the peer not speaking TLS)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "TLS failed"


def client_context(settings: TlsSettings) -> ssl.SSLContext:
    """A context that verifies the server's certificate and name. Raises TlsSetupError."""
    ca_file = settings.ca_file
    try:
        # With a cafile, only its CAs are trusted; without, the system's.
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    except (OSError, ssl.SSLError) as error:
        assert ca_file is not None  # the system's store does not fail to load
        raise _ca_problem("ca_file", ca_file, error) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if (settings.client_cert is None) != (settings.client_key is None):
        missing = "client_key" if settings.client_key is None else "client_cert"
        raise TlsSetupError(missing, "required with the other (a certificate and its key)")
    if settings.client_cert is not None and settings.client_key is not None:
        _load_pair(
            context, ("client_cert", settings.client_cert), ("client_key", settings.client_key)
        )
    return context


def server_context(cert: str, key: str, client_ca: str | None = None) -> ssl.SSLContext:
    """A server's context (the local SMSC); with `client_ca`, a client must show a
    certificate signed by it. Raises TlsSetupError naming "cert", "key" or "client_ca"."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    _load_pair(context, ("cert", cert), ("key", key))
    if client_ca is not None:
        _load_ca(context, "client_ca", client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def handshake_failure(error: ssl.SSLError, name: str, peer: str) -> TlsError:
    """`error` from a handshake with `peer` ("the SMSC") at `name`, said with what to change."""
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = str(error.verify_message)
        if error.verify_code in _NAME_MISMATCH:
            return TlsError(
                f"TLS: {peer}'s certificate is not for {name} ({reason}); tls_server_name "
                "sets the name to verify"
            )
        return TlsError(
            f"TLS: {peer}'s certificate could not be verified ({reason}); ca_file names the "
            "CA that signed it, when it is not in the system's trust store"
        )
    reason = error.reason or type(error).__name__
    return TlsError(f"TLS handshake with {peer} at {name} failed ({reason}): does it serve TLS?")


def _load_ca(context: ssl.SSLContext, key: str, path: str) -> None:
    try:
        context.load_verify_locations(cafile=path)
    except (OSError, ssl.SSLError) as error:
        raise _ca_problem(key, path, error) from None


def _ca_problem(key: str, path: str, error: Exception) -> TlsSetupError:
    if isinstance(error, FileNotFoundError):
        return TlsSetupError(key, f"no such file: {path}")
    if isinstance(error, ssl.SSLError):
        return TlsSetupError(key, f"{path} holds no PEM certificate")
    assert isinstance(error, OSError)
    return TlsSetupError(key, f"cannot read {path}: {error.strerror or error}")


def _refuse_passphrase(key: str, path: str) -> NoReturn:
    raise TlsSetupError(
        key, f"{path} is encrypted: give the key unencrypted, readable only by its user"
    )


def _load_pair(context: ssl.SSLContext, cert: tuple[str, str], key: tuple[str, str]) -> None:
    (cert_key, cert_path), (key_key, key_path) = cert, key
    for (setting, path), marker, what in (
        (cert, b"-----BEGIN CERTIFICATE-----", "certificate"),
        (key, b"PRIVATE KEY-----", "private key"),
    ):
        try:
            content = Path(path).read_bytes()
        except FileNotFoundError:
            raise TlsSetupError(setting, f"no such file: {path}") from None
        except OSError as error:
            raise TlsSetupError(setting, f"cannot read {path}: {error.strerror}") from None
        if marker not in content:
            raise TlsSetupError(setting, f"{path} holds no PEM {what}")
    try:
        context.load_cert_chain(
            cert_path, key_path, password=lambda: _refuse_passphrase(key_key, key_path)
        )
    except ssl.SSLError as error:
        if "KEY_VALUES_MISMATCH" in (error.reason or ""):
            raise TlsSetupError(key_key, f"{key_path} is not the key of {cert_path}") from None
        raise TlsSetupError(cert_key, f"{cert_path} with {key_path}: {error}") from None
