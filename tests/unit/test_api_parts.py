"""The API's pure parts: the language of Accept-Language, the token bucket, cursors, JSON
pointers of a use case's fields, the idempotency fingerprint."""

import pytest
from starlette.requests import Request

from tambour.api import pagination
from tambour.api.idempotency import fingerprint
from tambour.api.problems import ApiError, _pointer
from tambour.api.rate_limit import RateLimiter
from tambour.api.texts import negotiate


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "fr"),
        ("", "fr"),
        ("en", "en"),
        ("EN-gb", "en"),
        ("fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7", "fr"),
        ("en-US,en;q=0.9,fr;q=0.8", "en"),
        ("fr;q=0.5, en;q=0.6", "en"),
        ("en;q=0.5, fr;q=0.5", "en"),  # a tie: the first named
        ("de, it", "fr"),
        ("en;q=0", "fr"),  # q=0: not acceptable
        ("en;q=abc", "fr"),
        ("*", "fr"),
        ("de;q=1, *;q=0.5, en;q=0.4", "fr"),
    ],
)
def test_the_language_of_accept_language(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_the_token_bucket_refills_at_its_rate() -> None:
    now = [100.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert limiter.policy == '"default";q=3;w=2'
    taken = [limiter.take("k") for _ in range(4)]
    assert [a.allowed for a in taken] == [True, True, True, False]
    assert [a.remaining for a in taken] == [2, 1, 0, 0]
    assert taken[3].retry_after == 1 and taken[3].reset == 2
    assert limiter.header(taken[0]) == '"default";r=2;t=1'
    assert limiter.take("other").allowed  # each key its own bucket
    now[0] += 0.5  # one token back
    assert limiter.take("k").allowed and not limiter.take("k").allowed
    now[0] += 60  # never more than the burst
    assert [limiter.take("k").allowed for _ in range(4)] == [True, True, True, False]


def _request(query: str = "limit=2") -> Request:
    return Request(
        {
            "type": "http", "method": "GET", "path": "/api/v1/advertisers", "query_string":
            query.encode(), "headers": [(b"host", b"api.example")], "scheme": "https",
            "server": ("api.example", 443),
        }
    )  # fmt: skip


def test_a_cursor_goes_round_and_a_forged_one_is_refused() -> None:
    request = _request()
    cursor = pagination.encode("maison-lumière")
    assert pagination.decode(request, cursor) == "maison-lumière"
    assert pagination.decode(request, None) is None
    for forged in ("x", "e30", pagination.encode("a")[:-2], "eyJ2IjoxLCJhZnRlciI6MX0"):
        with pytest.raises(ApiError) as refused:
            pagination.decode(request, forged)
        assert refused.value.code == "invalid_cursor"
        assert [error.field for error in refused.value.errors] == ["cursor"]


def test_a_use_cases_fields_as_json_pointers() -> None:
    assert _pointer("senders[1]") == "/senders/1"
    assert _pointer("send_at") == "/send_at"
    assert _pointer("rows[0].phone") == "/rows/0/phone"
    assert _pointer("a/b~c") == "/a~1b~0c"
    assert _pointer(None) == _pointer("") == ""


def test_the_fingerprint_reads_json_as_json() -> None:
    one = fingerprint("POST", "/api/v1/advertisers", b'{"a": 1, "b": [1, 2]}')
    assert one == fingerprint("POST", "/api/v1/advertisers", b'{"b":[1,2],"a":1}')
    assert one != fingerprint("POST", "/api/v1/advertisers", b'{"a": 1, "b": [2, 1]}')
    assert one != fingerprint("POST", "/api/v1/campaigns", b'{"a": 1, "b": [1, 2]}')
    assert fingerprint("POST", "/x", b"\xff") != fingerprint("POST", "/x", b"\xfe")
