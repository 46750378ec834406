"""What an HTTP aggregator's delivery callbacks tell, recorded as the worker records what comes
back over SMPP, through the same statements (services/outbox.py for receipts, services/replies.py
for replies), each callback in a transaction of its own, committed before the caller answers:
the aggregator posts again what was not acknowledged, and receiving one twice changes nothing.

- A receipt settles its part, then its message once every part is known; a receipt for a part
  no worker has written down yet (its submit answer not recorded, or another carrier's id)
  waits in early_receipts, which the workers sweep while they flush and when idle. A campaign
  whose last message it settles is over. `message.*` webhooks as the worker queues them.
- A reply is kept for its advertiser; a STOP opts the number out at once (the next claim of a
  message to it sees the opt-out), a START is a consent. STOP confirmations are not sent from
  here: the API server sends nothing (`[worker] confirm_stop` applies to the replies a worker
  receives over SMPP).
"""

from dataclasses import dataclass
from typing import Literal

from tambour.rules.replies import ReplyKind
from tambour.services import outbox
from tambour.services.context import Context
from tambour.services.message_events import emit_message_events
from tambour.services.replies import record_replies
from tambour.services.views import View
from tambour.services.webhooks import Subscriptions
from tambour.traffic import Receipt, Reply

# Who wants message.* webhooks, looked up again every few seconds (per server process).
_SUBSCRIPTIONS = Subscriptions()


@dataclass(frozen=True, slots=True)
class CallbackRecorded(View):
    kind: Literal["receipt", "reply"]
    # receipt: its part is not recorded yet: it waits for it (applied when it is)
    waiting: bool = False
    settled: int = 0  # receipt: messages it brought to their final state (0 or 1)
    # reply: a STOP that opted the number out of this many advertisers' messages
    opted_out: int = 0


def record_receipt(ctx: Context, receipt: Receipt) -> CallbackRecorded:
    """Apply `receipt` (its `carrier` set: the configuration's name, '' for the one
    [transport]) in a transaction of its own."""
    with ctx.engine.begin() as conn:
        now = ctx.now()
        touched: dict[int, int] = {}
        settled: list[int] = []
        waiting = outbox.record_receipts(conn, now, [receipt], touched, settled)
        campaigns = {campaign for campaign in touched.values() if campaign}
        if campaigns:  # the campaign's row, then the audit log: the order the worker takes
            outbox.end_campaigns(conn, now, ctx.actor, campaigns)
        emit_message_events(conn, now, (), settled, _SUBSCRIPTIONS)
    return CallbackRecorded("receipt", waiting=waiting > 0, settled=len(settled))


def record_reply(ctx: Context, reply: Reply) -> CallbackRecorded:
    """Record `reply` in a transaction of its own: kept, audited, a STOP in force once it
    returns."""
    with ctx.engine.begin() as conn:
        (effect,) = record_replies(conn, [reply], now=ctx.now(), actor=ctx.actor, confirm=False)
    stopped = len(effect.advertiser_ids) if reply.kind is ReplyKind.STOP else 0
    return CallbackRecorded("reply", opted_out=stopped)
