"""rules.md section 5: sender IDs, advertiser identity, the STOP mention, campaign blocks."""

from dataclasses import replace

import pytest

from tambour.rules.codes import Block, Channel, Nature
from tambour.rules.content import MMS_MAX_BYTES, check_content, sender_id_problem, stop_mention
from tambour.rules.links import LinkBases
from tests.unit.factories import ADVERTISER


def blocks(text: str, sender: str = "MLUMIERE", **kw) -> set[Block]:  # type: ignore[no-untyped-def]
    check = check_content(
        text=text,
        sender=sender,
        nature=kw.get("nature", Nature.COMMERCIAL),
        channel=kw.get("channel", Channel.SMS),
        advertiser=kw.get("advertiser", ADVERTISER),
        media_bytes=kw.get("media_bytes", 0),
        transaction_field=kw.get("transaction_field"),
    )
    return {f.code for f in check.blocks}


@pytest.mark.parametrize("sender", ["MLUMIERE", "Lumiere75", "ABC", "ABCDEFGHIJK", "36111"])
def test_valid_sender_ids(sender: str) -> None:
    assert sender_id_problem(sender, ADVERTISER) is None


@pytest.mark.parametrize(
    "sender",
    [
        "AB",  # too short
        "ABCDEFGHIJKL",  # 12 characters
        "LUMIÈRE",  # accent
        "MA LUMIERE",  # space
        "M-LUMIERE",  # sign
        "0612345678",  # a mobile number
        "+33612345678",
        "12345",  # numeric but not the advertiser's short number
        "INFO",
        "promo",
        "Livraison",
        "RDV",
        "PAIEMENT",
        "BANQUE",
        "COLIS",
        "SMS",
        "SERVICE",
        "ALERTE",
    ],
)
def test_invalid_sender_ids(sender: str) -> None:
    assert sender_id_problem(sender, ADVERTISER) is not None
    assert Block.INVALID_SENDER_ID in blocks("Maison Lumière : -20% ce week-end", sender)


def test_sender_of_the_brand_identifies_the_advertiser() -> None:
    assert blocks("-20% ce week-end sur nos luminaires") == set()


def test_other_sender_needs_the_text_to_name_the_advertiser() -> None:
    assert Block.MISSING_ADVERTISER_IDENTITY in blocks("-20% ce week-end", "BOUTIQUE")
    assert blocks("Maison Lumière : -20% ce week-end", "BOUTIQUE") == set()
    assert blocks("MAISON LUMIERE : -20% ce week-end", "36111") == set()
    assert Block.MISSING_ADVERTISER_IDENTITY in blocks("-20% ce week-end", "36111")


def test_identity_is_not_found_inside_another_word() -> None:
    assert Block.MISSING_ADVERTISER_IDENTITY in blocks("Les xmlumierex sont là", "BOUTIQUE")


def test_stop_mention_is_appended_when_missing() -> None:
    check = check_content(
        text="Bonjour {first_name|Client}, -20% !",
        sender="MLUMIERE",
        nature=Nature.COMMERCIAL,
        channel=Channel.SMS,
        advertiser=ADVERTISER,
    )
    assert check.blocks == ()
    assert check.final_text("Bonjour Léa, -20% !") == "Bonjour Léa, -20% ! STOP au 36111"


@pytest.mark.parametrize(
    "text",
    [
        "-20% ! STOP au 36111",
        "-20% ! Stop SMS au 36 111",
        "-20% ! stop : 36111",
        "STOP au 36111 -20%",
    ],
)
def test_existing_stop_mention_is_not_doubled(text: str) -> None:
    mention = stop_mention(text, Nature.COMMERCIAL, "MLUMIERE", "36111")
    assert mention.suffix == "" and mention.problem is None


def test_stop_mention_with_the_wrong_number_blocks() -> None:
    assert Block.MISSING_STOP_MENTION in blocks("-20% ! STOP au 36180")


def test_stop_without_a_number_blocks_for_an_alphanumeric_sender_only() -> None:
    assert Block.MISSING_STOP_MENTION in blocks("-20% ! Répondez STOP pour vous désinscrire")
    assert blocks("Maison Lumière -20% ! Répondez STOP", "36111") == set()


