"""Links made per message (issue 17): the template's link forms, their final lengths, the codes."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from tambour.rules.clicks import Bot, classify, too_soon
from tambour.rules.links import CODE_LENGTH, TOKEN_LENGTH, LinkBases, base_problem
from tambour.rules.network import truncated_ip
from tambour.rules.template import LinkPart, parse_template
from tambour.services.link_codes import SPACE, LinkCodes
from tambour.sms.text import count_text


def test_the_template_reads_the_opt_out_link_and_short_links_in_order() -> None:
    template = parse_template("A {link:https://x.fr/a?b=1} B {Stop_Link} C {prenom|toi}")
    assert template.links == (LinkPart("go", "https://x.fr/a?b=1", 2), LinkPart("stop", None, 30))
    assert [p.name for p in template.placeholders] == ["prenom"]
    rendered = template.render({}, ["<go>", "<stop>"])
    assert rendered == "A <go> B <stop> C toi"


def test_an_unknown_placeholder_form_is_a_template_error() -> None:
    template = parse_template("Bonjour {lien:https://x.fr} {prenom}")
    assert len(template.errors) == 1 and "unknown placeholder form" in template.errors[0].message
    assert template.links == ()


def test_stand_ins_have_the_length_of_the_links_made() -> None:
    bases = LinkBases("https://m.example.fr/", "https://t.ex")
    codes = LinkCodes(b"k" * 32)
    made = (bases.short_link(codes.code(41)), bases.stop_link(codes.token(42)))
    assert made[0].startswith("https://t.ex/s/") and made[1].startswith("https://m.example.fr/o/")
    assert [len(s) for s in bases.stand_ins(("go", "stop"))] == [len(m) for m in made]
    template = parse_template("Soldes {link:https://x.fr} {stop_link}")
    final = template.render({}, made)
    preview = template.render({}, bases.stand_ins(("go", "stop")))
    assert count_text(final).units == count_text(preview).units


def test_short_links_default_to_the_public_base() -> None:
    assert LinkBases("https://m.ex.fr").short_link("AbCdEfG") == "https://m.ex.fr/s/AbCdEfG"


@pytest.mark.parametrize("base", ["m.example.fr", "ftp://m.fr", "https://m.fr/?a=1", "https://"])
def test_a_base_must_be_a_plain_web_address(base: str) -> None:
    assert base_problem(base)


def test_codes_are_a_keyed_permutation_read_back_to_their_ids() -> None:
    codes = LinkCodes(b"k" * 32)
    made = [codes.code(i) for i in range(1, 3000)]
    assert len(set(made)) == len(made)
    assert all(len(c) == CODE_LENGTH and c.isalnum() for c in made)
    assert [codes.link_id(c) for c in made] == list(range(1, 3000))
    assert codes.code(SPACE - 1) and codes.link_id(codes.code(SPACE - 1)) == SPACE - 1
    # Neighbouring ids give unrelated codes, and another key other codes.
    assert sum(a[:3] == b[:3] for a, b in itertools.pairwise(made)) < 5
    other = LinkCodes(b"j" * 32)
    assert sum(other.code(i) == c for i, c in enumerate(made, 1)) == 0
    assert codes.link_id("abc") is None and codes.link_id("ab-défg") is None


def test_an_opt_out_token_carries_a_keyed_check() -> None:
    codes = LinkCodes(b"k" * 32)
    token = codes.token(77)
    assert len(token) == TOKEN_LENGTH and codes.token_id(token) == 77
    forged = token[:CODE_LENGTH] + ("AAA" if token[CODE_LENGTH:] != "AAA" else "BBB")
    assert codes.token_id(forged) is None
    assert codes.token_id(codes.code(78) + token[CODE_LENGTH:]) is None
    assert codes.form_ok(token, codes.form_value(token))
    assert not codes.form_ok(token, codes.form_value(codes.token(78)))


CHROME = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36"


@pytest.mark.parametrize(
    ("method", "agent", "headers", "bot"),
    [
        ("GET", CHROME, {}, None),
        ("HEAD", CHROME, {}, Bot.HEAD),
        ("GET", CHROME, {"sec-purpose": "prefetch;prerender"}, Bot.PREFETCH),
        ("GET", CHROME, {"purpose": "prefetch"}, Bot.PREFETCH),
        ("GET", None, {}, Bot.USER_AGENT),
        ("GET", "WhatsApp/2.23.20.0", {}, Bot.USER_AGENT),
        ("GET", "facebookexternalhit/1.1", {}, Bot.USER_AGENT),
        ("GET", "Mozilla/5.0 (compatible; Googlebot/2.1)", {}, Bot.USER_AGENT),
        ("GET", "curl/8.5.0", {}, Bot.USER_AGENT),
        ("GET", "Mozilla/5.0 HeadlessChrome/126.0", {}, Bot.USER_AGENT),
    ],
)
def test_bots_prefetches_and_scanners_are_told_apart(
    method: str, agent: str | None, headers: dict[str, str], bot: Bot | None
) -> None:
    assert classify(method, agent, headers) is bot


def test_a_follow_within_a_second_of_the_send_is_a_scanner() -> None:
    sent = datetime(2027, 3, 26, 9, tzinfo=UTC)
    assert too_soon(sent + timedelta(milliseconds=400), sent)
    assert not too_soon(sent + timedelta(seconds=3), sent)
    assert not too_soon(sent, None)  # not sent yet: nothing to compare with


@pytest.mark.parametrize(
    ("address", "kept"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::/48"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),
        ("not an address", None),
        (None, None),
    ],
)
def test_addresses_are_kept_truncated(address: str | None, kept: str | None) -> None:
    assert truncated_ip(address) == kept
