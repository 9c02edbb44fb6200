"""PDF documents of the outcomes app (clinic report, patient outcomes, progress letter): a Django template with the
outcomes print stylesheet (pdf/print.css), inline SVG charts from ketacare.outcomes.charts, rendered by core.pdf
(which fetches nothing over the network)."""

from functools import cache
from pathlib import Path

from django.template.loader import render_to_string

from ketacare.core.pdf import html_to_pdf as _html_to_pdf
from ketacare.core.pdf import pdf_response

PRINT_CSS = Path(__file__).resolve().parent / "templates" / "outcomes" / "pdf" / "print.css"

__all__ = ["html_to_pdf", "pdf_response", "render_pdf"]


@cache
def _print_css() -> str:
    return PRINT_CSS.read_text(encoding="utf-8")


def html_to_pdf(html: str) -> bytes:
    return _html_to_pdf(html, css=_print_css())


def render_pdf(template_name: str, context: dict) -> bytes:
    """Render a template (extending outcomes/pdf/base.html) to PDF bytes."""
    return html_to_pdf(render_to_string(template_name, context))
