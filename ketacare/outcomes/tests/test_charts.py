"""The static SVG charts: well-formed, accessible, no style attributes (CSP), and they render in a PDF."""

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from ketacare.outcomes import charts

NS = "{http://www.w3.org/2000/svg}"
T0 = dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC)


def _line():
    points = [(T0 + dt.timedelta(days=7 * n), 20 - n % 9) for n in range(150)]
    return charts.line_chart(title="PHQ-9 <total>", series=[charts.Series("PHQ-9", points)], y_range=(0, 27),
                             bands=[charts.Band(0, 4, "minimal"), charts.Band(5, 9, "mild"),
                                    charts.Band(20, 27, "severe")],
                             markers=[charts.Marker(T0 + dt.timedelta(days=d)) for d in (0, 2, 4)], baseline=20)


@pytest.mark.parametrize("svg", [
    _line(),
    charts.km_chart(title="Relapse", points=[charts.KMPoint(5, 0.8, 0.6, 0.9), charts.KMPoint(18, 0.4, 0.2, 0.6)]),
    charts.bar_chart(title="Rates", bars=[charts.Bar("PHQ-9", 0.5, 0.4, 0.6), charts.Bar("GAD-7", None, note="<11")],
                     value_max=1, percent=True),
    charts.line_chart(title="Empty", series=[], y_range=(0, 1)),
    charts.km_chart(title="Nobody", points=[]),
])
def test_charts_are_well_formed_accessible_svg_without_style_attributes(svg):
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg" and root.get("role") == "img"
    assert root.find(f"{NS}title") is not None and root.find(f"{NS}desc") is not None
    assert all("style" not in el.attrib for el in root.iter()) and "<style" not in svg


def test_line_chart_draws_every_point_band_marker_and_baseline():
    root = ET.fromstring(_line())
    dots = next(p for p in root.iter(f"{NS}path") if p.get("class") == "kc-dots")
    assert dots.get("d").count("h0") == 150
    assert "PHQ-9 &lt;total&gt;" in _line()  # text is escaped
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert {"minimal", "mild", "severe", "baseline 20"} <= set(texts)
    markers = next(p for p in root.iter(f"{NS}path") if p.get("class") == "kc-markers")
    assert markers.get("d").count("z") == 3  # session triangles


def test_time_ticks_follow_the_span():
    day = charts._num(T0)
    assert all(label.endswith("2026") or label.endswith("2027") for _, label in charts.date_ticks(day, day + 400))
    assert len(charts.date_ticks(day, day + 10)) >= 5
    assert charts.nice_ticks(0, 27) == [0, 5, 10, 15, 20, 25]


def test_charts_render_in_a_pdf(tmp_path):
    from ketacare.outcomes.pdf import html_to_pdf
    from ketacare.outcomes.tests.test_views import png_is_not_blank

    pdf = html_to_pdf(f"<html><body><h1>Chart</h1><div class='chart'>{_line()}</div></body></html>")
    assert pdf.startswith(b"%PDF") and png_is_not_blank(pdf, tmp_path)
