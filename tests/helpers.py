"""Making test documents: real PDFs (fpdf2), corrupt and encrypted ones, binary junk."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def make_pdf(
    path: Path, pages: list[str], *, user_password: str | None = None, headings: bool = False, title: str | None = None
) -> Path:
    """A real PDF with one page per string; lines starting with '# ' become outline headings."""
    from fpdf import FPDF

    pdf = FPDF()
    if title is not None:
        pdf.set_title(title)
    if user_password:
        pdf.set_encryption(owner_password="owner-" + user_password, user_password=user_password)
    for text in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        if not text:
            pdf.rect(20, 20, 100, 60, style="F")  # a page with a drawing and no text, like a scan
            continue
        for line in text.splitlines():
            if headings and line.startswith("# "):
                pdf.start_section(line[2:])
                line = line[2:]
            pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def corrupt_pdf(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n" + os.urandom(2000))
    return path


def junk(path: Path, size: int = 4096) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(range(256)) * (size // 256))
    return path


def make_two_column_pdf(path: Path, left: str, right: str, title: str = "Service bulletin") -> Path:
    """A page with a full-width title and two columns, the right column written first in the file."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.set_xy(10, 12)
    pdf.cell(190, 8, title + " - " + "full width heading line for the page " * 2)
    pdf.set_xy(110, 25)
    pdf.multi_cell(88, 5, right)
    pdf.set_xy(10, 25)
    pdf.multi_cell(88, 5, left)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def make_scan(source: Path, target: Path, pages: list[int] | None = None, dpi: int = 200) -> Path:
    """An image-only PDF made from pages of a real one, as a scanner would: each page rendered to a grey
    picture at `dpi`, no text layer at all."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(source))
    numbers = pages or list(range(1, len(pdf) + 1))
    images = [pdf[n - 1].render(scale=dpi / 72, grayscale=True).to_pil().copy() for n in numbers]
    pdf.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(target, "PDF", resolution=float(dpi), save_all=True, append_images=images[1:])
    return target


def with_blank_page(source: Path, target: Path, width_pt: float, height_pt: float) -> Path:
    """A copy of a PDF with one more page, of the given size and with nothing on it."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(source))
    pdf.new_page(width_pt, height_pt)
    pdf.save(str(target))
    pdf.close()
    return target


def misbehaving_server(respond: Any) -> tuple[Any, str]:
    """A loopback HTTP server whose GET and POST are answered by `respond(handler)` (the request body read first):
    a peer that misbehaves on purpose — trickles, never ends, echoes secrets. Returns (server, base URL)."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            respond(self)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            respond(self)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
