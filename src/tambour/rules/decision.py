"""rules.md section 3: the decision for one contact and one campaign at one instant.

Steps in order, the first exclusion wins: number, transactional, opposition, legal basis,
retention, sending window. Every outcome carries a code, never a bare boolean.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tambour.rules import calendar
from tambour.rules.basis import NO_CONSENT, legal_basis, scan_consents
from tambour.rules.calendar import WindowPolicy
from tambour.rules.codes import Basis, Channel, Deferral, Reason
from tambour.rules.facts import AdvertiserFacts, CampaignFacts, ContactFacts
from tambour.rules.opposition import complained, opposition
from tambour.rules.retention import retained_until
from tambour.rules.territory import Locality, locate
from tambour.sms.phone import PhoneInfo


@dataclass(frozen=True, slots=True)
class Decision:
    """`send` with a basis and a send time, or `exclude` with a reason code."""

    send: bool
    basis: Basis | None = None
    reason: Reason | None = None
    send_at: datetime | None = None  # earliest allowed instant (UTC) for this recipient
    deferral: Deferral | None = None  # why send_at is later than the campaign's start
    locality: Locality | None = None
    retain_until: datetime | None = None  # when the data lapses: no send after it (step 5)

    @property
    def decision(self) -> str:
        return "send" if self.send else "exclude"

    @property
    def code(self) -> str:
        """The basis of a send or the reason of an exclusion."""
        return str(self.basis if self.send else self.reason)


def _exclude(reason: Reason, locality: Locality | None = None) -> Decision:
    """An exclusion; made once for each reason and locality (a decision is immutable), since
    a plan excludes contacts by the hundred thousand for a few reasons in a few localities."""
    key = (reason, id(locality))
    found = _exclusions.get(key)
    if found is not None and found[0] is locality:  # the same object: its id was not reused
        return found[1]
    excluded = Decision(send=False, reason=reason, locality=locality)
    _remember(_exclusions, key, (locality, excluded))
    return excluded


# Remembered by the identity of the objects asked about: a plan asks with one start and one
# policy, and localities the territory module hands out once each (hashing them by value would
# cost about what remembering saves). Each entry keeps its objects: their ids are not reused
# while it is there.
_REMEMBERED = 4096
_Window = tuple[datetime, Deferral | None] | None  # a send's time and deferral; None: never
_exclusions: dict[tuple[Reason, int], tuple[Locality | None, Decision]] = {}
_windows: dict[tuple[int, int, int], tuple[datetime, Locality, WindowPolicy, _Window]] = {}


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memo) >= _REMEMBERED:
        memo.clear()
    memo[key] = value


_TO_MOBILES = (Channel.SMS, Channel.MMS)  # named once: asked for every contact


def number_reason(phone: PhoneInfo, channel: Channel) -> Reason | None:
    """Step 1 before the duplicate check: `invalid_number`, `not_mobile`, or None. A number
    that passes it and is already in the plan is a `duplicate`."""
    if phone.e164 is None or not phone.valid:
        return Reason.INVALID_NUMBER
    if channel in _TO_MOBILES and not phone.mobile:
        return Reason.NOT_MOBILE
    return None


def later_duplicates(rows: Iterable[tuple[int, PhoneInfo]], channel: Channel) -> list[int]:
    """The ids of the rows, taken in order, whose E.164 an earlier row already holds: they
    are `duplicate`, unless step 1 (`number_reason`) already excludes them."""
    seen: set[str] = set()
    later: list[int] = []
    for row_id, phone in rows:
        if number_reason(phone, channel) is not None or phone.e164 is None:
            continue  # invalid or not a mobile: excluded before the duplicate check
        if phone.e164 in seen:
            later.append(row_id)
        seen.add(phone.e164)
    return later


def decide(
    contact: ContactFacts,
    campaign: CampaignFacts,
    advertiser: AdvertiserFacts,
    now: datetime,
    *,
    duplicate: bool = False,
) -> Decision:
    """Evaluate rules.md section 3 for one contact. `now` is when the plan is made."""
    phone = contact.phone
    # 1. Number.
    unusable = number_reason(phone, campaign.channel)
    if unusable is not None:
        return _exclude(unusable)
    if duplicate:
        return _exclude(Reason.DUPLICATE)
    try:
        locality = locate(phone, contact.postal_code)
    except ValueError:  # a valid number with no time zone (non-geographic): no window to keep
        return _exclude(Reason.INVALID_NUMBER)
    start = max(now, campaign.start)

    # 2. Transactional: not prospection. Marketing opt-outs, the legal bases and the window do
    # not apply; a 33700 complaint does, and each message answers one transaction of its own.
    if not campaign.is_prospection:
        if complained(contact):
            return _exclude(Reason.COMPLAINT_33700, locality)
        if not (contact.transaction_reference or "").strip():
            return _exclude(Reason.NO_TRANSACTION_REFERENCE, locality)
        return Decision(send=True, basis=Basis.TRANSACTIONAL, send_at=start, locality=locality)

    # 3. Opposition, weighed against the latest valid consent. The consents are weighed once,
    # for this step, the consent basis (4) and retention (5).
    consents = (
        scan_consents(contact, campaign.channel, advertiser, start)
        if contact.consents
        else NO_CONSENT
    )
    opposed = opposition(contact, consents.latest_valid_at)
    if opposed is not None:
        return _exclude(opposed, locality)

    # 4. Legal basis.
    basis = legal_basis(contact, campaign, advertiser, start, consents)
    if isinstance(basis, Reason):
        return _exclude(basis, locality)

    # 5. Retention: from the latest action of the person, valid consents only.
    retain_until = retained_until(contact, basis, consents.latest_valid_at)
    if retain_until is not None and start >= retain_until:
        return _exclude(Reason.RETENTION_EXPIRED, locality)

    # 6. Sending window, in the recipient's own time zones and territory.
    window = _window(start, locality, campaign.window)
    if window is None:  # no allowed instant for years (a policy narrowed to nothing here)
        return _exclude(Reason.WINDOW_EXPIRED, locality)
    send_at, deferral = window
    if campaign.send_by is not None and send_at >= campaign.send_by:
        return _exclude(Reason.WINDOW_EXPIRED, locality)
    if retain_until is not None and send_at >= retain_until:
        return _exclude(Reason.RETENTION_EXPIRED, locality)
    return Decision(
        send=True,
        basis=basis,
        send_at=send_at,
        deferral=deferral,
        locality=locality,
        retain_until=retain_until,
    )


def _window(start: datetime, locality: Locality, policy: WindowPolicy) -> _Window:
    """The send time and deferral of a send due at `start`; None when nothing is allowed for
    years. Remembered: a campaign asks it for every recipient with the same few localities."""
    key = (id(start), id(locality), id(policy))
    found = _windows.get(key)
    if found is not None and found[0] is start and found[1] is locality and found[2] is policy:
        return found[3]
    window = _window_of(start, locality, policy)
    _remember(_windows, key, (start, locality, policy, window))
    return window


def _window_of(start: datetime, locality: Locality, policy: WindowPolicy) -> _Window:
    verdict = calendar.check(start, locality, policy)
    if verdict.allowed:
        return start, None
    try:
        send_at = calendar.next_allowed(start, locality, policy)
    except ValueError:
        return None
    return send_at, Deferral(verdict.reason or Deferral.QUIET_HOURS)


def decide_all(
    contacts: Iterable[ContactFacts],
    campaign: CampaignFacts,
    advertiser: AdvertiserFacts,
    now: datetime,
) -> Iterator[tuple[ContactFacts, Decision]]:
    """Decide a stream of contacts, marking the second and later rows of one E.164 `duplicate`."""
    seen: set[str] = set()
    for contact in contacts:
        e164 = contact.phone.e164
        duplicate = e164 is not None and e164 in seen
        if e164 is not None and contact.phone.valid:
            seen.add(e164)
        yield contact, decide(contact, campaign, advertiser, now, duplicate=duplicate)
