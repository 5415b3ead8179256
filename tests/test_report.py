"""The after-event report: every total equals the ledger and the log, every sheet, Vietnamese headers, NFC."""
from __future__ import annotations

import datetime as dt
import random
import unicodedata
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from checkin import checkins, invitations
from checkin.codes import new_code
from kiosk.storage.schema import Donation, Invitee, ScanLog

from .event_files import write_other_event
from .invitee_files import csv_bytes, many_people

SHEETS = ["Tổng hợp", "Theo nhóm", "Đại biểu", "Nhật ký quét", "Ủng hộ", "Chương trình"]
MONEY = '#,##0 "đ"'


def _generate(app, client_as, seed=7):
    """Import people, scan a random subset (with repeats and strangers), walk-ins, gifts and voids."""
    rng = random.Random(seed)
    db = app.extensions["kiosk.db"]
    invitations.apply_import(db, invitations.check_import(db, "p.csv", csv_bytes(many_people(120))), False, "t")
    gate, cashier = client_as("gate"), client_as("cashier")
    from kiosk.storage import invitees as invitee_queries
    with db.read() as session:
        codes = [code for _p, code in invitee_queries.list_invitees(session, 1)]
    for code in rng.sample(codes, 70) + rng.sample(codes, 20) + [new_code() for _ in range(5)] + ["garbage"]:
        assert gate.post("/api/checkin", json={"code": code}).status_code == 200
    for i in range(6):
        gate.post("/api/walkins", json={"full_name": f"Học sinh {i}", "group": "hoc-sinh-thcs-phu-thong"})
    gate.post("/api/walkins", json={"full_name": "Cô giáo Hạnh", "group": "giao-vien-thcs-phu-thong"})
    amounts = [rng.choice([50_000, 100_000, 200_000, 500_000, 1_000_000, 1_005_000]) for _ in range(15)]
    receipts = []
    for i, amount in enumerate(amounts):
        body = {"donor_name": unicodedata.normalize("NFD", f"Nhà hảo tâm Nguyễn Văn Đức {i}"), "amount_vnd": amount,
                "method": "cash" if i % 3 else "transfer", "show_on_screen": i % 2 == 0}
        response = cashier.post("/api/donations", json=body)
        assert response.status_code == 201, response.get_json()
        receipts.append(response.get_json()["receipt_no"])
    for receipt in receipts[:2]:
        assert cashier.post(f"/api/donations/{receipt}/void", json={"reason": "Ghi nhầm"}).status_code == 200
    return db


