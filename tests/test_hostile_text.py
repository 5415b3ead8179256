"""Any text is safe to store and to export: the cleaning boundary, every write path, every output.

A scanner's bytes, a spreadsheet cell, a JSON string may hold NUL, control characters, lone surrogates,
bidi overrides, formulas or megabytes. Whatever arrives, the database holds clean NFC text (on SQLite and
on PostgreSQL), and the report, the ledger exports, the CSVs, the pages and the receipts all build.
"""
from __future__ import annotations

import csv
import io
import json
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import String, Text, insert, select, text as sql_text

from checkin import invitations
from kiosk import create_app
from kiosk.cleaning import MAX_TEXT, clean_text
from kiosk.login_throttle import LoginThrottle
from kiosk.storage.schema import Base, Donation, Event, Invitee, ScanLog

from .conftest import app_config, login, storable
from .gate_helpers import invitations as default_invitations
from .invitee_files import HEADERS, csv_bytes

BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
NASTY = ["\x00", "\x1d", "\x1e\x1f", "\ud800", "\udfff", "a\ud83dz", "\u202eevil\u202c", "=1+1", "+SUM(A1:A9)",
         "-2+3", "@cmd", "\t=HYPERLINK(\"http://x\")", "\r=1", "a\r\nb\x0bc\x0cd", "\u0085\u2028\u2029",
         unicodedata.normalize("NFD", "Nguyễn Đức Thắng"), "\ufeffBOM", "zero\u200bwidth", "\ufffe\uffff",
         "\U0001fffe", "<script>alert(1)</script>", "' OR 1=1 --", "x" * (MAX_TEXT + 500), "\x7f\x80\x9f",
         "🇻🇳 👨\u200d👩\u200d👧", "\u0000\u0001\u0002" * 50, "An\u2064h\U000e0041\ufff9"]
ANY_TEXT = st.one_of(st.text(st.characters(blacklist_categories=()), max_size=120), st.sampled_from(NASTY),
                     st.lists(st.sampled_from(NASTY), min_size=2, max_size=4).map("".join))


def bad_characters(value: str) -> list[str]:
    """What no stored text may hold, judged without the cleaning function's own tables."""
    return [ch for ch in value if unicodedata.category(ch) in ("Cc", "Cs") or ch in BIDI
            or (unicodedata.category(ch) == "Cf" and ch not in "\u200c\u200d")
            or (ord(ch) & 0xFFFE) == 0xFFFE or 0xFDD0 <= ord(ch) <= 0xFDEF]


# ---- the cleaning function itself

@given(ANY_TEXT, st.integers(min_value=1, max_value=300))
@settings(max_examples=400, deadline=None)
def test_cleaned_text_is_nfc_one_line_bounded_and_stable(value, limit):
    cleaned = clean_text(value, limit)
    assert bad_characters(cleaned) == []
    assert unicodedata.is_normalized("NFC", cleaned)
    assert "\n" not in cleaned and "  " not in cleaned and cleaned == cleaned.strip()
    assert len(cleaned) <= limit
    assert clean_text(cleaned, limit) == cleaned
    cleaned.encode("utf-8")  # never a lone surrogate


def test_cleaning_keeps_words_apart_and_vietnamese_whole():
    assert clean_text("0104012345678901\x1d21ABC") == "0104012345678901 21ABC"   # GS separates
    assert clean_text(unicodedata.normalize("NFD", "Phủ Thông")) == "Phủ Thông"
    assert clean_text("Lê\u202e Văn\x00 Tám\ud800") == "Lê Văn Tám"
    assert clean_text("  Bạch\tThông\r\n") == "Bạch Thông"
    assert clean_text("zero\u200bwidth\u00adsoft") == "zerowidthsoft"
    assert clean_text("An\u2064h \u206aNga\ufff9\U000e0041") == "Anh Nga"   # every other invisible format mark
    assert clean_text("👨\u200d👩\u200d👧") == "👨\u200d👩\u200d👧"   # a joiner inside emoji is kept
    plain = "TM-B7K2-9QH4"
    assert clean_text(plain) is plain  # the scan path's fast path: nothing to do, nothing copied


# ---- scans, JSON and forms at the boundary

