"""The SMPP v3.4 layer: PDU codec, connection, client session, addresses, user data."""
