"""Importing the office's list: good files, every kind of error (nothing imported), re-imports."""
from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import func, select

from checkin import invitations
from checkin.importer import parse_invitees
from checkin.people import PersonError, normalise_phone
from kiosk.storage.schema import InvitationCode, Invitee

from .conftest import login
from .invitee_files import HEADERS, csv_bytes, xlsx_bytes

ROOT = Path(__file__).resolve().parent.parent
GOOD = [["Nguyễn Văn An", "Đồng chí", "Phó Chủ tịch UBND huyện", "UBND huyện Bạch Thông",
         "Thường trực Huyện ủy, Thường trực HĐND, Lãnh đạo UBND huyện", 1, "Khu A, ghế 1", "0912 345 678", ""],
        ["Trần Thị Bình", "Bà", "Hiệu trưởng", "Trường Tiểu học Phủ Thông", "", "", "Khu B", "+84987654321",
         "Đến muộn"]]


def _count(db, model=Invitee):
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(model))


def _db(app):
    return app.extensions["kiosk.db"]


@pytest.mark.parametrize("make", [lambda r: ("ds.xlsx", xlsx_bytes(r)), lambda r: ("ds.csv", csv_bytes(r)),
                                  lambda r: ("ds.csv", csv_bytes(r, bom=False, sep=";"))])
def test_good_file_imports_every_row_with_a_code(app, make):
    db = _db(app)
    before = _count(db)
    filename, data = make(GOOD)
    report = invitations.check_import(db, filename, data)
    assert report.ok, report.errors
    assert invitations.apply_import(db, report, False, "test") == {"created": 2, "updated": 0}
    assert _count(db) == before + 2
    with db.read() as session:
        an = session.scalars(select(Invitee).where(Invitee.full_name == "Nguyễn Văn An")).one()
        binh = session.scalars(select(Invitee).where(Invitee.full_name == "Trần Thị Bình")).one()
        assert an.phone == "0912345678" and binh.phone == "0987654321"
        assert an.group.key == "lanh-dao-huyen"
        assert binh.group.key == "khach-moi"  # empty "Nhóm" → the event's default group
        assert binh.protocol_rank is None and an.protocol_rank == 1
        assert session.scalar(select(func.count()).select_from(InvitationCode)
                              .where(InvitationCode.invitee_id.in_([an.id, binh.id]))) == 2


def test_headers_are_matched_forgivingly_and_nfd_names_stored_nfc(app):
    headers = ["  HỌ VÀ TÊN ", "danh xung", "Chức  vụ", "ĐƠN VỊ", "nhom", "thu tu", "Khu vực / ghế", "SĐT", "ghi chú"]
    nfd_name = unicodedata.normalize("NFD", "Phạm Thị Hồng Nhung")
    report = invitations.check_import(_db(app), "ds.xlsx", xlsx_bytes([[nfd_name, "Bà", "", "", "", "", "", "", ""]],
                                                                       headers))
    assert report.ok
    invitations.apply_import(_db(app), report, False, "test")
    with _db(app).read() as session:
        stored = session.scalar(select(Invitee.full_name).where(Invitee.full_name.like("Phạm%")))
    assert stored == "Phạm Thị Hồng Nhung" and unicodedata.is_normalized("NFC", stored)


BAD_ROWS = [
    (["", "Ông", "", "UBND", "", "", "", "", ""], 2, "Họ và tên", "không được để trống"),
    (["Lê Văn Cường", "Ông", "", "", "Nhóm không có", "", "", "", ""], 2, "Nhóm", "không có nhóm"),
    (["Lê Văn Cường", "Ông", "", "", "", "ba", "", "", ""], 2, "Thứ tự", "không phải số nguyên"),
    (["Lê Văn Cường", "Ông", "", "", "", "", "", "12345", ""], 2, "Điện thoại", "không hợp lệ"),
    (["Lê Văn Cường", "Ông", "", "", "", "", "", "#REF!", ""], 2, "Điện thoại", "lỗi công thức"),
]


