"""Build the demo manual's PDF from its Markdown source: `python knowledge/build_demo.py`.

The PDF is committed (knowledge/demo/), so users and CI never need this script; rerun it after editing
knowledge/source/*.md. Needs the dev extras (fpdf2). Each chapter starts on a new page and the PDF gets
an outline from the headings, like a real manual.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from markdown_it import MarkdownIt

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "source" / "gx7500-generator-manual.md"
TARGET = HERE / "demo" / "gx7500-generator-manual.pdf"


class ManualPDF(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.cell(0, 8, f"NW-GX7500-OSM rev. C    Page {self.page_no()}", align="C")


def main() -> None:
    markdown = SOURCE.read_text(encoding="utf-8")
    chapters = markdown.split("\n## ")
    pdf = ManualPDF(format="A4")
    pdf.set_title("Northwind GX-7500 Diesel Generator - Operation and Service Manual")
    pdf.set_author("Fieldmind demo (fictional equipment)")
    pdf.set_creation_date(__import__("datetime").datetime(2026, 1, 1, tzinfo=__import__("datetime").UTC))
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=18)
    md = MarkdownIt("commonmark").enable("table")
    for index, chapter in enumerate(chapters):
        text = chapter if index == 0 else "## " + chapter
        pdf.add_page()
        pdf.set_font("Helvetica", size=10)
        html = md.render(text)
        html = html.replace("<table>", '<table width="100%" border="1">')
        pdf.write_html(html, table_line_separators=True)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(TARGET))
    print(f"wrote {TARGET} ({pdf.page_no()} pages)")


if __name__ == "__main__":
    main()
