"""The ledger: receipt numbering under load and after a crash, void, reprint, search, exports, screens."""
from __future__ import annotations

import csv
import io
import threading
import time

import pytest
from openpyxl import load_workbook

from kiosk.storage import donations as store
from kiosk.storage import utcnow
from printer import desk, ledger

from .conftest import COLLECTOR, login

GIFT = {"donor_name": "Nguyễn Văn An", "amount_vnd": 500_000}


def give(client, **fields) -> dict:
    response = client.post("/api/donations", json={**GIFT, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_api_answers_as_the_contract_says(client_as):
    cashier = client_as("cashier")
    body = give(cashier, donor_name="Hoàng Thị Lan", organisation="Trường THCS Phủ Thông",
                amount_vnd=1_005_000, method="transfer", show_on_screen=True)
    assert body["receipt_no"] == "KH-2023-0001"
    assert body["amount_vnd"] == 1_005_000
    assert body["amount_words"] == "Một triệu không trăm linh năm nghìn đồng"
    assert body["print"]["status"] in ("queued", "printing", "done")
    assert body["method"] == "transfer" and body["organisation"] == "Trường THCS Phủ Thông"


def test_twenty_concurrent_donations_get_unique_continuous_numbers(app):
    clients = []
    for _ in range(20):
        c = app.test_client()
        login(c, "cashier")
        clients.append(c)
    barrier = threading.Barrier(20)
    results, errors = [], []

    def donate(i, c):
        barrier.wait()
        try:
            response = c.post("/api/donations", json={"donor_name": f"Người {i}", "amount_vnd": 1000 * (i + 1)})
            results.append((response.status_code, response.get_json()))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=donate, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert all(status == 201 for status, _ in results) and len(results) == 20
    numbers = sorted(body["receipt_no"] for _, body in results)
    assert numbers == [f"KH-2023-{n:04d}" for n in range(1, 21)]
    # Each number carries its own gift (no two requests ended up on one row).
    assert sorted(body["amount_vnd"] for _, body in results) == [1000 * (i + 1) for i in range(20)]


def test_a_crash_while_saving_leaves_no_gap_and_no_half_record(app, client_as, monkeypatch):
    cashier = client_as("cashier")
    give(cashier)
    db, settings = app.extensions["kiosk.db"], app.extensions["printer.settings"]

    def power_cut(*args, **kwargs):
        raise RuntimeError("power cut after the number was taken")
    monkeypatch.setattr(store, "add_job", power_cut)
    data = ledger.validate_donation({**GIFT, "donor_name": "Lost"}, COLLECTOR)
    with pytest.raises(RuntimeError):
        desk.record(db, settings, data, "cashier", utcnow())
    monkeypatch.undo()
    assert give(cashier)["receipt_no"] == "KH-2023-0002"
    names = [d["donor_name"] for d in cashier.get("/api/donations").get_json()["donations"]]
    assert "Lost" not in names and len(names) == 2


def test_a_repeated_save_returns_the_first_receipt(client_as):
    cashier = client_as("cashier")
    first = cashier.post("/api/donations", json={**GIFT, "request_id": "desk-1-abcdef"})
    again = cashier.post("/api/donations", json={**GIFT, "request_id": "desk-1-abcdef"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["receipt_no"] == first.get_json()["receipt_no"] and again.get_json()["duplicate"]
    assert cashier.get("/api/donations").get_json()["totals"]["count"] == 1


@pytest.mark.parametrize("body,code", [
    ({"amount_vnd": 1000}, "donor_required"),
    ({"donor_name": "   ", "amount_vnd": 1000}, "donor_required"),
    ({"donor_name": "A"}, "amount_required"),
    ({"donor_name": "A", "amount_vnd": 1.5}, "amount_not_integer"),
    ({"donor_name": "A", "amount_vnd": "500000"}, "amount_not_integer"),
    ({"donor_name": "A", "amount_vnd": True}, "amount_not_integer"),
    ({"donor_name": "A", "amount_vnd": 0}, "amount_not_positive"),
    ({"donor_name": "A", "amount_vnd": -5}, "amount_not_positive"),
    ({"donor_name": "A", "amount_vnd": 10**12}, "amount_too_large"),
    ({"donor_name": "A", "amount_vnd": 1000, "method": "card"}, "method_invalid"),
    ({"donor_name": "A" * 201, "amount_vnd": 1000}, "too_long"),
    ({"donor_name": "A", "amount_vnd": 1000, "show_on_screen": "yes"}, "bad_request"),
])
def test_bad_donations_are_refused_in_vietnamese_and_take_no_number(client_as, body, code):
    cashier = client_as("cashier")
    response = cashier.post("/api/donations", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"] == code
    assert response.get_json()["message"] == ledger.MESSAGES[code]
    assert give(cashier)["receipt_no"] == "KH-2023-0001"


def test_text_is_stored_nfc(client_as):
    cashier = client_as("cashier")
    body = give(cashier, donor_name="Nguye\u0302\u0303n  Va\u0306n An ")
    assert body["donor_name"] == "Nguyễn Văn An"


def test_reprint_prints_a_counted_copy(app, client_as):
    cashier = client_as("cashier")
    receipt = give(cashier)["receipt_no"]
    for n in (1, 2):
        response = cashier.post(f"/api/donations/{receipt}/reprint")
        assert response.status_code == 200
        body = response.get_json()
        assert body["reprint_count"] == n and body["print"]["kind"] == "copy" and body["print"]["copy_no"] == n
    jobs = cashier.get(f"/api/donations/{receipt}").get_json()["jobs"]
    assert [(j["kind"], j["copy_no"]) for j in jobs] == [("receipt", None), ("copy", 1), ("copy", 2)]
    app.extensions["printer.queue"].wait(jobs[-1]["job_id"], 30)
    folder = app.extensions["printer.settings"].receipts_dir
    assert (folder / f"{receipt}-ban-sao-2.png").is_file()


def test_void_keeps_the_number_and_the_row_and_prints_nothing(app, client_as):
    cashier = client_as("cashier")
    first = give(cashier, amount_vnd=2_000_000)["receipt_no"]
    give(cashier, amount_vnd=300_000)
    no_reason = cashier.post(f"/api/donations/{first}/void", json={"reason": " "})
    assert no_reason.status_code == 400 and no_reason.get_json()["error"] == "reason_required"
    with app.extensions["kiosk.db"].read() as session:
        jobs_before = len(store.jobs_for(session, 1))
    voided = cashier.post(f"/api/donations/{first}/void", json={"reason": "Nhập nhầm số tiền"})
    assert voided.status_code == 200
    body = voided.get_json()
    assert body["voided"] and body["void_reason"] == "Nhập nhầm số tiền" and body["receipt_no"] == first
    with app.extensions["kiosk.db"].read() as session:
        assert len(store.jobs_for(session, 1)) == jobs_before  # nothing printed for a void
    again = cashier.post(f"/api/donations/{first}/void", json={"reason": "lần hai"})
    assert again.status_code == 409 and again.get_json()["error"] == "already_voided"
    reprint = cashier.post(f"/api/donations/{first}/reprint")
    assert reprint.status_code == 409 and reprint.get_json()["error"] == "voided"
    listing = cashier.get("/api/donations").get_json()
    assert [d["receipt_no"] for d in listing["donations"]] == ["KH-2023-0002", "KH-2023-0001"]
    totals = listing["totals"]
    assert totals["total_vnd"] == 300_000 and totals["count"] == 1
    assert totals["voided"] == {"count": 1, "total_vnd": 2_000_000, "total_label": "2.000.000 đ"}
    # The next gift still takes the next number: a voided number is never reused.
    assert give(cashier)["receipt_no"] == "KH-2023-0003"


def test_voiding_cancels_a_receipt_still_waiting_to_print(app, client_as):
    cashier = client_as("cashier")
    db, settings = app.extensions["kiosk.db"], app.extensions["printer.settings"]
    data = ledger.validate_donation(GIFT, COLLECTOR)
    donation, job, _ = desk.record(db, settings, data, "cashier", utcnow())  # queued, worker not woken
    cashier.post(f"/api/donations/{donation['receipt_no']}/void", json={"reason": "Khách đổi ý"})
    app.extensions["printer.queue"].process(job["job_id"])
    assert cashier.get(f"/api/print-jobs/{job['job_id']}").get_json()["status"] == "cancelled"


def test_totals_by_method_and_search_without_diacritics(client_as):
    cashier = client_as("cashier")
    give(cashier, donor_name="Đặng Thị Hoa", organisation="Bưu điện huyện", amount_vnd=200_000, method="cash")
    give(cashier, donor_name="Công ty Sông Cầu", amount_vnd=5_000_000, method="transfer", note="chuyển qua Agribank")
    give(cashier, donor_name="Lý Văn Sơn", amount_vnd=300_000, method="cash")
    totals = cashier.get("/api/donations").get_json()["totals"]
    assert totals["by_method"]["cash"]["total_vnd"] == 500_000
    assert totals["by_method"]["transfer"]["total_vnd"] == 5_000_000
    assert totals["total_vnd"] == 5_500_000 and totals["total_label"] == "5.500.000 đ"

    def search(q):
        return [d["donor_name"] for d in cashier.get("/api/donations", query_string={"q": q}).get_json()["donations"]]
    assert search("dang thi") == ["Đặng Thị Hoa"]
    assert search("BUU DIEN") == ["Đặng Thị Hoa"]
    assert search("song cau") == ["Công ty Sông Cầu"]
    assert search("agribank") == ["Công ty Sông Cầu"]
    assert search("KH-2023-0003") == ["Lý Văn Sơn"]
    assert search("5.000.000") == ["Công ty Sông Cầu"]
    assert search("100%") == []
    page = cashier.get("/donations/ledger", query_string={"q": "ly van"}).get_data(as_text=True)
    assert "Lý Văn Sơn" in page and "Công ty Sông Cầu" not in page


def test_exports_have_every_donation_voids_marked_and_totals(client_as):
    cashier = client_as("cashier")
    give(cashier, donor_name="=HYPERLINK(\"http://x\")", amount_vnd=100_000)
    give(cashier, donor_name="Phạm Thị Thu", amount_vnd=1_500_000, method="transfer")
    cashier.post("/api/donations/KH-2023-0001/void", json={"reason": "Thử"})

    response = cashier.get("/donations/ledger/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:6] == ["STT", "Số biên nhận", "Thời gian", "Người ủng hộ", "Đơn vị/Địa chỉ", "Số tiền (đồng)"]
    assert [r[1] for r in rows[1:]] == ["KH-2023-0001", "KH-2023-0002"]
    assert rows[1][3].startswith("'=") and rows[1][11] == "Đã hủy" and rows[1][12] == "Thử"
    assert rows[2][3] == "Phạm Thị Thu" and rows[2][5] == "1500000" and rows[2][11] == "Hợp lệ"

    response = cashier.get("/donations/ledger/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    header = values.index(next(r for r in values if r and r[0] == "STT"))
    first, second = values[header + 1], values[header + 2]
    assert first[1] == "KH-2023-0001" and first[3] == "=HYPERLINK(\"http://x\")" and first[11] == "Đã hủy"
    assert sheet.cell(row=header + 2, column=4).data_type == "s"  # stays text, not a formula
    assert second[5] == 1_500_000 and isinstance(second[5], int)
    totals = {r[4]: r[5] for r in values if r and r[4] and isinstance(r[5], int) and r[0] is None}
    assert totals["Tổng cộng hợp lệ (1 lượt)"] == 1_500_000
    assert totals["Chuyển khoản (1 lượt)"] == 1_500_000
    assert totals["Đã hủy, không tính (1 lượt)"] == 100_000


def test_screens_get_the_total_and_only_consenting_donors(app, client_as):
    cashier = client_as("cashier")
    socket = app.extensions["kiosk.socketio"].test_client(app, namespace="/display")
    first = socket.get_received("/display")[0]["args"][0]
    assert first["donations"]["count"] == 0 and first["donations"]["recent_donors"] == []
    give(cashier, donor_name="Ông Nông Văn Dũng", amount_vnd=2_000_000, show_on_screen=True)
    give(cashier, donor_name="Người giấu tên", amount_vnd=1_000_000, show_on_screen=False)
    part = _next_state(socket)["donations"]
    # Screens move in steps of three receipts (ledger.PUBLISH_EVERY): two are not shown yet.
    assert part["count"] == 0 and part["recent_donors"] == []
    give(cashier, donor_name="Bà Hoàng Thị Lan", amount_vnd=500_000, show_on_screen=True)
    part = _next_state(socket)["donations"]
    assert part["count"] == 3 and part["total_vnd"] == 3_500_000 and part["total_label"] == "3.500.000 đ"
    assert [d["name"] for d in part["recent_donors"]] == ["Bà Hoàng Thị Lan", "Ông Nông Văn Dũng"]
    assert "amount_vnd" not in part["recent_donors"][0] and "amount_label" not in part["recent_donors"][0]
    cashier.post("/api/donations/KH-2023-0001/void", json={"reason": "Nhầm người"})
    part = _next_state(socket)["donations"]
    # A void is a change like a gift: it shows with two more (else the drop would be that one gift).
    assert part["total_vnd"] == 3_500_000 and len(part["recent_donors"]) == 2
    give(cashier, donor_name="Người giấu tên", amount_vnd=100_000)
    give(cashier, donor_name="Người giấu tên", amount_vnd=200_000)
    part = _next_state(socket)["donations"]
    assert part["total_vnd"] == 1_800_000 and [d["name"] for d in part["recent_donors"]] == ["Bà Hoàng Thị Lan"]
    assert cashier.get("/api/agenda").get_json()["donations"] == part
    # The desk and the MC read the exact figures.
    exact = client_as("mc").get("/api/donations/total").get_json()
    assert exact["count"] == 4 and exact["total_vnd"] == 1_800_000


def _next_state(socket, timeout: float = 10.0) -> dict:
    """Wait for the next coalesced push (the server batches changes for a quarter second)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [m["args"][0] for m in socket.get_received("/display") if m["name"] == "state"]
        if states:
            return states[-1]
        time.sleep(0.05)
    raise AssertionError("no state pushed to the screens")
