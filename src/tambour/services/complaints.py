"""33700 complaints (rules.md section 6; the pure rules in rules/complaints.py): reports from the
33700 platform taken in (a file, or a batch through the API), each matched to the message it
is about, recorded as complaint evidence and suppressing the number for good; complaint rates
per 1,000 messages sent, per advertiser, campaign and sender; and the automatic pause of an
advertiser's running campaigns once its rate crosses the threshold, which only the operator
lifts (`resume`).

- A report: the reported number, the sender, the text or an excerpt, when it was reported (a
  date alone stands for that whole Paris day). Taken for one advertiser (its own messages: a
  sender not its own is refused), or by the operator across advertisers, each report going
  to the advertiser that owns its sender (a brand sender ID belongs to one; a short number
  shared by several goes to the one whose message it matches).
- Kept, matched or not (`complaint_reports`): `matched` to a message, `unmatched` (no
  message found: the number is suppressed at the advertiser all the same), `unattributed`
  (no advertiser owns the sender: kept, counted, nothing else to do). The same report
  imported twice is counted once (its fingerprint: advertiser, number's keyed hash, sender,
  time, excerpt).
- Pause: the campaign keeps its status `launched`, `paused_at` set; its queued messages move
  to the outbox state `paused`, which no worker claims (a message held back to `queued`
  after the pause is parked there by the claim). Resume puts them back in the queue; those
  whose send-by passed meanwhile expire at their claim, as any would.

Every change is audited; no number in clear in the audit log nor in the logs.
"""

import hashlib
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, func, insert, select, update

from tambour.contacts.headers import header_key
from tambour.contacts.reader import control_character, invalid_phone_reason
from tambour.contacts.values import PARIS, parse_datetime
from tambour.rules.codes import OptOutSource
from tambour.rules.complaints import (
    MAX_EXCERPT,
    PausePolicy,
    Sent,
    comparable,
    match,
    per_thousand,
)
from tambour.services import advertisers, audit, campaigns, message_minutes, webhooks
from tambour.services.advertisers import Advertiser
from tambour.services.context import ConflictError, Context, InvalidInputError
from tambour.services.optouts import readable, record_optouts, records
from tambour.services.seals import Written, with_rows
from tambour.services.suppression import phone_hash
from tambour.services.views import View, fields_json
from tambour.services.webhooks import Event
from tambour.sms.phone import parse_phone
from tambour.store.engine import reader, snapshot
from tambour.store.tables import advertisers as advertiser_rows
from tambour.store.tables import campaigns as campaign_rows
from tambour.store.tables import (
    complaint_reports,
    contacts,
    outbox,
    sender_ids,
)
from tambour.store.tables import message_minutes as minutes

CHUNK: Final = 1000  # reports matched and written together
MAX_SENDER: Final = 16
MAX_THRESHOLD: Final = 1000.0

TEXTS: Final = {
    "no_report": "{name}: no report found (a column of numbers and one of senders are needed)",
    "no_number_column": (
        "{name}: line 1: no column of reported numbers (numéro, number...) among {columns}"
    ),
    "no_sender_column": (
        "{name}: line 1: no column of senders (émetteur, sender...) among {columns}"
    ),
    "no_date_column": "{name}: line 1: no column of dates (date, reported_at...) among {columns}",
    "not_paused": "{name!r} is not paused",
    "invalid_threshold": "a rate per 1,000 messages above 0, up to 1000",
}

# What each row problem says (the web app and the API word them by their code).
ROW_TEXTS: Final = {
    "invalid_number": "{reason}",
    "missing_sender": "no sender",
    "invalid_sender": "the sender {value!r} is longer than 16 characters or holds a control "
    "character",
    "foreign_sender": "{value!r} is not a sender of {slug}",
    "missing_date": "no date",
    "invalid_date": "{reason}",
    "reported_in_future": "reported on {at}, after now",
}


class ReportState(StrEnum):
    MATCHED = "matched"  # to the message it is about
    UNMATCHED = "unmatched"  # no message found: the number is suppressed all the same
    UNATTRIBUTED = "unattributed"  # no advertiser owns the sender


@dataclass(frozen=True, slots=True)
class Report:
    """One report as read: the reported number (any notation), the sender, when it was
    reported (`time_given` False: a date alone, `reported_at` its Paris midnight), the text
    or an excerpt, and where it was read (`line`: of its file, or its place in a batch)."""

    number: str
    sender: str
    reported_at: datetime
    time_given: bool = True
    excerpt: str | None = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class Rejected(View):
    """A report not taken: where (`line`), which field, why (a stable `code` and words)."""

    line: int
    field: str  # number, sender, reported_at
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class Paused(View):
    """A campaign paused for its advertiser's complaint rate."""

    advertiser: str  # its slug
    campaign_id: int
    campaign: str
    held: int  # queued messages now waiting
    complaints: int  # the advertiser's, over the window
    sent: int
    per_1000: float | None
    threshold: float


