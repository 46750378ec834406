"""Reading a stored plan back: the report's figures as SQL aggregates (one grouped scan, never
the rows in memory), the rows streamed in contact order, and a few rendered samples."""

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Integer, column, select, text

from tambour.services.context import ConflictError, Context, InvalidInputError
from tambour.store.engine import reader
from tambour.store.tables import UtcDateTime, plan_rows

if TYPE_CHECKING:
    from tambour.services.campaigns import Campaign

UNLOCATED = "unknown"  # the territory of rows excluded before the number was located
ROW_BATCH = 2000


def _mine(campaign_id: int, generation: int) -> ColumnElement[bool]:
    return (plan_rows.c.campaign_id == campaign_id) & (plan_rows.c.generation == generation)


def local_iso(instant: datetime | None, zone: str | None) -> str | None:
    """An instant in the recipient's own time, ISO 8601 with its offset."""
    if instant is None:
        return None
    return instant.astimezone(ZoneInfo(zone)).isoformat() if zone else instant.isoformat()


def _ranked(counts: Counter[str]) -> dict[str, int]:
    """Largest first, then by name: the same plan always prints the same way."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


_GROUP_KEYS = (
    plan_rows.c.decision, plan_rows.c.basis, plan_rows.c.reason, plan_rows.c.deferral,
    plan_rows.c.territory, plan_rows.c.timezone, plan_rows.c.encoding, plan_rows.c.segments,
    plan_rows.c.ucs2_chars,
)  # fmt: skip
GroupKey = tuple[Any, ...]  # the values of _GROUP_KEYS
Groups = dict[GroupKey, tuple[int, datetime | None]]  # count, earliest send time
_NAMES = ", ".join(c.name for c in _GROUP_KEYS)
# As text: asked once per chunk of a plan, where building the expression cost more than the
# query. contact_id is the last column of the primary key: a range scan.
_GROUPS = text(
    f"SELECT {_NAMES}, count(*) AS n, min(send_at) AS first FROM plan_rows "
    "WHERE campaign_id = :campaign AND generation = :generation "
    f"AND contact_id >= :lo AND contact_id < :hi GROUP BY {_NAMES}"
).columns(
    *(column(c.name, c.type) for c in _GROUP_KEYS),
    column("n", Integer()),
    column("first", UtcDateTime()),
)
_ALL = (0, 1 << 62)


def groups(
    conn: Connection, campaign_id: int, generation: int, contacts: tuple[int, int] = _ALL
) -> Groups:
    """The plan's rows counted by everything the report shows, with their earliest send time;
    `contacts` restricts it to a [lo, hi) range of contact ids (one chunk of a plan)."""
    found = conn.execute(
        _GROUPS,
        {"campaign": campaign_id, "generation": generation, "lo": contacts[0], "hi": contacts[1]},
    )
    return {tuple(row[:-2]): (row[-2], row[-1]) for row in found}


def merge(total: Groups, more: Groups) -> None:
    """Add the counts of `more` to `total` (chunks of one plan)."""
    for key, (n, first) in more.items():
        seen = total.get(key)
        if seen is None:
            total[key] = (n, first)
        else:
            earliest = (
                first if seen[1] is None or (first is not None and first < seen[1]) else seen[1]
            )
            total[key] = (seen[0] + n, earliest)


def summary(conn: Connection, campaign_id: int, generation: int) -> dict[str, Any]:
    return summarize(groups(conn, campaign_id, generation))


def send_days(grouped: Groups) -> list[date]:
    """The local days the plan's messages first leave on, earliest first: each group's first
    send time in its recipients' own zone (held sends leave on later days)."""
    days = {
        first.astimezone(ZoneInfo(key[5])).date() if key[5] else first.date()
        for key, (_n, first) in grouped.items()
        if key[0] == "send" and first is not None
    }
    return sorted(days)