def test_report_totals_equal_the_ledger_and_the_log(app, client_as):
    db = _generate(app, client_as)
    response = client_as("admin").get("/admin/report.xlsx")
    assert response.status_code == 200
    book = load_workbook(BytesIO(response.data))
    assert book.sheetnames == SHEETS
    with db.read() as session:
        present = session.scalar(select(func.count()).select_from(Invitee).where(
            Invitee.checked_in_at.is_not(None), Invitee.is_walk_in.is_(False)))
        walk_ins = session.scalar(select(func.count()).select_from(Invitee).where(Invitee.is_walk_in.is_(True)))
        invited = session.scalar(select(func.count()).select_from(Invitee).where(Invitee.is_walk_in.is_(False)))
        log_rows = session.scalar(select(func.count()).select_from(ScanLog))
        kept = session.execute(select(func.count(), func.sum(Donation.amount_vnd))
                               .where(Donation.voided_at.is_(None))).first()
        all_gifts = session.scalar(select(func.count()).select_from(Donation))
    summary = {row[0].value: row[1].value for row in book["Tổng hợp"].iter_rows(min_row=5) if row[0].value}
    assert summary["Khách mời được mời"] == invited
    assert summary["Khách mời có mặt"] == present
    assert summary["Khách vãng lai"] == walk_ins == 7
    assert summary["Học sinh"] == 6 and summary["Cán bộ, giáo viên, nhân viên nhà trường"] == 1
    assert summary["Số lượt ủng hộ (không tính biên nhận đã huỷ)"] == kept[0] == 13
    assert summary["Tổng tiền ủng hộ"] == kept[1]
    by_method = sum(v for k, v in summary.items() if k.startswith("Ủng hộ bằng"))
    assert by_method == kept[1]
    # Money is money on every sheet: the summary's amounts carry the đồng format, counts stay plain numbers.
    formats = {row[0].value: row[1].number_format for row in book["Tổng hợp"].iter_rows(min_row=5) if row[0].value}
    assert formats["Tổng tiền ủng hộ"] == MONEY and all(f == MONEY for k, f in formats.items() if k.startswith("Ủng hộ bằng"))
    assert formats["Khách mời có mặt"] == "General"

    # Per-group counts in their own numeric columns, summing to the totals row.
    groups = book["Theo nhóm"]
    assert [c.value for c in groups[1]] == ["STT", "Nhóm (thứ tự nghi thức)", "Được mời", "Có mặt", "Vãng lai",
                                           "Tổng có mặt"]
    group_rows = list(groups.iter_rows(min_row=2, values_only=True))
    assert all(isinstance(v, int) for row in group_rows for v in row[2:])
    assert [r[0] for r in group_rows[:-1]] == list(range(1, len(group_rows)))
    assert group_rows[-1][1:] == ("Cộng", invited, present, walk_ins, present + walk_ins)
    assert [sum(r[i] for r in group_rows[:-1]) for i in (2, 3, 4)] == [invited, present, walk_ins]

    delegates = book["Đại biểu"]
    assert [c.value for c in delegates[1]][:6] == ["STT", "Thứ tự nghi thức", "Danh xưng", "Họ và tên", "Chức vụ",
                                                  "Đơn vị"]
    # STT runs 1, 2, 3… whatever the protocol ranks are (empty for most of an imported list).
    assert [row[0].value for row in delegates.iter_rows(min_row=2)] == list(range(1, delegates.max_row))
    assert [row[1].value for row in delegates.iter_rows(min_row=2, max_row=4)] == [1, 2, 3]
    statuses = [row[9].value for row in delegates.iter_rows(min_row=2)]
    assert statuses.count("Có mặt") == present and statuses.count("Vãng lai") == walk_ins
    scans = book["Nhật ký quét"]
    assert scans.max_row - 1 == log_rows
    assert {row[3].value for row in scans.iter_rows(min_row=2)} >= {"Cho vào", "Đã vào trước đó",
                                                                   "Không có trong danh sách", "Mã không hợp lệ"}
    ledger = book["Ủng hộ"]
    rows = list(ledger.iter_rows(min_row=2, values_only=True))
    assert len(rows) == all_gifts + 1  # every gift, voids included, then the totals row
    assert rows[-1][5] == kept[1]
    assert sum(r[5] for r in rows[:-1] if r[9] != "Đã huỷ") == kept[1]
    assert [r[9] for r in rows[:-1]].count("Đã huỷ") == 2
    assert [r[0] for r in rows[:-1]] == list(range(1, all_gifts + 1))
    # NFD input from a phone comes back NFC through openpyxl.
    donor = rows[0][3]
    assert donor.startswith("Nhà hảo tâm Nguyễn Văn Đức") and unicodedata.is_normalized("NFC", donor)
    assert ledger.cell(row=2, column=6).number_format == MONEY
    assert ledger.cell(row=ledger.max_row, column=6).number_format == MONEY
    assert delegates.freeze_panes == "A2"
    # STT and the rank are centred in their narrow columns, never flush against the honorific beside them;
    # amounts stand right, text left.
    assert [delegates.cell(row=r, column=c).alignment.horizontal for r in (1, 2) for c in (1, 2, 3)] == \
        ["center", "center", None] * 2
    assert ledger.cell(row=2, column=6).alignment.horizontal == "right"
    programme = book["Chương trình"]
    assert programme.max_row == 9 and programme.cell(row=2, column=6).value == "Đón tiếp đại biểu."


def test_report_csv_and_cli(app, client_as, data_dir, tmp_path):
    _generate(app, client_as)
    admin = client_as("admin")
    csv_text = admin.get("/admin/report/ung-ho.csv").data.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("STT,Số biên nhận,Thời gian,Người ủng hộ")
    import os
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env.update({"KIOSK_DATA_DIR": str(data_dir), "PYTHONPATH": str(root)})
    out = tmp_path / "bao-cao.xlsx"
    result = subprocess.run([sys.executable, "-m", "kiosk", "report", str(out), "--csv"], capture_output=True,
                            text=True, env=env, cwd=root, timeout=120)
    assert result.returncode == 0, result.stderr
    assert load_workbook(out).sheetnames == SHEETS
    assert sorted(p.name for p in tmp_path.glob("bao-cao.*.csv")) == sorted(
        f"bao-cao.{key}.csv" for key in ("tong-hop", "theo-nhom", "dai-bieu", "nhat-ky-quet", "ung-ho",
                                         "chuong-trinh"))


