"""The ledger as a spreadsheet (XLSX, with totals) and as CSV, for the treasurer's reconciliation."""
from __future__ import annotations

import csv
import datetime as dt
import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, PatternFill
from openpyxl.utils import get_column_letter

from kiosk.sheet_layout import fit_row_heights
from kiosk.spreadsheet import append_row, csv_value, font

COLUMNS = (
    ("STT", 6), ("Số biên nhận", 16), ("Thời gian", 17), ("Người ủng hộ", 30), ("Đơn vị/Địa chỉ", 34),
    ("Số tiền (đồng)", 16), ("Hình thức", 14), ("Ghi chú", 24), ("Nêu tên trên màn hình", 12),
    ("Người thu", 18), ("Số lần in lại", 10), ("Trạng thái", 12), ("Lý do hủy", 24), ("Thời điểm hủy", 17),
)
AMOUNT_COLUMN = 6
MONEY_FORMAT = '#,##0 "đ"'


def _row(index: int, d: dict) -> list:
    return [index, d["receipt_no"], d["created_label"], d["donor_name"], d["organisation"] or "",
            d["amount_vnd"], d["method_label"], d["note"] or "", "Có" if d["show_on_screen"] else "Không",
            d["cashier_name"] or "", d["reprint_count"], "Đã hủy" if d["voided"] else "Hợp lệ",
            d["void_reason"] or "", d["voided_label"] or ""]


def to_csv(donations: list[dict]) -> bytes:
    """UTF-8 with a BOM (Excel on Windows then reads the Vietnamese right), one row per donation."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([name for name, _ in COLUMNS])
    for index, d in enumerate(donations, 1):
        writer.writerow([csv_value(v) for v in _row(index, d)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(donations: list[dict], totals: dict, title: str, generated_label: str) -> bytes:
    """One sheet: heading, the donations in receipt order, then totals by method and the voids apart."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Sổ ủng hộ"
    bold = font(bold=True)
    append_row(ws, [title])
    ws["A1"].font = font(bold=True, size=14)
    append_row(ws, [generated_label])
    ws.append([])
    header_row = ws.max_row + 1
    append_row(ws, [name for name, _ in COLUMNS])
    for col, (_, width) in enumerate(COLUMNS, 1):
        cell = ws.cell(row=header_row, column=col)
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor="DDE6F0")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[get_column_letter(col)].width = width
    for index, d in enumerate(donations, 1):
        append_row(ws, _row(index, d))  # text stays text, never a formula, whatever was typed
        ws.cell(row=ws.max_row, column=AMOUNT_COLUMN).number_format = MONEY_FORMAT
        if d["voided"]:
            for cell in ws[ws.max_row]:
                cell.font = font(strike=True, color="888888")
    last_data_row = ws.max_row
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(COLUMNS))}{max(last_data_row, header_row)}"
    ws.append([])
    lines = [(f"{b['label']} ({b['count']} lượt)", b["total_vnd"]) for b in totals["by_method"].values()]
    lines.append((f"Tổng cộng hợp lệ ({totals['count']} lượt)", totals["total_vnd"]))
    lines.append((f"Đã hủy, không tính ({totals['voided']['count']} lượt)", totals["voided"]["total_vnd"]))
    for label, amount in lines:
        append_row(ws, [None, None, None, None, label, amount])
        ws.cell(row=ws.max_row, column=5).font = bold
        amount_cell = ws.cell(row=ws.max_row, column=AMOUNT_COLUMN)
        amount_cell.number_format = MONEY_FORMAT
        amount_cell.font = bold
    fit_row_heights(ws)   # the header's wrapped titles, as LibreOffice would otherwise cut them
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def file_stamp(now: dt.datetime) -> str:
    return now.strftime("%Y%m%d-%H%M")
