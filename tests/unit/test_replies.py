"""Replies: a STOP word or an unambiguous refusal anywhere opts out (rules.md section 6), START
alone is a new consent, the rest is other; a deliver_sm that cannot be read is refused."""

import pytest

from tambour.dispatch.replies import (
    EIGHT_BIT,
    GSM7,
    UCS2,
    ReplyError,
    decode_reply_text,
    make_reply,
    parse_reply,
    text_coding,
)
from tambour.dispatch.smpp.pdu import Address, DeliverSm, Tlv
from tambour.dispatch.smpp.user_data import UCS2 as DATA_CODING_UCS2
from tambour.dispatch.smpp.user_data import encode_text
from tambour.rules.replies import ReplyKind, classify_reply, normalize_reply, reply_words

STOPS = [
    # the word STOP, wherever it stands, however it is written
    "STOP",
    "stop",
    "Stop !",
    "STOP!!!",
    " S.T.O.P ",
    "s t o p",
    "S-T-O-P",
    "STOP SMS",
    "stopsms",
    "Stop svp",
    "Stop svp merci",
    "stop. merci",
    "STOP 36111",
    "STOP36111",
    "36111STOP",
    "STOP au 36111",
    "ＳＴＯＰ",  # fullwidth, as some keyboards send
    "🛑 stop",
    "Stop 🙏",
    "STOP START",
    "Merci STOP",
    "MerciSTOP",
    "stp stop",
    "Bonjour, merci de faire stop",
    "Vous êtes ouverts ? STOP sinon",
    "STOP PUB",
    "Stop spam",
    "Pas de stop",  # read on the side of the law
    "Non stop",  # may be "Non, stop": only the compound written as one word is no STOP
    "Ne stoppez pas",  # a STOP verb counts whatever its form
    "stoppez les sms",
    "Pouvez-vous stopper les envois",
    "c'est stoppé ?",
    # ARRET, DESABONNER, DESINSCRIRE, UNSUBSCRIBE and their forms
    "ARRET",
    "Arrêt",
    "ARRÊT SVP",
    "arrêtez",
    "Arrêtez svp",
    "Veuillez arrêter",
    "ARRETE",
    "Arrêtez de m'envoyer des messages",
    "Désabonner",
    "DESABONNER",
    "désabonnez-moi",
    "désabonnement svp",
    "Je souhaite me désabonner",
    "desabo",
    "Désinscrire",
    "désinscription",
    "desinscrivez moi",
    "désincrire",  # the usual misspelling
    "UNSUBSCRIBE",
    "Unsubscribe me",
    "unsub",
    "opt out",
    "opt-out",
    # unambiguous French refusals
    "Je ne veux plus recevoir de SMS",
    "je ne veux plus",
    "je ne veux plus de pizza",  # "ne veux plus": a refusal whatever follows
    "Je n'en veux plus",
    "Je ne souhaite plus recevoir vos messages",
    "Nous ne souhaitons plus être contactés",
    "Merci de ne plus m'écrire",
    "ne plus recevoir",
    "Comment faire pour ne plus recevoir vos offres ?",
    "ne plus m'envoyer de pub",
    "Ne m'envoyez plus de messages",
    "n'écrivez plus",
    "Ne me contactez plus",
    "je veux plus recevoir ça",
    "Je veux pas recevoir vos sms",
    "Je ne souhaite pas être contactée",
    "Plus de SMS svp",
    "plus de pub",
    "Plus de messages svp",
    "Pas de SMS svp",
    "Je ne veux pas de vos SMS",
    "plus de vos promos merci",
    "Laissez-moi tranquille",
    "Laissez moi tranquille svp",
    "laisse moi tranquille !",
    "Foutez-moi la paix",
    "fichez moi la paix",
    "Retirez-moi",
    "retirez-moi de votre liste",
    "Merci de me retirer de votre liste",
    "me retirer de vos listes",
    "Supprimez mon numéro",
    "supprimez mon numéro de votre fichier",
    "retirez mon numéro",
    "Supprimez mes coordonnées",
    "Effacez mes données",
    "Rayez-moi",
    "C'est du spam",
    "Arrêtez de me harceler",
    "c'est du harcèlement",
    "Je ne suis pas intéressé",
    "Pas interessee",
    "plus intéressé merci",
]
STARTS = ["START", "start", "Start!", " s t a r t ", "START.", "ＳＴＡＲＴ"]
OTHERS = [
    "",
    "   ",
    "Bonjour",
    "Merci !",
    "Merci beaucoup",
    "Oui",
    "Non",
    "D'accord, à samedi",
    "C'est noté",
    "Quels sont vos horaires ?",
    "START please",
    "restart",
    "non-stop",  # the compound: "without a break"
    "nonstop",
    "Vous êtes ouverts non-stop samedi ?",
    "Ouvert non–stop ?",  # with an en dash
    "auto-stop",
    "Avez-vous ce modèle en stock ?",
    "stpo",  # typos are not guessed: the advertiser reads them
    "arre",
    "stp",
    "Je veux plus d'infos",  # "I want more": not a refusal
    "Envoyez-moi plus de promos",
    "Je veux plus de choix",
    "J'en veux plus!",  # either way in French: the advertiser reads it
    "Je voudrais plus de renseignements",
    "Pas de souci",
    "Pas de problème",
    "Pas de promo ce week-end ?",
    "Pas de message reçu",  # no message came: not a refusal of messages
    "Je n'ai pas reçu de message",
    "Je ne peux plus venir samedi",
    "Je ne veux pas être livré samedi",
    "Pourquoi pas",
    "Plus tard",
    "Je suis intéressé",
    "Oui je suis toujours intéressée",
    "Envoyez-moi le catalogue",
    "C'est à moi ?",
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


def test_words() -> None:
    assert reply_words("MerciSTOP36111 !") == ["merci", "stop", "36111"]
    assert reply_words("Ouvert non-stop, l'été") == ["ouvert", "nonstop", "l", "ete"]
    assert reply_words("Désabonnez-moi") == ["desabonnez", "moi"]


# --- deliver_sm ------------------------------------------------------------------------------

PERSON = Address(1, 1, "33612345678")
SHORT = Address(3, 0, "36111")


def test_a_reply_from_a_deliver_sm() -> None:
    reply = parse_reply(DeliverSm(PERSON, SHORT, b"Stop"))
    assert reply.kind == ReplyKind.STOP
    assert reply.sender == "+33612345678"
    assert reply.sender_address == "33612345678"
    assert reply.short_number == "36111"
    assert reply.text == "Stop"
    assert reply.concatenation is None


def test_a_ucs2_reply() -> None:
    encoded = encode_text("Arrêt ✋", 0)
    assert encoded.data_coding == DATA_CODING_UCS2
    pdu = DeliverSm(Address(2, 1, "0612345678"), SHORT, encoded.parts[0], DATA_CODING_UCS2)
    reply = parse_reply(pdu)
    assert (reply.kind, reply.text, reply.sender) == (ReplyKind.STOP, "Arrêt ✋", "+33612345678")


def test_each_part_of_a_long_reply_is_read_on_its_own_never_as_a_start() -> None:
    """A refusal stands anywhere: in the last part of a long reply too."""
    text = "Bonjour, " + "je vous écris au sujet de ma commande de la semaine dernière. " * 3
    encoded = encode_text(text + "Et ne m'envoyez plus de pub !", 9)
    assert len(encoded.parts) == 2
    kinds = [
        parse_reply(DeliverSm(PERSON, SHORT, part, encoded.data_coding, encoded.esm_class)).kind
        for part in encoded.parts
    ]
    assert kinds == [ReplyKind.OTHER, ReplyKind.STOP]
    second_part_alone = b"\x05\x00\x03\x07\x02\x02START"  # part 2 of 2 says START alone
    last = parse_reply(DeliverSm(PERSON, SHORT, second_part_alone, esm_class=0x40))
    assert (last.text, last.kind) == ("START", ReplyKind.OTHER)


def test_a_nul_is_kept_as_a_replacement_character() -> None:
    """PostgreSQL text cannot hold a NUL: the reply could never be stored."""
    reply = parse_reply(DeliverSm(PERSON, SHORT, "STOP\x00".encode("utf-16-be"), 8))
    assert (reply.text, reply.kind) == ("STOP\ufffd", ReplyKind.STOP)


@pytest.mark.parametrize(
    ("data_coding", "coding"),
    [
        (0x00, GSM7), (0x01, EIGHT_BIT), (0x02, EIGHT_BIT), (0x03, EIGHT_BIT), (0x04, EIGHT_BIT),
        (0x06, "iso8859_5"), (0x08, UCS2), (0x0B, None), (0x0C, None), (0x0F, None),
        (0x10, GSM7), (0x11, GSM7), (0x14, EIGHT_BIT), (0x18, UCS2), (0x1C, None),
        (0x20, None), (0x3A, None),  # compressed
        (0x40, GSM7), (0x48, UCS2), (0x60, None), (0x80, None), (0xBF, None),
        (0xC0, GSM7), (0xD1, GSM7), (0xE0, UCS2), (0xF0, GSM7), (0xF1, GSM7), (0xF4, EIGHT_BIT),
    ],
)  # fmt: skip
def test_text_codings(data_coding: int, coding: str | None) -> None:
    assert text_coding(data_coding) == coding


def test_lenient_readings_keep_a_stop_readable() -> None:
    assert decode_reply_text(0x00, "Arrêt".encode("latin-1")) == "Arrêt"  # Latin-1 as "GSM"
    assert decode_reply_text(0x04, b"STOP") == "STOP"  # 8-bit data typed in ASCII
    assert decode_reply_text(0xF0, b"STOP\x11") == "STOP_"  # GSM 03.38 class 0
    assert decode_reply_text(0x08, b"\xd8\x00\x00S") == "\ufffdS"  # a lone surrogate
    assert decode_reply_text(0x06, "стоп STOP".encode("iso8859_5")) == "стоп STOP"


@pytest.mark.parametrize(
    ("pdu", "why"),
    [
        (DeliverSm(Address(1, 1, ""), SHORT, b"STOP"), "source address is empty"),
        (DeliverSm(Address(0, 0, "  "), SHORT, b"STOP"), "source address is empty"),
        (DeliverSm(Address(5, 0, "UN-EXPEDITEUR-TRES-LONG"), SHORT, b"x"), "neither a phone"),
        (DeliverSm(PERSON, Address(1, 1, "3361234567812345678"), b"x"), "destination address"),
        (DeliverSm(PERSON, SHORT, b"\x05\x00\x03", esm_class=0x40), "short_message: UDH"),
        (DeliverSm(PERSON, SHORT, b"\x05\x00\x03\x01\x02\x03STOP", esm_class=0x40), "part 3"),
        (DeliverSm(PERSON, SHORT, b"STOP", data_coding=0x0B), "data_coding 0x0B"),
        (DeliverSm(PERSON, SHORT, b"STOP", data_coding=0x24), "data_coding 0x24"),
        (DeliverSm(PERSON, SHORT, b"STOP", data_coding=0x99), "data_coding 0x99"),
        (DeliverSm(PERSON, SHORT, b"\x00S\x00T\x00", data_coding=0x08), "UCS-2 text of 5"),
        (DeliverSm(PERSON, SHORT, b"\x1b(Z\xff", data_coding=0x05), "not valid iso2022_jp"),
        (
            DeliverSm(PERSON, SHORT, b"",
                      tlvs=(Tlv(0x020C, b"\x00\x01"), Tlv(0x020E, b"\x02\x00"),
                            Tlv(0x020F, b"\x01"))),
            "sar_",
        ),
    ],
)  # fmt: skip
def test_a_deliver_sm_that_cannot_be_read_is_refused_naming_neither_number_nor_text(
    pdu: DeliverSm, why: str
) -> None:
    with pytest.raises(ReplyError, match=why) as raised:
        parse_reply(pdu)
    assert "612345678" not in str(raised.value) and "STOP" not in str(raised.value)


def test_a_short_code_or_brand_sender_is_kept_as_given() -> None:
    reply = parse_reply(DeliverSm(Address(5, 0, "Orange"), SHORT, b"Votre forfait"))
    assert (reply.sender, reply.sender_address, reply.kind) == (None, "Orange", ReplyKind.OTHER)


def test_make_reply_checks_what_any_transport_gives() -> None:
    reply = make_reply(
        sender="+33612345678", sender_address=" +33612345678 ", short_number=" 36111 ",
        text="Stop\x00",
    )  # fmt: skip
    assert (reply.sender_address, reply.short_number, reply.text, reply.kind) == (
        "+33612345678", "36111", "Stop\ufffd", ReplyKind.STOP,
    )  # fmt: skip
    with pytest.raises(ReplyError, match="source address is empty"):
        make_reply(sender=None, sender_address="", short_number="36111", text="STOP")