def test_printable_summary_has_the_offices_title_and_figures(app, client_as):
    _generate(app, client_as)
    page = client_as("admin").get("/admin/report/print").get_data(as_text=True)
    assert "Kết quả tổ chức Lễ khai mạc Tuần lễ hưởng ứng học tập suốt đời năm 2023" in page
    assert "Tổng số lượt ủng hộ: <b>13</b>" in page
    # Each unit on two lines, its locality apart, as letterheads set them.
    assert '<div class="superior">ỦY BAN NHÂN DÂN</div><div class="superior">HUYỆN BẠCH THÔNG</div>' in page
    assert '<div class="unit">PHÒNG GIÁO DỤC VÀ ĐÀO TẠO</div><div class="unit">HUYỆN BẠCH THÔNG</div>' in page
    # The frame of an official report: number line, place and date, attendance total, signature block.
    from kiosk.vietnamese import format_date_long
    today = dt.datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    assert "Số:        /BC-PGDĐT" in page
    assert f"Bạch Thông, {format_date_long(today)}" in page
    assert "Tổng số người tham dự: <b>87</b> người (khách mời có mặt 80, khách vãng lai 7)" in " ".join(page.split())
    assert "Nơi nhận:" in page and "- Ủy ban nhân dân huyện Bạch Thông (để báo cáo);" in page
    assert "TRƯỞNG PHÒNG" in page and "(Ký, ghi rõ họ tên, đóng dấu)" in page


@pytest.mark.parametrize("unit, symbol, signer", [
    ("Phòng Giáo dục và Đào tạo huyện Bạch Thông", "PGDĐT", "TRƯỞNG PHÒNG"),
    ("Ủy ban nhân dân huyện Bạch Thông", "UBND", "CHỦ TỊCH"),
    ("Hội Khuyến học huyện Bạch Thông", "HKH", "CHỦ TỊCH"),
    ("Trường THCS Phủ Thông", "TTHCSPT", "HIỆU TRƯỞNG"),
    ("Ban tổ chức", "BTC", "THỦ TRƯỞNG ĐƠN VỊ"),
])
def test_the_report_names_its_unit_as_offices_abbreviate_it(unit, symbol, signer):
    from kiosk import official
    assert official.unit_symbol(unit) == symbol
    assert official.signer_title(unit) == signer


def test_the_date_line_is_placed_in_the_first_district_named():
    from kiosk import official
    assert official.place_name("Phòng Giáo dục và Đào tạo huyện Bạch Thông") == "Bạch Thông"
    assert official.place_name(None, "", "Phố Nà Hái, thị trấn Phủ Thông, huyện Bạch Thông, tỉnh Bắc Kạn") == "Bạch Thông"
    assert official.place_name("Sở Giáo dục thành phố Hà Nội") == "Hà Nội"
    assert official.place_name("Ban tổ chức") == ""


def test_staff_and_students_lines_follow_the_groups_kind_in_any_event_file(tmp_path):
    """Another event names its groups its own way; `kind` tells the report who is staff and who a student."""
    from kiosk import initialise, report
    from kiosk.storage import Database, ensure_schema, utcnow
    from kiosk.storage.checkins import ScanMeta

    other = write_other_event(tmp_path / "other.toml", """
[[groups]]
key = "gv"
name = "Giáo viên các trường"
rank = 1
walk_in = true
kind = "staff"
[[groups]]
key = "hs"
name = "Học sinh tiêu biểu"
rank = 2
walk_in = true
kind = "students"
""")
    db = Database(f"sqlite:///{tmp_path / 'k.sqlite3'}")
    try:
        ensure_schema(db)
        initialise(db, {}, other)
        meta = ScanMeta(gate="A", operator="gate", client_addr=None, nonce=None)
        checkins.walk_in(db, {"full_name": "Cô Lan", "group": "gv"}, meta)
        for name in ("Em An", "Em Bình"):
            checkins.walk_in(db, {"full_name": name, "group": "hs"}, meta)
        summary = dict(report.build(db, utcnow()).summary)
        assert summary["Cán bộ, giáo viên, nhân viên nhà trường"] == 1 and summary["Học sinh"] == 2
    finally:
        db.dispose()


def test_an_unknown_group_kind_is_refused_in_vietnamese():
    import pytest

    from kiosk.event_file import EventFileError, parse_event
    data = {"event": {"slug": "x", "title": "X", "date": __import__("datetime").date(2024, 5, 20), "start": "08:00",
                      "venue": "Y"},
            "agenda": [{"start": "08:00", "content": "Khai mạc"}],
            "groups": [{"key": "a", "name": "A", "rank": 1, "kind": "vip"}]}
    with pytest.raises(EventFileError, match="'kind' chỉ nhận delegates, residents, staff"):
        parse_event(data)


# ---- the workbook as LibreOffice Calc draws it

