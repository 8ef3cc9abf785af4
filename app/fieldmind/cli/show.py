"""`fieldmind show DOC PAGE`: a page of a manual as a picture, in the terminal or as a PNG file."""

from __future__ import annotations

from pathlib import Path

import click

from fieldmind.cli.common import home_option, info, reports_errors, services_for


@click.command()
@click.argument("doc")
@click.argument("page", type=click.IntRange(min=1))
@click.option("--png", "png", type=click.Path(dir_okay=False, path_type=Path), help="Write the picture to this file.")
@click.option("--quote", help="Mark these words on the page (e.g. an answer's quote).")
@click.option("--width", type=click.IntRange(200, 6000), default=1200, show_default=True, help="Width in pixels.")
@home_option
@reports_errors
def show(doc: str, page: int, png: Path | None, quote: str | None, width: int, home: str | None) -> None:
    """Show page PAGE of document DOC (id, name or path) as a picture, QUOTE's words marked."""
    picture = services_for(home).page_picture(doc, page, quote, width)
    if quote and not picture.marked:
        info(f"the quoted words were not found on page {page}; the page is shown unmarked")
    if png is not None:
        import io

        from fieldmind.files import check_writable_target, write_user_file

        check_writable_target(png)  # before drawing: /dev/null or a folder is refused at once
        buffer = io.BytesIO()
        picture.image.save(buffer, format="PNG")
        write_user_file(png, buffer.getvalue())
        info(f"page {picture.page} of {picture.pages} written to {png}")
        return
    from rich.console import Console
    from textual_image.renderable import Image

    Console().print(Image(picture.image, width="auto"))
