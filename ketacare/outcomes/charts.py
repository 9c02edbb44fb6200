"""Static SVG charts for PDFs and the no-JavaScript fallback: scores over time, Kaplan-Meier curves, bar charts.

Pure Python (no Django, no plotting library). Output is a self-contained <svg> string that uses presentation
attributes only (no style attributes or <style> elements), so it passes the strict Content-Security-Policy when
inlined in a page and renders the same in WeasyPrint. Every chart has a <title> and <desc> for screen readers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

PALETTE = ("#0f3d56", "#c2410c", "#6d28d9", "#067647", "#b42318", "#0e7490")
TEXT = "#27323d"
GRID = "#d5dde5"
MUTED = "#5d6b7a"
# Light fills for severity bands, from "well" to "worst" (green to red).
BAND_FILLS = ("#e7f6ec", "#f3f8e3", "#fdf6dc", "#fdebd8", "#fbe0dd", "#f6d2d2")
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"

X = dt.datetime | dt.date | float | int


@dataclass(frozen=True)
class Band:
    """A shaded horizontal range (inclusive totals) with its label."""

    low: float
    high: float
    label: str
    fill: str | None = None  # default: BAND_FILLS by position


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[tuple[X, float]]
    color: str | None = None
    dashed: bool = False
    line: bool = True  # False: dots only, drawn over the series before it (e.g. which values came from home)


@dataclass(frozen=True)
class Marker:
    """A vertical tick at `at` (e.g. a dosing session); `strong` draws it darker (e.g. a dose vs a visit)."""

    at: X
    label: str = ""
    strong: bool = True


@dataclass(frozen=True)
class KMPoint:
    time: float
    survival: float
    ci_low: float | None = None
    ci_high: float | None = None


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: withheld (e.g. a suppressed small cell) -> shown as `note`
    low: float | None = None  # confidence interval whiskers
    high: float | None = None
    note: str = ""


def as_img(svg: str, alt: str) -> str:
    """The chart as an <img> with a data: URI. WeasyPrint draws it without running the page's CSS cascade over
    every SVG element, which keeps a PDF with long histories fast."""
    import base64

    data = base64.b64encode(svg.encode()).decode()
    return f'<img src="data:image/svg+xml;base64,{data}" alt="{escape(alt, {chr(34): "&quot;"})}">'


def _f(value: float) -> str:
    """Compact coordinate: one decimal, no trailing zero."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _num(x: X) -> float:
    if isinstance(x, dt.datetime):
        return x.timestamp() / 86400.0
    if isinstance(x, dt.date):
        return dt.datetime(x.year, x.month, x.day, tzinfo=dt.UTC).timestamp() / 86400.0
    return float(x)


def _date_of(day_number: float) -> dt.date:
    return (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=day_number)).date()