def summarize(grouped: Groups) -> dict[str, Any]:
    """Counts by decision, basis, reason, deferral and territory, message parts by encoding and
    by size, the characters that force UCS-2, and the first send time of each territory."""
    decisions: Counter[str] = Counter()
    bases: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    deferrals: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    forcing: Counter[str] = Counter()
    encodings: dict[str, dict[str, int]] = {}
    territories: dict[str, dict[str, Any]] = {}
    firsts: dict[str, tuple[datetime, str | None]] = {}
    parts = 0
    for key, (n, first) in grouped.items():
        decision, basis, reason, deferral, territory, zone, encoding, segments, chars = key
        decisions[decision] += n
        place = territories.setdefault(
            territory or UNLOCATED, {"send": 0, "exclude": 0, "first_send_at": None}
        )
        place[decision] += n
        if decision != "send":
            reasons[reason] += n
            continue
        bases[basis] += n
        if deferral:
            deferrals[deferral] += n
        parts += segments * n
        sizes[str(segments)] += n
        by_encoding = encodings.setdefault(encoding, {"messages": 0, "parts": 0})
        by_encoding["messages"] += n
        by_encoding["parts"] += segments * n
        for char in chars or "":
            forcing[char] += n
        earliest = firsts.get(territory)
        if first is not None and (earliest is None or first < earliest[0]):
            firsts[territory] = (first, zone)
    for territory, (first, zone) in firsts.items():
        territories[territory]["first_send_at"] = local_iso(first, zone)
    return {
        "targeted": decisions.total(),
        "send": decisions["send"],
        "exclude": decisions["exclude"],
        "by_basis": _ranked(bases),
        "by_reason": _ranked(reasons),
        "by_deferral": _ranked(deferrals),
        "by_territory": dict(
            sorted(
                territories.items(),
                key=lambda item: (-item[1]["send"] - item[1]["exclude"], item[0]),
            )
        ),
        "parts": parts,
        "by_encoding": dict(sorted(encodings.items())),
        "by_parts": dict(sorted(sizes.items(), key=lambda item: int(item[0]))),
        "ucs2_chars": _ranked(forcing),
    }


_ROW_COLUMNS = (
    plan_rows.c.e164, plan_rows.c.decision, plan_rows.c.basis, plan_rows.c.reason,
    plan_rows.c.deferral, plan_rows.c.territory, plan_rows.c.timezone, plan_rows.c.send_at,
    plan_rows.c.segments, plan_rows.c.encoding, plan_rows.c.text, plan_rows.c.variant,
    plan_rows.c.ab_group,
)  # fmt: skip


ROW_FIELDS = (
    "phone", "decision", "basis", "reason", "deferral", "territory", "send_at", "segments",
    "encoding", "variant", "text",
)  # fmt: skip


def _row(found: Any) -> dict[str, Any]:
    (e164, decision, basis, reason, deferral, territory, zone, send_at, segments, encoding, text,
     variant, group) = found  # fmt: skip
    return {
        "phone": e164,
        "decision": decision,
        "basis": basis,
        "reason": reason,
        "deferral": deferral,
        "territory": territory,
        "send_at": local_iso(send_at, zone),
        "segments": segments,
        "encoding": encoding,
        # An A/B test: the variant (A-D) of the text; `rest` while the rest waits for the
        # winner's (its text then null); None without a test.
        "variant": variant or group,
        "text": text,  # last: the widest column of the plan's CSV
    }


def rows(conn: Connection, campaign_id: int, generation: int) -> Iterator[dict[str, Any]]:
    """Every row of the plan in contact order, fetched a batch at a time."""
    result = conn.execution_options(yield_per=ROW_BATCH).execute(
        select(*_ROW_COLUMNS).where(_mine(campaign_id, generation)).order_by(plan_rows.c.contact_id)
    )
    for found in result:
        yield _row(found)


def samples(
    conn: Connection, campaign_id: int, generation: int, most_parts: int, count: int = 3
) -> list[dict[str, Any]]:
    """The first sends in contact order, and the first with the most parts (`most_parts`, from
    the summary: looked for in contact order, not by sorting the plan)."""
    columns = (plan_rows.c.contact_id, *_ROW_COLUMNS)
    found = sample_rows(conn, campaign_id, generation, most_parts, columns, count)
    return [_row(r[1:]) for r in found]


def sample_rows(
    conn: Connection,
    campaign_id: int,
    generation: int,
    most_parts: int,
    columns: Sequence[Any],
    count: int,
) -> list[Any]:
    """`columns` of the first `count` sends in contact order, and of the first send with
    `most_parts` parts when none of them has that many (a report shows the longest message)."""
    sends = (
        _mine(campaign_id, generation)
        & (plan_rows.c.decision == "send")
        & plan_rows.c.text.is_not(None)  # an A/B test's rest has none until its winner
    )
    found = list(
        conn.execute(select(*columns).where(sends).order_by(plan_rows.c.contact_id).limit(count))
    )
    if found and all((r.segments or 0) < most_parts for r in found):
        longest = conn.execute(
            select(*columns)
            .where(sends, plan_rows.c.segments == most_parts)
            .order_by(plan_rows.c.contact_id)
            .limit(1)
        ).first()
        if longest is not None:
            found.append(longest)
    return found


