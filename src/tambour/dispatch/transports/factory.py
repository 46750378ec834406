"""The transport a configuration asks for."""

from tambour.dispatch.config import (
    CarrierConfig,
    CarriersConfig,
    HttpTransportConfig,
    OutboxTransportConfig,
    SmppTransportConfig,
    TransportConfig,
)
from tambour.dispatch.inbound import InboundHandler
from tambour.dispatch.transports.base import Transport
from tambour.dispatch.transports.binds import BindPool
from tambour.dispatch.transports.carriers import CarrierSet, MakeTransport
from tambour.dispatch.transports.http import HttpTransport
from tambour.dispatch.transports.outbox import OutboxTransport
from tambour.dispatch.transports.smpp import SmppTransport


def make_transport(config: TransportConfig, on_inbound: InboundHandler | None = None) -> Transport:
    match config:
        case SmppTransportConfig():
            return SmppTransport(
                config.session, on_inbound, config.short_number_ton, config.short_number_npi
            )
        case HttpTransportConfig():
            return HttpTransport(config.http)  # callbacks: `tambour serve`
        case OutboxTransportConfig():
            return OutboxTransport(config.path)
        case CarriersConfig():
            if on_inbound is None:
                raise ValueError("several carriers need an inbound handler")
            return CarrierSet(
                [(c.name, _carrier(c)) for c in config.carriers],
                config.routes,
                on_inbound,
                {c.name: c.account_tps for c in config.carriers},
            )


def _carrier(carrier: CarrierConfig) -> MakeTransport:
    def make(on_inbound: InboundHandler) -> Transport:
        if carrier.binds == 1:
            return make_transport(carrier.transport, on_inbound)
        return BindPool(
            [make_transport(carrier.transport, on_inbound) for _ in range(carrier.binds)]
        )

    return make