def post_json(client, path, body):
    """POST JSON as a phone's browser may: lone surrogates travel as \\udxxx escapes."""
    return client.post(path, data=json.dumps(body), content_type="application/json")


def test_a_gs1_scan_is_answered_and_the_report_still_builds(client_as):
    gate, admin = client_as("gate"), client_as("admin")
    answer = post_json(gate, "/api/checkin", {"code": "0104012345678901\x1d21ABC\x1d10LOT7"})
    assert answer.status_code == 200 and answer.get_json()["result"] == "invalid"
    assert answer.get_json()["reason"] == "not_ours"
    report = admin.get("/admin/report.xlsx")
    assert report.status_code == 200
    log = load_workbook(io.BytesIO(report.data))["Nhật ký quét"]
    assert "0104012345678901 21ABC 10LOT7" in [row[6] for row in log.iter_rows(values_only=True)]


def test_our_code_as_one_field_of_a_gs1_scan_admits(app, client_as):
    _id, code, name = default_invitations(app)[-1]
    answer = post_json(client_as("gate"), "/api/checkin", {"code": f"]d2\x1d{code}\x1d21ABC"})
    assert answer.get_json()["result"] == "ok" and answer.get_json()["delegate"]["full_name"] == name


def test_a_long_scan_gets_a_verdict_not_a_refusal(client_as):
    answer = post_json(client_as("gate"), "/api/checkin", {"code": "BEGIN:VCARD " + "x" * 5000})
    assert answer.status_code == 200 and answer.get_json()["result"] == "invalid"


@pytest.mark.parametrize("path, body", [
    ("/api/checkin", {"code": "\ud800TM\udfff", "gate": "Cổng\ud800 1", "nonce": "n\ud800"}),
    ("/api/walkins", {"full_name": "Lò\x00 Văn\ud83d Páo", "group": "khach-khac", "organisation": "\u202eXã"}),
])
def test_lone_surrogates_and_nul_in_json_are_cleaned_not_refused(client_as, path, body):
    answer = post_json(client_as("gate"), path, body)
    assert answer.status_code == 200
    answer.get_data().decode("utf-8")  # the answer itself encodes
    if path == "/api/walkins":
        delegate = answer.get_json()["delegate"]
        assert delegate["full_name"] == "Lò Văn Páo" and delegate["organisation"] == "Xã"


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_query_string_and_a_path_are_cleaned_too(engine, request, tmp_path):
    config = app_config(tmp_path / "data")
    if engine == "postgresql":
        config["DATABASE_URL"] = request.getfixturevalue("postgres").new_database()
    app = create_app(config)
    try:
        gate, cashier = app.test_client(), app.test_client()
        login(gate, "gate")
        login(cashier, "cashier")
        assert gate.get("/api/delegates?q=%00%1D%ED%A0%80Ph%E1%BB%A7").status_code == 200
        # A receipt number with NUL in the path: "not found", never a database error (PostgreSQL refuses NUL).
        assert cashier.get("/api/donations/KH-2023-%00%00").status_code == 404
        assert cashier.get("/donations/ledger?q=%00%E2%80%AE").status_code == 200
        assert gate.get("/api/delegates?q=Ph%00%E1%BB%A7").status_code == 200
    finally:
        app.extensions["kiosk.db"].dispose()


# ---- every write path, then every output: the property

def _writers(app):
    gate, admin, cashier, mc = (app.test_client() for _ in range(4))
    for client, role in ((gate, "gate"), (admin, "admin"), (cashier, "cashier"), (mc, "mc")):
        login(client, role)
    # The property sends thousands of wrong PINs: the throttle is another test's subject.
    app.extensions["kiosk.throttle"] = LoginThrottle(max_failures=10**9, role_max_failures=10**9)
    return gate, admin, cashier, mc


