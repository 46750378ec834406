"""Whether a planned message may leave now, as the dispatcher asks right before submitting it
(rules.md section 3 step 6 and section 4), and which facts recorded since its plan stop it.
Pure: the caller passes the instant.

The plan fixed a send time inside the window, but dispatch can run late (a long campaign, a
worker that was down, throttling): a message still waiting when its recipient's window closes
is held until the next window, never rushed. `margin` is how much of the window must be left
for the message to go now; the carrier is told to drop it at the window's end (`valid_until`)
rather than deliver it after.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from tambour.rules.calendar import LEGAL_WINDOW, WindowPolicy, check, next_allowed, window_end
from tambour.rules.codes import Deferral, OptOutSource, Reason
from tambour.rules.territory import Locality


@dataclass(frozen=True, slots=True)
class Go:
    """Send now; the carrier must not deliver after `valid_until` (None: no limit of ours)."""

    valid_until: datetime | None


@dataclass(frozen=True, slots=True)
class Hold:
    """Not now: due again at `until`, for `deferral`."""

    until: datetime
    deferral: Deferral


@dataclass(frozen=True, slots=True)
class Expire:
    """Never: the campaign's send-by deadline passes before the recipient's next window."""

    reason: Reason = Reason.WINDOW_EXPIRED


SendNow = Go | Hold | Expire

# Facts recorded since a plan that stop its messages (rules.md sections 3 and 6), by evidence
# kind, with the reason the message is cancelled for. Facts recorded before were weighed by
# the planner (a later consent may lift an old STOP); a 33700 complaint is never lifted.
STOPPING_FACTS: Final[Mapping[str, Reason]] = {
    "complaint": Reason.COMPLAINT_33700,
    "opt_out": Reason.OPTED_OUT,
    "consent_withdrawn": Reason.OPTED_OUT,
    "erasure": Reason.OPTED_OUT,
}


def stops_message(reason: Reason, *, prospection: bool, erased: bool = False) -> bool:
    """Whether a fact that stops prospection stops this message: a transactional message
    answers the person's own transaction, which a marketing opt-out does not refuse; a 33700
    spam report, or the person's erasure, stops every message."""
    return prospection or erased or reason is Reason.COMPLAINT_33700


def suppression_stop(source: str, since_plan: bool) -> Reason | None:
    """Why a suppression-list entry stops a planned message, if it does: a 33700 complaint
    always; any other opposition when it was recorded since the plan (one recorded before was
    weighed by the planner)."""
    if source == OptOutSource.COMPLAINT_33700.value:
        return Reason.COMPLAINT_33700
    return Reason.OPTED_OUT if since_plan else None


def send_now(
    now: datetime,
    locality: Locality,
    *,
    prospection: bool,
    send_by: datetime | None,
    margin: timedelta,
    policy: WindowPolicy = LEGAL_WINDOW,
    retain_until: datetime | None = None,
) -> SendNow:
    """Go, Hold or Expire for a message to a recipient in `locality` at `now`.

    Transactional messages know no window, only the deadline. Prospection goes when `now` is
    inside the window with at least `margin` of it left; otherwise it is held until the next
    window opens (after this one closes, when too little is left), or expires when that is past
    `send_by`. A recipient whose data lapsed since the plan (the 3-year retention rule,
    `retain_until`) is not messaged: `retention_expired`.
    """
    if retain_until is not None and now >= retain_until:
        return Expire(Reason.RETENTION_EXPIRED)
    if retain_until is not None and (send_by is None or retain_until < send_by):
        send_by = retain_until  # the carrier must not deliver after the data lapsed either
    if send_by is not None and now >= send_by:
        return Expire()
    if not prospection:
        return Go(send_by)
    end = window_end(now, locality, policy)
    if end is not None and end - now >= margin:
        return Go(end if send_by is None else min(end, send_by))
    closed = now if end is None else end
    opens = next_allowed(closed, locality, policy)
    if send_by is not None and opens >= send_by:
        return Expire()
    reason = check(closed, locality, policy).reason
    return Hold(opens, Deferral(reason) if reason else Deferral.QUIET_HOURS)
