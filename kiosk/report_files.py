"""The report as files: one Excel workbook formatted for printing, and a CSV per table."""
from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from .report import Report, Table
from .spreadsheet import append_row, csv_value

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
        sheet["A1"].font = Font(bold=True, size=14)
        sheet.append([])
        top = 4
    append_row(sheet, table.headers)
    for cell in sheet[top]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    # Every text cell is typed as text: a donor named "=HYPERLINK(…)" stays a name.
    for row in table.rows:
        append_row(sheet, row)
    if table.totals:
        append_row(sheet, table.totals)
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
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
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            cell.border = Border(bottom=THIN)
    # Printing: frozen header, header repeated on every page, landscape, fit to the page width.
    sheet.freeze_panes = sheet.cell(row=top + 1, column=1)
    sheet.print_title_rows = f"{top}:{top}"
    sheet.page_setup.orientation = "landscape" if len(table.headers) > 4 else "portrait"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.oddFooter.center.text = "Trang &P / &N"


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
