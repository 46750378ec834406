"""The demo: a sample advertiser, the bundled canonical contact file and three sample campaigns,
decided by the pure core. Later issues grow it into the whole platform's main job."""

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

from tambour.contacts.ledger import facts_of_row
from tambour.contacts.row import CanonicalRow, parse_row
from tambour.rules.codes import Channel, Nature
from tambour.rules.content import ContentCheck, check_content
from tambour.rules.decision import Decision, decide_all
from tambour.rules.facts import AdvertiserFacts, CampaignFacts
from tambour.rules.fold import fold_set
from tambour.rules.template import field_key
from tambour.sms.text import count_text

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
            "Bonjour {first_name|}, votre commande Maison Lumière est prête en boutique.",
            CampaignFacts(nature=Nature.TRANSACTIONAL, channel=Channel.SMS, start=start),
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
    values = {field_key(k): v for k, v in row.extra.items()}
    for name in ("first_name", "last_name", "company", "external_id", "postal_code"):
        value = getattr(row, name)
        if value:
            values[name] = value
    return values


def run_campaign(campaign: SampleCampaign, now: datetime) -> DemoResult:
    content = check_content(
        text=campaign.text,
        sender=campaign.sender,
        nature=campaign.facts.nature,
        channel=campaign.facts.channel,
        advertiser=SAMPLE_ADVERTISER,
    )
    rows = list(sample_rows())
    decided = decide_all((facts_of_row(r) for _, r in rows), campaign.facts, SAMPLE_ADVERTISER, now)
    results = []
    for (line, row), (_, decision) in zip(rows, decided, strict=True):
        text = None
        if decision.send:
            text = content.final_text(content.template.render(personalization(row)))
        results.append(DemoRow(line, row, decision, text))
    return DemoResult(campaign, content, tuple(results))


def run_demo(start: datetime = DEMO_START) -> tuple[DemoResult, ...]:
    return tuple(run_campaign(c, start) for c in sample_campaigns(start))