@dataclass(frozen=True, slots=True)
class ComplaintImport(View):
    """What an import did: reports read (`received`), new ones (`recorded`) and those known
    already (`already`, counted once), matched or not, rejected rows, campaigns paused."""

    origin: str  # the file's name, or `api`
    received: int
    recorded: int
    already: int
    matched: int
    unmatched: int
    unattributed: int
    rejected: tuple[Rejected, ...]
    paused: tuple[Paused, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin, "received": self.received, "recorded": self.recorded,
            "already": self.already, "matched": self.matched, "unmatched": self.unmatched,
            "unattributed": self.unattributed, "rejected": len(self.rejected),
            "rejects": [r.as_dict() for r in self.rejected[:100]],
            "paused": [p.as_dict() for p in self.paused],
        }  # fmt: skip


# --- reading a file ----------------------------------------------------------------------------

# The columns of a 33700 file, by the headers French and English exports give them (compared
# as contacts/headers.header_key folds them: case, accents, spaces and punctuation ignored).
COLUMNS: Final[Mapping[str, tuple[str, ...]]] = {
    "number": (
        "numéro", "numéro signalé", "numéro du signalant", "signalant", "numéro signalant",
        "numéro de téléphone", "téléphone", "mobile", "portable", "destinataire", "msisdn",
        "number", "reported number", "phone", "phone number", "recipient", "reporter",
    ),
    "sender": (
        "émetteur", "expéditeur", "numéro émetteur", "numéro de l'émetteur", "émetteur du spam",
        "numéro court", "short code", "shortcode", "sender", "sender id", "from", "originator",
        "oadc",
    ),
    "text": (
        "texte", "message", "contenu", "contenu du message", "contenu du sms", "texte du sms",
        "texte du message", "extrait", "sms", "text", "excerpt", "content", "body",
        "message text",
    ),
    "date": (
        "date", "date du signalement", "date de signalement", "date signalement", "signalé le",
        "date de réception", "reçu le", "horodatage", "date heure", "date et heure",
        "reported at", "reported on", "reported", "timestamp", "received at", "datetime",
        "report date",
    ),
    "time": ("heure", "heure du signalement", "heure de signalement", "time", "report time"),
}  # fmt: skip
_COLUMN_OF: Final = {header_key(h): column for column, hs in COLUMNS.items() for h in hs}
_TIME: Final = re.compile(r"\d:\d")


def parse_reported(value: str) -> tuple[datetime, bool]:
    """When a report was made, as a file writes it (ISO 8601, or dd/mm/yyyy [hh:mm[:ss]];
    without a zone: Paris): the instant and whether a time was given. ValueError otherwise."""
    at = parse_datetime(value)
    if at is None:
        raise ValueError("no date")
    return at, bool(_TIME.search(value))


def reported_day(day: date) -> datetime:
    """A report dated `day` alone: its Paris midnight, as stored (`time_given` False)."""
    return datetime.combine(day, time(0), tzinfo=PARIS).astimezone(UTC)


def _header(name: str, cells: list[str]) -> list[str | None]:
    header = [_COLUMN_OF.get(header_key(cell)) for cell in cells]
    shown = ", ".join(repr(c) for c in cells[:12]) or "nothing"
    if "number" not in header:
        said = TEXTS["no_number_column"].format(name=name, columns=shown)
        raise InvalidInputError("path", "no_number_column", said)
    if "sender" not in header:
        said = TEXTS["no_sender_column"].format(name=name, columns=shown)
        raise InvalidInputError("path", "no_sender_column", said)
    if "date" not in header:
        said = TEXTS["no_date_column"].format(name=name, columns=shown)
        raise InvalidInputError("path", "no_date_column", said)
    return header


def read_reports(path: Path, rejected: list[Rejected], name: str | None = None) -> Iterator[Report]:
    """The reports of a 33700 file (CSV, a header row, UTF-8 or Windows-1252, `;`, tab or `,`),
    streamed; a row that cannot be read goes to `rejected` (its line and field), the others are
    given. Read under optouts.readable (a file that cannot be read is a refusal)."""
    rows = records(path)
    first = next(rows, None)
    if first is None:
        return
    header = _header(name or path.name, first[1])
    for line, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        row: dict[str, str] = {}
        for column, cell in zip(header, cells, strict=False):
            if column is not None and column not in row:
                row[column] = cell.strip()
        said = " ".join(filter(None, (row.get("date", ""), row.get("time", ""))))
        read = report_of(row.get("number", ""), row.get("sender", ""), said, row.get("text"), line)
        if isinstance(read, Rejected):
            rejected.append(read)
            continue
        yield read


def report_of(
    number: str, sender: str, reported: str, text: str | None, line: int
) -> Report | Rejected:
    """A report as written (its time as parse_reported reads it), or why it is not one."""
    try:
        at, given = parse_reported(reported)
    except ValueError as error:
        code = "missing_date" if not reported.strip() else "invalid_date"
        return Rejected(line, "reported_at", code, ROW_TEXTS[code].format(reason=str(error)))
    return Report(number, sender, at, given, (text or "").strip() or None, line)


# --- taking reports in -------------------------------------------------------------------------


@dataclass(slots=True)
class _Checked:
    """A report once checked: its number as E.164, its sender as written and folded."""

    report: Report
    e164: str
    sender: str
    sender_key: str
    until: datetime  # matched against messages sent up to then


