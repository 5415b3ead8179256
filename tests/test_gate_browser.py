"""Real Chromium at the gate: a scanner types a code and Enter, staff search by an unaccented name."""
from __future__ import annotations

import pytest

from .conftest import app_config, browser_login, screenshot
from .gate_helpers import first_non_vip, invitations
from .live import LiveServer

pytestmark = pytest.mark.browser


def _open_gate(page, live_server):
    browser_login(page, live_server, "gate", "/gate")
    page.wait_for_selector(".link-dot.on")


def _scan_like_a_scanner(page, code: str):
    # A USB scanner is a keyboard: fast keystrokes, then Enter; focus must already be on the input.
    page.keyboard.type(code, delay=5)
    page.keyboard.press("Enter")


def test_scan_green_then_amber_and_counts_update(page, live_server):
    _open_gate(page, live_server)
    _id, code, name = first_non_vip(live_server.app)
    assert page.evaluate("document.activeElement.id") == "scan-input"
    _scan_like_a_scanner(page, code)
    page.wait_for_selector("#result[data-result='ok']")
    assert page.locator("#result").get_attribute("class") == "result ok"
    assert name in page.locator("#result-name").inner_text()
    page.wait_for_selector("#count-present:text('1')")
    screenshot(page, "gate-ok")
    # The same code read again at once is a scanner double-read: ignored, no second request.
    _scan_like_a_scanner(page, code)
    assert page.locator("#recent-list li").count() == 1
    page.wait_for_timeout(3100)
    _scan_like_a_scanner(page, code)
    page.wait_for_selector("#result[data-result='already_checked_in']")
    assert "đã vào lúc" in page.locator("#result-message").inner_text()
    screenshot(page, "gate-already")
    assert page.evaluate("document.activeElement.id") == "scan-input"


def test_vip_is_purple_and_unknown_is_red(page, live_server):
    _open_gate(page, live_server)
    _id, vip_code, _ = invitations(live_server.app, 1)[0]
    _scan_like_a_scanner(page, vip_code)
    page.wait_for_selector("#result.vip")
    assert page.locator("#result-kind").text_content() == "Đại biểu — đón tiếp"
    screenshot(page, "gate-vip")
    _scan_like_a_scanner(page, "TM" + "B" * 15 + "0")
    page.wait_for_selector("#result.error")
    screenshot(page, "gate-invalid")
    _scan_like_a_scanner(page, "TMđB7K29QH4T3NC88V5")
    page.wait_for_selector("#result-message:has-text('Unikey/EVKey')")


def test_search_by_unaccented_name_and_admit_from_the_list(page, live_server):
    _open_gate(page, live_server)
    page.keyboard.type("kho bac")
    page.keyboard.press("Enter")
    page.wait_for_selector("#search-list li")
    assert "Kho bạc Nhà nước" in page.locator("#search-list").inner_text()
    screenshot(page, "gate-search")
    page.locator("#search-list li").first.get_by_role("button", name="Cho vào").click()
    page.wait_for_selector("#result[data-result='ok']")
    page.wait_for_selector("#search-list .here")


def test_walk_in_in_a_few_keystrokes(page, live_server):
    _open_gate(page, live_server)
    page.get_by_role("button", name="+ Khách vãng lai").click()
    page.get_by_label("Họ và tên *").fill("Lương Thị Hoa")
    page.get_by_text("Các nhà hảo tâm trong và ngoài huyện").click()
    page.get_by_label("Đơn vị / lớp / địa chỉ").fill("Tổ dân phố 3")
    screenshot(page, "gate-walkin")
    page.keyboard.press("Enter")
    page.wait_for_selector("#result[data-result='ok']")
    assert "Lương Thị Hoa" in page.locator("#result-name").inner_text()
    page.wait_for_selector("#count-walkins:text('1')")


def test_a_scan_made_offline_is_queued_and_sent_later(page, live_server):
    _open_gate(page, live_server)
    _id, code, _name = first_non_vip(live_server.app)
    page.route("**/api/checkin", lambda route: route.abort())
    _scan_like_a_scanner(page, code)
    page.wait_for_selector("#result[data-result='waiting']")
    assert page.evaluate("window.kioskGate.queueLength()") == 1
    assert page.locator("#pending").is_visible()
    page.unroute("**/api/checkin")
    page.wait_for_selector("#pending", state="hidden", timeout=10000)
    from .test_gate_live import _login
    gate = _login(live_server.url, "gate")
    again = gate.post(live_server.url + "/api/checkin", json={"code": code}, timeout=5).json()
    assert again["result"] == "already_checked_in"  # the queued scan reached the server, once


