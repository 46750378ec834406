"""One campaign for one contact: the decision of rules.md section 3 and, for a send, the exact
message and what it costs (section 5). Pure: the caller passes the facts and the instant.

`Planner` is built once per campaign (the content check, the STOP mention, the template) and
then evaluates contacts one by one; the campaign-level blocks come from the content check plus
what only the contacts reveal: a placeholder some recipient has no value for, a message that
renders empty.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from tambour.rules.codes import Block
from tambour.rules.content import MAX_PARTS, ContentCheck, Finding, parts_finding
from tambour.rules.decision import Decision, decide
from tambour.rules.facts import AdvertiserFacts, CampaignFacts, ContactFacts
from tambour.sms.text import TextCount, count_text

_COUNT_CACHE = 20_000  # personalized texts remembered with their count (names repeat)


class Planned(NamedTuple):
    """A contact's plan row, before storage (a named tuple: one is made for every contact)."""

    decision: Decision
    text: str | None = None  # the exact message of a send: personalized, STOP mention included
    counted: TextCount | None = None  # encoding, segments, what forces UCS-2
    missing: tuple[str, ...] = ()  # placeholders with no value and no default
    empty: bool = False  # the personalized text, before the STOP mention, is blank
    forcing: str = ""  # the characters that force UCS-2, each once, in order


def _counted(text: str) -> tuple[TextCount, str, str]:
    counted = count_text(text)
    return counted, "".join(dict.fromkeys(c.char for c in counted.non_gsm)), text


@dataclass(slots=True)
class Planner:
    campaign: CampaignFacts
    advertiser: AdvertiserFacts
    content: ContentCheck
    now: datetime  # when the plan is made
    # Links of the final length, for messages rendered without their own (a preview).
    stand_ins: tuple[str, ...] = ()
    # An A/B test: the content check of each variant, A (`content`) first; () for none.
    variants: tuple[ContentCheck, ...] = ()
    # Each text met: its count, the characters forcing UCS-2, and the text itself (one object
    # per distinct message, which its later readers hash once).
    _counts: dict[str, tuple[TextCount, str, str]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _personalized: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._personalized = bool(self.content.template.placeholders)

    def decide(self, contact: ContactFacts, *, duplicate: bool = False) -> Decision:
        return decide(contact, self.campaign, self.advertiser, self.now, duplicate=duplicate)

    def message(
        self,
        decision: Decision,
        values: Mapping[str, str],
        links: Sequence[str] = (),
        *,
        variant: int | None = None,
    ) -> Planned:
        """The plan row of `decision`: for a send, the message rendered from `values`
        (personalization fields keyed by `template.field_key`) with its own `links` (one per
        `content.link_kinds`), and what it costs; of the A/B test's `variant` (its index)
        when given."""
        if not decision.send:
            return Planned(decision)
        if variant is None:  # inline: the plan's hot path, once for every send
            template = self.content.template
            if self._personalized:
                values = template.usable(values)
            rendered, text = self.content.message(values, links or self.stand_ins)
            missing = template.missing(values) if self._personalized else ()
        else:
            rendered, text, missing = _rendered(
                self.variants[variant], values, links or self.stand_ins
            )
        found = self._counts.get(text)
        if found is None:
            if len(self._counts) >= _COUNT_CACHE:
                self._counts.clear()
            found = self._counts[text] = _counted(text)
        return Planned(decision, found[2], found[0], missing, not rendered.strip(), found[1])

    def evaluate(
        self, contact: ContactFacts, values: Mapping[str, str], *, duplicate: bool = False
    ) -> Planned:
        return self.message(self.decide(contact, duplicate=duplicate), values)


def _rendered(
    content: ContentCheck, values: Mapping[str, str], links: Sequence[str]
) -> tuple[str, str, tuple[str, ...]]:
    """The rendered text, the exact message and the placeholders left without a value."""
    template = content.template
    personalized = bool(template.placeholders)
    if personalized:
        values = template.usable(values)
    rendered, text = content.message(values, links)
    return rendered, text, template.missing(values) if personalized else ()


class Rendering(NamedTuple):
    """A message written after its plan: what `Planned` says of a send's."""

    text: str
    counted: TextCount
    missing: tuple[str, ...]
    empty: bool
    forcing: str

    def block(self, max_parts: int = MAX_PARTS) -> Block | None:
        """What stops this message from leaving, as the plan would have blocked it (rules.md
        section 8, one message's share): a placeholder without a value, an empty text, more
        than `max_parts` parts; None when it may leave."""
        if self.missing:
            return Block.UNRESOLVED_PLACEHOLDER
        if self.empty:
            return Block.EMPTY_MESSAGE
        if self.counted.segments > max_parts:
            return Block.TOO_MANY_PARTS
        return None


def render(content: ContentCheck, values: Mapping[str, str], links: Sequence[str]) -> Rendering:
    """One send's message written later than its plan (an A/B test's winner for the rest of
    its audience), as `Planner.message` writes it."""
    rendered, text, missing = _rendered(content, values, links)
    counted, forcing, _ = _counted(text)
    return Rendering(text, counted, missing, not rendered.strip(), forcing)


def plan_blocks(
    content: ContentCheck,
    missing: Mapping[str, int],
    empty: int,
    *,
    sends: int,
    over_parts: int = 0,
    max_parts: int = MAX_PARTS,
) -> list[Finding]:
    """The campaign-level blocks of a plan: the content check's, then those the recipients
    reveal (counts over the `send` rows: placeholders left without a value, empty messages,
    messages of more than `max_parts` parts), and a plan that would send nothing."""
    blocks = list(content.blocks)
    if not sends:
        blocks.append(
            Finding(
                Block.NOTHING_TO_SEND,
                "no targeted contact may be sent this message: read the exclusion reasons",
            )
        )
    too_long = parts_finding(over_parts, max_parts)
    if too_long is not None:
        blocks.append(too_long)
    for name, n in sorted(Counter(missing).items()):
        blocks.append(
            Finding(
                Block.UNRESOLVED_PLACEHOLDER,
                f"{{{name}}} has no value for {n:,} recipient(s) and no default: give it one, "
                f"e.g. {{{name}|...}}, or complete the contacts",
            )
        )
    if empty:
        blocks.append(
            Finding(
                Block.EMPTY_MESSAGE,
                f"the message is empty for {empty:,} recipient(s): write some text around the "
                "placeholders or give them defaults",
            )
        )
    return blocks