@dataclass(slots=True)
class _Tally:
    received: int = 0
    recorded: int = 0
    already: int = 0
    states: dict[ReportState, int] = field(default_factory=lambda: dict.fromkeys(ReportState, 0))
    rejected: list[Rejected] = field(default_factory=list)
    # By advertiser: the rows written (for its audit entry) and its counts.
    written: dict[int, Written] = field(default_factory=dict)
    counts: dict[int | None, dict[ReportState, int]] = field(default_factory=dict)

    def count(self, advertiser_id: int | None, state: ReportState) -> None:
        self.recorded += 1
        self.states[state] += 1
        mine = self.counts.setdefault(advertiser_id, dict.fromkeys(ReportState, 0))
        mine[state] += 1


def _check(report: Report, now: datetime, tally: _Tally, own: Advertiser | None) -> _Checked | None:
    def reject(field: str, code: str, **values: Any) -> None:
        tally.rejected.append(Rejected(report.line, field, code, ROW_TEXTS[code].format(**values)))

    phone = parse_phone(report.number)
    if phone.e164 is None or not phone.valid or control_character(report.number):
        reject("number", "invalid_number", reason=invalid_phone_reason(report.number))
        return None
    sender = report.sender.strip()
    if not sender:
        reject("sender", "missing_sender")
        return None
    if len(sender) > MAX_SENDER or control_character(sender):
        reject("sender", "invalid_sender", value=sender[:40])
        return None
    if own is not None and not _owns(own, sender):
        reject("sender", "foreign_sender", value=sender, slug=own.slug)
        return None
    if report.reported_at > now:
        reject("reported_at", "reported_in_future", at=report.reported_at.isoformat())
        return None
    until = report.reported_at + (timedelta(0) if report.time_given else timedelta(days=1))
    return _Checked(report, phone.e164, sender, sender.upper(), until)


def _owns(advertiser: Advertiser, sender: str) -> bool:
    key = sender.upper()
    return any(s.upper() == key for s in advertiser.senders) or sender == advertiser.stop_number


class _Owners:
    """Who owns a sender: the advertiser of a brand sender ID, or every advertiser with that
    short number (looked up once a sender)."""

    def __init__(self, conn: Connection, only: Advertiser | None) -> None:
        self.conn = conn
        self.only = only
        self.found: dict[str, list[Advertiser]] = {}

    def of(self, checked: _Checked) -> list[Advertiser]:
        if self.only is not None:
            return [self.only]
        key = checked.sender_key
        if key not in self.found:
            ids = list(
                self.conn.execute(
                    select(sender_ids.c.advertiser_id).where(sender_ids.c.sender_key == key)
                ).scalars()
            )
            if not ids:
                ids = list(
                    self.conn.execute(
                        select(advertiser_rows.c.id)
                        .where(advertiser_rows.c.stop_number == checked.sender)
                        .order_by(advertiser_rows.c.id)
                    ).scalars()
                )
            owners = advertisers.by_ids(self.conn, ids)
            self.found[key] = [owners[i] for i in ids if i in owners]
        return self.found[key]


@dataclass(frozen=True, slots=True)
class _Found:
    outbox_id: int
    campaign_id: int


def _candidates(
    conn: Connection, advertiser: Advertiser, reports: Sequence[_Checked], window: timedelta
) -> dict[str, list[tuple[Sent, str, int]]]:
    """The messages that left to these reports' numbers within the matching window, by
    number: (the message, its sender, its campaign). Through the contacts' (advertiser, e164)
    key and ix_outbox_sent_contact."""
    numbers = sorted({r.e164 for r in reports})
    known = dict(
        conn.execute(
            select(contacts.c.id, contacts.c.e164).where(
                contacts.c.advertiser_id == advertiser.id, contacts.c.e164.in_(numbers)
            )
        ).all()
    )
    if not known:
        return {}
    first = min(r.until for r in reports) - window
    last = max(r.until for r in reports)
    found: dict[str, list[tuple[Sent, str, int]]] = {}
    query = select(
        outbox.c.id, outbox.c.contact_id, outbox.c.submitted_at, outbox.c.text,
        outbox.c.sender, outbox.c.campaign_id,
    ).where(
        outbox.c.contact_id.in_(sorted(known)), outbox.c.submitted_at.is_not(None),
        outbox.c.submitted_at >= first, outbox.c.submitted_at <= last,
        outbox.c.advertiser_id == advertiser.id,
    )  # fmt: skip
    for row in conn.execute(query):
        sent = Sent(row.id, row.submitted_at, row.text)
        found.setdefault(known[row.contact_id], []).append((sent, row.sender, row.campaign_id))
    return found


def _matched(
    checked: _Checked, candidates: Mapping[str, list[tuple[Sent, str, int]]]
) -> _Found | None:
    mine = [
        (sent, campaign)
        for sent, sender, campaign in candidates.get(checked.e164, ())
        if sender.upper() == checked.sender_key
    ]
    chosen = match([sent for sent, _ in mine], checked.until, checked.report.excerpt)
    if chosen is None:
        return None
    campaign_id = next(campaign for sent, campaign in mine if sent.id == chosen.id)
    return _Found(chosen.id, campaign_id)


