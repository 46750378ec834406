"""Dispatch: messages leave through a transport (SMPP, HTTP aggregator, local outbox) and receipts
and replies come back. The SMPP layer, the transports, receipt and reply parsing, and a local SMSC
for the demo and the tests live here; the outbox workers build on them."""
