"""Charts drawn on the server, as inline SVG: no script, no library, printable, and readable by
a screen reader. Each chart is an image (`role="img"`) named by its title (`aria-label`, and a
`<title>` and `<desc>` inside), and the page shows the same figures in a table beside it: a
chart helps the eye, the table is the reference.

- `bars`: one horizontal bar a category (campaigns by state, counts by reason);
- `time_series`: a line a series over ordered labels (messages a day), each line with its own
  dash pattern and marker as well as its colour, so that colour is never the only difference.

Texts are given translated and numbers formatted by the caller (`fmt`: the page's language,
`i18n.format_decimal`); everything is escaped here. Colours are those of tambour.css (text at
least 4.5:1 on white, lines at least 3:1).
"""

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup, escape

# tambour.css's colours: accent, ok, bad, warn, brand, muted.
TONES: Final = {
    "accent": "#0b5cad",
    "ok": "#17663a",
    "bad": "#a4161a",
    "warn": "#8a4b00",
    "brand": "#1d3557",
    "muted": "#4a5563",
}
DASHES: Final = ("", "6 3", "2 3", "8 3 2 3", "1 2")  # one a series, in order
MARKERS: Final = ("circle", "square", "diamond", "triangle", "circle")
INK: Final = "#1b1f24"
MUTED: Final = "#4a5563"  # 7.5:1 on white
GRID: Final = "#c9d1db"
FONT: Final = "system-ui, sans-serif"
Format = Callable[[float], str]


@dataclass(frozen=True, slots=True)
class Series:
    """One line of a time series: its name (in the legend) and its value at each label."""

    name: str
    values: Sequence[float]
    tone: str = "accent"  # a key of TONES


def _plain(value: float) -> str:
    return f"{value:g}"


def _ident(name: str) -> str:
    return re.sub(r"[^a-z0-9-]", "-", name.lower()) or "chart"


def nice_scale(top: float, ticks: int = 4) -> tuple[float, float]:
    """(the axis's top, the step between its ticks) for values up to `top`: a step of 1, 2 or
    5 times a power of ten, at least 1 (counts are whole), the top a multiple of it."""
    if top <= 0:
        return 1.0, 1.0
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(step, 1.0)
    return math.ceil(top / step) * step, step


def _svg(ident: str, title: str, description: str, width: int, height: int, body: str) -> Markup:
    label = f"{title}. {description}" if description else title
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart-svg" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="{escape(label)}" font-family="{FONT}" font-size="12">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(description)}</desc>'
        f"{body}</svg>"
    )


def bars(
    ident: str,
    title: str,
    items: Sequence[tuple[str, float]],
    *,
    description: str = "",
    fmt: Format = _plain,
    tone: str = "accent",
    width: int = 560,
) -> Markup:
    """Horizontal bars, one an item (label, value), each value written at its bar's end."""
    ident = _ident(ident)
    row, gap, left, right = 22, 8, 170, 70
    height = max(len(items), 1) * (row + gap) + gap
    top = max((value for _, value in items), default=0)
    scale = (width - left - right) / top if top > 0 else 0
    colour = TONES.get(tone, TONES["accent"])
    parts = []
    for index, (label, value) in enumerate(items):
        y = gap + index * (row + gap)
        length = max(value * scale, 0)
        parts.append(
            f'<text x="{left - 8}" y="{y + row / 2 + 4}" text-anchor="end" fill="{INK}">'
            f"{escape(_shorten(label, 26))}</text>"
            f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{row}" fill="{colour}" '
            f'rx="2"/>'
            f'<text x="{left + length + 6:.1f}" y="{y + row / 2 + 4}" fill="{INK}">'
            f"{escape(fmt(value))}</text>"
        )
    parts.append(
        f'<line x1="{left}" y1="{gap / 2}" x2="{left}" y2="{height - gap / 2}" '
        f'stroke="{MUTED}" stroke-width="1"/>'
    )
    return _svg(ident, title, description, width, height, "".join(parts))


