"""One typed settings object, built at start-up from the environment (never at import)."""

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from tambour.rules.complaints import DEFAULT_MIN_MESSAGES, DEFAULT_PAUSE_PER_1000, PausePolicy
from tambour.rules.links import LinkBases, base_problem
from tambour.rules.retention import RetentionPeriods
from tambour.store.engine import DEFAULT_DATABASE_URL

PROCESSOR_FIELDS = ("name", "address", "email", "dpo_name", "dpo_email")


@dataclass(frozen=True, slots=True)
class ProcessorIdentity:
    """Who operates this installation (TAMBOUR_PROCESSOR_*), each None when not set."""

    name: str | None = None
    address: str | None = None
    email: str | None = None
    dpo_name: str | None = None
    dpo_email: str | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    actor: str = "cli"  # who the audit log says acted
    # TAMBOUR_NOW: an ISO 8601 instant Tambour takes as the time (tests, reproducible runs:
    # the same ledger, campaign and clock give the same plan). Unset: the real clock.
    now: str | None = None
    # TAMBOUR_FILES_DIR: where the API's uploads (files to import) and the exports its jobs
    # write are kept, owner-only; the server and the workers must both reach it.
    files_dir: str = "./tambour-files"
    # TAMBOUR_PUBLIC_URL: the base of the pages recipients open (the one-click opt-out link),
    # e.g. https://m.example.fr, served by `tambour serve`; TAMBOUR_SHORT_URL: the base of
    # short links (default: the public URL). Unset: a campaign using links is blocked.
    public_url: str | None = None
    short_url: str | None = None
    # TAMBOUR_CLICKS_RETENTION_DAYS: short-link clicks are erased after that many days.
    clicks_retention_days: int = 90
    # TAMBOUR_TEXTS_RETENTION_DAYS: a message's text (personalised: it may name the person) is
    # removed that many days after it was sent, its proof kept (`tambour retention run`).
    texts_retention_days: int = 365
    # TAMBOUR_REPLIES_RETENTION_DAYS: the texts of replies (a STOP is recorded as an opt-out
    # first) are removed that many days after they came.
    replies_retention_days: int = 365
    # The operator of this installation, processor for the advertisers (its record of
    # processing, GDPR Art. 30(2), names it): TAMBOUR_PROCESSOR_NAME, _ADDRESS, _EMAIL,
    # _DPO_NAME, _DPO_EMAIL. Unset: the record says it is missing.
    processor: ProcessorIdentity = field(default_factory=ProcessorIdentity)
    # TAMBOUR_COMPLAINTS_PAUSE_PER_1000: an advertiser whose 33700 complaints reach this many
    # per 1,000 messages sent over the last 30 days has its running campaigns paused, once
    # TAMBOUR_COMPLAINTS_MIN_MESSAGES were sent in them (an advertiser may have its own rate).
    complaints_pause_per_1000: float = DEFAULT_PAUSE_PER_1000
    complaints_min_messages: int = DEFAULT_MIN_MESSAGES

    @property
    def links(self) -> LinkBases:
        return LinkBases(self.public_url, self.short_url, self.clicks_retention_days)

    @property
    def retention(self) -> RetentionPeriods:
        return RetentionPeriods(
            self.texts_retention_days, self.replies_retention_days, self.clicks_retention_days
        )

    @property
    def complaints(self) -> PausePolicy:
        return PausePolicy(self.complaints_pause_per_1000, self.complaints_min_messages)

    def problems(self) -> list[str]:
        """What is wrong with the link bases, each naming its variable."""
        found = []
        for name, value in (("TAMBOUR_PUBLIC_URL", self.public_url),
                            ("TAMBOUR_SHORT_URL", self.short_url)):  # fmt: skip
            problem = value is not None and base_problem(value)
            if problem:
                found.append(f"{name}: {problem}")
        periods = (
            ("TAMBOUR_CLICKS_RETENTION_DAYS", self.clicks_retention_days),
            ("TAMBOUR_TEXTS_RETENTION_DAYS", self.texts_retention_days),
            ("TAMBOUR_REPLIES_RETENTION_DAYS", self.replies_retention_days),
        )
        for name, days in periods:
            if not 1 <= days <= 3650:
                found.append(f"{name}: a number of days from 1 to 3650")
        found.extend(self.complaints.problems())
        if self.short_url and not self.public_url:
            found.append("TAMBOUR_SHORT_URL is set without TAMBOUR_PUBLIC_URL")
        return found

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return cls(
            database_url=env.get("TAMBOUR_DATABASE_URL") or DEFAULT_DATABASE_URL,
            actor=env.get("TAMBOUR_ACTOR") or f"cli:{user}",
            now=env.get("TAMBOUR_NOW") or None,
            files_dir=env.get("TAMBOUR_FILES_DIR") or "./tambour-files",
            public_url=env.get("TAMBOUR_PUBLIC_URL") or None,
            short_url=env.get("TAMBOUR_SHORT_URL") or None,
            clicks_retention_days=_days(env.get("TAMBOUR_CLICKS_RETENTION_DAYS"), 90),
            texts_retention_days=_days(env.get("TAMBOUR_TEXTS_RETENTION_DAYS"), 365),
            replies_retention_days=_days(env.get("TAMBOUR_REPLIES_RETENTION_DAYS"), 365),
            processor=ProcessorIdentity(
                **{
                    name: (env.get(f"TAMBOUR_PROCESSOR_{name.upper()}") or "").strip() or None
                    for name in PROCESSOR_FIELDS
                }
            ),
            complaints_pause_per_1000=_rate(
                env.get("TAMBOUR_COMPLAINTS_PAUSE_PER_1000"), DEFAULT_PAUSE_PER_1000
            ),
            complaints_min_messages=_days(
                env.get("TAMBOUR_COMPLAINTS_MIN_MESSAGES"), DEFAULT_MIN_MESSAGES
            ),
        )


def _days(value: str | None, default: int) -> int:
    """A number of days as given; 0 (refused by `problems`) for what is not one."""
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        return 0


def _rate(value: str | None, default: float) -> float:
    """A rate as given (a French decimal comma too); 0 (refused by `problems`) for what is
    not one."""
    if not value:
        return default
    try:
        return float(value.replace(",", "."))
    except ValueError:
        return 0.0
