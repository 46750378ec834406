"""The TOML configuration: typed settings, secrets from the environment, errors that name the
key."""

from pathlib import Path

import pytest

from tambour.dispatch.config import (
    Config,
    ConfigError,
    HttpTransportConfig,
    OutboxTransportConfig,
    SmppTransportConfig,
    callback_tokens,
    load_config,
    read_config,
)
from tambour.dispatch.transports.factory import make_transport
from tambour.dispatch.transports.http import HttpTransport
from tambour.dispatch.transports.outbox import OutboxTransport
from tambour.dispatch.transports.smpp import SmppTransport

SAMPLE = Path(__file__).parents[2] / "tambour.example.toml"
SMPP = """
[transport]
kind = "smpp"
host = "smsc.example"
port = 2775
system_id = "tambour"
password = "secret"
window = 32
tps = 50
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tambour.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_sample_is_a_valid_configuration() -> None:
    config = read_config(SAMPLE, env={})
    assert isinstance(config.transport, SmppTransportConfig)
    session = config.transport.session
    assert (session.host, session.port, session.window, session.tps) == ("127.0.0.1", 2775, 64, 0)
    assert config.source == SAMPLE


def test_smpp(tmp_path: Path) -> None:
    config = read_config(write(tmp_path, SMPP), env={})
    assert isinstance(config.transport, SmppTransportConfig)
    session = config.transport.session
    assert (session.host, session.system_id, session.password) == (
        "smsc.example",
        "tambour",
        "secret",
    )
    assert (session.window, session.tps, session.system_type) == (32, 50.0, "")
    assert "secret" not in repr(config)
    assert isinstance(make_transport(config.transport), SmppTransport)


def test_secrets_from_the_environment_win(tmp_path: Path) -> None:
    config = read_config(write(tmp_path, SMPP), env={"TAMBOUR_SMPP_PASSWORD": "fromenv"})
    assert isinstance(config.transport, SmppTransportConfig)
    assert config.transport.session.password == "fromenv"
    without = SMPP.replace('password = "secret"\n', "")
    config = read_config(write(tmp_path, without), env={"TAMBOUR_SMPP_PASSWORD": "x"})
    assert isinstance(config.transport, SmppTransportConfig)
    assert config.transport.session.password == "x"
    with pytest.raises(ConfigError, match=r"\[transport\] password is missing: .*TAMBOUR_SMPP"):
        read_config(write(tmp_path, without), env={})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("port = 2775", 'port = "2775"'), r"\[transport\] port: expected an integer from 1"),
        (("port = 2775", "port = 70000"), "port: expected an integer from 1 to 65535, got 70000"),
        (("window = 32", "window = 0"), "window: expected an integer from 1"),
        (("tps = 50", "tps = -1"), "tps: expected a number from 0"),
        (("tps = 50", "tps = true"), "tps: expected a number"),
        (('system_id = "tambour"', 'system_id = "a-very-long-system"'), "system_id: at most 15"),
        (('password = "secret"', 'password = "123456789"'), "password: at most 8"),
        (('host = "smsc.example"', "host = 1"), "host: expected a string"),
        (('host = "smsc.example"', ""), r"\[transport\] host is missing"),
        (('host = "smsc.example"', 'hots = "x"'), r"hots: unknown key \(did you mean 'host'\?\)"),
        (('kind = "smpp"', 'kind = "smtp"'), "kind: expected 'smpp', 'http' or 'record-only'"),
        (("[transport]", "[transports]"), r"unknown table \[transports\]"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = write(tmp_path, SMPP.replace(*change))
    with pytest.raises(ConfigError, match=message) as caught:
        read_config(path, env={})
    assert str(path) in str(caught.value)


def test_toml_syntax_errors_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_config(write(tmp_path, "[transport\nkind ="), env={})
    with pytest.raises(ConfigError, match="no such file"):
        read_config(tmp_path / "absent.toml", env={})


def test_http(tmp_path: Path) -> None:
    text = """