def most_parts(summary: dict[str, Any]) -> int:
    """The largest number of parts of a message of the plan (0 without a send)."""
    return max((int(parts) for parts in summary["by_parts"]), default=0)


# --- the use cases: a planned campaign's rows and samples, each read in its own transaction ---


def plan_rows_of(ctx: Context, campaign: "Campaign") -> Iterator[dict[str, Any]]:
    """Every row of the campaign's current plan, in contact order, as JSON data (send times in
    the recipient's own time), streamed: the read stays open until the last row is taken or
    the iterator is closed."""
    assert campaign.plan_generation is not None, "a planned campaign"
    with reader(ctx.engine) as conn:
        yield from rows(conn, campaign.id, campaign.plan_generation)


def samples_of(ctx: Context, campaign: "Campaign") -> list[dict[str, Any]]:
    """The sample messages a plan's report shows (`samples`)."""
    assert campaign.plan_generation is not None and campaign.plan_summary is not None
    with reader(ctx.engine) as conn:
        return samples(
            conn, campaign.id, campaign.plan_generation, most_parts(campaign.plan_summary)
        )


# --- the API's reads: the report of a plan, its rows a page at a time -------------------------

DECISIONS = ("send", "exclude")


@dataclass(frozen=True, slots=True)
class RowsPage:
    """Rows of a plan in contact order; `next_after`: the contact id the next page starts
    after (None on the last page)."""

    rows: list[dict[str, Any]]
    next_after: int | None


def rows_page(
    ctx: Context,
    *,
    slug: str,
    campaign_id: int,
    after: int | None = None,
    limit: int = 50,
    decision: str | None = None,
) -> RowsPage:
    """A page of the current plan of campaign `campaign_id` of advertiser `slug`: `limit`
    rows after contact `after`, of one decision or both. One query on the primary key
    (campaign, generation, contact), in the snapshot the campaign was read in. Refused: a
    campaign not found (NotFoundError), without a plan (ConflictError `plan_missing`)."""
    from tambour.services.campaigns import locate  # campaigns' module reads plans too

    if decision is not None and decision not in DECISIONS:
        said = f"{decision!r} is not a decision (send, exclude)"
        raise InvalidInputError("decision", "unknown_decision", said)
    with reader(ctx.engine) as conn:
        campaign = locate(conn, slug=slug, campaign_id=campaign_id)
        if campaign.plan_generation is None:
            raise _no_plan(campaign)
        where = _mine(campaign.id, campaign.plan_generation)
        if after is not None:
            where = where & (plan_rows.c.contact_id > after)
        if decision is not None:
            where = where & (plan_rows.c.decision == decision)
        found = conn.execute(
            select(plan_rows.c.contact_id, *_ROW_COLUMNS)
            .where(where)
            .order_by(plan_rows.c.contact_id)
            .limit(limit + 1)
        ).all()
    page = found[:limit]
    following = page[-1][0] if len(found) > limit else None
    return RowsPage([_row(r[1:]) for r in page], following)


@dataclass(frozen=True, slots=True)
class PlanReport:
    """What a marketer reads before launching: the plan's stored figures (plan_summary), the
    local days its messages first leave on, and a few sample messages."""

    campaign: "Campaign"
    summary: dict[str, Any]
    send_days: list[date]
    samples: list[dict[str, Any]]


def report(ctx: Context, *, slug: str, campaign_id: int) -> PlanReport:
    """The report of the current plan of campaign `campaign_id` of advertiser `slug`
    (ConflictError `plan_missing` without one): one grouped scan for its send days, one
    indexed read for its samples, in one snapshot with the campaign."""
    from tambour.services.campaigns import locate

    with reader(ctx.engine) as conn:
        campaign = locate(conn, slug=slug, campaign_id=campaign_id)
        generation, summary = campaign.plan_generation, campaign.plan_summary
        if generation is None or summary is None:
            raise _no_plan(campaign)
        days = send_days(groups(conn, campaign.id, generation))
        found = samples(conn, campaign.id, generation, most_parts(summary))
    return PlanReport(campaign, dict(summary), days, found)


def _no_plan(campaign: "Campaign") -> ConflictError:
    return ConflictError(f"{campaign.name!r} has no plan yet", code="plan_missing")
