"""Formatting of report figures: rates as percentages with their interval, means with one decimal."""

from decimal import Decimal

from django import template

from ketacare.outcomes.domain.stats import MIN_N_FOR_INTERVAL

register = template.Library()


@register.filter
def pct(value) -> str:
    """0.523 -> "52.3 %"; None -> "—"."""
    if value is None:
        return "—"
    return f"{float(value) * 100:.1f} %"


@register.filter
def rate_ci(rate) -> str:
    """A report Rate as "52.3 % (41.0–63.2)"; withheld rates show why."""
    if rate is None:
        return "—"
    if rate.rate is None:
        return "—" if rate.denominator in (0, None) else "withheld"
    if rate.low is None:
        return pct(rate.rate)
    return f"{rate.rate * 100:.1f} % ({rate.low * 100:.1f}–{rate.high * 100:.1f})"


@register.filter
def mean_ci(mean) -> str:
    if mean is None or mean.mean is None:
        return "withheld" if mean is not None and isinstance(mean.n, str) else "—"
    if mean.low is None:
        return f"{mean.mean:.1f}"
    return f"{mean.mean:.1f} ({mean.low:.1f} to {mean.high:.1f})"


@register.filter
def num(value, digits: int = 1) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal | float):
        text = f"{float(value):.{digits}f}"
        return text[:-2] if text.endswith(".0") else text
    return str(value)


@register.filter
def signed(value) -> str:
    """A change with its sign: -7, +2, 0."""
    if value is None:
        return "—"
    number = float(value)
    text = num(value)
    return f"+{text}" if number > 0 else text


@register.filter
def days(value) -> str:
    if value is None:
        return "—"
    return f"{float(value):.0f} d"


@register.filter
def quartiles(median) -> str:
    """A report Median as "12 d (IQR 7–20)"."""
    if median is None or median.quartiles is None:
        return "withheld" if median is not None and isinstance(median.n, str) else "—"
    q = median.quartiles
    if (isinstance(median.n, int) and median.n < MIN_N_FOR_INTERVAL) or q.q1 == q.q3:
        return f"{q.median:.0f}"  # one or two values, or no spread: a range would say nothing
    return f"{q.median:.0f} (IQR {q.q1:.0f}–{q.q3:.0f})"


@register.filter
def label(code: str) -> str:
    return str(code).replace("_", " ").replace("-", " ").capitalize()


@register.filter
def hours(value) -> str:
    """A timedelta as whole hours: "3 h"."""
    if value is None:
        return "—"
    return f"{value.total_seconds() / 3600:g} h"


@register.filter
def svg_img(svg: str, alt: str = "Chart"):
    """Embed a chart SVG in a PDF as an image (see charts.as_img)."""
    from django.utils.safestring import mark_safe

    from ketacare.outcomes.charts import as_img

    return mark_safe(as_img(svg, alt))  # noqa: S308 - the SVG is built here and its text escaped
