"""rules.md section 5: message content. Sender ID, advertiser identity, the STOP mention, and the
campaign-level blocks that stop a whole campaign before anything is sent."""

import re
from dataclasses import dataclass

from tambour.rules.codes import Block, Channel, Nature
from tambour.rules.facts import AdvertiserFacts
from tambour.rules.fold import fold
from tambour.rules.template import Template, parse_template

# Words operators refuse as sender IDs: they name no brand and are used by phishing.
GENERIC_SENDER_IDS = frozenset(
    {
        "ADMIN",
        "ALERT",
        "ALERTE",
        "ALERTES",
        "AVIS",
        "BANK",
        "BANQUE",
        "CODE",
        "COLIS",
        "CONTACT",
        "DELIVERY",
        "INFO",
        "INFOS",
        "LIVRAISON",
        "MESSAGE",
        "NOREPLY",
        "NOTIF",
        "NOTIFICATION",
        "OFFRE",
        "OFFRES",
        "OTP",
        "PAIEMENT",
        "PAYMENT",
        "PROMO",
        "PROMOS",
        "RAPPEL",
        "RDV",
        "SECURITE",
        "SERVICE",
        "SERVICES",
        "SMS",
        "SOLDES",
        "SUPPORT",
        "TEST",
        "VERIF",
        "VERIFY",
    }
)
MMS_MAX_BYTES = 300 * 1024  # what French operators accept in one MMS
STOP_MENTION_FORMAT = "STOP au {number}"

_SENDER_CHARS = re.compile(r"[A-Za-z0-9]+")
_STOP_WORD = re.compile(r"\bstop\b")
_STOP_NUMBER = re.compile(r"\bstop\b[^0-9\n]{0,20}?(\d(?:[ .]?\d){2,9})")


@dataclass(frozen=True, slots=True)
class Finding:
    """A campaign-level block with what to change, in words a marketer can act on."""

    code: Block
    message: str


def sender_id_problem(sender: str, advertiser: AdvertiserFacts) -> str | None:
    """Why `sender` cannot be used as the sender ID, or None when it can."""
    if sender.isdigit():
        if advertiser.stop_number and sender == advertiser.stop_number:
            return None
        return "a numeric sender must be the advertiser's own short number"
    if not 3 <= len(sender) <= 11:
        return f"{sender!r} has {len(sender)} characters, a sender ID has 3 to 11"
    if not _SENDER_CHARS.fullmatch(sender):
        return f"{sender!r}: only Latin letters A-Z and digits, no spaces, accents or signs"
    if sender.upper() in GENERIC_SENDER_IDS:
        return f"{sender!r} is a generic word, not a brand"
    return None


def names_advertiser(sender: str, text: str, advertiser: AdvertiserFacts) -> bool:
    """The sender ID is one of the advertiser's brand IDs, or the text names the advertiser."""
    if sender.upper() in {s.upper() for s in advertiser.senders} and not sender.isdigit():
        return True
    folded = fold(text)
    return any(_word_in(name, folded) for name in advertiser.names_in_text())


def _word_in(needle: str, haystack: str) -> bool:
    return bool(needle) and re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", haystack) is not None


@dataclass(frozen=True, slots=True)
class StopMention:
    """What the text says about opting out, and what must be appended to it."""

    suffix: str  # appended to every message ("" when the text has its own mention)
    problem: str | None


def stop_mention(text: str, nature: Nature, sender: str, stop_number: str | None) -> StopMention:
    """Prospection carries `STOP au <short number>`, appended when the text has none."""
    if nature is Nature.TRANSACTIONAL:
        return StopMention("", None)
    folded = fold(text)
    numbers = {re.sub(r"\D", "", m.group(1)) for m in _STOP_NUMBER.finditer(folded)}
    if numbers:
        if stop_number and numbers == {stop_number}:
            return StopMention("", None)
        said = ", ".join(sorted(numbers))
        expected = stop_number or "none registered"
        return StopMention(
            "", f"the STOP mention names {said}; the advertiser's STOP number is {expected}"
        )
    if _STOP_WORD.search(folded):
        if stop_number and sender == stop_number:
            return StopMention("", None)  # the person replies STOP to the sender itself
        return StopMention(
            "",
            "the STOP mention gives no number to reply to: write "
            f"'{STOP_MENTION_FORMAT.format(number=stop_number or '<short number>')}' "
            "or remove it to have it added",
        )
    if not stop_number:
        return StopMention("", "the advertiser has no STOP short number to append")
    return StopMention(" " + STOP_MENTION_FORMAT.format(number=stop_number), None)


@dataclass(frozen=True, slots=True)
class ContentCheck:
    template: Template
    stop_suffix: str
    blocks: tuple[Finding, ...]

    def final_text(self, rendered: str) -> str:
        """The exact message for one contact: the rendered text and the STOP mention."""
        return rendered + self.stop_suffix if self.stop_suffix else rendered


def check_content(
    *,
    text: str,
    sender: str,
    nature: Nature,
    channel: Channel,
    advertiser: AdvertiserFacts,
    media_bytes: int = 0,
) -> ContentCheck:
    """All campaign-level checks of rules.md section 5 for one campaign's message."""
    template = parse_template(text)
    blocks: list[Finding] = []
    problem = sender_id_problem(sender, advertiser)
    if problem:
        blocks.append(Finding(Block.INVALID_SENDER_ID, problem))
    literal = "".join(p for p in template.parts if isinstance(p, str))
    if not literal.strip() and not template.placeholders:
        blocks.append(Finding(Block.EMPTY_MESSAGE, "the message has no text"))
    if not names_advertiser(sender, literal, advertiser):
        blocks.append(
            Finding(
                Block.MISSING_ADVERTISER_IDENTITY,
                f"neither the sender ID {sender!r} nor the text names {advertiser.name!r}: "
                f"use one of its sender IDs ({', '.join(advertiser.senders) or 'none'}) "
                "or name it in the text",
            )
        )
    mention = stop_mention(literal, nature, sender, advertiser.stop_number)
    if mention.problem:
        blocks.append(Finding(Block.MISSING_STOP_MENTION, mention.problem))
    for error in template.errors:
        blocks.append(
            Finding(Block.UNRESOLVED_PLACEHOLDER, f"{error.message} at character {error.index + 1}")
        )
    if channel is Channel.MMS and media_bytes > MMS_MAX_BYTES:
        blocks.append(
            Finding(
                Block.MMS_TOO_LARGE,
                f"the media weighs {media_bytes} bytes, at most {MMS_MAX_BYTES} go in one MMS",
            )
        )
    return ContentCheck(template, mention.suffix, tuple(blocks))


_SHORT_NUMBER = re.compile(r"[3-8]\d{4}")


def stop_number_problem(number: str) -> str | None:
    """French SMS short numbers (SVA) have five digits and start with 3 to 8."""
    if not _SHORT_NUMBER.fullmatch(number):
        return f"{number!r} is not a French SMS short number (5 digits, starting with 3 to 8)"
    return None
