"""Rows per second of tambour.contacts.reader.read_contacts on a generated canonical file.

The importer must take at least 30,000 rows/s end to end, database included, on a slow machine:
the reader's own overhead over `parse_row` must stay small. Prints, for the same file, bare
`csv.reader`, the reader with `parse_row` stubbed out (its own overhead), and `read_contacts`.
Run: .venv/bin/python benches/bench_reader.py [rows] [--profile FILE]
  --profile FILE writes the cProfile top 15 of `parse_row` over the file's rows to FILE.
"""

import cProfile
import csv
import io
import pstats
import random
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from unittest import mock

from tambour.contacts import reader
from tambour.contacts.row import CANONICAL_COLUMNS, CanonicalRow, FieldError, parse_row

EXTRA = ("ville", "code_promo")
FIRST = (
    "Léa", "Jean", "Marie", "Hélène", "François", "Chloé", "Benoît", "Zoé", "Noël", "Anaïs",
    "Gaëlle", "Jérôme", "Inès", "Loïc", "Cécile", "Théo", "Maëlys", "Raphaël", "Œnone", "Joël",
)  # fmt: skip
LAST = (
    "Martin", "Bernard", "Dubois", "Lefèvre", "Mercier", "Lemaître", "Fontaine", "Chevalier",
    "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Schœlcher", "Dupont-Aignan",
)  # fmt: skip
COMPANIES = ("", "", "", "Boulangerie Pâtissière SARL", "Atelier Lumière", "Cabinet Vétérinaire")
POSTAL_CODES = ("75011", "67000", "57000", "69003", "13008", "1000", "97200", "2A004")
CITIES = ("Paris", "Lyon", "Strasbourg", "Metz", "Fort-de-France", "Saint-Denis", "Besançon")


def phone(rng: random.Random) -> str:
    # Metropolitan mobile ranges: 06 (but 0639 and 069x, overseas) and 073 to 079.
    lead = rng.choice(("60", "61", "62", "64", "65", "66", "67", "68", "73", "75", "78"))
    n = f"{lead}{rng.randrange(10**7):07d}"
    r = rng.random()
    if r < 0.02:
        return f"0{n[:5]}"  # invalid: too short
    if r < 0.05:
        return f"01 {rng.randrange(10**8):08d}"  # landline
    if r < 0.08:
        return f"0690 {rng.randrange(10**6):06d}"  # Guadeloupe mobile
    if r < 0.40:
        return "0" + " ".join([n[0]] + [n[i : i + 2] for i in range(1, 9, 2)])
    if r < 0.70:
        return "+33" + n
    if r < 0.90:
        return "0" + n
    return "33" + n  # a spreadsheet stripped the +


def when(rng: random.Random) -> str:
    y, m, d = rng.randrange(2019, 2026), rng.randrange(1, 13), rng.randrange(1, 29)
    h, mi = rng.randrange(0, 24), rng.randrange(60)
    r = rng.random()
    if r < 0.01:
        return "31/02/2024"  # not a date
    if r < 0.40:
        return f"{y}-{m:02d}-{d:02d}"
    if r < 0.65:
        return f"{y}-{m:02d}-{d:02d}T{h:02d}:{mi:02d}:00"
    if r < 0.80:
        return f"{y}-{m:02d}-{d:02d}T{h:02d}:{mi:02d}:00+01:00"
    return f"{d:02d}/{m:02d}/{y} {h:02d}:{mi:02d}"


def maybe(rng: random.Random, p: float, value: Callable[[], str]) -> str:
    return value() if rng.random() < p else ""


