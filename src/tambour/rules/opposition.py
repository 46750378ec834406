"""rules.md section 3 step 3: opposition (opt-outs, 33700 reports, the suppression list)."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

from tambour.rules.codes import OptOutSource, Reason
from tambour.rules.facts import ContactFacts

_PARIS = ZoneInfo("Europe/Paris")  # where dates written without a time are read (rules.md §2)
_MIDNIGHT = time(0, 0)


def dated_only(when: datetime) -> bool:
    """Whether an instant is a date written without a time: the ledger reads '2026-03-12' as
    midnight in Paris. A fact stated at exactly midnight is read the same way: when in doubt,
    its order with another fact of that day cannot be told."""
    return when.astimezone(_PARIS).timetz().replace(tzinfo=None) == _MIDNIGHT


def opposes(opposed_at: datetime | None, consent_at: datetime | None) -> bool:
    """Whether an opposition at `opposed_at` outweighs the latest valid consent.

    The later fact wins; when their order cannot be told, the one that forbids wins: an
    opposition of unknown date, or one on the consent's own day when either has no time."""
    if opposed_at is None or consent_at is None:
        return True
    if opposed_at > consent_at:
        return True
    same_day = opposed_at.astimezone(_PARIS).date() == consent_at.astimezone(_PARIS).date()
    return same_day and (dated_only(opposed_at) or dated_only(consent_at))


def complained(contact: ContactFacts) -> bool:
    """A 33700 spam report, in the ledger or in the suppression list: for good."""
    suppression = contact.suppression
    if suppression is not None and suppression.source is OptOutSource.COMPLAINT_33700:
        return True
    return any(o.source is OptOutSource.COMPLAINT_33700 for o in contact.opt_outs)


def opposition(contact: ContactFacts, latest_consent_at: datetime | None) -> Reason | None:
    """`opted_out` when an opposition outweighs the latest valid consent (`opposes`), given at
    `latest_consent_at` (None: no valid consent; see `basis.scan_consents`), `complaint_33700`
    for any spam report (for good), else None.

    A withdrawal of consent is an opposition too (the ledger keeps an undated one only when it
    follows a recorded consent). The suppression list counts as an opt-out.
    """
    suppression = contact.suppression
    if not contact.opt_outs and suppression is None and all(c.given for c in contact.consents):
        return None  # nothing opposes: most contacts
    oppositions = [o.at for o in contact.opt_outs if o.source is not OptOutSource.COMPLAINT_33700]
    oppositions += [c.at for c in contact.consents if not c.given]  # undated: later than all
    if suppression is not None and suppression.source is not OptOutSource.COMPLAINT_33700:
        oppositions.append(suppression.at)
    if any(opposes(when, latest_consent_at) for when in oppositions):
        return Reason.OPTED_OUT
    if complained(contact):
        return Reason.COMPLAINT_33700
    return None
