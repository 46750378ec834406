"""Replies: STOP variants of rules.md section 6 opt out, START is a new consent, the rest is
other."""

import pytest

from tambour.dispatch.replies import parse_reply
from tambour.dispatch.smpp.pdu import Address, DeliverSm
from tambour.dispatch.smpp.user_data import UCS2, encode_text
from tambour.rules.replies import ReplyKind, classify_reply, normalize_reply

STOPS = [
    "STOP",
    "stop",
    "Stop !",
    " S.T.O.P ",
    "STOP SMS",
    "stopsms",
    "Stop svp merci",
    "STOP 36111",
    "ＳＴＯＰ",  # fullwidth, as some keyboards send
    "ARRET",
    "Arrêt",
    "arrêtez",
    "ARRÊT SVP",
    "Désabonner",
    "DESABONNER",
    "désabonnez-moi",
    "désabonnement",
    "Désinscrire",
    "désinscription",
    "UNSUBSCRIBE",
    "Unsubscribe me",
    "🛑 stop",
    "STOP START",
]
STARTS = ["START", "start", "Start!", " s t a r t ", "START."]
OTHERS = [
    "",
    "   ",
    "Bonjour",
    "Merci !",
    "START please",
    "restart",
    "non stop",
    "Pas de stop",
    "stpo",
    "arre",
]


@pytest.mark.parametrize("text", STOPS)
def test_stop_variants(text: str) -> None:
    assert classify_reply(text) == ReplyKind.STOP


@pytest.mark.parametrize("text", STARTS)
def test_start_is_only_start(text: str) -> None:
    assert classify_reply(text) == ReplyKind.START


@pytest.mark.parametrize("text", OTHERS)
def test_other_replies(text: str) -> None:
    assert classify_reply(text) == ReplyKind.OTHER


def test_normalization() -> None:
    assert normalize_reply("Arrêt, SVP !") == "arretsvp"
    assert normalize_reply("Œuvre_d'art") == "oeuvredart"


def test_a_reply_from_a_deliver_sm() -> None:
    pdu = DeliverSm(Address(1, 1, "33612345678"), Address(3, 0, "36111"), b"Stop")
    reply = parse_reply(pdu)
    assert reply.kind == ReplyKind.STOP
    assert reply.sender == "+33612345678"
    assert reply.sender_address == "33612345678"
    assert reply.short_number == "36111"
    assert reply.text == "Stop"
    assert reply.concatenation is None


def test_a_ucs2_reply() -> None:
    encoded = encode_text("Arrêt ✋", 0)
    assert encoded.data_coding == UCS2
    pdu = DeliverSm(Address(2, 1, "0612345678"), Address(3, 0, "36111"), encoded.parts[0], UCS2)
    reply = parse_reply(pdu)
    assert (reply.kind, reply.text, reply.sender) == (ReplyKind.STOP, "Arrêt ✋", "+33612345678")


def test_a_long_reply_is_a_stop_only_by_its_first_part() -> None:
    encoded = encode_text("STOP " + "et ne m'écrivez plus jamais " * 10, 9)
    assert len(encoded.parts) > 1
    kinds = [
        parse_reply(
            DeliverSm(
                Address(1, 1, "33612345678"),
                Address(3, 0, "36111"),
                part,
                encoded.data_coding,
                encoded.esm_class,
            )
        ).kind
        for part in encoded.parts
    ]
    assert kinds[0] == ReplyKind.STOP
    assert set(kinds[1:]) == {ReplyKind.OTHER}
