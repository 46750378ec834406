"""Webhooks: events told to the advertiser's own systems, signed as Standard Webhooks 1.0 says,
delivered from a durable outbox with retries (services/webhooks.py, webhooks/delivery.py)."""
