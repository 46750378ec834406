"""Which carriers a message may go through, in which order: the configuration's routing rules
(`[[routes]]`), pure. The first rule whose conditions all hold gives the carriers, first choice
first, then the fallbacks; a message no rule matches may go through every carrier, in the order
the configuration names them. A rule's conditions, each optional (absent: any):

- `territories`: the recipient's territory (rules/territory.py codes: metropole,
  alsace_moselle, guadeloupe, reunion, ... foreign);
- `prefixes`: the recipient's number starts with one of these (E.164, `+33`, `+596`...);
- `sender_types`: alphanumeric (a brand), short (a short number, 3 to 8 digits), long (a full
  number);
- `campaigns`: the campaign's name.

A carrier left out of a matching rule never gets that message, even when every carrier it names
is down: the rule may say why (a carrier that does not deliver overseas, a contract).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class SenderType(StrEnum):
    ALPHANUMERIC = "alphanumeric"
    SHORT = "short"
    LONG = "long"


def sender_type(sender: str) -> SenderType:
    digits = sender.removeprefix("+")
    if not digits.isdigit():
        return SenderType.ALPHANUMERIC
    return SenderType.SHORT if len(digits) <= 8 and not sender.startswith("+") else SenderType.LONG


@dataclass(frozen=True, slots=True)
class Route:
    carriers: tuple[str, ...]  # first choice first, then the fallbacks
    territories: frozenset[str] | None = None
    prefixes: tuple[str, ...] | None = None
    sender_types: frozenset[SenderType] | None = None
    campaigns: frozenset[str] | None = None

    def matches(self, message: "Routed") -> bool:
        return (
            (self.territories is None or message.territory in self.territories)
            and (self.prefixes is None or message.recipient.startswith(self.prefixes))
            and (self.sender_types is None or sender_type(message.sender) in self.sender_types)
            and (self.campaigns is None or message.campaign in self.campaigns)
        )


@dataclass(frozen=True, slots=True)
class Routed:
    """What routing looks at in a message."""

    recipient: str  # E.164
    sender: str
    territory: str | None = None
    campaign: str | None = None


def carriers_for(
    message: Routed, routes: Sequence[Route], carriers: Sequence[str]
) -> tuple[str, ...]:
    """The carriers `message` may go through, in order."""
    for route in routes:
        if route.matches(message):
            return route.carriers
    return tuple(carriers)
