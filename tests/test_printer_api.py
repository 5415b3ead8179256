"""Who may use the desk, CSRF, the amount read-back endpoint, and the public /r/ receipt check."""
from __future__ import annotations

import pytest

from printer import ledger

GIFT = {"donor_name": "Bế Văn Thắng", "amount_vnd": 250_000}

CALLS = [
    ("post", "/api/donations", GIFT),
    ("get", "/api/donations", None),
    ("get", "/api/donations/KH-2023-0001", None),
    ("post", "/api/donations/KH-2023-0001/reprint", None),
    ("post", "/api/donations/KH-2023-0001/void", {"reason": "thử quyền"}),
    ("post", "/api/print-jobs/1/retry", None),
    ("get", "/api/print-jobs/1", None),
    ("get", "/api/printer", None),
    ("post", "/api/printer/check", None),
    ("post", "/api/printer/calibration", {"dots": 384}),
    ("get", "/api/money/parse?text=500k", None),
    ("post", "/api/desk/collector", {"name": "Hoàng Thị Lan"}),
]
PAGES = ["/donations", "/donations/ledger", "/donations/ledger/export.csv", "/donations/ledger/export.xlsx",
         "/donations/receipts/KH-2023-0001.png"]


def _call(client, method, path, body):
    return getattr(client, method)(path, json=body) if body is not None else getattr(client, method)(path)


@pytest.fixture
def one_gift(client_as):
    client_as("cashier").post("/api/donations", json=GIFT)


@pytest.mark.parametrize("role", ["gate", "mc"])
@pytest.mark.parametrize("method,path,body", CALLS, ids=[c[1] for c in CALLS])
def test_other_roles_get_403(client_as, one_gift, role, method, path, body):
    response = _call(client_as(role), method, path, body)
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"


@pytest.mark.parametrize("method,path,body", CALLS, ids=[c[1] for c in CALLS])
def test_no_login_gets_401(client, one_gift, method, path, body):
    response = _call(client, method, path, body)
    assert response.status_code == 401
    assert response.get_json()["error"] == "login_required"


@pytest.mark.parametrize("role", ["cashier", "admin"])
def test_cashier_and_admin_may_use_the_desk(client_as, role):
    c = client_as(role)
    response = c.post("/api/donations", json=GIFT)
    assert response.status_code == 201
    receipt = response.get_json()["receipt_no"]
    assert c.get(f"/api/donations/{receipt}").status_code == 200
    assert c.post(f"/api/donations/{receipt}/reprint").status_code == 200
    assert c.post(f"/api/donations/{receipt}/void", json={"reason": "Kiểm tra quyền"}).status_code == 200
    for page in PAGES:
        assert c.get(page.replace("KH-2023-0001", receipt)).status_code == 200, page


@pytest.mark.parametrize("role", ["gate", "mc"])
def test_other_roles_cannot_open_the_pages(client_as, one_gift, role):
    c = client_as(role)
    for page in PAGES:
        assert c.get(page).status_code == 403, page


def test_pages_redirect_to_login(client):
    response = client.get("/donations")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_save_without_the_csrf_token_is_refused(client_as):
    c = client_as("cashier")
    del c.environ_base["HTTP_X_CSRFTOKEN"]
    response = c.post("/api/donations", json=GIFT)
    assert response.status_code == 400 and response.get_json()["error"] == "csrf"


def test_unknown_receipts_and_jobs_are_404(client_as):
    c = client_as("cashier")
    assert c.get("/api/donations/KH-2023-9999").get_json()["error"] == "not_found"
    assert c.post("/api/donations/KH-2023-9999/void", json={"reason": "abc"}).status_code == 404
    assert c.post("/api/print-jobs/999/retry").status_code == 404
    assert c.get("/donations/receipts/KH-2023-9999.png").status_code == 404


def test_amount_read_back(client_as):
    c = client_as("cashier")
    ok = c.get("/api/money/parse", query_string={"text": "1,5tr"}).get_json()
    assert ok["amount_vnd"] == 1_500_000 and ok["label"] == "1.500.000 đ"
    assert ok["words"] == "Một triệu năm trăm nghìn đồng"
    bad = c.get("/api/money/parse", query_string={"text": "1,5"})
    assert bad.status_code == 400 and bad.get_json()["error"] == "fraction"
    assert "không phải số nguyên đồng" in bad.get_json()["message"]


def test_receipt_check_page_is_public_and_needs_the_right_code(app, client_as, client):
    c = client_as("cashier")
    c.post("/api/donations", json={**GIFT, "amount_vnd": 1_005_000})
    mac = ledger.receipt_mac(app.config["SECRET_KEY"], "KH-2023-0001", 1_005_000)

    genuine = client.get(f"/r/KH-2023-0001?k={mac}")
    page = genuine.get_data(as_text=True)
    assert genuine.status_code == 200 and "Biên nhận hợp lệ" in page
    assert "1.005.000 đ" in page and "Một triệu không trăm linh năm nghìn đồng" in page and "Bế Văn Thắng" in page

    forged = client.get("/r/KH-2023-0001?k=AAAAAAAAAAAAAAAA")
    assert forged.status_code == 404 and "Không xác minh được" in forged.get_data(as_text=True)
    assert "Bế Văn Thắng" not in forged.get_data(as_text=True)  # nothing leaks without the code
    assert client.get("/r/KH-2023-0001").status_code == 404
    # A code is tied to its receipt: another receipt's code does not open this one.
    c.post("/api/donations", json=GIFT)
    assert client.get(f"/r/KH-2023-0002?k={mac}").status_code == 404

    c.post("/api/donations/KH-2023-0001/void", json={"reason": "Ghi nhầm"})
    voided = client.get(f"/r/KH-2023-0001?k={mac.lower()}")
    assert voided.status_code == 200 and "Biên nhận đã bị hủy" in voided.get_data(as_text=True)


def test_the_mac_depends_on_the_secret_number_and_amount():
    base = ledger.receipt_mac("k" * 64, "KH-2023-0001", 500_000)
    assert len(base) == 16
    assert ledger.receipt_mac("j" * 64, "KH-2023-0001", 500_000) != base
    assert ledger.receipt_mac("k" * 64, "KH-2023-0002", 500_000) != base
    assert ledger.receipt_mac("k" * 64, "KH-2023-0001", 5_000_000) != base
    assert ledger.mac_matches("k" * 64, "KH-2023-0001", 500_000, base)
    assert not ledger.mac_matches("k" * 64, "KH-2023-0001", 500_000, None)


def test_admin_sees_the_ledger_in_the_admin_tabs(client_as):
    page = client_as("admin").get("/donations/ledger").get_data(as_text=True)
    assert 'aria-current="page">Sổ ủng hộ' in page
    cashier_page = client_as("cashier").get("/donations/ledger").get_data(as_text=True)
    assert 'class="tabs"' not in cashier_page
