"""The TLS keys of [transport]: SMPP over TLS (tls, ca_file, client_cert, client_key,
tls_server_name) and the HTTP transport's ca_file; a file that cannot be used is named with its
key when the configuration is read, not when the worker meets the carrier."""

from pathlib import Path

import pytest

from tambour.dispatch.config import (
    ConfigError,
    HttpTransportConfig,
    SmppTransportConfig,
    read_config,
)
from tambour.dispatch.tls import TlsSettings
from tests.tls_certs import TlsFiles, make_pki

SMPP = """
[transport]
kind = "smpp"
host = "smsc.example"
port = 3550
system_id = "tambour"
password = "secret"
"""
HTTP = """
[transport]
kind = "http"
url = "https://aggregator.example/v1/messages"
"""


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_pki(tmp_path_factory.mktemp("pki"))


def read(tmp_path: Path, text: str) -> SmppTransportConfig | HttpTransportConfig:
    path = tmp_path / "tambour.toml"
    path.write_text(text, encoding="utf-8")
    transport = read_config(path, env={}).transport
    assert isinstance(transport, SmppTransportConfig | HttpTransportConfig)
    return transport


def test_smpp_over_tls(tmp_path: Path, pki: TlsFiles) -> None:
    plain = read(tmp_path, SMPP)
    assert isinstance(plain, SmppTransportConfig)
    assert plain.session.tls is None
    system_store = read(tmp_path, SMPP + "tls = true\n")
    assert isinstance(system_store, SmppTransportConfig)
    assert system_store.session.tls == TlsSettings()
    full = read(
        tmp_path,
        SMPP + f'tls = true\nca_file = "{pki.ca}"\nclient_cert = "{pki.client.cert}"\n'
        f'client_key = "{pki.client.key}"\ntls_server_name = "smpp.carrier.example"\n',
    )
    assert isinstance(full, SmppTransportConfig)
    assert full.session.tls == TlsSettings(
        str(pki.ca), str(pki.client.cert), str(pki.client.key), "smpp.carrier.example"
    )


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ('tls = "yes"', r"\[transport\] tls: expected true or false, got 'yes'"),
        ('ca_file = "{ca}"', r"\[transport\] ca_file: only with tls = true"),
        ('tls_server_name = "x"', r"\[transport\] tls_server_name: only with tls = true"),
        ('tls = true\nca_file = "{missing}"', r"\[transport\] ca_file: no such file: .*absent"),
        ('tls = true\nca_file = "{key}"', r"ca_file: .*client.key holds no PEM certificate$"),
        ('tls = true\nclient_cert = "{cert}"', r"client_key: required with the other"),
        ('tls = true\nclient_key = "{key}"', r"client_cert: required with the other"),
        (
            'tls = true\nclient_cert = "{cert}"\nclient_key = "{other_key}"',
            r"\[transport\] client_key: .*server.key is not the key of .*client.crt$",
        ),
        ('tls = true\ncafile = "{ca}"', r"cafile: unknown key \(did you mean 'ca_file'\?\)"),
    ],
)
def test_smpp_tls_errors_name_the_key(
    tmp_path: Path, pki: TlsFiles, lines: str, message: str
) -> None:
    text = SMPP + lines.format(
        ca=pki.ca,
        missing=tmp_path / "absent.pem",
        key=pki.client.key,
        cert=pki.client.cert,
        other_key=pki.server.key,
    )
    with pytest.raises(ConfigError, match=message) as caught:
        read(tmp_path, text + "\n")
    assert str(tmp_path / "tambour.toml") in str(caught.value)


def test_http_ca_file(tmp_path: Path, pki: TlsFiles) -> None:
    default = read(tmp_path, HTTP)
    assert isinstance(default, HttpTransportConfig)
    assert default.http.ca_file is None
    custom = read(tmp_path, HTTP + f'ca_file = "{pki.ca}"\n')
    assert isinstance(custom, HttpTransportConfig)
    assert custom.http.ca_file == str(pki.ca)
    with pytest.raises(ConfigError, match=r"\[transport\] ca_file: no such file"):
        read(tmp_path, HTTP + f'ca_file = "{tmp_path / "absent.pem"}"\n')
    plain = HTTP.replace("https://", "http://")
    with pytest.raises(ConfigError, match=r"ca_file: only with an https:// url"):
        read(tmp_path, plain + f'ca_file = "{pki.ca}"\n')
