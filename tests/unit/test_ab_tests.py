"""The pure rules of A/B tests (rules/ab_tests.py) and the keyed draw (services/ab_draw.py)."""

import random
from collections import Counter

import pytest

from tambour.keys import Keys
from tambour.rules.ab_tests import VariantFigures, WinnerBy, assignment, winner
from tambour.services.ab_draw import ABDraw


def test_the_share_and_the_variants_are_drawn_evenly() -> None:
    rng = random.Random(17)
    draws = [rng.getrandbits(64) for _ in range(100_000)]
    for share, variants in ((20, 2), (35, 3), (7, 4), (100, 2)):
        got = Counter(assignment(draw, share, variants) for draw in draws)
        tested = len(draws) - got[None]
        assert abs(tested / len(draws) - share / 100) < 0.01, (share, tested)
        for index in range(variants):  # each variant an equal part of the test
            assert abs(got[index] / tested - 1 / variants) < 0.02, (share, variants, got)
        assert set(got) <= {None, *range(variants)}
    assert all(assignment(draw, 100, 3) is not None for draw in draws[:1000])


def test_a_test_has_two_to_four_variants() -> None:
    for wrong in (1, 5):
        with pytest.raises(ValueError):
            assignment(123, 20, wrong)


def figures(label: str, sent: int, clicked: int, opted_out: int) -> VariantFigures:
    return VariantFigures(label, sent, clicked, opted_out)


def test_the_winner_by_clicks_is_the_highest_rate_not_the_highest_count() -> None:
    a = figures("A", 1000, 50, 1)  # 5.0 %
    b = figures("B", 400, 24, 3)  # 6.0 %: fewer clicks, a higher rate
    assert winner([a, b], WinnerBy.CLICKS).winner == "B"
    assert winner([a, b], WinnerBy.OPTOUTS).winner == "A"  # 0.1 % against 0.75 %


def test_ties_go_to_the_other_figure_then_to_the_earlier_variant() -> None:
    a = figures("A", 100, 10, 3)
    b = figures("B", 100, 10, 1)  # the same clicks, fewer opt-outs
    assert winner([a, b], WinnerBy.CLICKS).winner == "B"
    c = figures("C", 200, 20, 2)  # the same click rate as B, a higher opt-out rate
    assert winner([a, b, c], WinnerBy.CLICKS).winner == "B"
    d, e = figures("D", 50, 5, 0), figures("B", 50, 5, 0)
    assert winner([d, e], WinnerBy.OPTOUTS).winner == "B"  # all equal: the earlier label


def test_a_variant_never_sent_cannot_win_and_nothing_sent_keeps_a() -> None:
    silent = figures("A", 0, 0, 0)
    b = figures("B", 10, 0, 4)
    verdict = winner([silent, b], WinnerBy.OPTOUTS)
    assert verdict.winner == "B" and verdict.measured  # A's 0 opt-outs are no rate at all
    none = winner([silent, figures("B", 0, 0, 0)], WinnerBy.CLICKS)
    assert none.winner == "A" and not none.measured
    assert silent.click_rate is None and silent.optout_rate is None


def test_the_draw_is_keyed_stable_and_per_campaign() -> None:
    keys, other = Keys(b"\x01" * 32), Keys(b"\x02" * 32)
    draw = ABDraw.of(keys, campaign_id=7, share=50, variants=2)
    again = ABDraw.of(keys, campaign_id=7, share=50, variants=2)
    assert [draw.variant(c) for c in range(500)] == [again.variant(c) for c in range(500)]
    elsewhere = ABDraw.of(keys, campaign_id=8, share=50, variants=2)
    unkeyed = ABDraw.of(other, campaign_id=7, share=50, variants=2)
    mine = [draw.variant(c) for c in range(500)]
    assert mine != [elsewhere.variant(c) for c in range(500)]
    assert mine != [unkeyed.variant(c) for c in range(500)]  # the key decides, not the ids
    assert 200 < sum(v is not None for v in mine) < 300


def test_a_message_written_after_its_plan_is_blocked_as_the_plan_would_block_it() -> None:
    from tambour.rules.codes import Block, Channel, Nature
    from tambour.rules.content import check_content
    from tambour.rules.facts import AdvertiserFacts
    from tambour.rules.planning import render

    advertiser = AdvertiserFacts(
        slug="maison-lumiere", name="Maison Lumière", senders=("MLUMIERE",), stop_number="36111"
    )
    content = check_content(
        text="Maison Lumière : {code} pour {first_name|vous}", sender="MLUMIERE",
        nature=Nature.COMMERCIAL, channel=Channel.SMS, advertiser=advertiser,
    )  # fmt: skip
    made = render(content, {"code": "-20%"}, [])
    assert made.block() is None and made.text.startswith("Maison Lumière : -20% pour vous")
    assert render(content, {}, []).block() is Block.UNRESOLVED_PLACEHOLDER
    assert made.block(max_parts=made.counted.segments - 1) is Block.TOO_MANY_PARTS
    bare = check_content(
        text="{code}", sender="MLUMIERE", nature=Nature.COMMERCIAL, channel=Channel.SMS,
        advertiser=advertiser,
    )  # fmt: skip
    assert render(bare, {"code": "  "}, []).block() is Block.EMPTY_MESSAGE
