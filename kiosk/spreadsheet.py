"""Cells that stay text: what a guest typed never becomes a formula, nor a character no .xlsx may hold.

Every workbook and CSV the kiosk writes (the report, the ledger) puts its rows through here, so a file
builds from any database the app can write, including one written before the cleaning boundary existed.
"""
from __future__ import annotations

from .cleaning import clean_text

# Excel's limit for one cell.
MAX_CELL = 32_767
# A cell starting with one of these is a formula (or becomes one) to Excel and LibreOffice.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def font(**changes):
    """The workbook's own font (Calibri 11) with some changes. A font without a name is drawn by LibreOffice
    in a serif, so every styled cell names it."""
    from openpyxl.styles import Font
    return Font(name="Calibri", size=changes.pop("size", 11), **changes)


def cell_value(value):
    """Text cleaned of what a workbook cannot hold; numbers, dates and empty cells as they are."""
    return clean_text(value, MAX_CELL) if isinstance(value, str) else value


def append_row(sheet, values) -> None:
    """Append a row to an openpyxl sheet, every text cell typed as text (never a formula)."""
    sheet.append([cell_value(value) for value in values])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def csv_value(value):
    """A CSV cell: cleaned text, with a leading apostrophe where a spreadsheet would see a formula."""
    value = cell_value(value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
