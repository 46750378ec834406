"""Test certificates made at run time (the `cryptography` package), written as PEM files into a
folder: a CA, a server certificate for 127.0.0.1 and localhost and a client certificate signed
by it, and, for the failures, a server certificate signed by a CA nobody trusts and one for
another name. For the TLS tests and benches/bench_dispatch.py; EC P-256 keys, quick to make."""

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Key = ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class KeyPair:
    cert: Path
    key: Path


@dataclass(frozen=True)
class TlsFiles:
    ca: Path  # the CA a client or a server trusts (ca_file, --tls-client-ca)
    server: KeyPair  # for 127.0.0.1 and localhost, signed by `ca`
    client: KeyPair  # an ESME's certificate, signed by `ca`
    untrusted_server: KeyPair  # for 127.0.0.1 and localhost, signed by another CA
    other_name_server: KeyPair  # signed by `ca`, for smsc.example only


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str,
    key: Key,
    issuer: tuple[x509.Certificate, Key] | None,
    *,
    is_ca: bool = False,
    names: tuple[str, ...] = (),
    usage: x509.ObjectIdentifier | None = None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name = issuer[0].subject if issuer else _name(subject)
    signing_key = issuer[1] if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()),
            critical=False,
        )
    )
    if is_ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
    if names:
        alternatives: list[x509.GeneralName] = []
        for name in names:
            try:
                alternatives.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alternatives.append(x509.DNSName(name))
        builder = builder.add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def _write(folder: Path, stem: str, certificate: x509.Certificate, key: Key | None) -> KeyPair:
    cert_path = folder / f"{stem}.crt"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path = folder / f"{stem}.key"
    if key is not None:
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_path.chmod(0o600)
    return KeyPair(cert_path, key_path)


def _key() -> Key:
    return ec.generate_private_key(ec.SECP256R1())


def make_pki(folder: Path) -> TlsFiles:
    """Make the certificates and their keys in `folder` (created if need be)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, other_ca_key = _key(), _key()
    ca = _certificate("Tambour test CA", ca_key, None, is_ca=True)
    other_ca = _certificate("Someone else's CA", other_ca_key, None, is_ca=True)
    local = ("127.0.0.1", "localhost")
    server_auth, client_auth = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH
    made: dict[str, KeyPair] = {}
    for stem, issuer, names, usage in (
        ("server", (ca, ca_key), local, server_auth),
        ("client", (ca, ca_key), (), client_auth),
        ("untrusted-server", (other_ca, other_ca_key), local, server_auth),
        ("other-name-server", (ca, ca_key), ("smsc.example",), server_auth),
    ):
        key = _key()
        certificate = _certificate(f"tambour {stem}", key, issuer, names=names, usage=usage)
        made[stem] = _write(folder, stem, certificate, key)
    return TlsFiles(
        ca=_write(folder, "ca", ca, None).cert,
        server=made["server"],
        client=made["client"],
        untrusted_server=made["untrusted-server"],
        other_name_server=made["other-name-server"],
    )