@pytest.mark.parametrize("row,line,column,text", BAD_ROWS)
def test_each_kind_of_bad_row_is_reported_and_nothing_imported(app, row, line, column, text):
    db = _db(app)
    before = _count(db)
    report = invitations.check_import(db, "ds.xlsx", xlsx_bytes([GOOD[0], row]))
    assert [(e.row, e.column) for e in report.errors] == [(line + 1, column)]
    assert text in report.errors[0].message
    with pytest.raises(invitations.InvitationError) as info:
        invitations.apply_import(db, report, False, "test")
    assert info.value.code == "import_has_errors" and "chưa nhập dòng nào" in info.value.message
    assert _count(db) == before
    # The organiser may choose to import only the valid rows.
    assert invitations.apply_import(db, report, True, "test")["created"] == 1
    assert _count(db) == before + 1


def test_duplicate_person_in_the_file_is_an_error():
    groups = {"khach-moi": "khach-moi"}
    data = xlsx_bytes([GOOD[1], [unicodedata.normalize("NFD", "TRẦN THỊ BÌNH"), "", "", "Trường tiểu học Phủ Thông",
                                 "", "", "", "", ""]])
    report = parse_invitees("ds.xlsx", data, groups)
    assert len(report.rows) == 1
    assert report.errors[0].row == 3 and "trùng người ở dòng 2" in report.errors[0].message


def test_uncalculated_formula_is_an_error():
    data = xlsx_bytes([["Lê Văn Cường", "Ông", "", "", "", "=1+1", "", "", ""]])
    report = parse_invitees("ds.xlsx", data, {})
    assert report.errors and report.errors[0].column == "Thứ tự"
    assert "chưa được tính" in report.errors[0].message


@pytest.mark.parametrize("filename,data,text", [
    ("ds.xlsx", b"not a zip at all", "Không đọc được tệp Excel"),
    ("ds.pdf", b"%PDF-1.4", "Chỉ nhận tệp .xlsx hoặc .csv"),
    ("ds.xls", b"\xd0\xcf\x11\xe0", ".xls"),
    ("ds.csv", "Họ và tên\nNguyễn Văn An\n".encode("utf-16"), "UTF-8"),
    ("ds.csv", "Tên khách,Cơ quan\nAn,UBND\n".encode("utf-8"), "Họ và tên"),
])
def test_unreadable_or_wrong_files_are_refused(app, filename, data, text):
    from checkin.importer import ImportFileError
    with pytest.raises(ImportFileError, match=text):
        invitations.check_import(_db(app), filename, data)


def test_reimport_of_an_edited_list_updates_and_never_duplicates(app):
    db = _db(app)
    invitations.apply_import(db, invitations.check_import(db, "ds.xlsx", xlsx_bytes(GOOD)), False, "test")
    before = _count(db)
    with db.read() as session:
        an_id = session.scalar(select(Invitee.id).where(Invitee.full_name == "Nguyễn Văn An"))
        old_code = session.scalar(select(InvitationCode.code).where(InvitationCode.invitee_id == an_id))
    edited = [list(GOOD[0]), list(GOOD[1])]
    edited[0][2] = "Chủ tịch UBND huyện"
    edited[0][0] = "nguyễn văn an".upper()  # case differs: still the same person
    report = invitations.check_import(db, "ds2.xlsx", xlsx_bytes(edited))
    assert invitations.apply_import(db, report, False, "test") == {"created": 0, "updated": 2}
    assert _count(db) == before
    with db.read() as session:
        an = session.get(Invitee, an_id)
        assert an.title == "Chủ tịch UBND huyện"
        codes = session.scalars(select(InvitationCode.code).where(InvitationCode.invitee_id == an_id)).all()
    assert codes == [old_code]  # the printed card stays valid


