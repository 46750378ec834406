"""rules.md section 3 step 3: opposition (opt-outs, 33700 reports, the suppression list)."""

from datetime import datetime

from tambour.rules.basis import valid_consents
from tambour.rules.codes import Channel, OptOutSource, Reason
from tambour.rules.facts import AdvertiserFacts, ContactFacts


def opposition(
    contact: ContactFacts, channel: Channel, advertiser: AdvertiserFacts, at: datetime
) -> Reason | None:
    """`opted_out` when an opposition is later than the latest valid consent, `complaint_33700`
    for any spam report (for good), else None.

    An opposition of unknown date counts as later than any consent: when in doubt, do not send.
    A withdrawal of consent is an opposition too (the ledger keeps an undated one only when it
    follows a recorded consent). The suppression list counts as an opt-out.
    """
    suppression = contact.suppression
    if not contact.opt_outs and suppression is None and all(c.given for c in contact.consents):
        return None  # nothing opposes: most contacts, decided without weighing the consents
    consents = valid_consents(contact, channel, advertiser, at)
    latest_consent = max((c.at for c in consents if c.at is not None), default=None)

    def later(when: datetime | None) -> bool:
        return when is None or latest_consent is None or when > latest_consent

    oppositions = [o.at for o in contact.opt_outs if o.source is not OptOutSource.COMPLAINT_33700]
    oppositions += [c.at for c in contact.consents if not c.given]  # undated: later than all
    complained = suppression is not None and suppression.source is OptOutSource.COMPLAINT_33700
    if suppression is not None and not complained:
        oppositions.append(suppression.at)
    if any(later(when) for when in oppositions):
        return Reason.OPTED_OUT
    if complained or any(o.source is OptOutSource.COMPLAINT_33700 for o in contact.opt_outs):
        return Reason.COMPLAINT_33700
    return None
