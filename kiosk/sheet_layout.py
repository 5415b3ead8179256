"""Row heights for wrapped cells, written into the workbook: LibreOffice Calc draws a wrapped cell in the
height the file gives (too short and the text runs over the next rows), and Excel does not always grow a
row either. So the kiosk measures each cell's wrapped lines itself.

Text is measured with DejaVu Sans (bundled), in units of the width of its digit "0", which is how both
programs size columns: a column `width` wide holds about `width` digits of its default font. DejaVu Sans is
what LibreOffice falls back to for Calibri on a Linux laptop, and it is wider than Calibri, so a row sized
here is never too short in Excel either (a little air at most).
"""
from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache

from PIL import ImageFont

from .typesetting import FONT_DIR

REFERENCE_PX = 64                   # measuring size: large enough for sub-pixel-free advances
BASE_SIZE = 11                      # openpyxl's default font size (points)
LINE_POINTS = 15.0                  # a line of 11 pt text in a row, as Excel's default row height
PADDING_POINTS = 3.0                # above and below the lines
SAFETY = 1.03                       # measured widths rounded up: fonts differ a little from DejaVu
COLUMN_MARGIN_DIGITS = 0.6          # the cell's inner margins and the grid line, in digits
DEFAULT_WIDTH = 8.43                # a column without a width set


@lru_cache(maxsize=2)
def _font(bold: bool) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), REFERENCE_PX)


@lru_cache(maxsize=1)
def _digit() -> float:
    return _font(False).getlength("0")


@lru_cache(maxsize=50_000)
def text_digits(text: str, bold: bool = False) -> float:
    """How many digit widths `text` takes at the base size."""
    return _font(bold).getlength(text) * SAFETY / _digit()


def wrapped_lines(text: str, width_digits: float, bold: bool = False, scale: float = 1.0) -> int:
    """Lines `text` takes when wrapped at spaces (a word longer than the line breaks anywhere) in a
    column `width_digits` wide, as a spreadsheet wraps it."""
    room = max(1.0, width_digits - COLUMN_MARGIN_DIGITS)
    total = 0
    for paragraph in text.split("\n"):
        lines, used = 1, 0.0
        space = text_digits(" ", bold) * scale
        for word in paragraph.split(" "):
            size = text_digits(word, bold) * scale
            needed = size if used == 0 else used + space + size
            if needed <= room:
                used = needed
                continue
            if used > 0:
                lines, used = lines + 1, 0.0
            if size > room:                      # a long word (a code, a URL) breaks across lines
                extra = math.ceil(size / room) - 1
                lines += extra
                size -= extra * room
            used = size
        total += lines
    return total


def shown_text(value, number_format: str | None = None) -> str:
    """What a cell shows, near enough to measure it: dates as dd/mm/yyyy hh:mm, money with its unit."""
    if value is None:
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        return "00/00/0000 00:00"
    if isinstance(value, bool):
        return "TRUE"
    if isinstance(value, (int, float)):
        text = f"{value:,.0f}".replace(",", ".")
        return text + " đ" if number_format and "đ" in number_format else text
    return str(value)


def fit_row_heights(sheet, first_row: int = 1) -> None:
    """Give every row from `first_row` the height its tallest wrapped cell needs (rows whose cells all fit
    one line get the plain height, written too, so no program has to guess)."""
    widths = {}
    for row in sheet.iter_rows(min_row=first_row):
        lines, scale_max = 1, 1.0
        for cell in row:
            if cell.value is None:
                continue
            letter = cell.column_letter
            if letter not in widths:
                widths[letter] = sheet.column_dimensions[letter].width or DEFAULT_WIDTH
            size = float(cell.font.sz or BASE_SIZE) if cell.font else BASE_SIZE
            scale = size / BASE_SIZE
            scale_max = max(scale_max, scale)
            bold = bool(cell.font and cell.font.b)
            text = shown_text(cell.value, cell.number_format)
            if cell.alignment is not None and cell.alignment.wrap_text:
                lines = max(lines, wrapped_lines(text, widths[letter], bold, scale))
            else:
                lines = max(lines, text.count("\n") + 1)
        sheet.row_dimensions[row[0].row].height = round(lines * LINE_POINTS * scale_max + PADDING_POINTS, 1)