def _fingerprint(advertiser: Advertiser | None, checked: _Checked) -> bytes:
    """What makes a report the same one imported again: its advertiser, its number (by its
    keyed hash once the advertiser is known), sender, time and excerpt (folded)."""
    who = phone_hash(advertiser, checked.e164).hex() if advertiser else checked.e164
    parts = (
        str(advertiser.id) if advertiser else "", who, checked.sender_key,
        checked.report.reported_at.isoformat(), str(checked.report.time_given),
        comparable(checked.report.excerpt or ""),
    )  # fmt: skip
    return hashlib.sha256("\x1f".join(parts).encode()).digest()


@dataclass(slots=True)
class _Decided:
    checked: _Checked
    advertiser: Advertiser | None
    found: _Found | None
    fingerprint: bytes

    @property
    def state(self) -> ReportState:
        if self.advertiser is None:
            return ReportState.UNATTRIBUTED
        return ReportState.MATCHED if self.found else ReportState.UNMATCHED


def _decide(
    conn: Connection, checked: Sequence[_Checked], owners: _Owners, window: timedelta
) -> list[_Decided]:
    """Each report's advertiser and message: of the advertisers owning its sender, the first
    whose message it matches; else the only owner (unmatched there), else none."""
    by_owner: dict[int, list[_Checked]] = {}
    owned: dict[int, Advertiser] = {}
    for report in checked:
        for advertiser in owners.of(report):
            owned[advertiser.id] = advertiser
            by_owner.setdefault(advertiser.id, []).append(report)
    candidates = {
        owner: _candidates(conn, owned[owner], reports, window)
        for owner, reports in by_owner.items()
    }
    decided = []
    for report in checked:
        mine = owners.of(report)
        chosen: tuple[Advertiser | None, _Found | None] = (
            (mine[0], None) if len(mine) == 1 else (None, None)
        )
        for owner in mine:
            found = _matched(report, candidates[owner.id])
            if found is not None:
                chosen = (owner, found)
                break
        decided.append(_Decided(report, *chosen, _fingerprint(chosen[0], report)))
    return decided


def _write(
    conn: Connection, ctx: Context, decided: Sequence[_Decided], origin: str, tally: _Tally
) -> set[int]:
    """Record the reports not seen before: their rows, and for each advertiser known its
    numbers' complaint evidence and suppression, with a `contact.complained` event each.
    Returns the advertisers that got new reports."""
    now = ctx.now()
    prints = [d.fingerprint for d in decided]
    seen = {
        bytes(found)
        for found in conn.execute(
            select(complaint_reports.c.fingerprint).where(
                complaint_reports.c.fingerprint.in_(prints)
            )
        ).scalars()
    }
    new: list[_Decided] = []
    for item in decided:
        if item.fingerprint in seen:
            tally.already += 1
            continue
        seen.add(item.fingerprint)
        new.append(item)
    if not new:
        return set()
    conn.execute(
        insert(complaint_reports),
        [
            {
                "advertiser_id": d.advertiser.id if d.advertiser else None,
                "fingerprint": d.fingerprint, "sender": d.checked.sender,
                "phone_hash": phone_hash(d.advertiser, d.checked.e164) if d.advertiser else None,
                "e164": None if d.advertiser else d.checked.e164,
                "excerpt": (d.checked.report.excerpt or "")[:MAX_EXCERPT] or None,
                "reported_at": d.checked.report.reported_at,
                "time_given": d.checked.report.time_given, "state": d.state.value,
                "outbox_id": d.found.outbox_id if d.found else None,
                "campaign_id": d.found.campaign_id if d.found else None,
                "origin": origin, "received_at": now, "received_by": ctx.actor,
            }
            for d in new
        ],
    )  # fmt: skip
    by_advertiser: dict[int, list[_Decided]] = {}
    for item in new:
        tally.count(item.advertiser.id if item.advertiser else None, item.state)
        if item.advertiser is not None:
            by_advertiser.setdefault(item.advertiser.id, []).append(item)
    for items in by_advertiser.values():
        advertiser = items[0].advertiser
        assert advertiser is not None
        entries = [
            (d.checked.e164, OptOutSource.COMPLAINT_33700, d.checked.report.reported_at)
            for d in items
        ]
        facts = {
            d.checked.e164: {"message_id": d.found.outbox_id, "campaign_id": d.found.campaign_id}
            for d in items
            if d.found is not None
        }
        written = tally.written.setdefault(advertiser.id, Written())
        record_optouts(
            conn, advertiser, entries, origin=f"complaints:{origin}", actor=ctx.actor, now=now,
            written=written, facts=facts,
        )  # fmt: skip
        webhooks.emit(conn, [_complained(advertiser, d) for d in items], now)
    return set(by_advertiser)


def _complained(advertiser: Advertiser, item: _Decided) -> Event:
    report = item.checked.report
    return Event(advertiser.id, "contact.complained", {
        "number": item.checked.e164, "source": OptOutSource.COMPLAINT_33700.value,
        "at": report.reported_at.isoformat(), "sender": item.checked.sender,
        "message_id": item.found.outbox_id if item.found else None,
        "campaign_id": item.found.campaign_id if item.found else None,
    })  # fmt: skip


