"""Read the office's invitee list (.xlsx or .csv) and report every problem row by row, in Vietnamese."""
from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field

from kiosk.cleaning import clean_text
from kiosk.spreadsheet import append_row, font
from kiosk.vietnamese import fold

from .people import PersonError, PersonFields, clean_person

# The template's headers, in order, and the field each fills.
COLUMNS = (("Họ và tên", "full_name"), ("Danh xưng", "honorific"), ("Chức vụ", "title"),
           ("Đơn vị", "organisation"), ("Nhóm", "group"), ("Thứ tự", "protocol_rank"),
           ("Khu vực/ghế", "seat"), ("Điện thoại", "phone"), ("Ghi chú", "note"))
# Other spellings organisers use for the same columns (compared folded, without spaces or punctuation).
# Not "STT": in office lists it is the row number, not the protocol rank.
ALIASES = {"hoten": "full_name", "ten": "full_name", "hovaten": "full_name", "danhxung": "honorific",
           "chucvu": "title", "chucdanh": "title", "donvi": "organisation", "coquan": "organisation",
           "nhom": "group", "thanhphan": "group", "thutu": "protocol_rank",
           "khuvucghe": "seat", "khuvuc": "seat", "ghe": "seat", "chongoi": "seat", "dienthoai": "phone",
           "sodienthoai": "phone", "sdt": "phone", "ghichu": "note"}
EXCEL_ERRORS = ("#REF!", "#N/A", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!")
# Bounds on what a list may be: an office list is a few hundred rows of nine columns.
MAX_ROWS = 20000
# The template's example row says this in its "Ghi chú": a file sent back with it still in imports without it.
EXAMPLE_MARKER = "Dòng ví dụ, hãy xoá"
MAX_COLUMNS = 30          # columns read; anything to the right of these is ignored
MAX_CELL = 1000           # characters in one cell
MAX_UNZIPPED = 50 * 1024 * 1024   # an .xlsx is a zip: what it may unpack to, all parts together
MAX_ZIP_PARTS = 500


@dataclass(frozen=True)
class RowError:
    """One problem: the spreadsheet row number (1 = header), the column, and what is wrong."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"Dòng {self.row}" if self.row else "Tệp"
        return f"{where}, cột “{self.column}”: {self.message}" if self.column else f"{where}: {self.message}"


@dataclass
class ImportReport:
    """Valid rows (with their row numbers), every error found, and the template's example row if it was
    left in (skipped)."""

    rows: list[tuple[int, PersonFields]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    example_row: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


class ImportFileError(ValueError):
    """The whole file cannot be read (wrong type, damaged, no header)."""


def _header_key(text: object) -> str:
    return "".join(ch for ch in fold("" if text is None else str(text)) if ch.isalnum())


def _map_headers(header: list) -> dict[int, str]:
    """Column index → field, forgiving case, accents, spacing and punctuation."""
    wanted = {_header_key(title): field_name for title, field_name in COLUMNS}
    wanted.update(ALIASES)
    mapping: dict[int, str] = {}
    for index, title in enumerate(header):
        field_name = wanted.get(_header_key(title))
        if field_name and field_name not in mapping.values():
            mapping[index] = field_name
    if "full_name" not in mapping.values():
        raise ImportFileError("Không tìm thấy cột “Họ và tên” ở dòng tiêu đề. Hãy dùng tệp mẫu.")
    return mapping


UNREADABLE_XLSX = "Không đọc được tệp Excel (tệp hỏng hoặc không phải .xlsx). Hãy mở tệp trong Excel và lưu lại."


def _check_zip(data: bytes) -> None:
    """Refuse a zip that unpacks to far more than a list could be (a zip bomb) before anything unpacks it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise ImportFileError(UNREADABLE_XLSX) from None
    # The sizes are the ones the zip declares; unpacking stops at them (zipfile checks), so they bound it.
    if len(parts) > MAX_ZIP_PARTS or sum(part.file_size for part in parts) > MAX_UNZIPPED:
        raise ImportFileError(f"Tệp Excel giải nén ra quá lớn (tối đa {MAX_UNZIPPED // 2**20} MB): "
                              "đây không phải một danh sách khách mời bình thường.")


def _read_xlsx(data: bytes) -> list[list]:
    from openpyxl import load_workbook
    _check_zip(data)
    try:
        values = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        formulas = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        try:
            sheet, formula_sheet = values.worksheets[0], formulas.worksheets[0]
            rows = []
            for value_row, formula_row in zip(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True),
                                              formula_sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)):
                # A formula the spreadsheet never calculated has no cached value: flag it, never import blank.
                rows.append([("#UNCALCULATED" if v is None and isinstance(f, str) and f.startswith("=") else v)
                             for v, f in zip(value_row, formula_row)])
                if len(rows) > MAX_ROWS + 1:
                    break
        finally:
            values.close()
            formulas.close()
    except ImportFileError:
        raise
    except Exception:  # noqa: BLE001 - any fault in a crafted or damaged workbook (XML, zip, entities, types)
        # defusedxml makes openpyxl refuse DTDs and entities (no entity bombs); whatever else a damaged file
        # makes the parser raise is the same answer for the organiser: the file cannot be read.
        raise ImportFileError(UNREADABLE_XLSX) from None
    return rows