def test_a_scan_the_server_could_not_write_is_kept_and_lands_later(page, live_server, monkeypatch):
    """A full disk (507): the clerk reads why, the scan waits in the browser and lands once there is room."""
    from checkin import checkins
    real_scan = checkins.scan
    full = [True]

    def scan(db, raw, meta, now=None):
        if full[0]:
            import errno
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_scan(db, raw, meta, now)

    monkeypatch.setattr(checkins, "scan", scan)
    _open_gate(page, live_server)
    _id, code, _name = first_non_vip(live_server.app)
    _scan_like_a_scanner(page, code)
    page.wait_for_selector("#result[data-result='waiting']")
    assert page.locator("#result-message").inner_text().startswith("Ổ đĩa đầy")
    assert page.evaluate("window.kioskGate.queueLength()") == 1
    screenshot(page, "gate-disk-full")
    full[0] = False
    page.wait_for_selector("#pending", state="hidden", timeout=10000)
    from .test_gate_live import _login
    gate = _login(live_server.url, "gate")
    again = gate.post(live_server.url + "/api/checkin", json={"code": code}, timeout=5).json()
    assert again["result"] == "already_checked_in"


def test_a_scan_after_the_server_restarted_lands(page, data_dir):
    """The page's kept-alive connection dies with the server; the next scan still reaches the new one."""
    config = app_config(data_dir)
    server = LiveServer(config).start()
    restarted = None
    try:
        _open_gate(page, server)
        (_id, first, _name), (_id2, second, second_name) = invitations(server.app)[-2:]
        _scan_like_a_scanner(page, first)
        page.wait_for_selector("#result[data-result='ok']")
        server.stop()
        restarted = LiveServer(config, port=server.port).start()
        _scan_like_a_scanner(page, second)
        page.wait_for_function(f"() => document.getElementById('result-name').innerText.includes({second_name!r})",
                               timeout=10000)
        assert page.locator("#result").get_attribute("data-result") == "ok"
        assert page.evaluate("window.kioskGate.queueLength()") == 0
    finally:
        (restarted or server).stop()


def test_a_scan_after_the_server_closed_an_idle_connection_lands(page, data_dir, monkeypatch):
    """Staff wait between arrivals; the server ends idle connections; the next scan still lands."""
    from kiosk import http_server
    monkeypatch.setattr(http_server.KeepAliveRequestHandler, "timeout", 0.5)
    server = LiveServer(app_config(data_dir)).start()
    try:
        _open_gate(page, server)
        (_id, first, _name), (_id2, second, second_name) = invitations(server.app)[-2:]
        _scan_like_a_scanner(page, first)
        page.wait_for_selector("#result[data-result='ok']")
        page.wait_for_timeout(1500)  # the server has closed the page's idle connections by now
        _scan_like_a_scanner(page, second)
        page.wait_for_function(f"() => document.getElementById('result-name').innerText.includes({second_name!r})",
                               timeout=10000)
        assert page.locator("#result").get_attribute("data-result") == "ok"
    finally:
        server.stop()


def test_admin_arrivals_page_updates_live_after_a_scan(page, live_server):
    browser_login(page, live_server, "admin", "/admin/arrivals")
    page.wait_for_selector("#s-present:text('0')")
    absent_before = page.locator("#absent-table tbody tr").count()
    from .test_gate_live import _login
    gate = _login(live_server.url, "gate")
    _id, code, name = first_non_vip(live_server.app)
    gate.post(live_server.url + "/api/checkin", json={"code": code}, timeout=5)
    page.wait_for_selector("#s-present:text('1')", timeout=5000)
    page.wait_for_function(f"() => document.querySelectorAll('#absent-table tbody tr').length === {absent_before - 1}")
    assert name not in page.locator("#absent-table").inner_text()
    screenshot(page, "admin-arrivals")


def test_camera_button_explains_when_the_camera_cannot_be_used(page, live_server):
    _open_gate(page, live_server)
    page.get_by_role("button", name="Quét bằng camera").click()
    page.wait_for_selector("#camera-status.problem")
    assert page.locator("#camera-status").inner_text().strip()


def test_the_page_tells_scans_from_name_searches(page, live_server):
    from checkin.codes import display_form, new_code
    _open_gate(page, live_server)
    code = new_code()
    looks = lambda text: page.evaluate("text => window.kioskGate.looksLikeCode(text)", text)  # noqa: E731
    assert looks(code) and looks(code.lower() + "\r") and looks(display_form(code))
    assert looks(f"http://192.168.1.10:5000/c/{code}")
    assert not looks("nguyen thi lan") and not looks("Lan") and not looks("5678")