def import_reports(
    ctx: Context, *, reports: Iterable[Report], slug: str | None = None, origin: str = "api",
    read_rejects: Sequence[Rejected] = (),
) -> ComplaintImport:  # fmt: skip
    """Take 33700 reports in, in one transaction: for advertiser `slug` (its own senders only:
    another sender is a rejected row), or, without, across advertisers by their senders. Each
    report is matched, recorded and its number suppressed; rows that cannot be taken are
    reported (with `read_rejects`, those found while reading, which may grow as `reports` is
    read), the others kept. Then each advertiser that got new reports is weighed against its
    threshold, its running campaigns paused when it crossed it. NotFoundError for an unknown
    advertiser."""
    now = ctx.now()
    tally = _Tally()
    with ctx.engine.begin() as conn:
        own = None if slug is None else advertisers.get(conn, slug)
        owners = _Owners(conn, own)
        touched: set[int] = set()
        stream = iter(reports)
        while chunk := list(itertools.islice(stream, CHUNK)):
            tally.received += len(chunk)
            checked = [c for r in chunk if (c := _check(r, now, tally, own)) is not None]
            decided = _decide(conn, checked, owners, ctx.complaints.window)
            touched |= _write(conn, ctx, decided, origin, tally)
        _audit_import(conn, ctx, origin, tally, now)
        paused = [p for owner in sorted(touched) for p in _weigh(conn, ctx, owner, now)]
    rejected = sorted([*read_rejects, *tally.rejected], key=lambda r: r.line)
    return ComplaintImport(
        origin=origin, received=tally.received + len(read_rejects), recorded=tally.recorded,
        already=tally.already, matched=tally.states[ReportState.MATCHED],
        unmatched=tally.states[ReportState.UNMATCHED],
        unattributed=tally.states[ReportState.UNATTRIBUTED],
        rejected=tuple(rejected), paused=tuple(paused),
    )  # fmt: skip


def import_file(
    ctx: Context, *, path: Path, slug: str | None = None, name: str | None = None
) -> ComplaintImport:
    """A 33700 file (CSV with a header: the reported number, the sender, the date, and the
    text and the time when given; French or English headers; UTF-8 or Windows-1252),
    streamed: see `import_reports`. Refused (InvalidInputError about `path`) when it cannot
    be read as one, lacks a needed column, or holds no report (nothing is then recorded).
    `name`: the file's name as its sender knew it (an upload is kept under another), which
    the reports and the audit log name (its phone numbers masked)."""
    rejected: list[Rejected] = []
    shown = (name or path.name)[:200]
    reports = _read_under(path, read_reports(path, rejected, shown))
    done = import_reports(
        ctx, reports=reports, slug=slug, origin=audit.without_phones(shown),
        read_rejects=rejected,
    )  # fmt: skip
    if not done.received:
        raise InvalidInputError("path", "no_report", TEXTS["no_report"].format(name=shown))
    return done


def _read_under(path: Path, reports: Iterator[Report]) -> Iterator[Report]:
    """`reports`, what keeps the file from being read a refusal about `path`."""
    with readable(path):
        yield from reports


def _audit_import(
    conn: Connection, ctx: Context, origin: str, tally: _Tally, now: datetime
) -> None:
    for owner, counts in sorted(tally.counts.items(), key=lambda item: item[0] or 0):
        details: dict[str, Any] = {
            "origin": audit.without_phones(origin),
            **{str(state): n for state, n in counts.items() if n},
        }
        if owner is not None:
            details = with_rows(details, tally.written.get(owner, Written()))
        audit.append(
            conn, actor=ctx.actor, action="complaints.import", advertiser_id=owner,
            details=details, at=now,
        )  # fmt: skip


# --- rates and the pause -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rate(View):
    """Complaints per 1,000 messages sent, over the window: of the advertiser, of a
    campaign (`campaign_id`), or of a sender."""

    name: str  # the advertiser's slug, the campaign's name, the sender
    complaints: int
    sent: int
    per_1000: float | None
    campaign_id: int | None = None


@dataclass(frozen=True, slots=True)
class PausedCampaign(View):
    advertiser: str  # its slug
    id: int
    name: str
    paused_at: datetime
    held: int  # messages waiting (outbox state `paused`)


@dataclass(frozen=True, slots=True)
class ComplaintRates(View):
    """An advertiser's complaint rates over the last `window_days` days (to `at`), its
    threshold, and its campaigns paused now."""

    slug: str
    at: datetime
    window_days: int
    threshold: float  # per 1,000 messages
    own_threshold: bool  # the advertiser's, not the operator's
    min_messages: int
    advertiser: Rate
    campaigns: tuple[Rate, ...]
    senders: tuple[Rate, ...]
    unmatched: int  # reports of the window matching no message
    paused: tuple[PausedCampaign, ...]

    @property
    def crossed(self) -> bool:
        return self._policy.crossed(self.advertiser.complaints, self.advertiser.sent)

    @property
    def _policy(self) -> PausePolicy:
        return PausePolicy(self.threshold, self.min_messages, self.window_days)

    def as_dict(self) -> dict[str, Any]:
        return {**fields_json(self), "crossed": self.crossed}


