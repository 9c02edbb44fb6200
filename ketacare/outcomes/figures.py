"""Chart data for the pages (JSON for the vendored Chart.js, read by outcomes-charts.js) and the same charts as
static SVG (charts.py) for PDFs and browsers without JavaScript. One function per figure, two renderings each."""

import datetime as dt
import math
from collections.abc import Sequence

from ketacare.outcomes import charts
from ketacare.outcomes.domain.report import CohortReport, KMCurve
from ketacare.outcomes.selectors import InstrumentTrajectory, SuicideItem

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)


def _ms(at: dt.datetime) -> int:
    """Milliseconds since the epoch (what Chart.js plots); arithmetic is 20x faster than datetime.timestamp()."""
    return (at - _EPOCH) // _MS


def _bands(t: InstrumentTrajectory) -> list[charts.Band]:
    if t.instrument is None:
        return []
    return [charts.Band(float(b.low), float(b.high), b.label) for b in t.instrument.bands
            if b.low is not None and b.high is not None]


def _x_range(times: Sequence[dt.datetime]) -> dict | None:
    """The time axis from the first to the last value or dose, padded by 2 % (at least a day each side)."""
    if not times:
        return None
    low, high = _ms(min(times)), _ms(max(times))
    pad = max((high - low) * 0.02, 86_400_000)
    return {"min": low - pad, "max": high + pad}


def trajectory_json(t: InstrumentTrajectory, doses: Sequence[dt.datetime]) -> dict:
    low, high = t.total_range
    return {
        "kind": "scores",
        "x": _x_range([m.at for m in t.points] + list(doses)),
        "title": f"{t.title} total",
        "y": {"min": float(low), "max": float(high), "label": f"{t.key.upper()} total"},
        "series": [{"label": t.title, "points": [[_ms(m.at), float(m.total)] for m in t.points]},
                   # the values the patient answered at home (portal), as larger dots over the line
                   *([{"label": "answered at home", "points": [[_ms(m.at), float(m.total)] for m in t.home],
                       "color": "#b45309", "line": False}] if t.home else [])],
        "bands": [{"low": b.low, "high": b.high, "label": b.label} for b in _bands(t)],
        "markers": [_ms(d) for d in doses],
        "baseline": float(t.baseline.total) if t.baseline else None,
    }


def trajectory_svg(t: InstrumentTrajectory, doses: Sequence[dt.datetime], *, width: int = 720,
                   height: int = 260, compact: bool = False) -> str:
    low, high = t.total_range
    return charts.line_chart(
        title=f"{t.title}: total over time",
        series=[charts.Series(t.key.upper(), [(m.at, float(m.total)) for m in t.points]),
                *([charts.Series("answered at home", [(m.at, float(m.total)) for m in t.home], color="#b45309",
                                 line=False)] if t.home else [])],
        y_range=(float(low), float(high)), bands=_bands(t), markers=[charts.Marker(d) for d in doses],
        baseline=float(t.baseline.total) if t.baseline else None, ident=f"svg-{t.key}", width=width, height=height,
        compact=compact)


def dissociation_json(points: Sequence[tuple[dt.datetime, int]], doses: Sequence[dt.datetime]) -> dict:
    top = max([24, *[v for _, v in points]])
    return {"kind": "scores", "title": "Peak dissociation (CADSS) per session",
            "x": _x_range([at for at, _ in points] + list(doses)),
            "y": {"min": 0, "max": top, "label": "CADSS total"},
            "series": [{"label": "Peak CADSS", "points": [[_ms(at), v] for at, v in points], "color": "#6d28d9"}],
            "bands": [], "markers": [_ms(d) for d in doses], "baseline": None}


def dissociation_svg(points: Sequence[tuple[dt.datetime, int]], doses: Sequence[dt.datetime], *,
                     compact: bool = False) -> str:
    top = max([24, *[v for _, v in points]])
    return charts.line_chart(title="Peak dissociation (CADSS) per session",
                             series=[charts.Series("Peak CADSS", [(at, v) for at, v in points], color="#6d28d9")],
                             y_range=(0, top), markers=[charts.Marker(d) for d in doses], ident="svg-cadss",
                             compact=compact, height=200 if compact else 260)