[transport]
kind = "http"
url = "https://aggregator.example/v1/messages"
callback_url = "https://tambour.example/api/v1/callbacks"
"""
    config = read_config(
        write(tmp_path, text),
        env={"TAMBOUR_HTTP_TOKEN": "t0k", "TAMBOUR_HTTP_CALLBACK_TOKEN": "cb-s3cret"},
    )
    assert isinstance(config.transport, HttpTransportConfig)
    http = config.transport.http
    assert (http.url, http.token, http.callback_url, http.callback_token, http.window) == (
        "https://aggregator.example/v1/messages",
        "t0k",
        "https://tambour.example/api/v1/callbacks",
        "cb-s3cret",
        16,
    )
    assert "t0k" not in repr(config) and "s3cret" not in repr(config)
    assert isinstance(make_transport(config.transport), HttpTransport)
    with pytest.raises(ConfigError, match="url: expected http:// or https://"):
        read_config(write(tmp_path, text.replace("https://", "ftp://")), env={})


def test_the_callbacks_go_to_the_server(tmp_path: Path) -> None:
    """The worker's listener is gone: its keys are refused, saying where callbacks go now; a
    callback_url needs its token; the server learns each HTTP carrier's token."""
    http = '[transport]\nkind = "http"\nurl = "https://aggregator.example/v1/messages"\n'
    for gone in ("callback_port = 8081", 'callback_host = "0.0.0.0"'):
        with pytest.raises(ConfigError, match=r"no longer read.*/api/v1/callbacks"):
            read_config(write(tmp_path, http + gone), env={})
    with_url = http + 'callback_url = "https://tambour.example/api/v1/callbacks"\n'
    with pytest.raises(ConfigError, match="callback_token: required with callback_url"):
        read_config(write(tmp_path, with_url), env={})
    path = write(tmp_path, with_url)
    env = {"TAMBOUR_CONFIG": str(path), "TAMBOUR_HTTP_CALLBACK_TOKEN": "cb-1"}
    assert callback_tokens(env) == {"": "cb-1"}
    carriers = """
[[carriers]]
name = "agg"
kind = "http"
url = "https://aggregator.example/v1/messages"
callback_token = "cb-agg"

[[carriers]]
name = "secours"
kind = "http"
url = "https://secours.example/v1/messages"
callback_url = "https://tambour.example/api/v1/callbacks/secours"

[[carriers]]
name = "muet"
kind = "http"
url = "https://muet.example/v1/messages"
"""
    path = write(tmp_path, carriers + SMPP.replace("[transport]", '[[carriers]]\nname = "orange"'))
    env = {"TAMBOUR_CONFIG": str(path), "TAMBOUR_CARRIER_SECOURS_CALLBACK_TOKEN": "cb-sec"}
    assert callback_tokens(env) == {"agg": "cb-agg", "secours": "cb-sec"}
    with pytest.raises(ConfigError, match="secours callback_token: required with callback_url"):
        callback_tokens({"TAMBOUR_CONFIG": str(path)})
    assert callback_tokens({}) == {}
    webhooks_only = write(tmp_path, "[webhooks]\nallow_private_targets = true\n")
    assert callback_tokens({"TAMBOUR_CONFIG": str(webhooks_only)}) == {}


@pytest.mark.parametrize("kind", ["record-only", "outbox"])  # "outbox": its former name
def test_record_only_is_named_and_there_is_no_default(tmp_path: Path, kind: str) -> None:
    text = f'[transport]\nkind = "{kind}"\npath = "o.jsonl"'
    config = read_config(write(tmp_path, text), env={})
    assert config == Config(OutboxTransportConfig(Path("o.jsonl")), tmp_path / "tambour.toml")
    assert isinstance(make_transport(config.transport), OutboxTransport)
    with pytest.raises(ConfigError, match=r"^no transport is configured, so nothing can be sent"):
        load_config(env={})
    with pytest.raises(ConfigError, match=r"no \[transport\] table, so nothing can be sent"):
        read_config(write(tmp_path, "[worker]\nlease = 30\n"), env={})
    with pytest.raises(ConfigError, match="kind: expected 'smpp', 'http' or 'record-only'"):
        read_config(write(tmp_path, '[transport]\nkind = "console"'), env={})
    path = write(tmp_path, SMPP)
    assert isinstance(load_config(env={"TAMBOUR_CONFIG": str(path)}).transport, SmppTransportConfig)