def _policy(conn: Connection, ctx: Context, advertiser: Advertiser) -> tuple[PausePolicy, bool]:
    own = conn.execute(
        select(advertiser_rows.c.complaints_pause_per_1000).where(
            advertiser_rows.c.id == advertiser.id
        )
    ).scalar()
    return ctx.complaints.with_threshold(own), own is not None


def _sent_by_campaign(conn: Connection, owner: int, since: datetime) -> dict[int, int]:
    """Messages sent since `since` (to the minute), by campaign: message_minutes' key."""
    c = minutes.c
    return {
        campaign_id: int(sent or 0)
        for campaign_id, sent in conn.execute(
            select(c.campaign_id, func.sum(c.sent))
            .where(c.advertiser_id == owner, c.minute >= message_minutes.minute_of(since))
            .group_by(c.campaign_id)
        )
    }


def _reports_since(conn: Connection, owner: int, since: datetime) -> list[Any]:
    c = complaint_reports.c
    return list(
        conn.execute(
            select(c.state, c.campaign_id, c.sender).where(
                c.advertiser_id == owner, c.reported_at >= since
            )
        ).all()
    )


def _advertiser_counts(conn: Connection, owner: int, since: datetime) -> tuple[int, int]:
    complaints = conn.execute(
        select(func.count())
        .select_from(complaint_reports)
        .where(complaint_reports.c.advertiser_id == owner, complaint_reports.c.reported_at >= since)
    ).scalar_one()
    sent = sum(_sent_by_campaign(conn, owner, since).values())
    return int(complaints), sent


def rates(ctx: Context, *, slug: str) -> ComplaintRates:
    """Advertiser `slug`'s complaint rates over the window (the operator's setting, 30 days):
    the advertiser's, each campaign's that sent or was complained of, each sender's; and its
    campaigns paused now. NotFoundError for an unknown advertiser."""
    now = ctx.now()
    with snapshot(ctx.engine) as conn:
        advertiser = advertisers.get(conn, slug)
        policy, own = _policy(conn, ctx, advertiser)
        since = now - policy.window
        sent = _sent_by_campaign(conn, advertiser.id, since)
        reports = _reports_since(conn, advertiser.id, since)
        ids = sorted(set(sent) | {r.campaign_id for r in reports if r.campaign_id is not None})
        named = {
            row.id: row
            for row in conn.execute(
                select(
                    campaign_rows.c.id, campaign_rows.c.name, campaign_rows.c.sender,
                    campaign_rows.c.kind,
                ).where(campaign_rows.c.advertiser_id == advertiser.id, campaign_rows.c.id.in_(ids))
            )
        }  # fmt: skip
        paused = paused_now(conn, advertiser)
    by_campaign: dict[int, int] = {}
    by_sender: dict[str, list[int]] = {}
    for report in reports:
        if report.campaign_id is not None:
            by_campaign[report.campaign_id] = by_campaign.get(report.campaign_id, 0) + 1
        by_sender.setdefault(report.sender.upper(), [0, 0])[0] += 1
    for campaign_id, count in sent.items():
        row = named.get(campaign_id)
        if row is not None:
            by_sender.setdefault(row.sender.upper(), [0, 0])[1] += count
    shown = [
        Rate(row.name, by_campaign.get(i, 0), sent.get(i, 0),
             per_thousand(by_campaign.get(i, 0), sent.get(i, 0)), i)
        for i, row in sorted(named.items())
        if row.kind == "campaign"
    ]  # fmt: skip
    shown.sort(key=lambda r: (-(r.per_1000 or 0), -r.complaints, r.name))
    senders = sorted(
        (Rate(s, c, n, per_thousand(c, n)) for s, (c, n) in by_sender.items()),
        key=lambda r: (-(r.per_1000 or 0), -r.complaints, r.name),
    )
    total_sent = sum(sent.values())
    return ComplaintRates(
        slug=advertiser.slug, at=now, window_days=policy.window_days,
        threshold=policy.per_1000, own_threshold=own, min_messages=policy.min_messages,
        advertiser=Rate(advertiser.slug, len(reports), total_sent,
                        per_thousand(len(reports), total_sent)),
        campaigns=tuple(shown), senders=tuple(senders),
        unmatched=sum(r.state == ReportState.UNMATCHED for r in reports),
        paused=paused,
    )  # fmt: skip


def paused_now(conn: Connection, advertiser: Advertiser) -> tuple[PausedCampaign, ...]:
    """The advertiser's campaigns paused now, oldest pause first."""
    c = campaign_rows.c
    rows = conn.execute(
        select(c.id, c.name, c.paused_at)
        .where(c.advertiser_id == advertiser.id, c.paused_at.is_not(None), c.status == "launched")
        .order_by(c.paused_at, c.id)
    ).all()
    found = []
    for row in rows:
        held = conn.execute(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.campaign_id == row.id, outbox.c.state == "paused")
        ).scalar_one()
        found.append(PausedCampaign(advertiser.slug, row.id, row.name, row.paused_at, int(held)))
    return tuple(found)


