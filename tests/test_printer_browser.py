"""Real headless Chromium at the desk: record a gift, see the read-back, the preview, reprint and void."""
from __future__ import annotations

import re

import pytest

from .conftest import PINS, screenshot

pytestmark = pytest.mark.browser


def _login_as_cashier(page, live_server):
    page.goto(live_server.url + "/donations")
    assert "/login" in page.url
    page.get_by_text("Bàn ủng hộ", exact=True).click()
    page.get_by_label("Mã PIN").fill(PINS["cashier"])
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(live_server.url + "/donations")


def test_record_a_donation_and_see_its_receipt(page, live_server):
    from playwright.sync_api import expect  # only once the fixture found Playwright

    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((live_server.url, "data:", "blob:")) else None)
    _login_as_cashier(page, live_server)

    # The desk first asks who collects: once per login, printed on every receipt.
    dialog = page.locator("#collector-dialog")
    dialog.wait_for(state="visible")
    screenshot(page, "donations-desk-collector")
    page.get_by_role("button", name="Bắt đầu thu").click()
    assert dialog.locator("#collector-error").inner_text() == "Hãy nhập họ và tên người thu tiền."
    page.get_by_label("Họ và tên người thu tiền").fill("Hoàng Văn Bình")
    page.get_by_role("button", name="Bắt đầu thu").click()
    dialog.wait_for(state="hidden")
    assert page.locator("#collector-name").inner_text() == "Hoàng Văn Bình"
    assert page.evaluate("document.activeElement.id") == "donor_name"

    # A slip first: "1,5" without a unit is refused in Vietnamese, and nothing is saved.
    page.get_by_role("textbox", name="Người ủng hộ").fill("Nguyễn Thị Hằng")
    page.get_by_label("Số tiền", exact=True).fill("1,5")
    readback = page.locator("#amount-readback")
    readback.locator("text=không phải số nguyên đồng").wait_for()
    page.get_by_label("Số tiền", exact=True).press("Enter")
    page.locator("#form-error").wait_for(state="visible")
    assert page.locator("#recent tbody tr[data-receipt]").count() == 0

    # The shorthand is read back in figures and in words before saving.
    page.get_by_label("Số tiền", exact=True).fill("1,5tr")
    readback.locator("text== 1.500.000 đ").wait_for()
    assert "Một triệu năm trăm nghìn đồng" in readback.inner_text()
    assert page.locator("#save").inner_text() == "Lưu và in biên nhận — 1.500.000 đ"
    page.get_by_label("Đơn vị / địa chỉ").fill("Trường Mầm non Phủ Thông")
    page.get_by_role("radio", name="Chuyển khoản").check()
    page.get_by_label("Người ủng hộ đồng ý được nêu tên trên màn hình").check()
    page.locator("#save").click()

    page.locator("#receipt-no", has_text="KH-2023-0001").wait_for()
    page.locator('#print-status[data-status="done"]').wait_for()
    preview = page.locator("#receipt-preview")
    expect(preview).to_have_js_property("naturalWidth", 576)
    # In preview mode nothing is on paper: the desk says so, never "Đã in".
    assert page.locator("#print-status").inner_text().startswith("Biên nhận: Đã lưu bản xem trước (chưa nối máy in)")
    assert page.locator("#recent tbody tr[data-receipt] .job").inner_text() == "Đã lưu bản xem trước"
    assert "1.500.000 đ" in page.locator("#panel-summary").inner_text()
    assert page.locator("#download-bin").is_visible()
    assert page.locator("#recent tbody tr[data-receipt]").count() == 1
    assert page.locator("#total-amount").inner_text() == "1.500.000 đ"
    # The form is cleared for the next donor, who is typed straight away.
    assert page.get_by_role("textbox", name="Người ủng hộ").input_value() == ""
    assert page.evaluate("document.activeElement.id") == "donor_name"
    assert "Người thu: Hoàng Văn Bình" in page.locator("#panel-summary").inner_text()
    screenshot(page, "donations-desk")

    page.get_by_role("button", name="In bản sao").click()
    page.locator("#print-status", has_text="Bản sao").wait_for()
    page.locator('#print-status[data-status="done"]').wait_for()
    assert "đã in lại 1 lần" in page.locator("#panel-summary").inner_text()

    page.get_by_role("button", name="Hủy biên nhận…").click()
    page.get_by_label("Lý do hủy").fill("Người ủng hộ đổi hình thức nộp")
    page.get_by_role("button", name="Xác nhận hủy").click()
    page.locator("#void-badge").wait_for(state="visible")
    assert "Người ủng hộ đổi hình thức nộp" in page.locator("#void-info").inner_text()
    assert page.get_by_role("button", name="In bản sao").is_disabled()
    page.locator("#total-amount", has_text="0 đ").wait_for()
    expect(preview).not_to_have_attribute("src", re.compile("copy="))
    expect(preview).to_have_js_property("complete", True)
    expect(preview).to_have_js_property("naturalWidth", 576)
    screenshot(page, "donations-desk-voided")

    page.goto(live_server.url + "/donations/ledger")
    assert page.locator("#ledger tbody tr.voided").count() == 1
    assert "Đã hủy" in page.locator("#ledger").inner_text()
    screenshot(page, "donations-ledger")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/donations")
    screenshot(page, "donations-desk-phone")
    assert outside == []


def test_a_desk_message_that_is_no_longer_true_goes_after_the_next_success(page, live_server):
    _login_as_cashier(page, live_server)
    page.get_by_label("Họ và tên người thu tiền").fill("Hoàng Văn Bình")
    page.get_by_role("button", name="Bắt đầu thu").click()
    # The Wi-Fi drops as a gift is saved: the treasurer is told, nothing is saved.
    page.route("**/api/donations", lambda route: route.abort(), times=1)
    page.get_by_role("textbox", name="Người ủng hộ").fill("Lò Văn Páo")
    page.get_by_label("Số tiền", exact=True).fill("200k")
    page.locator("#amount-readback", has_text="200.000 đ").wait_for()
    page.locator("#save").click()
    error = page.locator("#form-error")
    error.wait_for(state="visible")
    assert error.inner_text().startswith("Mất kết nối tới máy chủ kiosk")
    # Asking the printer succeeds: the server is back, the old message goes.
    page.get_by_role("button", name="Kiểm tra máy in").click()
    error.wait_for(state="hidden")
    # A refused test print is an error until a later action succeeds (here: the gift, saved again).
    page.route("**/api/printer/calibration", lambda route: route.fulfill(
        status=429, content_type="application/json",
        body='{"error": "calibration_limit", "message": "Đã in thử nhiều lần trong 10 phút qua."}'), times=1)
    page.get_by_role("button", name="In thử").click()
    result = page.locator("#calibration-result")
    result.locator("text=Đã in thử nhiều lần").wait_for()
    page.locator("#save").click()
    page.locator("#receipt-no", has_text="KH-2023-0001").wait_for()
    assert result.inner_text() == ""
    screenshot(page, "donations-desk-after-recovery")
