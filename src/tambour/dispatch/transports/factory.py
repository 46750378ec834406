"""The transport a configuration asks for."""

from tambour.dispatch.config import (
    HttpTransportConfig,
    OutboxTransportConfig,
    SmppTransportConfig,
    TransportConfig,
)
from tambour.dispatch.inbound import InboundHandler
from tambour.dispatch.transports.base import Transport
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
            return HttpTransport(config.http, on_inbound)
        case OutboxTransportConfig():
            return OutboxTransport(config.path)
