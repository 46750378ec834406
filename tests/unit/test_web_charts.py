"""The server-side charts (web/charts.py): accessible SVG images (role, name, title,
description), their scale, and every text escaped."""

import re
from xml.etree import ElementTree

import pytest

from tambour.web import charts
from tambour.web.charts import Series, bars, nice_scale, time_series

SVG = "{http://www.w3.org/2000/svg}"


def parsed(markup: str) -> ElementTree.Element:
    return ElementTree.fromstring(str(markup))


@pytest.mark.parametrize(
    ("top", "expected"),
    [(0, (1.0, 1.0)), (3, (3.0, 1.0)), (4, (4.0, 1.0)), (7, (8.0, 2.0)), (10, (10.0, 5.0)),
     (123, (150.0, 50.0)), (4_200, (6_000.0, 2_000.0)), (0.4, (1.0, 1.0))],
)  # fmt: skip
def test_the_scale_is_round_and_whole(top: float, expected: tuple[float, float]) -> None:
    assert nice_scale(top) == expected
    axis, step = nice_scale(top)
    assert axis >= top and step >= 1 and axis / step == int(axis / step)


def test_bars_are_an_image_named_by_their_title_with_each_value_written() -> None:
    svg = parsed(
        bars("by-state", "Campagnes par état", [("Brouillons", 2), ("Planifiées", 0)],
             description="Brouillons : 2, Planifiées : 0", fmt=lambda v: f"{v:,.0f}")
    )  # fmt: skip
    assert svg.get("role") == "img"
    assert svg.get("aria-label") == "Campagnes par état. Brouillons : 2, Planifiées : 0"
    assert svg.findtext(f"{SVG}title") == "Campagnes par état"
    assert svg.findtext(f"{SVG}desc") == "Brouillons : 2, Planifiées : 0"
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert texts == ["Brouillons", "2", "Planifiées", "0"]
    widths = [float(r.get("width", "0")) for r in svg.iter(f"{SVG}rect")]
    assert widths[0] > 0 and widths[1] == 0


def test_a_time_series_draws_each_line_differently_with_its_legend_and_axis() -> None:
    labels = [f"{day} déc." for day in range(1, 31)]
    svg = parsed(
        time_series(
            "messages", "Messages par jour", labels,
            [Series("Envoyés", [0] * 29 + [1_234]), Series("Échecs", [0] * 28 + [2, 0], "bad")],
            fmt=lambda v: f"{v:,.0f}".replace(",", "\u202f"),
        )
    )  # fmt: skip
    lines = list(svg.iter(f"{SVG}polyline"))
    assert len(lines) == 2
    assert lines[0].get("stroke") == charts.TONES["accent"] and not lines[0].get("stroke-dasharray")
    assert lines[1].get("stroke") == charts.TONES["bad"] and lines[1].get("stroke-dasharray")
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "Envoyés" in texts and "Échecs" in texts  # the legend
    assert "1\u202f500" in texts and "0" in texts  # the value axis, formatted by the caller
    assert "1 déc." in texts and "29 déc." in texts  # one label in four, from the first
    assert len([t for t in texts if t and t.endswith("déc.")]) <= 9
    # A marker where something happened, none on zeros.
    markers = [e for e in svg if e.tag in (f"{SVG}circle", f"{SVG}polygon", f"{SVG}rect")]
    assert len(markers) == 2 + 2  # one a series in the legend, one a non-zero value


def test_every_text_is_escaped() -> None:
    hostile = '<script>alert("x")</script> & "quotes"'
    for markup in (
        bars("x", hostile, [(hostile, 1)], description=hostile),
        time_series("y", hostile, [hostile], [Series(hostile, [1])], description=hostile),
    ):
        text = str(markup)
        assert "<script>" not in text and "&lt;script&gt;" in text
        parsed(markup)  # well-formed


def test_ids_are_safe_and_an_empty_chart_still_draws() -> None:
    svg = str(time_series("Chart ID / 1", "Vide", [], []))
    assert 'id="chart-id---1-title"' in svg
    assert re.search(r'viewBox="0 0 640 \d+"', svg)
    assert 'role="img"' in str(bars("empty", "Rien", []))
