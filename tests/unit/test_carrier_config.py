"""Several carriers in the configuration (issue 14): [[carriers]] with their names, binds and
account limits, [[routes]] between them; every mistake named by carrier or route and key."""

from pathlib import Path

import pytest

from tambour.dispatch.config import CarriersConfig, ConfigError, SmppTransportConfig, read_config
from tambour.dispatch.routing import Route, Routed, SenderType, carriers_for, sender_type
from tambour.dispatch.transports.binds import BindPool
from tambour.dispatch.transports.carriers import CarrierSet
from tambour.dispatch.transports.factory import make_transport
from tambour.dispatch.transports.http import HttpTransport

TWO = """
[[carriers]]
name = "orange"
kind = "smpp"
host = "smsc.orange.example"
port = 2775
system_id = "tambour"
password = "secret"
binds = 2
account_tps = 200

[[carriers]]
name = "backup-http"
kind = "http"
url = "https://aggregator.example/v1/messages"

[[routes]]
territories = ["guadeloupe", "martinique"]
carriers = ["backup-http", "orange"]

[[routes]]
prefixes = ["+336"]
sender_types = ["alphanumeric"]
carriers = ["orange"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tambour.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_two_carriers_and_their_routes(tmp_path: Path) -> None:
    config = read_config(write(tmp_path, TWO), env={})
    carriers = config.transport
    assert isinstance(carriers, CarriersConfig)
    orange, backup = carriers.carriers
    assert (orange.name, orange.binds, orange.account_tps) == ("orange", 2, 200.0)
    assert isinstance(orange.transport, SmppTransportConfig)
    assert orange.transport.session.down_wait == 5.0  # several carriers: fail over after 5 s
    assert backup.name == "backup-http"
    assert config.window == 128  # the widest carrier: 64 a bind, two binds
    assert carriers.routes == (
        Route(("backup-http", "orange"), territories=frozenset({"guadeloupe", "martinique"})),
        Route(("orange",), prefixes=("+336",),
              sender_types=frozenset({SenderType.ALPHANUMERIC})),
    )  # fmt: skip
    transport = make_transport(carriers, lambda inbound: None)
    assert isinstance(transport, CarrierSet)
    assert isinstance(transport.transports["orange"], BindPool)
    assert len(transport.transports["orange"].binds) == 2
    assert isinstance(transport.transports["backup-http"], HttpTransport)


def test_each_carrier_has_its_own_secrets_in_the_environment(tmp_path: Path) -> None:
    env = {"TAMBOUR_CARRIER_ORANGE_PASSWORD": "fromenv", "TAMBOUR_SMPP_PASSWORD": "other"}
    config = read_config(write(tmp_path, TWO.replace('password = "secret"\n', "")), env=env)
    assert isinstance(config.transport, CarriersConfig)
    orange = config.transport.carriers[0].transport
    assert isinstance(orange, SmppTransportConfig) and orange.session.password == "fromenv"
    with pytest.raises(ConfigError, match="TAMBOUR_CARRIER_ORANGE_PASSWORD"):
        read_config(write(tmp_path, TWO.replace('password = "secret"\n', "")), env={})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('name = "backup-http"', 'name = "orange"'), "'orange' names another carrier already"),
        (('name = "orange"', 'name = "Orange SA"'), "[[carriers]] number 1 name: 1 to 40"),
        (('carriers = ["orange"]', 'carriers = ["orang"]'), "did you mean 'orange'?"),
        (('"martinique"', '"martinik"'), "territories: 'martinik' is not one"),
        (('prefixes = ["+336"]', 'prefixes = ["06"]'), "prefixes: '06' is not +digits"),
        (('sender_types = ["alphanumeric"]', 'sender_types = ["brand"]'), "sender_types"),
        (("account_tps = 200", "account_tps = -1"), "[[carriers]] orange account_tps"),
        (('url = "https', 'binds = 2\nurl = "https'), "[[carriers]] backup-http binds: only"),
        (('prefixes = ["+336"]', 'prefix = ["+336"]'), "[[routes]] number 2 prefix: unknown"),
        (('kind = "http"', 'kind = "record-only"'), "kind: expected 'smpp' or 'http'"),
    ],
)
def test_mistakes_are_named(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        read_config(write(tmp_path, TWO.replace(*change)), env={})
    assert message in str(raised.value)
    assert str(tmp_path / "tambour.toml") in str(raised.value)


def test_transport_and_carriers_are_one_or_the_other(tmp_path: Path) -> None:
    both = TWO + '\n[transport]\nkind = "record-only"\n'
    with pytest.raises(ConfigError, match="one or the other"):
        read_config(write(tmp_path, both), env={})
    with pytest.raises(ConfigError, match=r"\[\[routes\]\] need \[\[carriers\]\]"):
        read_config(
            write(tmp_path, '[transport]\nkind = "record-only"\n[[routes]]\ncarriers = ["x"]\n'),
            env={},
        )


def test_routing_takes_the_first_rule_that_matches() -> None:
    routes = (
        Route(("b",), territories=frozenset({"reunion"})),
        Route(("a", "b"), sender_types=frozenset({SenderType.SHORT}), campaigns=frozenset({"x"})),
    )
    everyone = ("a", "b", "c")
    assert carriers_for(Routed("+262692000000", "BRAND", "reunion"), routes, everyone) == ("b",)
    assert carriers_for(Routed("+33612345678", "36111", "metropole", "x"), routes, everyone) == (
        "a",
        "b",
    )
    assert carriers_for(Routed("+33612345678", "36111", "metropole", "y"), routes, everyone) == (
        everyone
    )
    assert [sender_type(s) for s in ("MLUMIERE", "36111", "+33612345678", "33612345678")] == [
        SenderType.ALPHANUMERIC,
        SenderType.SHORT,
        SenderType.LONG,
        SenderType.LONG,
    ]
