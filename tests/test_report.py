"""The after-event report: every total equals the ledger and the log, every sheet, Vietnamese headers, NFC."""
from __future__ import annotations

import random
import unicodedata
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import func, select

from checkin import checkins, invitations
from checkin.codes import new_code
from kiosk.storage.schema import Donation, Invitee, ScanLog

from .event_files import write_other_event
from .invitee_files import csv_bytes, many_people

SHEETS = ["Tổng hợp", "Đại biểu", "Nhật ký quét", "Ủng hộ", "Chương trình"]


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
    assert summary["Tổng tiền ủng hộ (đ)"] == kept[1]
    by_method = sum(v for k, v in summary.items() if k.startswith("Ủng hộ bằng"))
    assert by_method == kept[1]

    delegates = book["Đại biểu"]
    assert [c.value for c in delegates[1]][:5] == ["TT", "Danh xưng", "Họ và tên", "Chức vụ", "Đơn vị"]
    statuses = [row[8].value for row in delegates.iter_rows(min_row=2)]
    assert statuses.count("Có mặt") == present and statuses.count("Vãng lai") == walk_ins
    scans = book["Nhật ký quét"]
    assert scans.max_row - 1 == log_rows
    assert {row[3].value for row in scans.iter_rows(min_row=2)} >= {"Cho vào", "Đã vào trước đó",
                                                                   "Không có trong danh sách", "Mã không hợp lệ"}
    ledger = book["Ủng hộ"]
    rows = list(ledger.iter_rows(min_row=2, values_only=True))
    assert len(rows) == all_gifts + 1  # every gift, voids included, then the totals row
    assert rows[-1][4] == kept[1]
    assert sum(r[4] for r in rows[:-1] if r[8] != "Đã huỷ") == kept[1]
    assert [r[8] for r in rows[:-1]].count("Đã huỷ") == 2
    # NFD input from a phone comes back NFC through openpyxl.
    donor = rows[0][2]
    assert donor.startswith("Nhà hảo tâm Nguyễn Văn Đức") and unicodedata.is_normalized("NFC", donor)
    assert ledger.cell(row=2, column=5).number_format == '#,##0 "đ"'
    assert delegates.freeze_panes == "A2"
    programme = book["Chương trình"]
    assert programme.max_row == 9 and programme.cell(row=2, column=6).value == "Đón tiếp đại biểu."


def test_report_csv_and_cli(app, client_as, data_dir, tmp_path):
    _generate(app, client_as)
    admin = client_as("admin")
    csv_text = admin.get("/admin/report/ung-ho.csv").data.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("Số biên nhận,Thời gian,Người ủng hộ")
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
        f"bao-cao.{key}.csv" for key in ("tong-hop", "dai-bieu", "nhat-ky-quet", "ung-ho", "chuong-trinh"))


def test_printable_summary_has_the_offices_title_and_figures(app, client_as):
    _generate(app, client_as)
    page = client_as("admin").get("/admin/report/print").get_data(as_text=True)
    assert "Kết quả tổ chức Lễ khai mạc Tuần lễ hưởng ứng học tập suốt đời năm 2023" in page
    assert "Tổng số lượt ủng hộ: <b>13</b>" in page
    assert "ỦY BAN NHÂN DÂN HUYỆN BẠCH THÔNG" in page


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