def time_series(
    ident: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    description: str = "",
    fmt: Format = _plain,
    width: int = 640,
    height: int = 260,
    label_every: int | None = None,
) -> Markup:
    """Lines over `labels` (days, oldest first), a legend above them, the value axis on the
    left with its gridlines; one label in `label_every` written under the axis (by default
    about eight in all)."""
    ident = _ident(ident)
    left, right, top_pad, bottom = 56, 16, 20 + 18 * _legend_rows(series, width), 28
    plot_w = width - left - right
    plot_h = height - top_pad - bottom
    count = len(labels)
    peak = max((v for s in series for v in s.values), default=0)
    axis_top, step = nice_scale(peak)
    every = label_every or max(1, math.ceil(count / 8))

    def x(i: int) -> float:
        return left + (plot_w * (i + 0.5) / count if count else 0)

    def y(v: float) -> float:
        return top_pad + plot_h - plot_h * v / axis_top

    parts = [_legend(series, width)]
    tick = 0.0
    while tick <= axis_top + 1e-9:
        ty = y(tick)
        parts.append(
            f'<line x1="{left}" y1="{ty:.1f}" x2="{width - right}" y2="{ty:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{escape(fmt(tick))}</text>"
        )
        tick += step
    for i, label in enumerate(labels):
        if i % every == 0 or (i == count - 1 and (count - 1) % every >= every / 2):
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - 8}" text-anchor="middle" fill="{MUTED}">'
                f"{escape(label)}</text>"
            )
    for index, one in enumerate(series):
        colour = TONES.get(one.tone, TONES["accent"])
        dash = DASHES[index % len(DASHES)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(one.values))
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        if len(one.values) > 1:
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" '
                f'stroke-width="2"{dashed}/>'
            )
        marker = MARKERS[index % len(MARKERS)]
        for i, v in enumerate(one.values):
            if v:  # a marker where something happened: zeros stay a plain line
                parts.append(_marker(marker, x(i), y(v), colour))
    return _svg(ident, title, description, width, height, "".join(parts))


def _legend_rows(series: Sequence[Series], width: int) -> int:
    used, rows = 0, 1
    for one in series:
        size = 40 + 7 * len(one.name)
        if used and used + size > width - 16:
            rows, used = rows + 1, 0
        used += size
    return rows


def _legend(series: Sequence[Series], width: int) -> str:
    parts, x, row = [], 16.0, 0
    for index, one in enumerate(series):
        size = 40 + 7 * len(one.name)
        if x > 16 and x + size > width - 16:
            row, x = row + 1, 16.0
        y = 12 + 18 * row
        colour = TONES.get(one.tone, TONES["accent"])
        dash = DASHES[index % len(DASHES)]
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{x:.0f}" y1="{y}" x2="{x + 24:.0f}" y2="{y}" stroke="{colour}" '
            f'stroke-width="2"{dashed}/>'
            + _marker(MARKERS[index % len(MARKERS)], x + 12, y, colour)
            + f'<text x="{x + 30:.0f}" y="{y + 4}" fill="{INK}">{escape(one.name)}</text>'
        )
        x += size
    return "".join(parts)


def _marker(kind: str, cx: float, cy: float, colour: str) -> str:
    if kind == "square":
        return f'<rect x="{cx - 3.5:.1f}" y="{cy - 3.5:.1f}" width="7" height="7" fill="{colour}"/>'
    if kind == "diamond":
        return (
            f'<polygon points="{cx:.1f},{cy - 4.5:.1f} {cx + 4.5:.1f},{cy:.1f} '
            f'{cx:.1f},{cy + 4.5:.1f} {cx - 4.5:.1f},{cy:.1f}" fill="{colour}"/>'
        )
    if kind == "triangle":
        return (
            f'<polygon points="{cx:.1f},{cy - 4.5:.1f} {cx + 4.5:.1f},{cy + 3.5:.1f} '
            f'{cx - 4.5:.1f},{cy + 3.5:.1f}" fill="{colour}"/>'
        )
    return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3.5" fill="{colour}"/>'


def _shorten(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"
