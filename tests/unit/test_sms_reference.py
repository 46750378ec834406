"""count_text agrees with an independent reference: Twilio's message segment calculator.

The calculator (npm sms-segments-calculator, pinned in tests/reference/package-lock.json) runs in
one Node process for the whole module, fed by tests/reference/segments.js. This test installs
nothing: run `npm ci --prefix tests/reference` first (see INSTALL).

Deliberate differences, and only these, are excluded:
- The empty text: the calculator reports 1 (empty) segment; Tambour reports 0, nothing is sent.
- Grapheme clusters: the calculator never cuts a cluster of several code points (an accent
  written as a combining mark, a ZWJ emoji family, a flag); Tambour's splitter only keeps
  surrogate pairs whole (handsets reassemble a concatenated SMS before display). segments.js
  therefore also reports the calculator's segment builder run over code points, which must
  equal Tambour's count on every text; the calculator's own count must equal it whenever the
  text has no multi-code-point cluster.
The calculator's "smart encoding" (replacing typographic characters) is off, as it is by default.
"""

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tambour.sms.text import count_text

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference"
INSTALL = "npm ci --prefix tests/reference"

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "\f^{}\\[~]|€"
NEAR_MISSES = "çêâîôûëïœŒÀÈÙ’‘“”«»…\u00a0\u202f–—`\t\x1bδ\u0301"
EMOJI = ["😀", "🎉", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "e\u0301"]


class Reference:
    """One Node process running segments.js, asked one text at a time."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.stdin: IO[str] = _stream(process.stdin)
        self.stdout: IO[str] = _stream(process.stdout)

    def ask(self, text: str) -> dict[str, Any]:
        self.stdin.write(json.dumps(text, ensure_ascii=True) + "\n")
        self.stdin.flush()
        line = self.stdout.readline()
        if not line:
            self.process.kill()
            stderr = self.process.stderr.read() if self.process.stderr else ""
            pytest.fail(f"the reference calculator stopped: {stderr}")
        answer: dict[str, Any] = json.loads(line)
        return answer


def _stream(stream: IO[str] | None) -> IO[str]:
    assert stream is not None
    return stream


@pytest.fixture(scope="module")
def reference() -> Iterator[Reference]:
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"node is not on PATH: install Node.js 20, then run `{INSTALL}`")
    if not (REFERENCE_DIR / "node_modules" / "sms-segments-calculator").is_dir():
        pytest.fail(f"the reference calculator is not installed: run `{INSTALL}`")
    process = subprocess.Popen(
        [node, str(REFERENCE_DIR / "segments.js")],
        cwd=REFERENCE_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    try:
        yield Reference(process)
    finally:
        _stream(process.stdin).close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def assert_agrees(reference: Reference, text: str) -> None:
    ours = count_text(text)
    theirs = reference.ask(text)
    assert ours.encoding == theirs["encoding"], text
    assert ours.segments == theirs["segments_by_code_point"], text
    if not theirs["clusters"]:
        assert ours.segments == theirs["segments"], text


HAND_PICKED = [
    "Bonjour Marie, -20% sur toute la boutique ce week-end seulement ! "
    "Rendez-vous sur exemple.fr/promo STOP au 36111",
    "Soldes d'été : jusqu'à -50% dès 30 € d'achat [code ETE24] STOP au 36111",
    "C’est la fête ! « Offre » spéciale… STOP au 36111",
    "Ça va ? ça va.",
    "Ligne 1\r\nLigne 2\nLigne 3\fpage",
    "a" * 160,
    "a" * 161,
    "a" * 306,
    "a" * 307,
    "a" * 158 + "€",
    "a" * 159 + "€",
    "a" * 152 + "€" + "b" * 10,
    "a" * 151 + "€" + "b" * 10,
    "a" * 152 + "{}" * 80,
    "€" * 80,
    "€" * 81,
    "ç" + "a" * 69,
    "ç" + "a" * 70,
    "ç" + "a" * 133,
    "ç" + "a" * 134,
    "😀" * 35,
    "😀" * 35 + "a",
    "ç" + "a" * 65 + "😀" + "b" * 10,
    "ç" + "a" * 66 + "😀" + "b" * 10,
    "ç" + "a" * 65 + "👨‍👩‍👧" + "b" * 10,
    "Promo 🇫🇷 " * 12,
    "`backtick`",
    "tab\there",
    "ΔΦΓΛΩΠΨΣΘΞ ßÆæØøÅå ¿¡£¥§¤",
    "δ",
    "",  # excluded below: see the module docstring
]


@pytest.mark.parametrize("text", [t for t in HAND_PICKED if t])
def test_hand_picked_texts_agree(reference: Reference, text: str) -> None:
    assert_agrees(reference, text)


def runs(alphabet: str) -> st.SearchStrategy[str]:
    return st.builds(lambda c, n: c * n, st.sampled_from(alphabet), st.integers(1, 170))


chunks = st.one_of(
    runs(GSM_BASIC),
    st.text(st.sampled_from(GSM_BASIC + GSM_EXTENSION), max_size=30),
    st.sampled_from(GSM_EXTENSION),
    st.sampled_from(NEAR_MISSES),
    st.sampled_from(EMOJI),
    st.characters(min_codepoint=0x10000),
    st.text(max_size=10),
)
texts = st.lists(chunks, min_size=1, max_size=10).map("".join).filter(bool)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_generated_texts_agree(reference: Reference, text: str) -> None:
    assert_agrees(reference, text)


def test_grapheme_clusters_are_the_documented_difference(reference: Reference) -> None:
    # The ZWJ family (8 UTF-16 units) straddles the end of part 1: Tambour cuts inside it after
    # the ZWJ (67 + 65 units, 2 segments); the calculator moves it whole (64 + 67 + 1, 3).
    text = "ç" + "a" * 63 + "👨‍👩‍👧" + "b" * 60
    theirs = reference.ask(text)
    assert theirs["clusters"]
    assert count_text(text).units_per_segment == (67, 65)
    assert (theirs["segments_by_code_point"], theirs["segments"]) == (2, 3)
