"""PDF documents (clinic report, patient outcomes, progress letter): a Django template rendered by WeasyPrint.

The PDF templates carry their own small print stylesheet (pdf/print.css, inlined once per process) and inline SVG
charts from ketacare.outcomes.charts; nothing is fetched over the network (only data: URLs are allowed).
"""

from functools import cache
from pathlib import Path

from django.http import HttpResponse
from django.template.loader import render_to_string
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

PRINT_CSS = Path(__file__).resolve().parent / "templates" / "outcomes" / "pdf" / "print.css"


class _NoNetwork(URLFetcher):
    """Serves data: URLs (the embedded charts) and refuses every other URL: a PDF never reaches out to other
    servers or the file system. No HTTP(S) handlers are built (building an SSL context costs ~40 ms a PDF)."""

    def __init__(self) -> None:  # noqa: D107 - deliberately not calling URLFetcher.__init__
        self._allowed_protocols = ("data",)
        self._fail_on_errors = False

    def fetch(self, url, headers=None):
        if not url.startswith("data:"):
            raise ValueError(f"URI uses a disallowed protocol: {url[:40]}")
        from urllib.request import DataHandler, Request

        response = DataHandler().data_open(Request(url))
        return URLFetcherResponse(url, response, response.headers, 200)


@cache
def _fonts_and_css() -> tuple[FontConfiguration, CSS]:
    fonts = FontConfiguration()
    return fonts, CSS(string=PRINT_CSS.read_text(encoding="utf-8"), font_config=fonts, url_fetcher=_NoNetwork())


def html_to_pdf(html: str) -> bytes:
    fonts, css = _fonts_and_css()
    return HTML(string=html, base_url=None, url_fetcher=_NoNetwork()).write_pdf(stylesheets=[css], font_config=fonts)


def render_pdf(template_name: str, context: dict) -> bytes:
    """Render a template (extending outcomes/pdf/base.html) to PDF bytes."""
    return html_to_pdf(render_to_string(template_name, context))


def pdf_response(content: bytes, filename: str, *, inline: bool = False) -> HttpResponse:
    """The PDF as a download (or inline); `filename` must carry no patient data (ids only)."""
    response = HttpResponse(content, content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
