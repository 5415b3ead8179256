"""Real Chromium: the organiser's dashboard changes after a scan made through the API; report pages render."""
from __future__ import annotations

import pytest

from .conftest import ARTIFACTS, browser_login, screenshot
from .gate_helpers import first_non_vip
from .test_gate_live import _login

pytestmark = pytest.mark.browser


def _admin(page, live_server, path):
    browser_login(page, live_server, "admin", path)


def test_dashboard_count_changes_after_a_scan(page, live_server):
    _admin(page, live_server, "/admin")
    page.wait_for_selector("#d-present:text('0')")
    gate = _login(live_server.url, "gate")
    _id, code, _ = first_non_vip(live_server.app)
    gate.post(live_server.url + "/api/checkin", json={"code": code}, timeout=5)
    page.wait_for_selector("#d-present:text('1')", timeout=5000)
    assert page.locator("#d-arrivals-chart svg rect").count() == 1
    cashier = _login(live_server.url, "cashier")
    cashier.post(live_server.url + "/api/donations", json={"donor_name": "Ông Lý Văn Hùng", "amount_vnd": 1_500_000,
                                                           "method": "cash"}, timeout=10)
    page.wait_for_selector("#d-money:text('1.500.000 đ')", timeout=5000)
    screenshot(page, "admin-dashboard")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "admin-dashboard-phone")


def test_report_pages_render_and_print_to_a4(page, live_server):
    _admin(page, live_server, "/admin/report")
    screenshot(page, "admin-report")
    page.goto(live_server.url + "/admin/report/print")
    assert "Kết quả tổ chức Lễ khai mạc" in page.locator("h2").inner_text()
    pdf = page.pdf(format="A4", print_background=True)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report-print.pdf").write_bytes(pdf)
    import pypdfium2
    document = pypdfium2.PdfDocument(pdf)
    for index in range(len(document)):
        document[index].render(scale=1.5).to_pil().save(ARTIFACTS / f"report-print-{index + 1}.png")
    assert 1 <= len(document) <= 2
    document.close()