SUICIDE_BANDS = [charts.Band(0, 0, "none", "#e7f6ec"), charts.Band(1, 1, "some", "#fdf6dc"),
                 charts.Band(2, 3, "more", "#fbe0dd")]


def suicide_json(items: Sequence[SuicideItem], doses: Sequence[dt.datetime]) -> dict:
    phq = [i for i in items if i.source.startswith("PHQ-9")]
    cssrs = [i for i in items if i.source.startswith("C-SSRS")]
    series: list[dict[str, object]] = [
        {"label": "PHQ-9 item 9 (0-3)", "points": [[_ms(i.at), i.level] for i in phq], "color": "#b42318"}]
    if cssrs:
        series.append({"label": "C-SSRS risk (0 none - 3 high)", "points": [[_ms(i.at), i.level] for i in cssrs],
                       "color": "#0e7490", "dashed": True})
    return {"kind": "scores", "title": "Suicide items", "y": {"min": 0, "max": 3, "label": "level"},
            "x": _x_range([i.at for i in items] + list(doses)),
            "series": series, "bands": [{"low": b.low, "high": b.high, "label": b.label, "fill": b.fill}
                                        for b in SUICIDE_BANDS],
            "markers": [_ms(d) for d in doses], "baseline": None}


def suicide_svg(items: Sequence[SuicideItem], doses: Sequence[dt.datetime], *, compact: bool = False) -> str:
    phq = [(i.at, i.level) for i in items if i.source.startswith("PHQ-9")]
    cssrs = [(i.at, i.level) for i in items if i.source.startswith("C-SSRS")]
    series = [charts.Series("PHQ-9 item 9", phq, color="#b42318")]
    if cssrs:
        series.append(charts.Series("C-SSRS risk", cssrs, color="#0e7490", dashed=True))
    return charts.line_chart(title="Suicide items over time", series=series, y_range=(0, 3), bands=SUICIDE_BANDS,
                             markers=[charts.Marker(d) for d in doses], ident="svg-suicide", height=200,
                             compact=compact)


def _km_end(curve: KMCurve) -> float:
    """A round end for the time axis, a little after the last step."""
    if not curve.steps:
        return 10.0
    last = curve.steps[-1].time * 1.05
    step = 7 if last <= 70 else 30
    return float(math.ceil(last / step) * step)


def km_json(curve: KMCurve, title: str) -> dict:
    return {"kind": "km", "title": title, "label": "Still well",
            "points": [{"time": s.time, "survival": s.survival, "ci_low": s.ci_low, "ci_high": s.ci_high}
                       for s in curve.steps],
            "x_label": "days after the last induction dose",
            "x_max": _km_end(curve)}


def km_svg(curve: KMCurve, title: str, ident: str) -> str:
    return charts.km_chart(title=title, points=[charts.KMPoint(s.time, s.survival, s.ci_low, s.ci_high)
                                                for s in curve.steps],
                           x_label="days after the last induction dose", ident=ident,
                           x_max=_km_end(curve))


def _rate_bars(report: CohortReport) -> list[charts.Bar]:
    bars = []
    for i in report.instruments:
        for label, rate in ((f"{i.key.upper()} response", i.response), (f"{i.key.upper()} remission", i.remission)):
            if rate.denominator in (0, None):
                continue
            note = "" if rate.rate is not None else f"withheld (small cell, n {rate.denominator})"
            bars.append(charts.Bar(label, rate.rate, rate.low, rate.high, note=note))
    return bars


def rates_json(report: CohortReport) -> dict:
    bars = _rate_bars(report)
    return {"kind": "bars", "title": "Response and remission at the end of induction", "percent": True,
            "label": "Patients", "bars": [{"label": b.label, "value": b.value, "low": b.low, "high": b.high}
                                          for b in bars]}


def rates_svg(report: CohortReport) -> str:
    return charts.bar_chart(title="Response and remission at the end of induction (95 % CI)",
                            bars=_rate_bars(report), value_max=1, percent=True, ident="svg-rates")