LONG_PEOPLE = [["Nguyễn Thị Phương Thảo Hoàng Lan Anh Ngọc Diệp " * 2 + str(i), "Bà",
                "Phó Trưởng phòng Giáo dục và Đào tạo huyện Bạch Thông kiêm Chủ tịch Hội Khuyến học",
                "Ủy ban nhân dân huyện Bạch Thông, tỉnh Bắc Kạn", "", i + 1, "Khu A", "0209 3870 123",
                "Ghi chú rất dài " * (i % 6)] for i in range(25)]


def _pdf_of(workbook: bytes, libreoffice: str, folder) -> "Path":
    """The workbook converted by LibreOffice headless, every sheet, as a user's 'Export as PDF' would."""
    import subprocess
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "bao-cao.xlsx"
    source.write_bytes(workbook)
    subprocess.run([libreoffice, "--headless", f"-env:UserInstallation=file://{folder}/profile", "--convert-to",
                    "pdf", "--outdir", str(folder / "out"), str(source)], check=True, capture_output=True, timeout=180)
    return folder / "out" / "bao-cao.pdf"


def _overdrawn_text(pdf_path) -> list[str]:
    """Where a line of text crosses a row's border or lies over another line of text, page by page.

    Every row of the report has a thin bottom border, drawn by Calc as a flat path the width of the table:
    a cell's text must stay between the borders around it, and no two lines of text may share ink."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw
    problems = []
    pdf = pdfium.PdfDocument(str(pdf_path))
    for number in range(len(pdf)):
        page = pdf[number]
        rules = []
        for obj in page.get_objects(max_depth=5):
            if obj.type == raw.FPDF_PAGEOBJ_PATH:
                left, bottom, right, top = obj.get_bounds()
                if top - bottom < 1.5 and right - left > 40:
                    rules.append((left, right, (top + bottom) / 2))
        text = page.get_textpage()
        boxes = []
        for index in range(text.count_rects()):
            left, bottom, right, top = text.get_rect(index)
            words = text.get_text_bounded(left, bottom, right, top).strip()
            if words:
                boxes.append((left, bottom, right, top, words))
        for left, bottom, right, top, words in boxes:
            for r_left, r_right, y in rules:
                if r_left < right and left < r_right and bottom + 0.6 < y < top - 0.6:
                    problems.append(f"page {number + 1}: “{words}” crosses a row border at y={y:.1f}")
        for i, (l1, b1, r1, t1, w1) in enumerate(boxes):
            for l2, b2, r2, t2, w2 in boxes[i + 1:]:
                if min(r1, r2) - max(l1, l2) > 0.6 and min(t1, t2) - max(b1, b2) > 0.6:
                    problems.append(f"page {number + 1}: “{w1}” drawn over “{w2}”")
    return problems


def _look_at(pdf_path, name: str) -> None:
    """Rasterise the pages into test-artifacts/ for a person to look at."""
    import pypdfium2 as pdfium
    from .conftest import ARTIFACTS
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = pdfium.PdfDocument(str(pdf_path))
    for number in range(len(pdf)):
        pdf[number].render(scale=1.6).to_pil().save(ARTIFACTS / f"{name}-page{number + 1}.png")


def test_libreoffice_draws_every_wrapped_cell_inside_its_row(app, client_as, libreoffice, tmp_path):
    """LibreOffice Calc converts the report to PDF; no cell's text is taller than its row on any page."""
    from openpyxl import load_workbook as load
    db = _generate(app, client_as)
    invitations.apply_import(db, invitations.check_import(db, "dai.csv", csv_bytes(LONG_PEOPLE)), False, "t")
    cashier = client_as("cashier")
    cashier.post("/api/donations", json={"donor_name": "Công ty Trách nhiệm hữu hạn Một thành viên Xây dựng và "
                                                       "Thương mại Bạch Thông " * 2, "amount_vnd": 9_999_999_999,
                                         "note": "Ủng hộ xây dựng thư viện và tủ sách cho học sinh " * 3})
    workbook = client_as("admin").get("/admin/report.xlsx").data
    fitted = _pdf_of(workbook, libreoffice, tmp_path / "fitted")
    _look_at(fitted, "report-libreoffice")
    assert _overdrawn_text(fitted) == []
    # The check sees the fault it looks for: the same workbook with every row one line high is overdrawn.
    book = load(BytesIO(workbook))
    for sheet in book.worksheets:
        for row in range(1, sheet.max_row + 1):
            sheet.row_dimensions[row].height = 15
    squeezed = BytesIO()
    book.save(squeezed)
    assert len(_overdrawn_text(_pdf_of(squeezed.getvalue(), libreoffice, tmp_path / "squeezed"))) > 20