def write_everything(app, clients, value: str, number: int) -> None:
    """Send `value` through every path that stores text; each answer is a verdict, never a server error."""
    gate, admin, cashier, mc = clients
    form_value = value.encode("utf-8", "replace").decode("utf-8")  # a browser's form cannot carry surrogates
    db = app.extensions["kiosk.db"]
    answers = [
        post_json(gate, "/api/checkin", {"code": value, "gate": value[:80], "nonce": f"{number}{value}"[:80],
                                         "client_time": value[:40]}),
        gate.get("/api/delegates", query_string={"q": form_value}),
        post_json(gate, "/api/walkins", {"full_name": "Khách " + value[:150], "group": "khach-khac",
                                         "organisation": value[:150]}),
        admin.post("/admin/invitees/new", data={"full_name": "Đại biểu " + form_value[:150], "honorific": form_value[:30],
                                                "title": form_value[:250], "organisation": form_value[:250],
                                                "seat": form_value[:80], "note": form_value[:400], "phone": ""}),
        admin.post("/admin/invitees/new", data={"full_name": form_value[:150], "protocol_rank": form_value[:20],
                                                "phone": form_value[:20], "group": form_value[:100]}),
        post_json(cashier, "/api/donations", {"donor_name": "Ông " + value[:150], "organisation": value[:150],
                                              "note": value[:400], "cashier_name": value[:60], "amount_vnd": 1000 + number,
                                              "show_on_screen": True}),
        post_json(mc, "/api/agenda/announce", {"text": value[:280]}),
        post_json(mc, "/api/agenda/screen", {"screen_id": "a1b2c3d4e5f6a1b2c3d4e5f6", "name": value[:60]}),
        post_json(admin, "/api/programme/items", {"start": "09:30", "content": "Mục " + value[:500],
                                                  "performer": value[:150]}),
        post_json(app.test_client(), "/api/login", {"role": "gate", "pin": value}),
        admin.get("/admin/invitees", query_string={"q": form_value}),
        cashier.get("/donations/ledger", query_string={"q": form_value}),
        # The gate offline: a queued scan synced later, and a walk-in from the paper sheet.
        post_json(gate, "/api/checkin", {"code": value, "gate": value[:80], "nonce": f"o{number}{value}"[:80],
                                         "offline": {"scanned_at": "2023-10-02T00:05:00Z", "verdict": "ok"}}),
        post_json(admin, "/api/checkin/paper", {"walk_in": {"full_name": "Khách " + value[:150], "group": "khach-khac",
                                                            "organisation": value[:150]}, "time": "07:10"}),
    ]
    for answer in answers:
        assert answer.status_code < 500, answer.get_data(as_text=True)[:300]
    receipt = answers[5].get_json().get("receipt_no")
    if receipt and number % 3 == 0:
        assert post_json(cashier, f"/api/donations/{receipt}/void", {"reason": "Lý do " + value[:400]}).status_code < 500
    added = admin.get("/admin/invitees").status_code
    assert added == 200
    with db.read() as session:
        person_id = session.scalar(select(Invitee.id).where(Invitee.is_walk_in.is_(False)).order_by(Invitee.id.desc()))
    assert admin.post(f"/admin/invitees/{person_id}/substitute",
                      data={"substitute_name": form_value[:100], "substitute_title": form_value[:100]}).status_code < 500
    assert admin.post(f"/admin/invitees/{person_id}/reissue", data={"reason": "Mất thẻ " + form_value[:100]}).status_code < 500
    walk_in = answers[2].get_json()
    if walk_in and walk_in.get("delegate"):
        assert post_json(admin, "/api/checkin/undo", {"invitee_id": walk_in["delegate"]["id"],
                                                      "reason": "Nhầm " + value[:300]}).status_code < 500
    screen = app.extensions["kiosk.socketio"].test_client(app, namespace="/display")
    screen.emit("hello", {"key": "k" * 40, "name": value, "view": value}, namespace="/display", callback=True)
    screen.disconnect(namespace="/display")
    device = app.extensions["kiosk.socketio"].test_client(app, namespace="/gate", flask_test_client=gate)
    device.emit("hello", {"key": "g" * 40, "gate": value, "pending": 1}, namespace="/gate", callback=True)
    device.disconnect(namespace="/gate")
    rows = [[value[:900], value[:30], value[:250], value[:250], "", "", value[:80], "", value[:400]],
            ["Tên " + value[:150], "", "", value[:200], "", "", "", "", ""],
            ["Tên khác " + value[:100], "", "", "", value[:100], value[:20], "", value[:20], ""]]
    plain_rows = [[cell.encode("utf-8", "replace").decode("utf-8") for cell in row] for row in rows]
    report = invitations.check_import(db, "ds.csv", csv_bytes(plain_rows, headers=HEADERS))
    if report.rows:
        invitations.apply_import(db, report, True, "test")


