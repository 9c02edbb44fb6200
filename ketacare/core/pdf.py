"""PDF documents from HTML, by WeasyPrint, without touching the network: the one way every app makes a PDF.

Only data: URLs (embedded charts, images) are served to the renderer; every other URL — http(s), file, the app's own
static files — is refused, so a PDF never reaches out to other servers or the file system, whatever its HTML holds.
"""

from functools import cache

from django.http import HttpResponse
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse


class NoNetworkFetcher(URLFetcher):
    """Serves data: URLs and refuses every other URL. No HTTP(S) handlers are built (building an SSL context costs
    ~40 ms a PDF)."""

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
def _fonts() -> FontConfiguration:
    return FontConfiguration()


@cache
def _stylesheet(css: str) -> CSS:
    return CSS(string=css, font_config=_fonts(), url_fetcher=NoNetworkFetcher())


def html_to_pdf(html: str, *, css: str | None = None) -> bytes:
    """PDF bytes of `html` (with an optional print stylesheet, parsed once per process)."""
    stylesheets = [_stylesheet(css)] if css else []
    return HTML(string=html, base_url=None, url_fetcher=NoNetworkFetcher()).write_pdf(
        stylesheets=stylesheets, font_config=_fonts())


def pdf_response(content: bytes, filename: str, *, inline: bool = False) -> HttpResponse:
    """The PDF as a download (or inline); `filename` must carry no patient data (ids only). Never cached."""
    response = HttpResponse(content, content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