def paused_campaigns(ctx: Context, *, slug: str | None = None) -> list[PausedCampaign]:
    """The campaigns paused now (every advertiser's, or `slug`'s): what the operator
    resumes."""
    with reader(ctx.engine) as conn:
        query = select(campaign_rows.c.advertiser_id).where(
            campaign_rows.c.paused_at.is_not(None), campaign_rows.c.status == "launched"
        )
        if slug is not None:
            query = query.where(campaign_rows.c.advertiser_id == advertisers.get(conn, slug).id)
        owners = sorted(set(conn.execute(query).scalars()))
        named = advertisers.by_ids(conn, owners)
        return [p for o in owners for p in paused_now(conn, named[o])]


@dataclass(frozen=True, slots=True)
class Standing(View):
    """An advertiser's complaint rate now (over the window) against its threshold, and its
    campaigns paused: what its dashboard shows."""

    complaints: int
    sent: int
    per_1000: float | None
    threshold: float
    min_messages: int
    window_days: int
    paused: tuple[PausedCampaign, ...]

    @property
    def crossed(self) -> bool:
        policy = PausePolicy(self.threshold, self.min_messages, self.window_days)
        return policy.crossed(self.complaints, self.sent)


def standing(conn: Connection, ctx: Context, advertiser: Advertiser, now: datetime) -> Standing:
    """Advertiser's complaint rate at `now`, in the caller's snapshot (a few indexed reads)."""
    policy, _ = _policy(conn, ctx, advertiser)
    complaints, sent = _advertiser_counts(conn, advertiser.id, now - policy.window)
    return Standing(
        complaints, sent, per_thousand(complaints, sent), policy.per_1000, policy.min_messages,
        policy.window_days, paused_now(conn, advertiser),
    )  # fmt: skip


def _weigh(conn: Connection, ctx: Context, owner: int, now: datetime) -> list[Paused]:
    """Pause the running campaigns of advertiser `owner` when its rate crossed its threshold:
    each audited (`campaign.pause`) and told (`campaign.paused`)."""
    advertiser = advertisers.by_ids(conn, [owner])[owner]
    policy, _ = _policy(conn, ctx, advertiser)
    complaints, sent = _advertiser_counts(conn, owner, now - policy.window)
    if not policy.crossed(complaints, sent):
        return []
    running = conn.execute(
        select(campaign_rows.c.id, campaign_rows.c.name)
        .where(
            campaign_rows.c.advertiser_id == owner, campaign_rows.c.status == "launched",
            campaign_rows.c.kind == "campaign", campaign_rows.c.finished_at.is_(None),
            campaign_rows.c.paused_at.is_(None),
        )
        .order_by(campaign_rows.c.id)
        .with_for_update()
    ).all()  # fmt: skip
    rate = per_thousand(complaints, sent)
    paused = []
    for campaign_id, name in running:
        conn.execute(
            update(campaign_rows)
            .where(campaign_rows.c.id == campaign_id, campaign_rows.c.paused_at.is_(None))
            .values(paused_at=now)
        )
        held = conn.execute(
            update(outbox)
            .where(outbox.c.campaign_id == campaign_id, outbox.c.state == "queued",
                   outbox.c.advertiser_id == owner)
            .values(state="paused", updated_at=now)
        ).rowcount  # fmt: skip
        done = Paused(advertiser.slug, campaign_id, name, int(held or 0), complaints, sent, rate,
                      policy.per_1000)  # fmt: skip
        audit.append(
            conn, actor=ctx.actor, action="campaign.pause", advertiser_id=owner,
            details={
                "campaign": audit.without_phones(name), "campaign_id": campaign_id,
                "held": done.held, "complaints": complaints, "sent": sent,
                "per_1000": rate, "threshold": policy.per_1000,
                "window_days": policy.window_days,
            },
            at=now,
        )  # fmt: skip
        paused.append(done)
    webhooks.emit(conn, [_paused_event(owner, p, now) for p in paused], now)
    return paused


def _paused_event(owner: int, paused: Paused, now: datetime) -> Event:
    return Event(owner, "campaign.paused", {
        "campaign_id": paused.campaign_id, "campaign": paused.campaign,
        "paused_at": now.isoformat(), "reason": "complaint_rate", "held": paused.held,
        "complaints": paused.complaints, "sent": paused.sent, "per_1000": paused.per_1000,
        "threshold": paused.threshold,
    })  # fmt: skip


@dataclass(frozen=True, slots=True)
class Resumed(View):
    campaign: str
    campaign_id: int
    paused_at: datetime
    requeued: int  # messages queued again (those past their send-by expire at their claim)