def _read_csv(data: bytes) -> list[list]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError("Tệp CSV không phải mã UTF-8. Trong Excel hãy lưu dạng “CSV UTF-8”.") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    rows = []
    try:
        for row in reader:
            rows.append(row[:MAX_COLUMNS])
            if len(rows) > MAX_ROWS + 1:
                break
    except csv.Error:
        # A field longer than the csv module allows (128 KB), or a quote that never closes.
        raise ImportFileError(f"Dòng {reader.line_num} của tệp CSV không đọc được (ô quá dài hoặc thiếu dấu "
                              "ngoặc kép đóng).") from None
    return rows


def read_table(filename: str, data: bytes) -> list[list]:
    """The file's rows (header first) as lists of cell values."""
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        return _read_xlsx(data)
    if name.endswith(".csv"):
        return _read_csv(data)
    if name.endswith(".xls"):
        raise ImportFileError("Tệp .xls (Excel 97–2003) không được hỗ trợ. Hãy lưu lại dạng .xlsx hoặc CSV UTF-8.")
    raise ImportFileError("Chỉ nhận tệp .xlsx hoặc .csv.")


def parse_invitees(filename: str, data: bytes, group_keys_by_name: dict[str, str]) -> ImportReport:
    """Check every row of the file; never raises for a bad row, only for an unreadable file."""
    table = read_table(filename, data)
    report = ImportReport()
    if not table:
        report.errors.append(RowError(0, "", "Tệp không có dữ liệu."))
        return report
    mapping = _map_headers(table[0])
    seen: dict[tuple[str, str], int] = {}
    body = table[1:]
    if len(body) > MAX_ROWS:
        report.errors.append(RowError(0, "", f"Tệp có quá {MAX_ROWS} dòng."))
        return report
    titles = {field_name: title for title, field_name in COLUMNS}
    for offset, cells in enumerate(body):
        row_number = offset + 2
        values = {field_name: cells[index] if index < len(cells) else None for index, field_name in mapping.items()}
        if all(v is None or (isinstance(v, str) and not clean_text(v)) for v in values.values()):
            continue  # blank lines between blocks are common in office lists
        if fold(values.get("note")) == fold(EXAMPLE_MARKER):
            report.example_row = row_number  # the template's example: never an invitation (it is a VIP row)
            continue
        problems = _cell_problems(values, titles)
        if not problems:
            try:
                person = clean_person(values, group_keys_by_name)
            except PersonError as exc:
                problems = [(p.column, p.message) for p in exc.problems]
        if problems:
            report.errors.extend(RowError(row_number, column, message) for column, message in problems)
            continue
        identity = person.identity()
        if identity in seen:
            report.errors.append(RowError(row_number, "Họ và tên",
                                          f"trùng người ở dòng {seen[identity]} (cùng họ tên và đơn vị)."))
            continue
        seen[identity] = row_number
        report.rows.append((row_number, person))
    if not report.rows and not report.errors:
        empty = "Tệp không có dòng nào có dữ liệu."
        if report.example_row:
            empty += f" (Dòng {report.example_row} là dòng ví dụ của tệp mẫu, đã bỏ qua.)"
        report.errors.append(RowError(0, "", empty))
    return report


def _cell_problems(values: dict, titles: dict[str, str]) -> list[tuple[str, str]]:
    """Every cell of a row too long, holding an Excel error, or a formula never calculated."""
    problems = []
    for field_name, value in values.items():
        if isinstance(value, str) and len(value) > MAX_CELL:
            problems.append((titles[field_name], f"ô quá dài (tối đa {MAX_CELL} ký tự)."))
        elif value == "#UNCALCULATED":
            problems.append((titles[field_name], "ô chứa công thức chưa được tính; hãy mở tệp trong Excel và lưu lại."))
        elif isinstance(value, str) and value.strip() in EXCEL_ERRORS:
            problems.append((titles[field_name], f"ô có lỗi công thức ({value.strip()})."))
    return problems


def template_xlsx(group_names: list[str]) -> bytes:
    """The downloadable template: Vietnamese headers, an example row, and the event's groups."""
    from openpyxl import Workbook
    from openpyxl.styles import PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = "Danh sách khách mời"
    append_row(sheet, [title for title, _ in COLUMNS])
    append_row(sheet, ["Nguyễn Văn An", "Đồng chí", "Phó Chủ tịch UBND huyện", "UBND huyện Bạch Thông",
                       group_names[0] if group_names else "", 1, "Khu A, ghế 1", "0912345678", EXAMPLE_MARKER])
    for cell in sheet[1]:
        cell.font = font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="0F3D6E")
    for column, width in zip("ABCDEFGHI", (28, 12, 30, 34, 40, 8, 14, 14, 24)):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    groups = book.create_sheet("Nhóm")
    groups.append(["Các nhóm của sự kiện (dùng đúng tên ở cột “Nhóm”; để trống = Khách mời)"])
    for name in group_names:
        append_row(groups, [name])
    groups.column_dimensions["A"].width = 70
    if group_names:
        check = DataValidation(type="list", formula1=f"=Nhóm!$A$2:$A${len(group_names) + 1}", allow_blank=True)
        sheet.add_data_validation(check)
        check.add("E2:E2000")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
