"""A generated canonical contact file (rules.md section 2), written row by row in constant memory.

Realistic for a French advertiser: unique mobiles in the usual notations (a few overseas, a few
landlines and broken numbers), most rows with a consent or a collection record, some customers,
some professionals, some opt-outs, personalization columns, and a small share of bad cells.
Usage as a script: python benches/contact_file.py OUT.csv [ROWS]
"""

import csv
import random
import sys
from pathlib import Path

from tambour.contacts.row import CANONICAL_COLUMNS

EXTRA = ("ville", "code_promo")
FIRST = ("Léa", "Jean", "Marie", "Hélène", "François", "Chloé", "Benoît", "Zoé", "Anaïs", "Théo")
LAST = ("Martin", "Bernard", "Dubois", "Lefèvre", "Mercier", "Fontaine", "Garnier", "Guérin")
CITIES = ("Paris", "Lyon", "Strasbourg", "Metz", "Fort-de-France", "Saint-Denis", "Besançon")
POSTAL = ("75011", "67000", "57000", "69003", "13008", "33000", "97200", "")
CATEGORIES = ("luminaires", "décoration", "textile", "ampoules")


def _phone(index: int, rng: random.Random) -> str:
    n = f"{(60 + index % 9) if index % 9 != 3 else 73}{index:07d}"  # unique per index
    r = rng.random()
    if r < 0.005:
        return f"0{n[:5]}"  # too short: rejected
    if r < 0.35:
        return "0" + " ".join([n[0]] + [n[i : i + 2] for i in range(1, 9, 2)])
    if r < 0.65:
        return "+33" + n
    return "0" + n


def _date(rng: random.Random, bad: float = 0.0005) -> str:
    if rng.random() < bad:
        return "31/02/2025"  # not a date: rejected
    y, m, d = rng.randrange(2023, 2026), rng.randrange(1, 13), rng.randrange(1, 29)
    if rng.random() < 0.5:
        return f"{y}-{m:02d}-{d:02d}"
    return f"{y}-{m:02d}-{d:02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00"


def row(index: int, rng: random.Random) -> dict[str, str]:
    cells = dict.fromkeys((*CANONICAL_COLUMNS, *EXTRA), "")
    cells.update(
        phone=_phone(index, rng),
        external_id=f"C{index:07d}",
        first_name=rng.choice(FIRST),
        last_name=rng.choice(LAST),
        postal_code=rng.choice(POSTAL),
        tags=rng.choice(("newsletter", "vip;newsletter", "magasin", "")),
        ville=rng.choice(CITIES),
    )
    if rng.random() < 0.1:
        cells.update(kind="professional", company="Atelier Lumière", profession_tags="architecture")
    if rng.random() < 0.6:
        cells.update(
            consent="oui",
            consent_at=_date(rng),
            consent_method="web_form",
            consent_checkbox_prechecked="non",
            consent_bundled_with_terms="non",
            consent_source="https://exemple.fr/inscription",
            consent_proof=f"form-v3#{index:x}",
        )
    if rng.random() < 0.7:
        cells.update(
            collected_at=_date(rng), informed_at_collection="oui",
            objection_offered_at_collection=rng.choice(("oui", "non")),
        )  # fmt: skip
    if rng.random() < 0.3:
        cells.update(
            last_purchase_at=_date(rng),
            purchased_categories=";".join(rng.sample(CATEGORIES, rng.randrange(1, 3))),
        )
    if rng.random() < 0.2:
        cells.update(account_created_at=_date(rng))
    if rng.random() < 0.4:
        cells.update(last_activity_at=_date(rng))
    if rng.random() < 0.03:
        cells.update(opted_out="oui", opted_out_at=_date(rng), opt_out_source="sms_stop")
    if rng.random() < 0.05:
        cells.update(code_promo=f"PROMO{index % 1000}")
    return cells


def write(path: Path, rows: int, seed: int = 20261128) -> Path:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*CANONICAL_COLUMNS, *EXTRA], delimiter=";")
        writer.writeheader()
        for index in range(rows):
            writer.writerow(row(index, rng))
    return path


if __name__ == "__main__":
    write(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)