def record(rng: random.Random) -> list[str]:
    full = rng.random() < 0.15  # some rows have (almost) everything
    p = 0.9 if full else 0.25
    yes_no = ("oui", "non", "yes", "no", "1", "0", "true")
    cells = {
        "phone": phone(rng),
        "external_id": maybe(rng, 0.6, lambda: f"C{rng.randrange(10**7)}"),
        "first_name": maybe(rng, 0.85, lambda: rng.choice(FIRST)),
        "last_name": maybe(rng, 0.8, lambda: rng.choice(LAST)),
        "company": maybe(rng, p, lambda: rng.choice(COMPANIES)),
        "kind": maybe(rng, p, lambda: rng.choice(("person", "professional", "particulier"))),
        "profession_tags": maybe(rng, p / 2, lambda: "it;achats"),
        "postal_code": maybe(
            rng, 0.6, lambda: f"{rng.choice((75, 67, 57, 69, 13, 1))}0{rng.randrange(10, 99)}"
        ),
        "tags": maybe(rng, 0.5, lambda: rng.choice(("vip", "newsletter;soldes", "fidélité"))),
        "consent": maybe(rng, 0.7, lambda: rng.choice(yes_no)),
        "consent_at": maybe(rng, 0.6, lambda: when(rng)),
        "consent_channels": maybe(rng, p, lambda: rng.choice(("sms", "sms;email", "fax"))),
        "consent_method": maybe(rng, p, lambda: rng.choice(("web_form", "paper_form"))),
        "consent_checkbox_prechecked": maybe(rng, p, lambda: rng.choice(yes_no)),
        "consent_bundled_with_terms": maybe(rng, p, lambda: rng.choice(yes_no)),
        "consent_advertiser": maybe(rng, p / 3, lambda: "Maison Lumière"),
        "consent_wording": maybe(rng, p, lambda: "J'accepte de recevoir des offres par SMS"),
        "consent_source": maybe(rng, p, lambda: "https://exemple.fr/inscription"),
        "consent_proof": maybe(rng, p / 2, lambda: f"sha256:{rng.getrandbits(128):032x}"),
        "collected_at": maybe(rng, 0.5, lambda: when(rng)),
        "collected_by": maybe(rng, p / 3, lambda: "advertiser"),
        "informed_at_collection": maybe(rng, p, lambda: rng.choice(yes_no)),
        "objection_offered_at_collection": maybe(rng, p, lambda: rng.choice(yes_no)),
        "third_party_information_proof": maybe(rng, p / 4, lambda: "courrier-2023.pdf"),
        "account_created_at": maybe(rng, p, lambda: when(rng)),
        "last_purchase_at": maybe(rng, 0.4, lambda: when(rng)),
        "purchased_categories": maybe(rng, 0.3, lambda: "luminaires;déco"),
        "opted_out": maybe(rng, p / 2, lambda: rng.choice(("non", "no", "oui"))),
        "opted_out_at": maybe(rng, p / 6, lambda: when(rng)),
        "opt_out_source": maybe(rng, p / 6, lambda: "sms_stop"),
        "last_activity_at": maybe(rng, 0.4, lambda: when(rng)),
        "member_since": maybe(rng, p / 8, lambda: when(rng)),
        "ville": maybe(rng, 0.5, lambda: rng.choice(CITIES)),
        "code_promo": maybe(rng, 0.2, lambda: f"ETE{rng.randrange(100)}"),
    }
    return list(cells.values())


def generate(path: Path, rows: int) -> None:
    rng = random.Random(20260101)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow((*CANONICAL_COLUMNS, *EXTRA))
        for _ in range(rows):
            writer.writerow(record(rng))


def timed(run: Callable[[Path], int], path: Path) -> tuple[int, float]:
    start = time.perf_counter()
    count = run(path)
    return count, time.perf_counter() - start


def bare_csv(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as f:
        return sum(1 for _ in csv.reader(f)) - 1


def read_all(path: Path) -> int:
    return sum(1 for _ in reader.read_contacts(path))


def reader_overhead(path: Path) -> int:
    """read_contacts with parse_row replaced by a constant: the reader's own cost."""
    sample = next(r for _, r, _ in reader.read_contacts(path) if r is not None)

    def stub(cells: Mapping[str, str | None]) -> tuple[CanonicalRow | None, list[FieldError]]:
        return sample, []

    with mock.patch.object(reader, "parse_row", stub):
        return read_all(path)


def profile_parse_row(path: Path, out: Path) -> None:
    with path.open(encoding="utf-8", newline="") as f:
        rows = csv.reader(f)
        names = next(rows)
        dicts = [{k: v for k, v in zip(names, cells, strict=True) if v} for cells in rows]
    profiler = cProfile.Profile()
    profiler.enable()
    for cells in dicts:
        parse_row(cells)
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
    out.write_text(text.getvalue(), encoding="utf-8")


def main() -> None:
    args = sys.argv[1:]
    profile_out = None
    if "--profile" in args:
        at = args.index("--profile")
        profile_out = Path(args[at + 1])
        del args[at : at + 2]
    rows = int(args[0]) if args else 200_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "contacts.csv"
        generate(path, rows)
        size = path.stat().st_size / 2**20
        print(f"{rows:,} rows, {len(CANONICAL_COLUMNS) + len(EXTRA)} columns, {size:.1f} MiB")
        runs = {
            "bare csv.reader": bare_csv,
            "read_contacts, parse_row stubbed (reader overhead)": reader_overhead,
            "read_contacts": read_all,
        }
        for name, run in runs.items():
            count, seconds = timed(run, path)
            print(f"{name:52} {count / seconds:>10,.0f} rows/s  ({seconds:.2f} s)")
        fmt = reader.sniff(path)
        with reader.RejectsWriter(Path(tmp) / "rejects.csv", fmt) as rejects:
            for _, _, problems in reader.read_contacts(path):
                rejects.write(problems)
        print(f"rejected rows: {rejects.count:,} ({rejects.count / rows:.1%}):", end=" ")
        print(", ".join(f"{k} {n:,}" for k, n in rejects.by_reason.most_common(6)))
        if profile_out is not None:
            profile_parse_row(path, profile_out)
            print(f"parse_row profile written to {profile_out}")


if __name__ == "__main__":
    main()