def resume(
    ctx: Context, *, name: str | None = None, slug: str | None = None,
    campaign_id: int | None = None,
) -> Resumed:  # fmt: skip
    """Resume a campaign paused for its complaint rate (the operator's decision: each entry
    point lets only the operator call it): its waiting messages queued again, audited
    (`campaign.resume`) and told (`campaign.resumed`). ConflictError `not_paused` for a
    campaign that is not paused."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        campaign = campaigns.locate(conn, name=name, slug=slug, campaign_id=campaign_id, lock=True)
        if campaign.paused_at is None or campaign.status != "launched":
            said = TEXTS["not_paused"].format(name=campaign.name)
            raise ConflictError(said, code="not_paused", field="campaign")
        owner = campaign.advertiser.id
        conn.execute(
            update(campaign_rows).where(campaign_rows.c.id == campaign.id).values(paused_at=None)
        )
        requeued = conn.execute(
            update(outbox)
            .where(outbox.c.campaign_id == campaign.id, outbox.c.state == "paused",
                   outbox.c.advertiser_id == owner)
            .values(state="queued", updated_at=now)
        ).rowcount  # fmt: skip
        campaigns.record(
            conn, ctx, campaign, "resume", now, paused_at=campaign.paused_at.isoformat(),
            requeued=int(requeued or 0),
        )  # fmt: skip
        webhooks.emit(conn, [Event(owner, "campaign.resumed", {
            "campaign_id": campaign.id, "campaign": campaign.name, "resumed_at": now.isoformat(),
            "paused_at": campaign.paused_at.isoformat(), "requeued": int(requeued or 0),
        })], now)  # fmt: skip
    return Resumed(campaign.name, campaign.id, campaign.paused_at, int(requeued or 0))


def set_threshold(ctx: Context, *, slug: str, per_1000: float | None) -> ComplaintRates:
    """Give advertiser `slug` its own pause threshold (complaints per 1,000 messages), or
    None to take the operator's again (audited). InvalidInputError `invalid_threshold`."""
    if per_1000 is not None and not 0 < per_1000 <= MAX_THRESHOLD:
        raise InvalidInputError("per_1000", "invalid_threshold", TEXTS["invalid_threshold"])
    now = ctx.now()
    with ctx.engine.begin() as conn:
        advertiser = advertisers.get(conn, slug)
        conn.execute(
            update(advertiser_rows)
            .where(advertiser_rows.c.id == advertiser.id)
            .values(complaints_pause_per_1000=per_1000)
        )
        audit.append(
            conn, actor=ctx.actor, action="advertiser.complaints_threshold",
            advertiser_id=advertiser.id, details={"per_1000": per_1000}, at=now,
        )  # fmt: skip
    return rates(ctx, slug=slug)


# --- the reports kept --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ComplaintReport(View):
    """A report kept: the number by the start of its keyed hash (never in clear)."""

    id: int
    state: str  # matched, unmatched
    reported_at: datetime
    time_given: bool
    sender: str
    phone_ref: str
    excerpt: str | None
    message_id: int | None
    campaign_id: int | None
    campaign: str | None
    origin: str
    received_at: datetime

    @property
    def reported_on(self) -> date:
        """The day it was reported, in Paris."""
        return self.reported_at.astimezone(PARIS).date()


def list_reports(
    ctx: Context, *, slug: str, state: str | None = None, before: int | None = None,
    limit: int = 100,
) -> list[ComplaintReport]:  # fmt: skip
    """Advertiser `slug`'s reports, newest first (`before`: older than this id), of one
    state (matched, unmatched) or both."""
    c = complaint_reports.c
    with reader(ctx.engine) as conn:
        advertiser = advertisers.get(conn, slug)
        query = (
            select(complaint_reports, campaign_rows.c.name)
            .outerjoin(
                campaign_rows,
                (campaign_rows.c.id == c.campaign_id)
                & (campaign_rows.c.advertiser_id == advertiser.id),
            )
            .where(c.advertiser_id == advertiser.id)
            .order_by(c.id.desc())
            .limit(limit)
        )
        if state is not None:
            query = query.where(c.state == state)
        if before is not None:
            query = query.where(c.id < before)
        rows = conn.execute(query).all()
    return [
        ComplaintReport(
            id=r.id, state=r.state, reported_at=r.reported_at, time_given=r.time_given,
            sender=r.sender, phone_ref=bytes(r.phone_hash).hex()[:16] if r.phone_hash else "",
            excerpt=r.excerpt, message_id=r.outbox_id, campaign_id=r.campaign_id,
            campaign=r.name, origin=r.origin, received_at=r.received_at,
        )
        for r in rows
    ]  # fmt: skip


def unattributed(ctx: Context, *, since: datetime | None = None) -> int:
    """Reports no advertiser owns the sender of (the operator's to look into)."""
    c = complaint_reports.c
    query = select(func.count()).select_from(complaint_reports).where(c.advertiser_id.is_(None))
    if since is not None:
        query = query.where(c.reported_at >= since)
    with reader(ctx.engine) as conn:
        return int(conn.execute(query).scalar_one())


def forget(conn: Connection, advertiser: Advertiser, numbers: Iterable[str]) -> int:
    """An erasure: the excerpts of the numbers' reports at `advertiser` go (the reports stay,
    counted, by the numbers' keyed hashes). Returns how many were blanked."""
    c = complaint_reports.c
    hashes = [phone_hash(advertiser, e164) for e164 in numbers]
    if not hashes:
        return 0
    return int(
        conn.execute(
            update(complaint_reports)
            .where(c.advertiser_id == advertiser.id, c.phone_hash.in_(hashes))
            .values(excerpt=None)
        ).rowcount
        or 0
    )
