"""A/B tests: which recipients test which variant of a campaign's text, and which variant wins
(rules.md section 8). Pure: the caller gives each recipient's random draw and each variant's
figures.

A campaign of two to four variants (A is its own text) sends a variant to a share of its
audience, each recipient's draw telling whether it is part of the test and which variant it
gets; the rest of the audience waits. After the test's time the winner is the variant with the
most people clicking (`clicks`) or the fewest opt-outs (`optouts`), each as a rate of the
variant's messages sent; the rest then gets the winner. Who may be sent a message at all is
decided before and apart from this: a variant changes the words, never the recipients.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

LABELS: Final = "ABCD"  # the variants, in order: A is the campaign's own text
MIN_VARIANTS: Final = 2
MAX_VARIANTS: Final = 4
MIN_SHARE, MAX_SHARE = 1, 100  # percent of the audience in the test
MAX_TEST_MINUTES: Final = 14 * 24 * 60  # a test longer than two weeks answers nothing more
_DRAWS: Final = 10_000  # a draw's first four digits place it in the test (share in hundredths)


class WinnerBy(StrEnum):
    CLICKS = "clicks"  # the highest share of messages whose short link a person followed
    OPTOUTS = "optouts"  # the lowest share of recipients who opted out after the message


class Group(StrEnum):
    TEST = "test"  # a variant drawn at random
    REST = "rest"  # the winner's text, once chosen


def assignment(draw: int, share: int, variants: int) -> int | None:
    """The variant (its index) a recipient of random `draw` (a uniform non-negative integer of
    at least 32 bits) gets in a test of `share` percent, or None: part of the rest. The draw's
    low digits place it in or out of the test, the others choose the variant, so the variants
    get the test's recipients in equal shares whatever the share."""
    if not MIN_VARIANTS <= variants <= MAX_VARIANTS:
        raise ValueError(f"an A/B test has {MIN_VARIANTS} to {MAX_VARIANTS} variants")
    if draw % _DRAWS >= share * (_DRAWS // 100):
        return None
    return (draw // _DRAWS) % variants


@dataclass(frozen=True, slots=True)
class VariantFigures:
    """A variant's test so far: its messages sent (taken by a carrier), those whose short link a
    person followed (bots, prefetchers and scanners not counted), and recipients who opted out
    after their message left (STOP, opt-out link, 33700 report)."""

    label: str
    sent: int
    clicked: int
    opted_out: int

    @property
    def click_rate(self) -> float | None:
        return self.clicked / self.sent if self.sent else None

    @property
    def optout_rate(self) -> float | None:
        return self.opted_out / self.sent if self.sent else None


@dataclass(frozen=True, slots=True)
class Verdict:
    winner: str  # a label
    measured: bool  # False: no variant had a message sent; A (the campaign's text) is kept


def winner(figures: Sequence[VariantFigures], by: WinnerBy) -> Verdict:
    """The winning variant. Only variants with a message sent compete. By clicks: the highest
    click rate, then the lowest opt-out rate; by opt-outs: the lowest opt-out rate, then the
    highest click rate; a tie left after both goes to the earlier label (A, the campaign's own
    text, first). With nothing sent at all, A is kept."""
    measured = [f for f in figures if f.sent]
    if not measured:
        return Verdict(LABELS[0], False)

    def rank(f: VariantFigures) -> tuple[float, float, int]:
        clicks, optouts = f.click_rate or 0.0, f.optout_rate or 0.0
        first, second = (-clicks, optouts) if by is WinnerBy.CLICKS else (optouts, -clicks)
        return first, second, LABELS.index(f.label)

    return Verdict(min(measured, key=rank).label, True)
