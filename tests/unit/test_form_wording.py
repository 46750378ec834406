"""The pure parts of hosted forms: canonical wording and its hash, the anti-bot token, the
truncated IP."""

import hashlib

import pytest

from tambour.contacts.form_wording import FormKind, WordingError, default_wording, parse_wording
from tambour.keys import Keys
from tambour.public import antibot
from tambour.rules.network import truncated_ip


def test_the_hash_is_sha256_of_one_canonical_text_whatever_the_key_order() -> None:
    wording = default_wording(FormKind.CONSENT, "Maison Lumière SAS")
    data = wording.as_data()
    shuffled = dict(reversed(list(data.items())))
    again = parse_wording(shuffled)
    assert again.canonical() == wording.canonical()
    assert again.hash == hashlib.sha256(wording.canonical().encode()).hexdigest()
    assert "Maison Lumière SAS" in wording.canonical()  # UTF-8 as is, not \\u escapes
    data["purposes"][0]["label"]["fr"] += " "  # spaces folded: the same text shown
    assert parse_wording(data).hash == wording.hash
    data["purposes"][0]["label"]["fr"] = "J'accepte tout."
    assert parse_wording(data).hash != wording.hash


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"title": {"en": "Offers"}}, "wording.title.fr"),
        ({"purposes": []}, "wording.purposes"),
        ({"purposes": [{"key": "sms", "channels": ["fax"], "label": {"fr": "x"}}]},
         "wording.purposes[0].channels"),
        ({"objection": {"fr": "Je m'oppose"}}, "wording.objection"),
        ({"kind": "other"}, "wording.kind"),
    ],
)  # fmt: skip
def test_a_wording_that_cannot_be_shown_is_refused_at_its_place(change: dict, where: str) -> None:
    data = {**default_wording(FormKind.CONSENT, "X").as_data(), **change}
    with pytest.raises(WordingError) as refused:
        parse_wording(data)
    assert refused.value.where == where


def test_notices_have_an_objection_box_and_no_consent_box() -> None:
    b2b = default_wording(FormKind.B2B, "X")
    assert b2b.objection["fr"].startswith("Je m'oppose") and not b2b.purposes
    assert parse_wording(b2b.as_data()).hash == b2b.hash


def test_the_anti_bot_token_is_bound_to_its_form_and_its_time() -> None:
    keys = Keys(b"k" * 32)
    token = antibot.issue(keys, "a/club", now=1000.0)
    assert antibot.check(keys, "a/club", token, now=1003.0) is None
    assert antibot.check(keys, "a/club", token, now=1000.5) == "too_fast"
    assert antibot.check(keys, "a/club", token, now=1000.0 + antibot.MAX_AGE + 1) == "expired"
    assert antibot.check(keys, "a/other", token, now=1003.0) == "forged"
    assert antibot.check(Keys(b"j" * 32), "a/club", token, now=1003.0) == "forged"
    assert antibot.check(keys, "a/club", "2000." + token.split(".")[1], now=2003.0) == "forged"
    assert antibot.check(keys, "a/club", None) == "forged"


def test_ip_addresses_are_kept_truncated_only() -> None:
    assert truncated_ip("203.0.113.77") == "203.0.113.0/24"
    assert truncated_ip("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert truncated_ip("::ffff:198.51.100.9") == "198.51.100.0/24"
    assert truncated_ip("not an ip") is None and truncated_ip(None) is None
