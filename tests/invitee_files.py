"""Builds the office's invitee lists as real .xlsx and .csv files for tests and benchmarks."""
from __future__ import annotations

import io

from openpyxl import Workbook

HEADERS = ["Họ và tên", "Danh xưng", "Chức vụ", "Đơn vị", "Nhóm", "Thứ tự", "Khu vực/ghế", "Điện thoại", "Ghi chú"]


def xlsx_bytes(rows: list[list], headers: list[str] = HEADERS) -> bytes:
    """A workbook whose first sheet holds `headers` and `rows` (strings starting with '=' are formulas)."""
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list], headers: list[str] = HEADERS, bom: bool = True, sep: str = ",") -> bytes:
    """A CSV in UTF-8 (with BOM, as Excel writes it, unless told otherwise)."""
    import csv
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep)
    writer.writerow(headers)
    writer.writerows(rows)
    data = out.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


def many_people(count: int) -> list[list]:
    """`count` distinct plausible invitees spread over the default event's groups."""
    family = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương"]
    middle = ["Văn", "Thị", "Đức", "Minh", "Thu", "Quốc", "Ngọc", "Hữu"]
    given = ["An", "Bình", "Cường", "Dung", "Giang", "Hà", "Hải", "Lan", "Long", "Mai", "Nam", "Phương",
             "Quang", "Sơn", "Thảo", "Trang", "Tuấn", "Việt", "Xuân", "Yến"]
    groups = ["Các phòng, ban, ngành, UB MTTQ và các đoàn thể huyện", "Các trường học và đơn vị thuộc huyện",
              "Khách mời", ""]
    rows = []
    for i in range(count):
        name = f"{family[i % 12]} {middle[(i // 12) % 8]} {given[(i // 96) % 20]} {i:04d}"
        rows.append([name, "Đồng chí" if i % 3 else "Bà", "Trưởng phòng" if i % 2 else "Hiệu trưởng",
                     f"Đơn vị số {i % 40 + 1} huyện Bạch Thông", groups[i % 4], i + 1,
                     f"Khu {'ABCD'[i % 4]}, ghế {i % 50 + 1}", f"09{i:08d}", ""])
    return rows
