"""A launched campaign through the real services (advertiser, contact import, plan, launch), for
the dispatch tests and benches/bench_dispatch.py."""

import csv
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tambour.rules.codes import Nature
from tambour.services import advertisers, campaigns, importer, planner
from tambour.services.context import Context

STOP_NUMBER = "36111"
SENDER = "MLUMIERE"
TEXT = "Bonjour {first_name|}, -20% sur nos luminaires ce week-end. Maison Lumière"


def mobile(index: int) -> str:
    """The index-th of a block of metropolitan mobile numbers (+33 6 10 00 00 00 onwards)."""
    return f"+336{10_000_000 + index:08d}"


def write_contacts(
    path: Path, numbers: Sequence[str], postal_code: str = "75011", consent_at: str = "2026-01-05"
) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["phone", "first_name", "postal_code", "consent", "consent_at", "consent_method",
             "consent_checkbox_prechecked", "consent_source", "consent_proof", "commande"]
        )  # fmt: skip
        for index, number in enumerate(numbers):
            writer.writerow(
                [number, f"Léa{index % 7}", postal_code, "oui", consent_at, "web_form", "non",
                 "https://exemple.fr/inscription", f"form #{index}", f"CMD-{index}"]
            )  # fmt: skip
    return path


def context(engine: Engine, now: datetime | Callable[[], datetime]) -> Context:
    clock = now if callable(now) else (lambda: now)
    return Context(engine=engine, actor="test:dispatch", clock=clock)


def ensure_advertiser(
    engine: Engine, now: datetime, slug: str = "maison-lumiere", stop_number: str = STOP_NUMBER
) -> None:
    ctx = context(engine, now)
    if any(a.slug == slug for a in advertisers.list_all(ctx)):
        return
    advertisers.create(
        ctx, slug=slug, name="Maison Lumière SAS", senders=[SENDER], stop_number=stop_number,
        categories=["luminaires"],
    )  # fmt: skip


def launched_campaign(
    engine: Engine,
    tmp_path: Path,
    numbers: Sequence[str],
    *,
    now: datetime,
    name: str = "soldes",
    text: str = TEXT,
    slug: str = "maison-lumiere",
    start: datetime | None = None,
    send_by: datetime | None = None,
    postal_code: str = "75011",
    nature: str = "commercial",
    consent_at: str = "2026-01-05",
    ab: dict[str, Any] | None = None,
) -> campaigns.Launched:
    """Import `numbers` (consenting, each with an order `commande`), plan a campaign to them
    and launch it, at `now`. A transactional campaign names `commande` as its transaction."""
    ensure_advertiser(engine, now, slug)
    ctx = context(engine, now)
    path = write_contacts(tmp_path / f"{slug}-{name}.csv", numbers, postal_code, consent_at)
    importer.import_contacts(ctx, slug=slug, path=path, workers=1)
    campaigns.create(
        ctx, slug=slug, name=name, nature=Nature(nature), sender=SENDER, text=text,
        start=start, send_by=send_by,
        transaction_field="commande" if nature == "transactional" else None, **(ab or {}),
    )  # fmt: skip
    planner.plan(ctx, name=name, slug=slug, workers=1)
    return campaigns.launch(ctx, name=name, slug=slug)


def paris(text: str) -> datetime:
    """An instant written in Paris time, as UTC."""
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Europe/Paris")).astimezone(UTC)


def record_only_config(directory: Path, kind: str = "record-only") -> Path:
    """A configuration naming the record-only transport (it sends nothing), which writes what
    it takes to `recorded.jsonl` beside it; `kind = "outbox"` is its former name."""
    path = directory / f"{kind}.toml"
    path.write_text(
        f'[transport]\nkind = "{kind}"\npath = "{directory / "recorded.jsonl"}"\n',
        encoding="utf-8",
    )
    return path
