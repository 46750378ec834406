"""The facts the decision of rules.md section 3 is computed from, as plain frozen dataclasses.

They are derived from the evidence ledger (or from one row of a canonical file); the core never
reads a database or a clock: whoever builds the facts passes them, and the instant, in.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from tambour.rules.calendar import LEGAL_WINDOW, WindowPolicy
from tambour.rules.codes import Channel, ContactKind, Nature, OptOutSource
from tambour.rules.fold import fold
from tambour.sms.phone import PhoneInfo


@dataclass(frozen=True, slots=True)
class Consent:
    """One consent fact. `given=False` with a date is a withdrawal; without a date, no consent."""

    given: bool
    at: datetime | None = None
    channels: frozenset[str] = frozenset({"sms"})
    method: str | None = None
    prechecked: bool = False
    bundled_with_terms: bool = False
    advertiser: str | None = None  # whom the person consented to; None means this advertiser
    wording: str | None = None
    source: str | None = None
    proof: str | None = None


@dataclass(frozen=True, slots=True)
class Collection:
    """How and when the number was collected, and what the person was told then."""

    at: datetime | None = None
    by: str | None = None  # None or "advertiser": the advertiser itself; else the third party
    informed: bool = False
    objection_offered: bool = False
    third_party_proof: str | None = None


@dataclass(frozen=True, slots=True)
class OptOut:
    """An opposition: STOP reply, opt-out link, 33700 report, manual entry or data request."""

    source: OptOutSource
    at: datetime | None = None  # unknown time: treated as later than any consent


@dataclass(frozen=True, slots=True)
class ContactFacts:
    phone: PhoneInfo
    kind: ContactKind = ContactKind.PERSON
    postal_code: str | None = None
    profession_tags: frozenset[str] = frozenset()  # folded
    tags: frozenset[str] = frozenset()  # folded
    consents: tuple[Consent, ...] = ()
    collection: Collection = field(default_factory=Collection)
    account_created_at: datetime | None = None
    last_purchase_at: datetime | None = None
    purchased_categories: frozenset[str] = frozenset()  # folded
    opt_outs: tuple[OptOut, ...] = ()
    last_activity_at: datetime | None = None
    first_seen_at: datetime | None = None  # first time the ledger recorded this contact
    suppression: OptOut | None = None  # the advertiser's suppression list holds the number
    # A member of (or in regular contact with) the political organisation, since when.
    membership_at: datetime | None = None
    # A transactional campaign's transaction for this recipient (its order, appointment or
    # delivery reference), read from the contact field the campaign names.
    transaction_reference: str | None = None


@dataclass(frozen=True, slots=True)
class AdvertiserFacts:
    slug: str
    name: str
    senders: tuple[str, ...] = ()
    stop_number: str | None = None
    categories: frozenset[str] = frozenset()  # folded
    non_commercial_id: str | None = None  # RNA or SIREN recorded by the operator
    stop_link: bool = False  # end every prospection message with its one-click opt-out link

    def is_named(self, who: str) -> bool:
        """Whether `who` designates this advertiser: its name, slug or a sender ID, folded."""
        key = fold(who)
        if not key:
            return False
        names = {fold(self.name), fold(self.slug), *(fold(s) for s in self.senders)}
        return key in names or _loose(key) in {_loose(n) for n in names}

    def is_mentioned(self, who: str) -> bool:
        """Whether `who` names this advertiser, or mentions it among others ('Maison Lumière
        et ses partenaires'): one of its names or brands stands in it as words."""
        if self.is_named(who):
            return True
        folded = fold(who)
        return any(word_in(name, folded) for name in self.names_in_text())

    def names_in_text(self) -> tuple[str, ...]:
        """Folded names a message may use to name the advertiser: its name with and without
        the legal form ('Maison Lumière SAS' or 'Maison Lumière'), and its brand sender IDs."""
        name = fold(self.name)
        bare = " ".join(_without_legal_form(name.split()))
        names = {name, bare, *(fold(s) for s in self.senders if not s.isdigit())}
        return tuple(sorted(n for n in names if n))


def word_in(needle: str, haystack: str) -> bool:
    return bool(needle) and re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", haystack) is not None


def _loose(text: str) -> str:
    """'Boulangerie Martin SARL' and 'boulangerie-martin' compare equal."""
    return "".join(_without_legal_form("".join(c if c.isalnum() else " " for c in text).split()))


def _without_legal_form(words: list[str]) -> list[str]:
    """Folded words of a name without its trailing legal form (SAS, SARL...)."""
    while words and words[-1] in _COMPANY_FORMS:
        words = words[:-1]
    return words


_COMPANY_FORMS = frozenset({"sa", "sas", "sasu", "sarl", "eurl", "sci", "snc", "scop", "gie"})


def is_legal_form(word: str) -> bool:
    """Whether `word`, as written in a name ('SAS', 'S.A.R.L' no, 'Sarl,' yes), is a legal
    form of company."""
    return fold(word.strip(".,")) in _COMPANY_FORMS


@dataclass(frozen=True, slots=True)
class CampaignFacts:
    nature: Nature
    channel: Channel
    start: datetime
    categories: frozenset[str] = frozenset()  # folded product/service categories promoted
    professions: frozenset[str] = frozenset()  # folded target professions (B2B)
    send_by: datetime | None = None
    window: WindowPolicy = LEGAL_WINDOW
    transaction_field: str | None = None  # transactional: the contact field of the transaction

    @property
    def is_prospection(self) -> bool:
        return self.nature is not Nature.TRANSACTIONAL
