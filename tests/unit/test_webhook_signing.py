"""Our Standard Webhooks signatures, checked by the `standardwebhooks` package (another
implementation of the same specification) for any id, time, body and secret."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook, WebhookVerificationError

from tambour.webhooks import signing
from tambour.webhooks.targets import TargetError, parse_target


def now() -> int:
    """The time of signing: the reference library refuses a timestamp minutes from its clock
    (read at each test: a long suite reaches this file minutes after importing it)."""
    return int(datetime.now(UTC).timestamp())


@given(
    secret=st.binary(min_size=24, max_size=64),
    message_id=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=40),
    body=st.binary(max_size=2000),
)
def test_any_message_we_sign_verifies_with_the_reference_library(
    secret: bytes, message_id: str, body: bytes
) -> None:
    headers = signing.headers([secret], message_id, now(), body)
    Webhook(signing.shown(secret)).verify(body, headers, json_parse=False)
    assert signing.parsed(signing.shown(secret)) == secret


@given(a=st.binary(min_size=32, max_size=32), b=st.binary(min_size=32, max_size=32))
def test_during_a_rotation_either_secret_verifies_and_no_other(a: bytes, b: bytes) -> None:
    headers = signing.headers([a, b], "evt_1", now(), b"{}")
    Webhook(signing.shown(a)).verify(b"{}", headers, json_parse=False)
    Webhook(signing.shown(b)).verify(b"{}", headers, json_parse=False)
    other = bytes(x ^ 0xFF for x in a)
    if other not in (a, b):
        with pytest.raises(WebhookVerificationError):
            Webhook(signing.shown(other)).verify(b"{}", headers, json_parse=False)


@pytest.mark.parametrize("text", ["whsec_", "whsec_!!!", "sk_abc", "whsec_" + "QUFB" * 4])
def test_a_malformed_secret_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        signing.parsed(text)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://example.com/a b", "invalid_url"),
        ("https://example.com:99999/", "invalid_url"),
        ("https:///nohost", "invalid_url"),
        ("https://example.com/#frag", "invalid_url"),
        ("https://printer.local/hook", "private_target"),
        ("https://[fd00::1]/hook", "private_target"),
        ("https://0.0.0.0/hook", "private_target"),
        ("https://224.0.0.1/hook", "private_target"),
        ("https://" + "a" * 2000 + ".com/", "url_too_long"),
    ],
)
def test_urls_a_webhook_may_not_target(url: str, code: str) -> None:
    with pytest.raises(TargetError) as refused:
        parse_target(url, allow_private=False)
    assert refused.value.code == code


def test_a_public_https_url_is_a_target_with_its_port() -> None:
    target = parse_target("https://hooks.example.com/tambour?x=1", allow_private=False)
    assert (target.host, target.port) == ("hooks.example.com", 443)
    assert parse_target("http://127.0.0.1:8080/h", allow_private=True).port == 8080
