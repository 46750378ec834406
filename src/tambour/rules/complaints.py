"""33700 complaints (rules.md section 6): which message a report is about, complaint rates per
1,000 messages sent, and when an advertiser's campaigns are paused for them. Pure: the
candidates, counts and the policy are given; no database, no clock.

- A report names the reported number, the sender, the text or an excerpt and when it was
  reported. It is about a message sent to that number by that sender before the report,
  within MATCH_WINDOW (a report comes days after the message, rarely weeks); of several, the
  one whose text holds the excerpt (compared folded: case, accents, punctuation and spaces),
  the most recent first; when none holds it (a text removed since, an excerpt reworded), the
  most recent.
- Rates: complaints per 1,000 messages sent over a sliding window (RATE_WINDOW).
- Pause: an advertiser whose rate over the window reaches the threshold, with at least
  `min_messages` sent (one complaint out of ten messages is no rate), has its running
  campaigns paused; only the operator resumes them.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from tambour.rules.fold import fold

MATCH_WINDOW: Final = timedelta(days=30)
RATE_WINDOW_DAYS: Final = 30
DEFAULT_PAUSE_PER_1000: Final = 1.0  # the operators' practice: above 1 ‰ a sender is a problem
DEFAULT_MIN_MESSAGES: Final = 1000
MAX_EXCERPT: Final = 320

_NOT_WORDS: Final = re.compile(r"[\W_]+")


def comparable(text: str) -> str:
    """A text as an excerpt is compared: folded, punctuation and spaces squeezed to one space
    ('STOP au 36111 !' -> 'stop au 36111')."""
    return _NOT_WORDS.sub(" ", fold(text)).strip()


@dataclass(frozen=True, slots=True)
class Sent:
    """A message that may be the one reported: its id, when it left, its text (None: removed
    since, by retention or an erasure)."""

    id: int
    submitted_at: datetime
    text: str | None


def match(candidates: Sequence[Sent], reported_at: datetime, excerpt: str | None) -> Sent | None:
    """The message a report made at `reported_at` is about, among those sent to its number
    by its sender: sent at or before the report, within MATCH_WINDOW; the most recent whose
    text holds the excerpt, else the most recent. None when no message fits."""
    fitting = [
        sent
        for sent in candidates
        if reported_at - MATCH_WINDOW <= sent.submitted_at <= reported_at
    ]
    if not fitting:
        return None
    fitting.sort(key=lambda sent: (sent.submitted_at, sent.id), reverse=True)
    wanted = comparable(excerpt or "")
    if wanted:
        for sent in fitting:
            if sent.text is not None and wanted in comparable(sent.text):
                return sent
    return fitting[0]


def per_thousand(complaints: int, sent: int) -> float | None:
    """Complaints per 1,000 messages sent (None: nothing sent)."""
    return None if sent <= 0 else round(complaints * 1000 / sent, 3)


@dataclass(frozen=True, slots=True)
class PausePolicy:
    """When an advertiser's campaigns are paused: a rate of `per_1000` complaints or more per
    1,000 messages sent over the last `window_days` days, once at least `min_messages` were
    sent in them."""

    per_1000: float = DEFAULT_PAUSE_PER_1000
    min_messages: int = DEFAULT_MIN_MESSAGES
    window_days: int = RATE_WINDOW_DAYS

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)

    def with_threshold(self, per_1000: float | None) -> "PausePolicy":
        """This policy with an advertiser's own threshold, when it has one."""
        if per_1000 is None:
            return self
        return PausePolicy(per_1000, self.min_messages, self.window_days)

    def crossed(self, complaints: int, sent: int) -> bool:
        """Whether `complaints` over `sent` messages (the window's) pause the advertiser."""
        rate = per_thousand(complaints, sent)
        return sent >= self.min_messages and rate is not None and rate >= self.per_1000

    def problems(self) -> list[str]:
        """What is wrong with it, each naming its setting."""
        found = []
        if not 0 < self.per_1000 <= 1000:
            found.append("TAMBOUR_COMPLAINTS_PAUSE_PER_1000: a rate above 0, up to 1000")
        if not 1 <= self.min_messages <= 100_000_000:
            found.append("TAMBOUR_COMPLAINTS_MIN_MESSAGES: a number of messages from 1")
        return found
