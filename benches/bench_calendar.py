"""Figures for phone parsing, territory look-up and the sending calendar (not a test).

    .venv/bin/python benches/bench_calendar.py

Each figure is the best of 3 runs, measured with time.perf_counter.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tambour.rules.calendar import check, next_allowed, window_end
from tambour.rules.territory import locate
from tambour.sms.phone import PhoneInfo, _parse_slow, parse_phone


def best_rate(function: Callable[[Any], object], items: Sequence[Any], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        for item in items:
            function(item)
        best = min(best, time.perf_counter() - start)
    return len(items) / best


def french_mobiles(rng: random.Random, count: int) -> list[str]:
    """Allocated metropolitan mobile numbers (06 except 0639/069x, 073 to 079), usual notations."""
    notations = (
        "0{a} {b} {c} {d} {e}",
        "0{a}{b}{c}{d}{e}",
        "0{a}.{b}.{c}.{d}.{e}",
        "+33 {a} {b} {c} {d} {e}",
        "+33{a}{b}{c}{d}{e}",
        "0033{a}{b}{c}{d}{e}",
        "33{a}{b}{c}{d}{e}",
    )
    numbers = []
    for _ in range(count):
        a = rng.choice("67")
        b = rng.choice("0124578" if a == "6" else "3456789") + rng.choice("0123456789")
        c, d, e = (f"{rng.randrange(100):02d}" for _ in range(3))
        numbers.append(rng.choice(notations).format(a=a, b=b, c=c, d=d, e=e))
    return numbers


def french_plan_numbers(
    rng: random.Random, count: int, heads: str, national: bool, keep: Callable[[PhoneInfo], bool]
) -> list[str]:
    """Numbers of the French plan whose NSN starts with one of ``heads`` (comma-separated).

    Usual notations, the national one only (0 + NSN) when ``national``; the numbers ``keep``
    accepts (as the slow path reads them).
    """
    notations: tuple[str, ...] = (
        "0{n} {a} {b} {c} {d}",
        "0{n}{a}{b}{c}{d}",
        "0{n}.{a}.{b}.{c}.{d}",
    )
    if not national:
        notations += ("+33 {n} {a} {b} {c} {d}", "+33{n}{a}{b}{c}{d}", "33{n}{a}{b}{c}{d}")
    choices = heads.split(",")
    numbers: list[str] = []
    while len(numbers) < count:
        head = rng.choice(choices)
        nsn = head + "".join(rng.choice("0123456789") for _ in range(9 - len(head)))
        parts = {"n": nsn[0], "a": nsn[1:3], "b": nsn[3:5], "c": nsn[5:7], "d": nsn[7:9]}
        raw = rng.choice(notations).format(**parts)
        if keep(_parse_slow(raw)):
            numbers.append(raw)
    return numbers


def report(label: str, rate: float, note: str = "") -> None:
    print(f"{label:<50s} {rate:>12,.0f} /s  {note}".rstrip())


def main() -> None:
    rng = random.Random(42)
    mobiles = french_mobiles(rng, 60_000)
    assert all(parse_phone(raw).mobile for raw in mobiles)
    report("parse_phone, fast path (French mobiles)", best_rate(parse_phone, mobiles))
    report("parse_phone, slow path (phonenumbers)", best_rate(_parse_slow, mobiles[:6_000]))
    plan_rng = random.Random(7)  # not rng: the figures below keep their draws
    landlines = french_plan_numbers(
        plan_rng, 6_000, "1,2,3,4,5,9", False, lambda i: i.valid and i.region == "FR"
    )
    report("parse_phone, French landlines and VoIP (01-05, 09)", best_rate(parse_phone, landlines))
    overseas = french_plan_numbers(
        plan_rng, 3_000, "690,691,694,696,697,692,693,639", True, lambda i: i.mobile
    )
    report("parse_phone, overseas mobiles, national notation", best_rate(parse_phone, overseas))
    others = [
        "+262 692 12 34 56",
        "0639 01 23 45",
        "+590 690 00 12 34",
        "01 23 45 67 89",
        "+32 470 12 34 56",
    ]
    report("parse_phone, mixed other numbers", best_rate(parse_phone, others * 1_000))

    phones = [parse_phone(raw) for raw in mobiles[:2_000] + others]
    assert all(phone.valid for phone in phones)
    postal_codes = [None, "75011", "57000", "67000", "13001", "97400", "bad"]
    located: list[tuple[PhoneInfo, str | None]] = [
        (rng.choice(phones), rng.choice(postal_codes)) for _ in range(50_000)
    ]
    report("locate (mixed numbers and postal codes)", best_rate(lambda p: locate(*p), located))

    year = datetime(2026, 1, 1, tzinfo=UTC)
    seconds = 365 * 86_400
    instants = [year + timedelta(seconds=rng.randrange(seconds)) for _ in range(200_000)]
    paris = ZoneInfo("Europe/Paris")
    instants_paris = [instant.astimezone(paris) for instant in instants[:50_000]]
    mobile = parse_phone("06 12 34 56 78")
    cases = {
        "metropole, postal code 75011": locate(mobile, "75011"),
        "metropole, no postal code": locate(mobile),
        "polynesie, 3 zones": locate(parse_phone("+689 87 12 34 56")),
    }
    for label, locality in cases.items():
        for instant in instants[:2_000]:  # the year's schedule is built: a resolved recipient
            next_allowed(instant, locality)
        allowed = sum(next_allowed(i, locality) is i for i in instants) / len(instants)
        rate = best_rate(lambda i, loc=locality: next_allowed(i, loc), instants)
        report(f"next_allowed, {label}", rate, f"({allowed:.0%} of the instants allowed)")
    metro = cases["metropole, no postal code"]
    polynesie = cases["polynesie, 3 zones"]
    report(
        "next_allowed, metropole, Europe/Paris instants",
        best_rate(lambda i: next_allowed(i, metro), instants_paris),
    )
    report(
        "window_end, metropole, no postal code", best_rate(lambda i: window_end(i, metro), instants)
    )
    report("check (reasons), metropole", best_rate(lambda i: check(i, metro), instants[:50_000]))
    report(
        "check (reasons), polynesie", best_rate(lambda i: check(i, polynesie), instants[:50_000])
    )


if __name__ == "__main__":
    main()
