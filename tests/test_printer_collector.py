"""Người thu is a person: the desk asks who collects once per login, every receipt prints that name, and
the ledger, its CSV and the report show it, never the role key "cashier"."""
from __future__ import annotations

import csv
import dataclasses
import io
from io import BytesIO

from openpyxl import load_workbook

from kiosk import create_app
from kiosk.storage import donations as store
from printer import desk
from printer.receipt import render_receipt

from .conftest import COLLECTOR, app_config, login
from .printer_fakes import FakePrinter, raster_image

GIFT = {"donor_name": "Bế Văn Thắng", "amount_vnd": 250_000}


def test_a_receipt_is_never_saved_or_printed_before_the_collector_is_named(app):
    desk_client = app.test_client()
    login(desk_client, "cashier", collector=None)
    refused = desk_client.post("/api/donations", json=GIFT)
    assert refused.status_code == 400 and refused.get_json()["error"] == "collector_required"
    assert refused.get_json()["message"].startswith("Chưa có tên người thu tiền")
    assert desk_client.get("/api/donations").get_json()["donations"] == []
    for blank in ("", "   ", "\u200b\u0007", None, 42):
        answer = desk_client.post("/api/desk/collector", json={"name": blank})
        assert answer.status_code == 400, blank
    assert desk_client.post("/api/desk/collector", json={"name": "x" * 81}).get_json()["error"] == "too_long"
    named = desk_client.post("/api/desk/collector", json={"name": "  Hoàng   Thị Lan "})
    assert named.get_json() == {"collector_name": "Hoàng Thị Lan"}
    saved = desk_client.post("/api/donations", json=GIFT).get_json()
    # The refused attempt took no number: the first receipt is 0001.
    assert saved["receipt_no"] == "KH-2023-0001" and saved["cashier_name"] == "Hoàng Thị Lan"
    # Asked once per login: after logging out the desk asks again.
    desk_client.post("/api/logout")
    login(desk_client, "cashier", collector=None)
    assert desk_client.post("/api/donations", json=GIFT).get_json()["error"] == "collector_required"
    page = desk_client.get("/donations").get_data(as_text=True)
    assert 'data-name=""' in page and "Ai thu tiền ở bàn này?" in page


def test_the_collector_of_each_login_is_kept_apart_and_a_named_api_body_wins(app):
    first, second = app.test_client(), app.test_client()
    login(first, "cashier", collector="Hoàng Thị Lan")
    login(second, "cashier", collector="Triệu Văn Đông")
    assert first.post("/api/donations", json=GIFT).get_json()["cashier_name"] == "Hoàng Thị Lan"
    assert second.post("/api/donations", json=GIFT).get_json()["cashier_name"] == "Triệu Văn Đông"
    body = {**GIFT, "cashier_name": "Lý Thị Nga"}
    assert second.post("/api/donations", json=body).get_json()["cashier_name"] == "Lý Thị Nga"
    assert 'data-name="Triệu Văn Đông"' in second.get("/donations").get_data(as_text=True)


def test_the_printed_receipt_carries_the_collectors_name(tmp_path):
    printer = FakePrinter()
    app = create_app(app_config(tmp_path / "data", KIOSK_PRINTER=printer.url()))
    try:
        client = app.test_client()
        login(client, "cashier")
        saved = client.post("/api/donations", json=GIFT).get_json()
        app.extensions["printer.queue"].wait(saved["print"]["job_id"], timeout=30)
        printed = raster_image(printer.connections[0].rasters())
        settings, db = app.extensions["printer.settings"], app.extensions["kiosk.db"]
        with db.read() as session:
            donation = store.by_receipt_no(session, saved["receipt_no"])
            data = desk.receipt_data(settings, donation, store.event_of(session, donation))
        assert data.cashier_name == COLLECTOR
        with_name = render_receipt(data, settings.paper_dots).convert("1")
        without = render_receipt(dataclasses.replace(data, cashier_name=None), settings.paper_dots).convert("1")
        assert printed.tobytes() == with_name.tobytes() != without.tobytes()
    finally:
        printer.close()
        app.extensions["kiosk.db"].dispose()


def test_ledger_csv_and_report_show_the_person_never_the_role(app, client_as):
    cashier = client_as("cashier")
    saved = cashier.post("/api/donations", json=GIFT).get_json()
    # A gift written by an older version, without a name: shown empty, never as "cashier".
    db = app.extensions["kiosk.db"]
    with db.write() as session:
        store.by_receipt_no(session, saved["receipt_no"]).cashier_name = None
    cashier.post("/api/donations", json={**GIFT, "donor_name": "Nông Thị Xuân"})
    ledger_page = cashier.get("/donations/ledger").get_data(as_text=True)
    assert f'<td class="collector">{COLLECTOR}</td>' in ledger_page and '<td class="collector">—</td>' in ledger_page
    rows = list(csv.reader(io.StringIO(cashier.get("/donations/ledger/export.csv").data.decode("utf-8-sig"))))
    column = rows[0].index("Người thu")
    assert [r[column] for r in rows[1:]] == ["", COLLECTOR]
    book = load_workbook(BytesIO(client_as("admin").get("/admin/report.xlsx").data))
    sheet = book["Ủng hộ"]
    header = next(row for row in sheet.iter_rows(values_only=True) if row and "Người thu" in row)
    index = header.index("Người thu")
    names = [row[index] for row in sheet.iter_rows(values_only=True)
             if row and isinstance(row[1], str) and row[1].startswith("KH-")]
    assert names == [None, COLLECTOR]
    assert not any(cell == "cashier" for row in sheet.iter_rows(values_only=True) for cell in row)
    desk_xlsx = load_workbook(BytesIO(cashier.get("/donations/ledger/export.xlsx").data)).active
    assert any(COLLECTOR in row for row in desk_xlsx.iter_rows(values_only=True))
