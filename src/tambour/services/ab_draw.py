"""Each recipient's draw in an A/B test: a keyed digest of the campaign and the contact, so the
draw is random to anyone without the installation's key (no one can choose to be in the test,
or which variant to get) and the same every time the campaign is planned again."""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from tambour.keys import Keys
from tambour.rules.ab_tests import LABELS, Group, assignment

if TYPE_CHECKING:
    from tambour.services.campaign_definition import ABTest

AB_PURPOSE: Final = "ab-test"
TEST, REST = Group.TEST.value, Group.REST.value  # as stored in plan_rows.ab_group


@dataclass(frozen=True, slots=True)
class ABDraw:
    key: bytes
    campaign_id: int
    share: int  # percent of the audience in the test
    variants: int  # 2 to 4

    @classmethod
    def of(cls, keys: Keys, campaign_id: int, share: int, variants: int) -> "ABDraw":
        return cls(keys.derive(AB_PURPOSE), campaign_id, share, variants)

    def draw(self, contact_id: int) -> int:
        digest = hashlib.blake2b(
            f"{self.campaign_id}:{contact_id}".encode(), key=self.key, digest_size=8
        ).digest()
        return int.from_bytes(digest, "big")

    def variant(self, contact_id: int) -> int | None:
        """The variant (its index) the contact tests, or None: part of the rest."""
        return assignment(self.draw(contact_id), self.share, self.variants)


def ab_figures(ab: "ABTest", sends: Mapping[str, int]) -> dict[str, Any]:
    """A plan's A/B test as its summary states it: the settings, the sends of each variant in
    the test and those of the rest."""
    return {
        "variants": 1 + len(ab.variants),
        "test_share": ab.share,
        "winner_by": ab.winner_by.value,
        "test_minutes": ab.minutes,
        "test": {label: sends.get(label, 0) for label in LABELS[: 1 + len(ab.variants)]},
        "rest": sends.get(REST, 0),
    }
