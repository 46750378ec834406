"""Rows of a canonical contact file as advertisers send them, for tests that need many."""

import random

from tambour.contacts.row import CANONICAL_COLUMNS

CONTACT_COLUMNS = (*CANONICAL_COLUMNS, "ville")


def contact_row(index: int, rng: random.Random) -> dict[str, str]:
    """A row as advertisers' files have them (cf. benches/contact_file.py)."""
    cells = dict.fromkeys(CANONICAL_COLUMNS, "")
    cells.update(
        phone=rng.choice(("06 12 34 {:02d} {:02d}", "+3378123{:02d}{:02d}", "0690{:02d}{:02d}55"))
        .format(index // 100 % 100, index % 100),
        external_id=f"C{index:07d}", first_name=rng.choice(("Léa", "Zoë", "Jean")),
        last_name="Guérin", postal_code=rng.choice(("75011", "97200", "")),
        tags=rng.choice(("vip;newsletter", "")),
    )  # fmt: skip
    if rng.random() < 0.6:
        cells.update(
            consent="oui", consent_at=f"2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
            f"T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00", consent_method="web_form",
            consent_checkbox_prechecked="non", consent_source="https://exemple.fr/inscription",
            consent_proof=f'form "v3" #{index:x}', consent_channels=rng.choice(("", "sms;mms")),
        )  # fmt: skip
    if rng.random() < 0.7:
        cells.update(collected_at="2024-06-01", informed_at_collection="oui",
                     objection_offered_at_collection=rng.choice(("oui", "non")))  # fmt: skip
    if rng.random() < 0.3:
        cells.update(last_purchase_at="2025-03-30", purchased_categories="luminaires;textile")
    if rng.random() < 0.2:
        cells.update(kind="professionnel", company="Atelier Lumière", profession_tags="architecte")
    if rng.random() < 0.1:
        cells.update(opted_out="oui", opt_out_source=rng.choice(("sms_stop", "complaint_33700")))
    cells["ville"] = rng.choice(("Lyon", "", "Saint-Étienne"))
    return cells