def test_no_stop_number_and_no_mention_blocks() -> None:
    from dataclasses import replace

    no_number = replace(ADVERTISER, stop_number=None)
    assert Block.MISSING_STOP_MENTION in blocks("-20% !", advertiser=no_number)


def test_transactional_messages_need_no_stop_mention() -> None:
    check = check_content(
        text="Votre commande est prête",
        sender="MLUMIERE",
        nature=Nature.TRANSACTIONAL,
        channel=Channel.SMS,
        advertiser=ADVERTISER,
        transaction_field="commande",
    )
    assert check.blocks == () and check.final_text("x") == "x"


def test_non_commercial_prospection_carries_the_stop_mention() -> None:
    mention = stop_mention("Collecte samedi", Nature.NON_COMMERCIAL, "MLUMIERE", "36111")
    assert mention.suffix == " STOP au 36111"


def test_empty_message_blocks() -> None:
    assert Block.EMPTY_MESSAGE in blocks("   ")
    assert Block.EMPTY_MESSAGE not in blocks("{first_name}")


def test_malformed_placeholder_blocks() -> None:
    assert Block.UNRESOLVED_PLACEHOLDER in blocks("Bonjour {prenom, -20% !")
    assert Block.UNRESOLVED_PLACEHOLDER in blocks("Bonjour {}, -20% !")
    assert Block.UNRESOLVED_PLACEHOLDER not in blocks("Bonjour {{client}}, -20% !")


def test_mms_too_large_blocks_only_mms() -> None:
    assert Block.MMS_TOO_LARGE in blocks("-20%", channel=Channel.MMS, media_bytes=MMS_MAX_BYTES + 1)
    assert Block.MMS_TOO_LARGE not in blocks("-20%", channel=Channel.MMS, media_bytes=MMS_MAX_BYTES)
    assert Block.MMS_TOO_LARGE not in blocks("-20%", channel=Channel.SMS, media_bytes=10**7)


# --- the declared nature is checked, not trusted (issue 12 point 1) -------------------------

PROMO = "SOLDES -50% sur tout le magasin avec le code PROMO50 !"


@pytest.mark.parametrize("nature", [Nature.TRANSACTIONAL, Nature.NON_COMMERCIAL, Nature.POLITICAL])
def test_a_promotional_text_blocks_any_nature_but_commercial(nature: Nature) -> None:
    from dataclasses import replace

    recorded = replace(ADVERTISER, non_commercial_id="W751234567")
    found = blocks(PROMO, nature=nature, advertiser=recorded, transaction_field="commande")
    assert Block.PROMOTIONAL_CONTENT in found
    assert Block.PROMOTIONAL_CONTENT not in blocks(PROMO, nature=Nature.COMMERCIAL)


def test_the_promotion_block_says_what_it_found() -> None:
    check = check_content(
        text=PROMO, sender="MLUMIERE", nature=Nature.TRANSACTIONAL, channel=Channel.SMS,
        advertiser=ADVERTISER, transaction_field="commande",
    )  # fmt: skip
    (finding,) = [f for f in check.blocks if f.code is Block.PROMOTIONAL_CONTENT]
    assert "PROMO50" in finding.message or "50%" in finding.message


def test_a_genuine_transactional_text_is_not_blocked() -> None:
    text = "Votre commande {commande} d'un montant de 45,90 € a été expédiée."
    assert blocks(text, nature=Nature.TRANSACTIONAL, transaction_field="commande") == set()


def test_a_transactional_campaign_must_name_its_transaction_field() -> None:
    assert Block.NO_TRANSACTION_FIELD in blocks("Votre colis arrive", nature=Nature.TRANSACTIONAL)
    assert Block.NO_TRANSACTION_FIELD not in blocks(
        "Votre colis arrive", nature=Nature.TRANSACTIONAL, transaction_field="suivi"
    )


def test_non_commercial_needs_an_advertiser_recorded_as_such() -> None:
    from dataclasses import replace

    text = "Collecte de lampes usagées samedi"
    assert Block.NON_COMMERCIAL_UNRECORDED in blocks(text, nature=Nature.NON_COMMERCIAL)
    recorded = replace(ADVERTISER, non_commercial_id="W751234567")
    assert Block.NON_COMMERCIAL_UNRECORDED not in blocks(
        text, nature=Nature.NON_COMMERCIAL, advertiser=recorded
    )