def every_output_builds(app, clients, whole: bool = False) -> None:
    """The report (workbook, CSVs, pages), the ledger exports, the dashboard, the state, a receipt, a card;
    `whole` adds the outputs that grow with the whole database (the door list, the gates' copy), built once
    at the end of the property rather than after every example."""
    _gate, admin, cashier, mc = clients
    workbook = admin.get("/admin/report.xlsx")
    assert workbook.status_code == 200
    book = load_workbook(io.BytesIO(workbook.data))
    assert [sheet.title for sheet in book.worksheets] == ["Tổng hợp", "Theo nhóm", "Đại biểu", "Nhật ký quét", "Ủng hộ",
                                                          "Chương trình"]
    for key in ("tong-hop", "theo-nhom", "dai-bieu", "nhat-ky-quet", "ung-ho", "chuong-trinh"):
        answer = admin.get(f"/admin/report/{key}.csv")
        assert answer.status_code == 200
        list(csv.reader(io.StringIO(answer.data.decode("utf-8-sig"))))
    for path in ("/admin/report", "/admin/report/print", "/api/dashboard", "/admin", "/admin/invitees", "/api/absent",
                 "/admin/paper", "/api/gate/conflicts") + (("/admin/door-list.pdf", "/api/gate/copy") if whole else ()):
        assert admin.get(path).status_code == 200, path
    for path in ("/donations/ledger/export.csv", "/donations/ledger/export.xlsx", "/donations", "/donations/ledger"):
        assert cashier.get(path).status_code == 200, path
    load_workbook(io.BytesIO(cashier.get("/donations/ledger/export.xlsx").data))
    for path in ("/api/agenda", "/mc", "/api/roster", "/api/screens", "/display", "/display/lobby"):
        assert mc.get(path).status_code == 200, path
    with app.extensions["kiosk.db"].read() as session:
        receipt = session.scalar(select(Donation.receipt_no).order_by(Donation.id.desc()))
        person = session.scalar(select(Invitee.id).where(Invitee.is_walk_in.is_(False)).order_by(Invitee.id.desc()))
    if receipt:
        assert cashier.get(f"/donations/receipts/{receipt}.png").status_code == 200
    assert admin.get(f"/admin/invitees/{person}/card.png").status_code == 200


def stored_texts_are_clean(app) -> None:
    """Every text column of every table: no control, bidi or surrogate character, always NFC."""
    with app.extensions["kiosk.db"].read() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, (String, Text))]
            if not columns:
                continue  # gate_change: numbers only
            for row in session.execute(select(*columns)):
                for column, value in zip(columns, row):
                    if value is None or column.name in ("response", "extra", "pin_hash"):
                        continue  # JSON written by the app itself (escapes), and a hash
                    assert bad_characters(value) == [], (table.name, column.name, value[:80])
                    assert unicodedata.is_normalized("NFC", value), (table.name, column.name)


@pytest.mark.timeout(480)   # 40 examples through every write path and output: minutes on PostgreSQL
@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_any_text_through_every_write_path_leaves_every_output_buildable(engine, request, tmp_path_factory):
    config = app_config(tmp_path_factory.mktemp("hostile"))
    if engine == "postgresql":
        config["DATABASE_URL"] = request.getfixturevalue("postgres").new_database()
    app = create_app(config)
    clients = _writers(app)
    counter = iter(range(10**6))

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(value=ANY_TEXT)
    def property_(value):
        write_everything(app, clients, value, next(counter))
        every_output_builds(app, clients)

    try:
        property_()
        # The nastiest ones, every time, whatever the examples above were.
        for value in NASTY:
            write_everything(app, clients, value, next(counter))
        every_output_builds(app, clients, whole=True)
        stored_texts_are_clean(app)
    finally:
        app.extensions["kiosk.db"].dispose()


