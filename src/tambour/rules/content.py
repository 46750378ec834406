"""rules.md section 5: message content. Sender ID, advertiser identity, the STOP mention, and the
campaign-level blocks that stop a whole campaign before anything is sent."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tambour.rules.codes import Block, Channel, Nature
from tambour.rules.facts import AdvertiserFacts, word_in
from tambour.rules.fold import fold
from tambour.rules.links import LinkBases, target_problem
from tambour.rules.promotion import promotion_verdict
from tambour.rules.template import STOP_WORD, Template, parse_template

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
_STOP_NUMBER = re.compile(STOP_WORD.pattern + r"[^0-9\n]{0,20}?(\d(?:[ .]?\d){2,9})")
MAX_PARTS = 10  # an SMS of more parts is blocked (operators bill and deliver them poorly)


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
    return any(word_in(name, folded) for name in advertiser.names_in_text())


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
    if STOP_WORD.search(folded):
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
    # The advertiser ends every prospection message with its opt-out link, and the text has
    # none of its own: appended after the STOP mention.
    appended_stop_link: bool = False

    @property
    def literal(self) -> str:
        """The text as written, placeholders left out."""
        return "".join(p for p in self.template.parts if isinstance(p, str))

    @property
    def link_kinds(self) -> tuple[str, ...]:
        """The kind (`stop`, `go`) of each link a message carries, in order: the text's, then
        the appended opt-out link."""
        kinds = tuple(link.kind for link in self.template.links)
        return (*kinds, "stop") if self.appended_stop_link else kinds

    def final_text(self, rendered: str, appended_link: str | None = None) -> str:
        """The exact message for one contact: the rendered text, the STOP mention and, when
        the advertiser wants it, the message's own opt-out link (`appended_link`)."""
        text = rendered + self.stop_suffix if self.stop_suffix else rendered
        if self.appended_stop_link:
            text = f"{text} {appended_link or ''}"
        return text

    def message(self, values: Mapping[str, str], links: Sequence[str] = ()) -> tuple[str, str]:
        """The rendered text (before the STOP mention) and the exact message, with `links`
        (one per `link_kinds`, in order)."""
        rendered = self.template.render(values, links)
        appended = links[-1] if self.appended_stop_link and links else None
        return rendered, self.final_text(rendered, appended)


def check_content(
    *,
    text: str,
    sender: str,
    nature: Nature,
    channel: Channel,
    advertiser: AdvertiserFacts,
    media_bytes: int = 0,
    transaction_field: str | None = None,
    links: LinkBases | None = None,
) -> ContentCheck:
    """All campaign-level checks of rules.md section 5 for one campaign's message, and the
    checks of its declared nature (section 1): the nature is checked, not taken on trust.
    `links`: where the links made per message point; None where no such link can be made
    (a message sent alone: `{stop_link}` and `{link:...}` are refused)."""
    template = parse_template(text)
    literal = "".join(p for p in template.parts if isinstance(p, str))
    blocks = nature_findings(literal, nature, advertiser, transaction_field)
    problem = sender_id_problem(sender, advertiser)
    if problem:
        blocks.append(Finding(Block.INVALID_SENDER_ID, problem))
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
    appended = bool(
        advertiser.stop_link
        and links is not None
        and nature is not Nature.TRANSACTIONAL
        and not any(link.kind == "stop" for link in template.links)
    )
    blocks.extend(link_findings(template, nature, links, appended))
    if channel is Channel.MMS and media_bytes > MMS_MAX_BYTES:
        blocks.append(
            Finding(
                Block.MMS_TOO_LARGE,
                f"the media weighs {media_bytes} bytes, at most {MMS_MAX_BYTES} go in one MMS",
            )
        )
    return ContentCheck(template, mention.suffix, tuple(blocks), appended)


def link_findings(
    template: Template, nature: Nature, links: LinkBases | None, appended: bool
) -> list[Finding]:
    """The blocks of the links a message would carry: an address that is not an http(s) URL,
    an opt-out link in a transactional message (rules.md section 5: a transactional message
    is not prospection and carries no marketing opt-out), no base configured to make them."""
    found: list[Finding] = []
    kinds = {link.kind for link in template.links} | ({"stop"} if appended else set())
    for link in template.links:
        problem = link.kind == "go" and target_problem(link.target or "")
        if problem:
            found.append(Finding(Block.INVALID_LINK, f"{problem} (at character {link.index + 1})"))
    if "stop" in kinds and nature is Nature.TRANSACTIONAL:
        found.append(
            Finding(
                Block.STOP_LINK_TRANSACTIONAL,
                "a transactional message is not prospection and carries no opt-out link: "
                "remove {stop_link}",
            )
        )
    if not kinds:
        return found
    if links is None:
        found.append(
            Finding(
                Block.LINKS_UNCONFIGURED,
                "links made per message ({stop_link}, {link:...}) are made by a campaign's "
                "plan only: write the address itself",
            )
        )
    elif links.public_url is None:
        found.append(
            Finding(
                Block.LINKS_UNCONFIGURED,
                "the text carries links made per message but no public address is "
                "configured for them (TAMBOUR_PUBLIC_URL): the operator sets it",
            )
        )
    return found


def nature_findings(
    text: str, nature: Nature, advertiser: AdvertiserFacts, transaction_field: str | None
) -> list[Finding]:
    """The blocks of a declared nature that the text or the advertiser contradicts."""
    found: list[Finding] = []
    if nature is not Nature.COMMERCIAL:
        verdict = promotion_verdict(text)
        if verdict.promotional:
            found.append(
                Finding(
                    Block.PROMOTIONAL_CONTENT,
                    f"the text promotes ({', '.join(verdict.signals)}): a {nature.value} message "
                    "may not; declare the campaign commercial or remove the promotion",
                )
            )
    if nature is Nature.NON_COMMERCIAL and not advertiser.non_commercial_id:
        found.append(
            Finding(
                Block.NON_COMMERCIAL_UNRECORDED,
                f"{advertiser.name!r} is not recorded as a non-commercial body (association, "
                "foundation, public body) with its RNA or SIREN: the operator records it, or "
                "the campaign is commercial",
            )
        )
    if nature is Nature.TRANSACTIONAL and not (transaction_field or "").strip():
        found.append(
            Finding(
                Block.NO_TRANSACTION_FIELD,
                "a transactional message answers one transaction of its recipient: name the "
                "contact field that carries it (order, appointment or delivery reference)",
            )
        )
    return found


def parts_finding(over: int, max_parts: int = MAX_PARTS) -> Finding | None:
    """The block of messages longer than `max_parts` parts, `over` of them."""
    if not over:
        return None
    return Finding(
        Block.TOO_MANY_PARTS,
        f"the message takes more than {max_parts} parts for {over:,} recipient(s): shorten "
        "the text (or the personalized values)",
    )


_SHORT_NUMBER = re.compile(r"[3-8]\d{4}")


def stop_number_problem(number: str) -> str | None:
    """French SMS short numbers (SVA) have five digits and start with 3 to 8."""
    if not _SHORT_NUMBER.fullmatch(number):
        return f"{number!r} is not a French SMS short number (5 digits, starting with 3 to 8)"
    return None
