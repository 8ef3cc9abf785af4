"""A picture in the terminal: Kitty graphics or Sixel where the terminal has them, coloured half blocks
(two pixels a cell, any terminal with colour, tmux included) everywhere else."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from textual.widget import Widget

if TYPE_CHECKING:
    from PIL.Image import Image


def prepare_terminal() -> None:
    """Ask the terminal what it can draw, before Textual takes it over (textual-image asks on import)."""
    with contextlib.suppress(Exception):  # no answer from the terminal: half blocks it is
        import textual_image.widget  # noqa: F401


def picture_widget(image: Image, id: str | None = None) -> Widget:
    """The widget that draws `image` (a PIL image) best in this terminal."""
    from textual_image.renderable import Image as Detected
    from textual_image.renderable.sixel import Image as SixelRenderable
    from textual_image.renderable.tgp import Image as TGPRenderable
    from textual_image.widget import HalfcellImage, SixelImage, TGPImage

    if Detected is SixelRenderable:
        return SixelImage(image, id=id)
    if Detected is TGPRenderable:
        return TGPImage(image, id=id)
    return HalfcellImage(image, id=id)


def in_half_blocks() -> bool:
    """This terminal draws pictures in half blocks (no Kitty nor Sixel graphics): two pixels a cell."""
    from textual_image.renderable import Image as Detected
    from textual_image.renderable.sixel import Image as SixelRenderable
    from textual_image.renderable.tgp import Image as TGPRenderable

    return Detected not in (SixelRenderable, TGPRenderable)


def picture_rows(image: Image, cells: int) -> int:
    """Rows that show `image` `cells` wide with its proportions (a cell is about twice as tall as wide).

    Given explicitly: textual-image's automatic height came out as 0 rows for a picture mounted after the
    screen's first layout."""
    from textual_image._terminal import get_cell_size

    size = get_cell_size()
    rows: int = round(cells * int(size.width) * int(image.height) / (int(image.width) * int(size.height)))
    return max(1, rows)
