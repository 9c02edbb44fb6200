"""Every PDF is rendered without touching the network (core/pdf.py): a page that names remote images, stylesheets
and fonts gets none of them fetched — a real HTTP server on 127.0.0.1 counts the requests that reach it."""

import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ketacare.core.pdf import html_to_pdf


@pytest.fixture
def trap():
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server name
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css" if self.path.endswith(".css") else "image/png")
            self.end_headers()
            self.wfile.write(b"body { color: red }" if self.path.endswith(".css") else b"\x89PNG\r\n")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()


def hostile_page(base: str) -> str:
    return (f'<html><head><link rel="stylesheet" href="{base}/a.css"><style>@import url("{base}/b.css");'
            f'@font-face {{ font-family: x; src: url("{base}/f.woff2"); }} p {{ background: url("{base}/bg.png") }}'
            f'</style></head><body><img src="{base}/x.png"><img src="file:///etc/passwd"><p>Visit summary</p>'
            f'<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></body></html>')


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_a_pdf_fetches_nothing_but_renders_the_page(trap, tmp_path):
    base, requests = trap
    # The trap answers: had the renderer been allowed out, it would have been counted.
    import urllib.request

    with urllib.request.urlopen(f"{base}/probe.png", timeout=5) as r:
        assert r.status == 200
    assert requests == ["/probe.png"]
    pdf = html_to_pdf(hostile_page(base))
    assert "Visit summary" in pdf_text(pdf, tmp_path)
    assert requests == ["/probe.png"]  # nothing more reached the server


def test_the_outcomes_and_rems_pdfs_use_the_no_network_renderer(trap, tmp_path, monkeypatch):
    """Both PDF paths go through core.pdf.html_to_pdf (the outcomes one adds its print stylesheet)."""
    base, requests = trap
    from ketacare.outcomes import pdf as outcomes_pdf

    assert "Visit summary" in pdf_text(outcomes_pdf.html_to_pdf(hostile_page(base)), tmp_path)
    assert requests == []
    import inspect

    from ketacare.treatment import views

    source = inspect.getsource(views.rems_form_pdf)
    assert "html_to_pdf(" in source and "weasyprint" not in source
