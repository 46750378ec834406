"""The demo: a sample advertiser, the bundled canonical contact file and three sample campaigns,
decided by the pure core. Later issues grow it into the whole platform's main job."""

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tambour.contacts.ledger import facts_of_row, profile_of
from tambour.contacts.ledger import personalization as ledger_personalization
from tambour.contacts.row import CanonicalRow, parse_row
from tambour.rules.codes import Channel, Nature
from tambour.rules.content import ContentCheck, check_content
from tambour.rules.decision import Decision, decide_all
from tambour.rules.facts import AdvertiserFacts, CampaignFacts
from tambour.rules.fold import fold_set
from tambour.rules.template import field_key
from tambour.sms.text import count_text

if TYPE_CHECKING:
    from tambour.services.campaigns import Campaign
    from tambour.services.importer import ImportSummary

PARIS = ZoneInfo("Europe/Paris")
# Good Friday 2027, 10:00 in Paris: a holiday in Alsace-Moselle and Polynésie, night overseas.
DEMO_START = datetime(2027, 3, 26, 10, 0, tzinfo=PARIS)
# The commercial campaign must be out by Saturday 18:00 in Paris.
SEND_BY_AFTER = timedelta(days=1, hours=8)

SAMPLE_ADVERTISER = AdvertiserFacts(
    slug="maison-lumiere",
    name="Maison Lumière SAS",
    senders=("MLUMIERE",),
    stop_number="36111",
    categories=fold_set(["luminaires", "décoration"]),
)


@dataclass(frozen=True, slots=True)
class SampleCampaign:
    name: str
    sender: str
    text: str
    facts: CampaignFacts


def sample_campaigns(start: datetime) -> tuple[SampleCampaign, ...]:
    commercial = CampaignFacts(
        nature=Nature.COMMERCIAL,
        channel=Channel.SMS,
        start=start,
        categories=fold_set(["Luminaires"]),
        professions=fold_set(["architecture", "Décoration intérieure"]),
        send_by=start + SEND_BY_AFTER,
    )
    return (
        SampleCampaign(
            "Printemps -20%",
            "MLUMIERE",
            "Bonjour {first_name|}, c’est le printemps : -20% sur nos luminaires à "
            "{ville|votre boutique} jusqu'à samedi ! maisonlumiere.fr/printemps",
            commercial,
        ),
        SampleCampaign(
            "Collecte solidaire",
            "MLUMIERE",
            "Maison Lumière collecte vos lampes usagées pour l'association Lumière pour tous, "
            "samedi en boutique.",
            CampaignFacts(nature=Nature.NON_COMMERCIAL, channel=Channel.SMS, start=start),
        ),
        SampleCampaign(
            "Commande prête",
            "MLUMIERE",
            "Bonjour {first_name|}, votre commande Maison Lumière {commande} est prête en "
            "boutique.",
            CampaignFacts(
                nature=Nature.TRANSACTIONAL,
                channel=Channel.SMS,
                start=start,
                transaction_field="commande",
            ),
        ),
    )


@dataclass(frozen=True, slots=True)
class DemoRow:
    line: int
    row: CanonicalRow
    decision: Decision
    text: str | None  # the exact message for a send


@dataclass(frozen=True, slots=True)
class DemoResult:
    campaign: SampleCampaign
    content: ContentCheck
    rows: tuple[DemoRow, ...]

    @property
    def summary(self) -> Counter[str]:
        return Counter(f"{r.decision.decision}:{r.decision.code}" for r in self.rows)

    @property
    def segments(self) -> int:
        return sum(count_text(r.text).segments for r in self.rows if r.text is not None)


def sample_rows() -> Iterator[tuple[int, CanonicalRow]]:
    source = resources.files("tambour") / "data" / "sample_contacts.csv"
    with source.open("rb") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as handle:
        for line, cells in enumerate(csv.DictReader(handle), start=2):
            row, errors = parse_row(cells)
            if row is None:  # the bundled file is valid; say so loudly if it ever is not
                raise ValueError(f"sample_contacts.csv line {line}: {'; '.join(map(str, errors))}")
            yield line, row


def personalization(row: CanonicalRow) -> dict[str, str]:
    return ledger_personalization(profile_of(row))


def run_campaign(campaign: SampleCampaign, now: datetime) -> DemoResult:
    content = check_content(
        text=campaign.text,
        sender=campaign.sender,
        nature=campaign.facts.nature,
        channel=campaign.facts.channel,
        advertiser=SAMPLE_ADVERTISER,
        transaction_field=campaign.facts.transaction_field,
    )
    rows = list(sample_rows())
    field = campaign.facts.transaction_field
    key = field_key(field) if field else None
    facts = (
        facts_of_row(r, transaction_reference=personalization(r).get(key) if key else None)
        for _, r in rows
    )
    decided = decide_all(facts, campaign.facts, SAMPLE_ADVERTISER, now)
    results = []
    for (line, row), (_, decision) in zip(rows, decided, strict=True):
        text = None
        if decision.send:
            text = content.final_text(content.template.render(personalization(row)))
        results.append(DemoRow(line, row, decision, text))
    return DemoResult(campaign, content, tuple(results))


def run_demo(start: datetime = DEMO_START) -> tuple[DemoResult, ...]:
    return tuple(run_campaign(c, start) for c in sample_campaigns(start))


# --- the same story in a real ledger (`make demo`) ------------------------------------------

# The demo's clock: the day before the sample campaign, whatever today is, so that every run
# plans the same way.
LEDGER_DEMO_NOW = DEMO_START - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class LedgerDemo:
    database: Path
    imported: "ImportSummary"
    campaign: "Campaign"


def run_ledger_demo(database: Path) -> LedgerDemo:
    """A fresh SQLite ledger at `database`: the sample advertiser, the bundled sample file
    imported, the commercial sample campaign created and planned (rejects beside it)."""
    from tambour.services import advertisers, campaigns, importer, planner
    from tambour.services.context import Context
    from tambour.store.engine import make_engine
    from tambour.store.schema import upgrade

    rejects = database.with_name(database.stem + ".rejects.csv")
    for leftover in (database, database.with_name(database.name + "-wal"),
                     database.with_name(database.name + "-shm"), rejects):  # fmt: skip
        leftover.unlink(missing_ok=True)  # the demo's own files, made again below
    engine = make_engine(f"sqlite:///{database}", pooled=False)
    upgrade(engine)
    ctx = Context(engine, actor="demo", clock=lambda: LEDGER_DEMO_NOW)
    advertiser = SAMPLE_ADVERTISER
    advertisers.create(
        ctx, slug=advertiser.slug, name=advertiser.name, senders=list(advertiser.senders),
        stop_number=advertiser.stop_number or "", categories=["luminaires", "décoration"],
    )  # fmt: skip
    sample = sample_campaigns(DEMO_START)[0]
    source = resources.files("tambour") / "data" / "sample_contacts.csv"
    with resources.as_file(source) as path:
        imported = importer.import_contacts(
            ctx, slug=advertiser.slug, path=path, rejects_path=rejects, workers=0
        )
    campaigns.create(
        ctx, slug=advertiser.slug, name=sample.name, nature=sample.facts.nature,
        channel=sample.facts.channel, sender=sample.sender, text=sample.text,
        categories=["Luminaires"], professions=["architecture", "Décoration intérieure"],
        start=sample.facts.start, send_by=sample.facts.send_by,
    )  # fmt: skip
    planned = planner.plan(ctx, name=sample.name, slug=advertiser.slug)
    engine.dispose()
    return LedgerDemo(database, imported, planned)