def test_non_stop_is_not_a_stop_mention() -> None:
    mention = stop_mention("Ouvert non-stop ce samedi", Nature.COMMERCIAL, "MLUMIERE", "36111")
    assert mention.problem is None and mention.suffix == " STOP au 36111"
    assert Block.MISSING_STOP_MENTION not in blocks("Ouvert non-stop ce samedi !")


def test_too_many_parts_and_nothing_to_send_are_plan_blocks() -> None:
    from tambour.rules.planning import plan_blocks

    check = check_content(
        text="Bonjour", sender="MLUMIERE", nature=Nature.COMMERCIAL, channel=Channel.SMS,
        advertiser=ADVERTISER,
    )  # fmt: skip
    assert {f.code for f in plan_blocks(check, {}, 0, sends=0)} == {Block.NOTHING_TO_SEND}
    assert plan_blocks(check, {}, 0, sends=3) == []
    codes = {f.code for f in plan_blocks(check, {}, 0, sends=3, over_parts=2)}
    assert codes == {Block.TOO_MANY_PARTS}


def test_every_block_code_is_exercised_by_this_module() -> None:
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    assert [b.name for b in Block if f"Block.{b.name}" not in source] == []


# --- links made per message (issue 17) -------------------------------------------------------

LINKS = LinkBases("https://m.example.fr")


def link_check(text: str, nature: Nature = Nature.COMMERCIAL, **kw):  # type: ignore[no-untyped-def]
    return check_content(
        text=text, sender="MLUMIERE", nature=nature, channel=Channel.SMS,
        advertiser=kw.get("advertiser", ADVERTISER), links=kw.get("links", LINKS),
        transaction_field="commande" if nature is Nature.TRANSACTIONAL else None,
    )  # fmt: skip


def test_a_link_to_something_else_than_a_web_address_blocks_the_campaign() -> None:
    for target in ("ftp://x.fr/a", "javascript:alert(1)", "https://", "www.x.fr", "https://a b.fr"):
        found = {f.code for f in link_check(f"Soldes {{link:{target}}}").blocks}
        assert Block.INVALID_LINK in found, target
    assert not link_check("Soldes {link:https://maison-lumiere.fr/soldes?x=1}").blocks


def test_links_without_a_public_address_block_the_campaign_and_alone_are_refused() -> None:
    unconfigured = link_check("Soldes {link:https://x.fr} {stop_link}", links=LinkBases())
    assert {f.code for f in unconfigured.blocks} == {Block.LINKS_UNCONFIGURED}
    alone = link_check("Soldes {stop_link}", links=None)
    assert {f.code for f in alone.blocks} == {Block.LINKS_UNCONFIGURED}


def test_an_opt_out_link_in_a_transactional_message_is_refused() -> None:
    check = link_check("Votre commande {commande} est prête {stop_link}", Nature.TRANSACTIONAL)
    assert Block.STOP_LINK_TRANSACTIONAL in {f.code for f in check.blocks}
    # The advertiser's option adds none to a transactional message.
    wanting = replace(ADVERTISER, stop_link=True)
    plain = link_check(
        "Votre commande {commande} est prête", Nature.TRANSACTIONAL, advertiser=wanting
    )
    assert not plain.appended_stop_link and not plain.blocks


def test_the_advertisers_option_ends_each_prospection_message_with_its_opt_out_link() -> None:
    wanting = replace(ADVERTISER, stop_link=True)
    check = link_check("Maison Lumière : -20% {link:https://x.fr/s}", advertiser=wanting)
    assert check.appended_stop_link and check.link_kinds == ("go", "stop")
    _, text = check.message({}, ["https://m.example.fr/s/AAAAAAA", "https://m.example.fr/o/B" * 1])
    # The STOP mention still holds, the link comes last.
    assert text == (
        "Maison Lumière : -20% https://m.example.fr/s/AAAAAAA STOP au 36111 https://m.example.fr/o/B"
    )
    own = link_check("Maison Lumière : -20% {stop_link}", advertiser=wanting)
    assert not own.appended_stop_link and own.link_kinds == ("stop",)