@pytest.mark.parametrize("raw,phone", [
    # Mobiles: 10 digits, every network's prefix, however the office typed them.
    ("0912345678", "0912345678"), ("+84 912 345 678", "0912345678"), ("84912345678", "0912345678"),
    ("0084 912 345 678", "0912345678"), ("(+84) 386-123-456", "0386123456"), (912345678, "0912345678"),
    (912345678.0, "0912345678"), ("091.234.5678", "0912345678"), ("0523 456 789", "0523456789"),
    ("0703456789", "0703456789"), ("0856 789 012", "0856789012"),
    # Landlines: 11 digits, 02 + area code (Bắc Kạn 0209, Hà Nội 024).
    ("0204 3870 123", "02043870123"), ("0209.3870.123", "02093870123"), ("+84 24 3825 1234", "02438251234"),
    ("842093870123", "02093870123"), (2093870123, "02093870123"), ("(0209) 3 870 123", "02093870123"),
    # A pre-2018 mobile number in an old list becomes today's.
    ("0168 912 3456", "0389123456"), ("01239876543", "0839876543"), ("+84 1222 333 444", "0772333444"),
    ("", None), (None, None), ("  ", None)])
def test_phone_numbers_are_normalised(raw, phone):
    assert normalise_phone(raw) == phone


@pytest.mark.parametrize("raw", ["0912", "09123456789", "0112345678", "0612345678", "02093870",
                                 "020938701234", "1900 1234", "0912345678 / 0987654321", "091234567a",
                                 "+1 212 555 0100", "٠٩١٢٣٤٥٦٧٨", "+84"])
def test_bad_phone_is_refused_in_vietnamese(raw):
    with pytest.raises(PersonError) as refused:
        normalise_phone(raw)
    assert "không hợp lệ" in refused.value.message and "0204 3870 123" in refused.value.message


def test_a_landline_imports_and_is_found_by_its_last_digits(app, client_as):
    db = _db(app)
    report = invitations.check_import(db, "ds.csv", csv_bytes(
        [["Triệu Văn Hùng", "Ông", "Chánh Văn phòng", "Văn phòng Huyện ủy", "", "", "", "0209 3870 123", ""]]))
    assert report.ok and report.rows[0][1].phone == "02093870123"
    invitations.apply_import(db, report, False, "test")
    found = client_as("gate").get("/api/delegates?q=0123").get_json()["results"]
    assert [p["full_name"] for p in found] == ["Triệu Văn Hùng"]