def test_a_database_written_before_the_cleaning_boundary_still_exports(app, client_as):
    """Text an older kiosk stored as it came (a GS1 scan, NUL, controls): every output still builds."""
    db = app.extensions["kiosk.db"]
    dirty = storable(app, "Ông\x00 Lò\x1dVăn\x0bPáo \u202e=HYPERLINK(\"http://x\")")
    with db.write() as session:
        session.execute(insert(ScanLog), [{"event_id": 1, "at": session.scalar(select(Event.created_at)),
                                           "kind": "scan", "raw": storable(app, "0104012345678901\x1d21ABC\x00"),
                                           "outcome": "invalid",
                                           "reason": "not_ours\x0b"}])
    cashier = client_as("cashier")
    receipt = cashier.post("/api/donations", json={"donor_name": "Bà Hoa", "amount_vnd": 50_000}).get_json()["receipt_no"]
    with db.write() as session:
        session.execute(sql_text("UPDATE donation SET donor_name = :d, note = :n, organisation = :d"),
                        {"d": dirty, "n": "\x1f\x7f\x85"})
        session.execute(sql_text("UPDATE invitee SET full_name = :d, title = :d WHERE id = 1"), {"d": dirty})
        session.execute(sql_text("UPDATE event SET association = :d"), {"d": dirty})
    clients = (client_as("gate"), client_as("admin"), cashier, client_as("mc"))
    every_output_builds(app, clients)
    admin = clients[1]
    sheet = load_workbook(io.BytesIO(admin.get("/admin/report.xlsx").data))["Ủng hộ"]
    donor = [row[3] for row in sheet.iter_rows(values_only=True) if row[1] == receipt][0]
    assert donor == 'Ông Lò Văn Páo =HYPERLINK("http://x")'
    assert cashier.get(f"/donations/receipts/{receipt}.png").status_code == 200


# ---- formulas stay text

FORMULAS = ["=1+1", "+1+1", "-1+1", "@SUM(1,1)", "=HYPERLINK(\"http://evil.example\",\"Bấm\")"]


def _formula_data(app, client_as):
    gate, cashier = client_as("gate"), client_as("cashier")
    for i, formula in enumerate(FORMULAS):
        assert gate.post("/api/walkins", json={"full_name": formula, "group": "khach-khac",
                                               "organisation": formula}).status_code == 200
        assert gate.post("/api/checkin", json={"code": formula}).status_code == 200
        cashier.post("/api/donations", json={"donor_name": formula, "note": formula, "amount_vnd": 1000 + i})
    return client_as("admin"), cashier


def test_report_workbook_and_csvs_keep_formulas_as_text(app, client_as):
    admin, cashier = _formula_data(app, client_as)
    book = load_workbook(io.BytesIO(admin.get("/admin/report.xlsx").data))
    seen = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@")):
                    assert cell.data_type == "s", (sheet.title, cell.coordinate, cell.value)
                    seen += 1
    assert seen >= 3 * len(FORMULAS)
    for key in ("dai-bieu", "nhat-ky-quet", "ung-ho"):
        cells = [c for row in csv.reader(io.StringIO(admin.get(f"/admin/report/{key}.csv").data.decode("utf-8-sig")))
                 for c in row]
        assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))], key
        assert "'=1+1" in cells
    ledger = list(csv.reader(io.StringIO(cashier.get("/donations/ledger/export.csv").data.decode("utf-8-sig"))))
    assert "'=1+1" in [c for row in ledger for c in row]


def test_libreoffice_opens_the_report_with_formulas_as_plain_text(app, client_as, libreoffice, tmp_path):
    """The program people use: LibreOffice converts the workbook's sheet to CSV; nothing was calculated."""
    import subprocess
    admin, _cashier = _formula_data(app, client_as)
    source = tmp_path / "bao-cao.xlsx"
    source.write_bytes(admin.get("/admin/report.xlsx").data)
    out = tmp_path / "out"
    # The delegates sheet (the 3rd; LibreOffice 7.2+ takes a sheet number as the filter's 12th token), values
    # as calculated (token 10 false): a formula would come out as its result.
    subprocess.run([libreoffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to",
                    'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,3', "--outdir",
                    str(out), str(source)], check=True, capture_output=True, timeout=180)
    converted = next(out.glob("*.csv")).read_text(encoding="utf-8")
    names = [row[3] for row in csv.reader(io.StringIO(converted)) if len(row) > 3]
    for formula in FORMULAS:
        assert formula in names, (formula, names[:12])
    assert "2" not in names  # "=1+1" was not calculated