def nice_ticks(low: float, high: float, max_ticks: int = 7) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 x 10^n steps) covering [low, high]."""
    if high <= low:
        high = low + 1
    raw = (high - low) / max(1, max_ticks - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def date_ticks(low: float, high: float, max_ticks: int = 7) -> list[tuple[float, str]]:
    """Tick positions (day numbers) and labels for a time axis: days, weeks, months, quarters or years."""
    start, end = _date_of(low), _date_of(high)
    span = max(1.0, high - low)
    for days in (1, 2, 7, 14):
        if span / days <= max_ticks:
            first = start + dt.timedelta(days=(7 - start.weekday()) % 7 if days >= 7 else 0)
            ticks = []
            day = first
            while day <= end:
                ticks.append((_num(day), day.strftime("%d %b")))
                day += dt.timedelta(days=days)
            return ticks
    for months in (1, 2, 3, 6, 12, 24, 60):
        if span / (30.44 * months) <= max_ticks:
            day = _add_months(start, 1) if start.day > 1 else start
            while (day.month - 1) % months and months <= 12:
                day = _add_months(day, 1)
            ticks = []
            while day <= end:
                label = day.strftime("%Y") if months >= 12 else day.strftime("%b %Y")
                ticks.append((_num(day), label))
                day = _add_months(day, months)
            return ticks
    return [(low, str(start.year)), (high, str(end.year))]


class _Canvas:
    def __init__(self, width: int, height: int, title: str, description: str, ident: str) -> None:
        self.width, self.height = width, height
        self.parts: list[str] = []
        self.ident = ident
        self.title, self.description = title, description

    def add(self, fragment: str) -> None:
        self.parts.append(fragment)

    def text(self, x: float, y: float, content: str, *, anchor: str = "start", size: float = 11,
             fill: str = TEXT, weight: str = "normal") -> None:
        self.add(
            f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}" font-size="{_f(size)}" fill="{fill}"'
            f' font-weight="{weight}">{escape(content)}</text>'
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, *, stroke: str = GRID, width: float = 1,
             dash: str | None = None) -> None:
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(
            f'<line x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}" stroke="{stroke}"'
            f' stroke-width="{_f(width)}"{dash_attr}/>'
        )

    def render(self) -> str:
        title_id, desc_id = f"{self.ident}-title", f"{self.ident}-desc"
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height}"'
            f' width="{self.width}" height="{self.height}" role="img" aria-labelledby="{title_id} {desc_id}"'
            f' font-family={quoteattr(FONT)} class="kc-chart">'
            f'<title id="{title_id}">{escape(self.title)}</title><desc id="{desc_id}">{escape(self.description)}</desc>'
            f'<rect x="0" y="0" width="{self.width}" height="{self.height}" fill="#ffffff"/>'
            + "".join(self.parts)
            + "</svg>"
        )


@dataclass(frozen=True)
class _Frame:
    left: float
    top: float
    right: float
    bottom: float
    x_low: float
    x_high: float
    y_low: float
    y_high: float

    def x(self, value: float) -> float:
        span = self.x_high - self.x_low or 1.0
        return self.left + (value - self.x_low) / span * (self.right - self.left)

    def y(self, value: float) -> float:
        span = self.y_high - self.y_low or 1.0
        return self.bottom - (value - self.y_low) / span * (self.bottom - self.top)


def _y_axis(canvas: _Canvas, frame: _Frame, ticks: Sequence[float], fmt=lambda v: _f(v)) -> None:
    for tick in ticks:
        y = frame.y(tick)
        canvas.line(frame.left, y, frame.right, y)
        canvas.text(frame.left - 6, y + 4, fmt(tick), anchor="end", size=10, fill=MUTED)


def line_chart(
    *,
    title: str,
    series: Sequence[Series],
    y_range: tuple[float, float],
    bands: Sequence[Band] = (),
    markers: Sequence[Marker] = (),
    baseline: float | None = None,
    y_label: str = "",
    width: int = 720,
    height: int = 260,
    ident: str = "chart",
    time_axis: bool = True,
    compact: bool = False,
) -> str:
    """Scores over time: shaded severity bands, session markers along the bottom, a dashed baseline line.

    `compact` (PDFs): fewer ticks and a legend only for several series; every SVG text costs WeasyPrint time."""
    all_x = [_num(x) for s in series for x, _ in s.points] + [_num(m.at) for m in markers]
    points_total = sum(len(s.points) for s in series)
    description = (
        f"{points_total} values from {len(series)} series"
        + (f", {len(markers)} sessions marked" if markers else "")
        + (f", baseline {_f(baseline)}" if baseline is not None else "")
        + "."
    )
    canvas = _Canvas(width, height, title, description, ident)
    legend_h = 18 if len(series) > 1 or (not compact and (markers or baseline is not None)) else 0
    frame_top = (8 if compact else 26) + legend_h
    if not all_x:
        canvas.text(12, 18, title, size=13, weight="bold")
        canvas.text(width / 2, height / 2, "No values yet", anchor="middle", fill=MUTED)
        return canvas.render()
    x_low, x_high = min(all_x), max(all_x)
    if x_high - x_low < 1:
        x_low, x_high = x_low - 1, x_high + 1
    pad = (x_high - x_low) * 0.02
    frame = _Frame(left=44, top=frame_top, right=width - 92 if bands and not compact else width - 16,
                   bottom=height - 24 if compact else height - 40,
                   x_low=x_low - pad, x_high=x_high + pad, y_low=y_range[0], y_high=y_range[1])
    if not compact:  # in a PDF the title is printed above the chart (text inside an SVG is slow to render)
        canvas.text(12, 18, title, size=13, weight="bold")
    for n, band in enumerate(bands):
        low, high = max(band.low, frame.y_low), min(band.high + 1 if band.high < frame.y_high else band.high,
                                                    frame.y_high)
        if high <= low:
            continue
        y_top, y_bottom = frame.y(high), frame.y(low)
        fill = band.fill or BAND_FILLS[min(n, len(BAND_FILLS) - 1)]
        canvas.add(f'<rect x="{_f(frame.left)}" y="{_f(y_top)}" width="{_f(frame.right - frame.left)}"'
                   f' height="{_f(y_bottom - y_top)}" fill="{fill}"/>')
        if y_bottom - y_top >= 9 and not compact:
            canvas.text(frame.right + 6, (y_top + y_bottom) / 2 + 4, band.label, size=9.5, fill=MUTED)
    _y_axis(canvas, frame, nice_ticks(frame.y_low, frame.y_high, 4 if compact else 7))
    if time_axis:
        for x, label in date_ticks(frame.x_low, frame.x_high, 4 if compact else 7):
            canvas.line(frame.x(x), frame.bottom, frame.x(x), frame.bottom + 4, stroke=MUTED)
            canvas.text(frame.x(x), frame.bottom + 16, label, anchor="middle", size=10, fill=MUTED)
    else:
        for x in nice_ticks(frame.x_low, frame.x_high, 8):
            canvas.line(frame.x(x), frame.bottom, frame.x(x), frame.bottom + 4, stroke=MUTED)
            canvas.text(frame.x(x), frame.bottom + 16, _f(x), anchor="middle", size=10, fill=MUTED)
    canvas.line(frame.left, frame.bottom, frame.right, frame.bottom, stroke=MUTED)
    if y_label:
        canvas.add(f'<text x="12" y="{_f((frame.top + frame.bottom) / 2)}" font-size="10" fill="{MUTED}"'
                   f' text-anchor="middle" transform="rotate(-90 12 {_f((frame.top + frame.bottom) / 2)})">'
                   f"{escape(y_label)}</text>")
    if markers:
        for strong, colour in ((True, "#0f3d56"), (False, "#9aa8b6")):
            shapes = "".join(f"M{_f(frame.x(_num(m.at)) - 3.5)} {_f(frame.bottom + 0.5)}h7l-3.5 -7z"
                             for m in markers if m.strong is strong)
            if shapes:
                canvas.add(f'<path d="{shapes}" fill="{colour}" class="kc-markers"/>')
    if baseline is not None:
        y = frame.y(baseline)
        canvas.line(frame.left, y, frame.right, y, stroke="#5d6b7a", width=1.2, dash="5 4")
    for n, s in enumerate(series):
        colour = s.color or PALETTE[n % len(PALETTE)]
        coords = [(frame.x(_num(x)), frame.y(v)) for x, v in sorted(s.points, key=lambda p: _num(p[0]))]
        if not coords:
            continue
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        points = " ".join(f"{_f(x)},{_f(y)}" for x, y in coords)
        if s.line:
            canvas.add(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"{dash}'
                       f' stroke-linejoin="round"/>')
        if compact and len(coords) > 60:
            continue  # a long history reads as a line; dots would cost the PDF renderer more than they add
        # All dots in one path of zero-length strokes with round caps: one element, however many values.
        dot_width = (5.2 if len(coords) <= 80 else 3.2) + (3 if not s.line else 0)
        dots = "".join(f"M{_f(x)} {_f(y)}h0" for x, y in coords)
        canvas.add(f'<path d="{dots}" fill="none" stroke="{colour}" stroke-width="{dot_width}" stroke-linecap="round"'
                   f' class="kc-dots"/>')
    # Legend
    if legend_h:
        x = 14.0
        y = 18.0 if compact else 36.0
        for n, s in enumerate(series):
            colour = s.color or PALETTE[n % len(PALETTE)]
            canvas.add(f'<rect x="{_f(x)}" y="{_f(y - 8)}" width="14" height="3" fill="{colour}"/>')
            canvas.text(x + 18, y - 3, s.label, size=10.5)
            x += 30 + 6.4 * len(s.label)
        if markers and not compact:
            canvas.add(f'<path d="M{_f(x)} {_f(y - 2)}h8l-4 -8z" fill="#0f3d56"/>')
            canvas.text(x + 12, y - 3, "session", size=10.5)
            x += 70
        if baseline is not None and not compact:
            canvas.line(x, y - 6, x + 16, y - 6, stroke="#5d6b7a", width=1.2, dash="5 4")
            canvas.text(x + 20, y - 3, f"baseline {_f(baseline)}", size=10.5)
    return canvas.render()


def km_chart(
    *,
    title: str,
    points: Sequence[KMPoint],
    x_label: str = "days",
    width: int = 720,
    height: int = 260,
    ident: str = "km",
    x_max: float | None = None,
) -> str:
    """A Kaplan-Meier step curve starting at (0, 100 %), with its confidence band shaded."""
    canvas = _Canvas(width, height, title, f"Kaplan-Meier curve with {len(points)} steps.", ident)
    canvas.text(12, 18, title, size=13, weight="bold")
    last_time = max([p.time for p in points], default=0.0)
    frame = _Frame(left=48, top=30, right=width - 16, bottom=height - 42, x_low=0,
                   x_high=max(1.0, x_max if x_max is not None else last_time * 1.05), y_low=0, y_high=1)
    _y_axis(canvas, frame, [0, 0.25, 0.5, 0.75, 1], fmt=lambda v: f"{round(v * 100)} %")
    for x in nice_ticks(0, frame.x_high, 8):
        canvas.line(frame.x(x), frame.bottom, frame.x(x), frame.bottom + 4, stroke=MUTED)
        canvas.text(frame.x(x), frame.bottom + 16, _f(x), anchor="middle", size=10, fill=MUTED)
    canvas.line(frame.left, frame.bottom, frame.right, frame.bottom, stroke=MUTED)
    canvas.text((frame.left + frame.right) / 2, height - 8, x_label, anchor="middle", size=10, fill=MUTED)
    if not points:
        canvas.text(width / 2, height / 2, "No one at risk", anchor="middle", fill=MUTED)
        return canvas.render()
    end = frame.x_high
    # Confidence band: upper edge left to right, lower edge right to left, both as steps.
    upper, lower = [(0.0, 1.0)], [(0.0, 1.0)]
    for p in points:
        hi = p.ci_high if p.ci_high is not None else p.survival
        lo = p.ci_low if p.ci_low is not None else p.survival
        upper += [(p.time, upper[-1][1]), (p.time, hi)]
        lower += [(p.time, lower[-1][1]), (p.time, lo)]
    upper.append((end, upper[-1][1]))
    lower.append((end, lower[-1][1]))
    polygon = " ".join(f"{_f(frame.x(t))},{_f(frame.y(s))}" for t, s in upper + lower[::-1])
    canvas.add(f'<polygon points="{polygon}" fill="#0f3d56" fill-opacity="0.14"/>')
    path = [f"M{_f(frame.x(0))} {_f(frame.y(1))}"]
    for p in points:
        path.append(f"H{_f(frame.x(p.time))}V{_f(frame.y(p.survival))}")
    path.append(f"H{_f(frame.x(end))}")
    canvas.add(f'<path d="{"".join(path)}" fill="none" stroke="#0f3d56" stroke-width="2"/>')
    canvas.line(frame.left, frame.y(0.5), frame.right, frame.y(0.5), stroke="#9aa8b6", dash="3 4")
    return canvas.render()


def bar_chart(
    *,
    title: str,
    bars: Sequence[Bar],
    value_max: float | None = None,
    percent: bool = False,
    width: int = 720,
    ident: str = "bars",
    color: str = "#0f3d56",
) -> str:
    """Horizontal bars with optional confidence whiskers; a withheld value shows its note instead of a bar."""
    row = 24
    height = 40 + row * max(1, len(bars)) + 24
    canvas = _Canvas(width, height, title, f"{len(bars)} bars.", ident)
    canvas.text(12, 18, title, size=13, weight="bold")
    label_w = min(260, 12 + 6.3 * max([len(b.label) for b in bars], default=4))
    known = [v for b in bars for v in (b.value, b.high) if v is not None]
    top_value = value_max if value_max is not None else (max(known) if known else 1.0) or 1.0
    frame = _Frame(left=label_w, top=32, right=width - 70, bottom=height - 24, x_low=0, x_high=top_value,
                   y_low=0, y_high=1)
    for x in nice_ticks(0, top_value, 6):
        canvas.line(frame.x(x), frame.top, frame.x(x), frame.bottom)
        canvas.text(frame.x(x), frame.bottom + 14, f"{round(x * 100)} %" if percent else _f(x), anchor="middle",
                    size=10, fill=MUTED)
    for n, b in enumerate(bars):
        y = frame.top + n * row + 4
        canvas.text(label_w - 8, y + 12, b.label, anchor="end", size=10.5)
        if b.value is None:
            canvas.text(label_w + 4, y + 12, b.note or "withheld", size=10.5, fill=MUTED)
            continue
        canvas.add(f'<rect x="{_f(frame.left)}" y="{_f(y)}" width="{_f(max(0.0, frame.x(b.value) - frame.left))}"'
                   f' height="{row - 8}" fill="{color}" fill-opacity="0.85"/>')
        if b.low is not None and b.high is not None:
            mid = y + (row - 8) / 2
            canvas.line(frame.x(b.low), mid, frame.x(b.high), mid, stroke=TEXT, width=1.3)
            canvas.line(frame.x(b.low), mid - 4, frame.x(b.low), mid + 4, stroke=TEXT, width=1.3)
            canvas.line(frame.x(b.high), mid - 4, frame.x(b.high), mid + 4, stroke=TEXT, width=1.3)
        shown = f"{b.value * 100:.0f} %" if percent else _f(b.value)
        canvas.text(frame.x(max(b.value, b.high or 0)) + 6, y + 12, shown + (f" {b.note}" if b.note else ""),
                    size=10.5)
    return canvas.render()
