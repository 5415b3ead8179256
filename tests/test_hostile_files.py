"""Crafted and damaged invitee lists: every one gets the Vietnamese file or row report, never a 500.

Zip bombs, entity bombs, truncated or garbage workbooks, 200 KB fields, absurd numbers; read in a worker
process with a time and memory limit, through the admin page as the organiser uploads them.
"""
from __future__ import annotations

import io
import logging
import os
import zipfile

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from checkin import import_jobs, invitations
from checkin.importer import MAX_CELL, ImportFileError, parse_invitees
from kiosk.storage.schema import Invitee

from .invitee_files import HEADERS, csv_bytes, many_people, xlsx_bytes

GOOD_ROW = ["Nguyễn Văn An", "Ông", "Trưởng phòng", "Phòng Giáo dục", "", "", "", "", ""]


def _rezip(data: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    """A copy of a workbook's zip with some parts replaced or added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item.filename, (replace or {}).get(item.filename, source.read(item.filename)))
        for name, content in (add or {}).items():
            target.writestr(name, content)
    return out.getvalue()


def zip_bomb() -> bytes:
    """A real workbook carrying a part that unpacks to 80 MB of zeros (80 KB packed)."""
    return _rezip(xlsx_bytes([GOOD_ROW]), add={"xl/media/image1.bin": b"\0" * (80 * 1024 * 1024)})


def entity_bomb() -> bytes:
    """A workbook whose sheet defines nested entities ("billion laughs")."""
    lol = '<!ENTITY l0 "lol">' + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    sheet = (f'<?xml version="1.0"?><!DOCTYPE worksheet [{lol}]>'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             '<row r="1"><c r="A1" t="inlineStr"><is><t>Họ và tên</t></is></c></row>'
             '<row r="2"><c r="A2" t="inlineStr"><is><t>&l9;</t></is></c></row></sheetData></worksheet>')
    return _rezip(xlsx_bytes([GOOD_ROW]), replace={"xl/worksheets/sheet1.xml": sheet.encode()})


def truncated_xml() -> bytes:
    data = xlsx_bytes([GOOD_ROW] * 20)
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        sheet = source.read("xl/worksheets/sheet1.xml")
    return _rezip(data, replace={"xl/worksheets/sheet1.xml": sheet[:len(sheet) // 2]})


UNREADABLE = [
    ("zip bomb", "ds.xlsx", zip_bomb, "giải nén ra quá lớn"),
    ("entity bomb", "ds.xlsx", entity_bomb, "Không đọc được tệp Excel"),
    ("truncated file", "ds.xlsx", lambda: xlsx_bytes([GOOD_ROW] * 50)[:3000], "Không đọc được tệp Excel"),
    ("truncated XML", "ds.xlsx", truncated_xml, "Không đọc được tệp Excel"),
    ("garbage", "ds.xlsx", lambda: os.urandom(20000), "Không đọc được tệp Excel"),
    ("empty zip", "ds.xlsx", lambda: _rezip(xlsx_bytes([]), replace={"[Content_Types].xml": b""}),
     "Không đọc được tệp Excel"),
    ("200 KB field", "ds.csv", lambda: csv_bytes([GOOD_ROW[:3] + ["x" * 200_000] + GOOD_ROW[4:]]),
     "Dòng 2 của tệp CSV không đọc được"),
    ("unclosed quote", "ds.csv", lambda: ("Họ và tên,Đơn vị\n\"An" + "b" * 200_000).encode(), "không đọc được"),
    ("not UTF-8", "ds.csv", lambda: "Họ và tên\nNguyễn Văn An".encode("utf-16"), "không phải mã UTF-8"),
]


@pytest.mark.parametrize("label, filename, make, message", UNREADABLE, ids=[u[0] for u in UNREADABLE])
def test_an_unreadable_list_is_a_vietnamese_file_error(label, filename, make, message):
    with pytest.raises(ImportFileError, match=message):
        parse_invitees(filename, make(), {})


def test_bad_cells_are_row_errors_with_their_column():
    rows = [["x" * (MAX_CELL + 1)] + GOOD_ROW[1:],
            ["Lê Thị Bình", "", "", "UBND", "", 1e20, "", "", ""],
            ["Trần Văn Cường", "", "", "UBND", "", "100000000000000000000", "", "", ""],
            ["Hà Văn Dũng", "Đồng chí" * 10, "", "UBND", "", "", "", "", ""],
            ["Vi Thị Én", "", "", "UBND", "", "-3", "", "", ""],
            GOOD_ROW]
    report = parse_invitees("ds.xlsx", xlsx_bytes(rows), {})
    found = {(e.row, e.column) for e in report.errors}
    assert found == {(2, "Họ và tên"), (3, "Thứ tự"), (4, "Thứ tự"), (5, "Danh xưng"), (6, "Thứ tự")}
    assert "tối đa 1000 ký tự" in next(e.message for e in report.errors if e.row == 2)
    assert "từ 1 đến 1.000.000" in next(e.message for e in report.errors if e.row == 3)
    assert [p.full_name for _row, p in report.rows] == ["Nguyễn Văn An"]


def _workbook(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("rank", ["--5", "+5", "5-", "-", "1_000", "٥", "5.5", "0x10", "1e3", "99999999999999999999"])
def test_odd_ranks_are_row_errors_and_form_errors(client_as, rank):
    report = parse_invitees("ds.csv", csv_bytes([GOOD_ROW[:5] + [rank] + GOOD_ROW[6:]]), {})
    assert [(e.row, e.column) for e in report.errors] == [(2, "Thứ tự")]
    page = client_as("admin").post("/admin/invitees/new", data={"full_name": "Lê Văn An", "protocol_rank": rank})
    assert page.status_code == 400 and "Thứ tự" in page.get_data(as_text=True)


def test_columns_beyond_the_limit_are_not_even_read():
    extra = [f"Cột thêm {i}" for i in range(40)]
    report = parse_invitees("ds.xlsx", _workbook([HEADERS + extra, GOOD_ROW + ["=1+1"] * 40]), {})
    assert report.ok and report.rows[0][1].full_name == "Nguyễn Văn An"
    # The name column far to the right (column 36): beyond what is read, so it is not found.
    far = extra[:35] + ["Họ và tên"]
    with pytest.raises(ImportFileError, match="Không tìm thấy cột “Họ và tên”"):
        parse_invitees("ds.xlsx", _workbook([far, [""] * 35 + ["Nguyễn Văn An"]]), {})
    with pytest.raises(ImportFileError, match="Không tìm thấy cột “Họ và tên”"):
        parse_invitees("ds.csv", csv_bytes([[""] * 35 + ["Nguyễn Văn An"]], headers=far), {})


def test_the_worker_reads_as_the_server_would_and_gives_up_in_time():
    data = xlsx_bytes([GOOD_ROW, ["", "", "", "", "", "", "", "", ""], ["Trần Bình", "", "", "", "Nhóm lạ", "", "", "", ""]])
    groups = {"khach moi": "khach-moi"}
    assert import_jobs.read_in_worker("ds.xlsx", data, groups) == parse_invitees("ds.xlsx", data, groups)
    with pytest.raises(ImportFileError, match="quá thời gian"):
        import_jobs.read_in_worker("ds.xlsx", xlsx_bytes(many_people(3000)), groups, timeout=0.05)


def _upload(client, filename: str, data: bytes):
    return client.post("/admin/invitees/import", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data", follow_redirects=True)


def test_the_admin_page_reports_every_crafted_file_in_vietnamese(app, client_as, caplog):
    admin = client_as("admin")
    with app.extensions["kiosk.db"].read() as session:
        before = session.scalar(select(func.count()).select_from(Invitee))
    with caplog.at_level(logging.INFO):
        for label, filename, make, message in UNREADABLE[:5] + UNREADABLE[6:7]:
            page = _upload(admin, f"Danh sách {label}.{filename.split('.')[-1]}", make())
            text = page.get_data(as_text=True)
            assert page.status_code == 400 and message in text, label
            assert f"“Danh sách {label}." in text, label          # the file as the organiser named it
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    with app.extensions["kiosk.db"].read() as session:
        assert session.scalar(select(func.count()).select_from(Invitee)) == before


def test_an_upload_too_large_is_refused_before_it_is_read(client_as):
    admin = client_as("admin")
    page = _upload(admin, "ds.csv", b"x" * (7 * 1024 * 1024))
    assert page.status_code == 413 and "Tệp quá lớn (tối đa 5 MB)" in page.get_data(as_text=True)
    page = _upload(admin, "ds.csv", b"x" * (5 * 1024 * 1024 + 10))        # under the body limit, over the file's
    assert "Tệp quá lớn (tối đa 5 MB)" in page.get_data(as_text=True)


def test_a_large_list_uploads_through_the_real_server(live_server):
    """A list of a megabyte or more, as a browser sends it to the server on a port (multipart, in chunks)."""
    import requests
    from .conftest import PINS
    admin = requests.Session()
    token = admin.post(live_server.url + "/api/login", json={"role": "admin", "pin": PINS["admin"]}).json()["csrf_token"]
    rows = [row[:4] + ["Nhóm không có"] + row[5:] for row in many_people(12000)]   # read and refused: no writes
    data = csv_bytes(rows)
    assert len(data) > 1_000_000
    answer = admin.post(live_server.url + "/admin/invitees/import", data={"csrf_token": token},
                        files={"file": ("danh-sach-lon.csv", data)}, timeout=60)
    assert answer.status_code == 400 and "Tệp có <b>12000</b> lỗi nên <b>chưa nhập dòng nào</b>" in answer.text


def test_one_import_at_a_time_and_the_organiser_is_told(app, client_as, monkeypatch):
    admin = client_as("admin")
    monkeypatch.setattr(invitations, "IMPORT_PAUSE", 0.3)                   # a slow writer, for the test
    first = admin.post("/admin/invitees/import", data={"file": (io.BytesIO(csv_bytes(many_people(400))), "lon.csv")},
                       content_type="multipart/form-data")
    assert first.status_code == 303
    second = _upload(admin, "nho.csv", csv_bytes([GOOD_ROW]))
    assert "Đang nhập tệp “lon.csv”" in second.get_data(as_text=True)
    job_page = first.headers["Location"]
    for _ in range(400):
        answer = admin.get(job_page)
        if answer.status_code == 302:
            break
        assert "Đang ghi danh sách" in answer.get_data(as_text=True) or "Đang đọc" in answer.get_data(as_text=True)
        import time
        time.sleep(0.05)
    assert answer.status_code == 302
    listing = admin.get("/admin/invitees").get_data(as_text=True)
    assert "Đã nhập “lon.csv”: thêm 400, cập nhật 0." in listing