def test_template_has_vietnamese_headers_and_the_events_groups(app, client_as):
    from io import BytesIO
    from openpyxl import load_workbook
    client = client_as("admin")
    response = client.get("/admin/invitees/template.xlsx")
    assert response.status_code == 200
    book = load_workbook(BytesIO(response.data))
    assert [c.value for c in book.worksheets[0][1]] == HEADERS
    groups = [row[0].value for row in book["Nhóm"].iter_rows(min_row=2)]
    assert groups[0] == "Thường trực Huyện ủy, Thường trực HĐND, Lãnh đạo UBND huyện" and len(groups) == 12
    # Sent back untouched, the template imports nothing: its example row (a rank-1 VIP) is recognised.
    untouched = invitations.check_import(_db(app), "mau.xlsx", response.data)
    assert untouched.rows == [] and untouched.example_row == 2
    assert "dòng ví dụ của tệp mẫu" in untouched.errors[0].message
    # Filled in below the example: only the real row comes in, never the example as an invitation.
    sheet = load_workbook(BytesIO(response.data))
    sheet.worksheets[0].append(["Hà Thị Ngọc", "Bà", "Hiệu trưởng", "Trường Mầm non Phủ Thông", "", "", "", "", ""])
    filled = BytesIO()
    sheet.save(filled)
    report = invitations.check_import(_db(app), "mau.xlsx", filled.getvalue())
    assert [p.full_name for _row, p in report.rows] == ["Hà Thị Ngọc"] and report.ok and report.example_row == 2
    # Through the admin page the organiser is told the example was left out.
    uploaded = client.post("/admin/invitees/import", data={"file": (BytesIO(filled.getvalue()), "mau.xlsx")},
                           content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "Đã nhập “mau.xlsx”: thêm 1, cập nhật 0 (dòng 2 là dòng ví dụ của tệp mẫu, đã bỏ qua)." in uploaded


def test_every_problem_of_a_row_is_listed():
    row = ["", "Đồng chí" * 10, "", "UBND", "Nhóm lạ", "-1", "", "12345", "#REF!"]
    report = parse_invitees("ds.csv", csv_bytes([row]), {})
    assert sorted(e.column for e in report.errors) == ["Ghi chú"]          # an Excel error: the cell first
    row[8] = ""
    report = parse_invitees("ds.csv", csv_bytes([row]), {})
    assert sorted(e.column for e in report.errors) == ["Danh xưng", "Họ và tên", "Nhóm", "Thứ tự", "Điện thoại"]
    assert all(e.row == 2 for e in report.errors)


def test_admin_upload_reports_errors_then_imports_only_valid_rows(app):
    client = app.test_client()
    login(client, "admin")
    db = _db(app)
    before = _count(db)
    data = xlsx_bytes([GOOD[0], ["", "Ông", "", "X", "", "", "", "", ""]])
    from io import BytesIO
    response = client.post("/admin/invitees/import", data={"file": (BytesIO(data), "ds.xlsx")},
                           content_type="multipart/form-data", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "chưa nhập dòng nào" in page and "không được để trống" in page
    assert "“ds.xlsx”" in page
    assert _count(db) == before
    job = page.split('name="job" value="')[1].split('"')[0]
    confirm = client.post("/admin/invitees/import", data={"job": job})
    assert confirm.status_code == 303
    assert client.get(confirm.headers["Location"]).status_code == 302  # done: back to the list
    assert _count(db) == before + 1
    listing = client.get("/admin/invitees").get_data(as_text=True)
    assert "Nguyễn Văn An" in listing and "bỏ qua 1 dòng lỗi" in listing


def _cli(data_dir, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env.update({"KIOSK_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)})
    return subprocess.run([sys.executable, "-m", "kiosk", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)


def test_cli_import_is_all_or_nothing_and_seen_by_the_running_server(app, client_as, data_dir, tmp_path):
    admin = client_as("admin")
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx_bytes([GOOD[0], ["Lê Văn Cường", "", "", "", "Nhóm không có", "", "", "", ""]]))
    result = _cli(data_dir, "import", str(bad))
    assert result.returncode != 0
    assert "Dòng 3" in result.stderr and "chưa nhập dòng nào" in result.stderr
    assert "Nguyễn Văn An" not in admin.get("/admin/invitees").get_data(as_text=True)

    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes(GOOD))
    result = _cli(data_dir, "import", str(good))
    assert result.returncode == 0, result.stderr
    assert "thêm 2" in result.stdout
    # The server (same data folder) sees the CLI's import at once: the database is the one source of truth.
    listing = admin.get("/admin/invitees?q=nguyen van an").get_data(as_text=True)
    assert "Nguyễn Văn An" in listing

    result = _cli(data_dir, "import", "--only-valid", str(bad))
    assert result.returncode == 0 and "cập nhật 1" in result.stdout and "bỏ qua 1 dòng lỗi" in result.stdout


def test_stt_is_the_row_number_not_the_protocol_rank():
    data = csv_bytes([["1", "Nguyễn An", "UBND", "5"], ["2", "Trần Bình", "UBND", "1"]],
                     headers=["STT", "Họ và tên", "Đơn vị", "Thứ tự"])
    report = parse_invitees("ds.csv", data, {})
    assert report.ok
    assert [p.protocol_rank for _row, p in report.rows] == [5, 1]


def _upload(client, rows, filename="ds.xlsx"):
    from io import BytesIO
    return client.post("/admin/invitees/import", data={"file": (BytesIO(xlsx_bytes(rows)), filename)},
                       content_type="multipart/form-data", follow_redirects=True)


def _office_ids(page: str) -> list[int]:
    return [int(part.split('"')[0]) for part in page.split('name="withdraw" value="')[1:]]


def test_an_import_naming_an_offices_people_offers_to_withdraw_the_office_invitation(app, client_as):
    db = _db(app)
    client = client_as("admin")
    named = [["Hoàng Văn Sáng", "Đồng chí", "Trưởng Công an huyện", "Công an huyện Bạch Thông", "", "", "", "", ""],
             ["Ma Thị Hiền", "Bà", "Giám đốc", "TRUNG TÂM Y TẾ HUYỆN BẠCH THÔNG", "", "", "", "", ""],
             ["Đinh Văn Lực", "Ông", "Phó Giám đốc", "Trung tâm Y tế huyện Bạch Thông", "", "", "", "", ""],
             ["Lục Văn Hai", "Ông", "Giáo viên", "Trường Tiểu học Nà Phặc", "", "", "", "", ""]]
    response = _upload(client, named)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Đã nhập “ds.xlsx”: thêm 4, cập nhật 0." in page
    with db.read() as session:
        offices = {p.full_name: p.id for p in session.scalars(select(Invitee).where(
            Invitee.full_name.in_(["Đại diện Lãnh đạo Công an huyện", "Đại diện Lãnh đạo Trung tâm Y tế huyện"])))}
    # Listed, each with the people the file names, ticked: one click withdraws both.
    assert sorted(_office_ids(page)) == sorted(offices.values())
    assert "Ma Thị Hiền, Đinh Văn Lực" in page and "Hoàng Văn Sáng" in page and "Nà Phặc" not in page
    police_code = invitations.card_people(db, [offices["Đại diện Lãnh đạo Công an huyện"]])[1][0].code
    job = response.request.path.split("/")[-1]
    done = client.post(f"/admin/invitees/import/{job}/offices", data={"withdraw": list(map(str, offices.values()))},
                       follow_redirects=True).get_data(as_text=True)
    assert "Đã thu hồi 2 thư mời đại diện đơn vị" in done
    with db.read() as session:
        assert all(session.get(Invitee, i).removed_at is not None for i in offices.values())
    gate = client_as("gate")
    assert gate.post("/api/checkin", json={"code": police_code}).get_json()["result"] == "revoked"
    # Offered once: the same job cannot withdraw anything more.
    again = client.post(f"/admin/invitees/import/{job}/offices", data={"withdraw": "1"}, follow_redirects=True)
    assert "Đã thu hồi" not in again.get_data(as_text=True)


def test_the_organiser_may_keep_office_invitations_and_used_ones_are_never_offered(app, client_as):
    db = _db(app)
    client = client_as("admin")
    with db.read() as session:
        court = session.scalars(select(Invitee).where(Invitee.full_name == "Đại diện Tòa án Nhân dân huyện")).one().id
        bank = session.scalars(select(Invitee).where(
            Invitee.full_name == "Đại diện Kho bạc Nhà nước huyện Bạch Thông")).one().id
    bank_code = invitations.card_people(db, [bank])[1][0].code
    assert client_as("gate").post("/api/checkin", json={"code": bank_code}).get_json()["result"] == "ok"
    rows = [["Vi Văn Tuấn", "Ông", "Chánh án", "Tòa án Nhân dân huyện Bạch Thông", "", "", "", "", ""],
            ["Bế Thị Lan", "Bà", "Giám đốc", "Kho bạc Nhà nước huyện Bạch Thông", "", "", "", "", ""]]
    response = _upload(client, rows)
    page = response.get_data(as_text=True)
    assert _office_ids(page) == [court]            # the bank's representative is already in: not offered
    job = response.request.path.split("/")[-1]
    kept = client.post(f"/admin/invitees/import/{job}/offices", data={}, follow_redirects=True)
    assert "Giữ nguyên các thư mời đại diện đơn vị" in kept.get_data(as_text=True)
    with db.read() as session:
        assert session.get(Invitee, court).removed_at is None
    # A list that invites the office again alongside its people is taken at its word: nothing offered.
    again = _upload(client, rows + [["Đại diện Tòa án Nhân dân huyện", "Đồng chí", "", "Tòa án Nhân dân huyện Bạch Thông",
                                     "", "", "", "", ""]])
    assert again.status_code == 200 and 'name="withdraw"' not in again.get_data(as_text=True)
