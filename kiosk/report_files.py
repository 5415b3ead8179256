"""The report as files: one Excel workbook formatted for printing, and a CSV per table."""
from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, PatternFill, Side
from openpyxl.utils import get_column_letter

from .report import Money, Report, Table
from .sheet_layout import fit_row_heights
from .spreadsheet import append_row, csv_value, font

MONEY_FORMAT = '#,##0 "đ"'
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
HEADER_FILL = PatternFill("solid", fgColor="0F3D6E")
THIN = Side(style="thin", color="C9D1DB")


def _sheet(book: Workbook, table: Table, first: bool, report: Report):
    sheet = book.active if first else book.create_sheet()
    sheet.title = table.title
    top = 1
    if first:
        append_row(sheet, [report.title])
        append_row(sheet, [f"{report.event_title} — {report.event_when}"])
        sheet["A1"].font = font(bold=True, size=14)
        sheet.append([])
        top = 4
    append_row(sheet, table.headers)
    placement = [_placement(table, index) for index in range(len(table.headers))]
    for index, cell in enumerate(sheet[top]):
        cell.font = font(bold=True, color="FFFFFF")
        cell.fill = HEADER_FILL
        # A column's title stands where its figures stand.
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal=placement[index])
    # Every text cell is typed as text: a donor named "=HYPERLINK(…)" stays a name.
    for row in table.rows + ([table.totals] if table.totals else []):
        append_row(sheet, row)
        for cell, value in zip(sheet[sheet.max_row], row):
            if isinstance(value, Money):
                cell.number_format = MONEY_FORMAT   # an amount anywhere (the summary's total too)
    if table.totals:
        for cell in sheet[sheet.max_row]:
            cell.font = font(bold=True)
            cell.border = Border(top=Side(style="medium"))
    for index in table.money_columns:
        for (cell,) in sheet.iter_rows(min_row=top + 1, min_col=index + 1, max_col=index + 1):
            cell.number_format = MONEY_FORMAT
    for index in table.datetime_columns:
        for (cell,) in sheet.iter_rows(min_row=top + 1, min_col=index + 1, max_col=index + 1):
            cell.number_format = DATETIME_FORMAT
    for index, width in enumerate(table.widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    for row in sheet.iter_rows(min_row=top + 1):
        for cell in row:
            totals_row = bool(table.totals) and cell.row == sheet.max_row
            # The totals' label runs on into the empty cells beside it instead of wrapping in a narrow one.
            cell.alignment = Alignment(wrap_text=not totals_row, vertical="top",
                                       horizontal=placement[cell.column - 1] if cell.column <= len(placement) else None)
            if not totals_row:
                cell.border = Border(bottom=THIN)
    # Calc draws a wrapped cell in the height the file gives: every row gets the height its text needs.
    fit_row_heights(sheet, 1)
    # Printing: frozen header, header repeated on every page, landscape, fit to the page width.
    sheet.freeze_panes = sheet.cell(row=top + 1, column=1)
    sheet.print_title_rows = f"{top}:{top}"
    sheet.page_setup.orientation = "landscape" if len(table.headers) > 4 else "portrait"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.oddFooter.center.text = "Trang &P / &N"


def _numeric(table: Table, index: int) -> bool:
    values = [row[index] for row in table.rows if index < len(row) and row[index] is not None]
    return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _placement(table: Table, index: int) -> str | None:
    """Where a column's cells sit: a narrow column of numbers (STT, a rank) centred, as office tables
    print them, so a number never touches the text of the next column; other figures right; text left."""
    if not _numeric(table, index):
        return None
    narrow = index < len(table.widths) and table.widths[index] <= 10
    return "center" if narrow else "right"


def workbook_bytes(report: Report) -> bytes:
    """The report as .xlsx bytes: Tổng hợp, Đại biểu, Nhật ký quét, Ủng hộ, Chương trình."""
    book = Workbook()
    for index, table in enumerate(report.tables):
        _sheet(book, table, index == 0, report)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(table: Table) -> bytes:
    """One table as CSV in UTF-8 with a BOM, so Excel opens the Vietnamese correctly; no cell is a formula."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_value(title) for title in table.headers])
    for row in table.rows + ([table.totals] if table.totals else []):
        writer.writerow(["" if value is None else value.strftime("%d/%m/%Y %H:%M") if hasattr(value, "strftime")
                         else csv_value(value) for value in row])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")
