"""Counts per second of tambour.sms.text.count_text on three kinds of marketing text.

The product needs at least 200,000 counts per second of the typical French text on one core.
Run: .venv/bin/python benches/bench_sms.py [iterations]
"""

import sys
import time

from tambour.sms.text import count_text

TYPICAL = (
    "Bonjour Marie, -20% sur toute la boutique ce week-end seulement ! "
    "Rendez-vous sur exemple.fr/promo STOP au 36111"
)
MULTIPART_GSM = (
    "Bonjour Marie ! Les soldes d'été commencent demain : jusqu'à -50% sur les robes, "
    "les sandales et les maillots de bain, et la livraison est offerte dès 30 € d'achat. "
    "Profitez aussi de nos ventes privées réservées aux membres du club [code ETE24] "
    "sur exemple.fr/soldes avant dimanche minuit. A très vite ! STOP au 36111"
)
UCS2_EMOJI = (
    "🎉 Marie, c'est la fête ! -30% sur tout le rayon pâtisserie 🍰 ce week-end, "
    "avec un cadeau surprise 🎁 dès 20 € d'achat. À très vite ! STOP au 36111"
)
# French without the GSM-7 trap-avoidance: ê and ’ force UCS-2 (and a suggestion is built).
FRENCH_UCS2 = (
    "Bonjour Marie, c’est la fête des mères : -20% sur toute la boutique ce week-end ! "
    "Rendez-vous sur exemple.fr/promo STOP au 36111"
)
TEXTS = {
    "typical French, GSM-7, 1 segment": TYPICAL,
    "French with ê and ’, UCS-2, suggestion": FRENCH_UCS2,
    "multi-part GSM-7 with extension chars": MULTIPART_GSM,
    "UCS-2 with emoji": UCS2_EMOJI,
}
REPEATS = 3


def best_rate(text: str, iterations: int) -> float:
    """Counts per second, the best of REPEATS timed loops of `iterations` calls."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(iterations):
            count_text(text)
        best = min(best, time.perf_counter() - start)
    return iterations / best


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
    for name, text in TEXTS.items():
        result = count_text(text)
        rate = best_rate(text, iterations)
        print(
            f"{name:40} {len(text):4} chars {result.encoding} {result.segments} seg "
            f"{result.units:4} units  {rate:>10,.0f} counts/s"
        )


if __name__ == "__main__":
    main()
