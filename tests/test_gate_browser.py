"""Real Chromium at the gate: a scanner types a code and Enter, staff search by an unaccented name."""
from __future__ import annotations

import pytest

from checkin import naming

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
    # The default event invites this office as "Đại diện …": the gate names it by its office.
    assert page.locator("#result-name").inner_text() == naming.addressed("Đồng chí", name) \
        == "Đại biểu Kho bạc Nhà nước huyện Bạch Thông"
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
    # Searched again, the person now shows as arrived.
    page.keyboard.type("kho bac")
    page.keyboard.press("Enter")
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
    page.wait_for_function("() => Number(document.getElementById('copy-state').dataset.people) > 0")
    _id, code, _name = first_non_vip(live_server.app)
    page.route("**/api/checkin", lambda route: route.abort())
    _scan_like_a_scanner(page, code)
    # The request failed: the gate judges from its own copy (test_gate_offline_browser.py has every case).
    page.wait_for_selector("#result[data-result='ok'][data-offline='1']")
    assert page.evaluate("window.kioskGate.queueLength()") == 1
    assert page.locator("#pending").is_visible()
    page.unroute("**/api/checkin")
    page.wait_for_selector("#pending", state="hidden", timeout=10000)
    from .test_gate_live import _login
    gate = _login(live_server.url, "gate")
    again = gate.post(live_server.url + "/api/checkin", json={"code": code}, timeout=5).json()
    assert again["result"] == "already_checked_in"  # the queued scan reached the server, once


def _disk_full():
    import errno
    return OSError(errno.ENOSPC, "No space left on device")


def _database_link_lost():
    from sqlalchemy.exc import OperationalError
    return OperationalError("UPDATE invitee ...", {}, Exception("server closed the connection unexpectedly"),
                            connection_invalidated=True)


@pytest.mark.parametrize("failure,message,shot", [
    (_disk_full, "Ổ đĩa đầy", "gate-disk-full"),                                       # 507
    (_database_link_lost, "Máy chủ mất kết nối tới cơ sở dữ liệu", "gate-database-link-lost"),   # 503, PostgreSQL
])
def test_a_scan_the_server_could_not_write_is_kept_and_lands_later(page, live_server, monkeypatch, failure, message,
                                                                   shot):
    """A full disk, or PostgreSQL restarting under the scan: the clerk reads why, the scan waits in the browser
    and lands once the server can write it, once."""
    from checkin import checkins
    real_scan = checkins.scan
    failing = [True]

    def scan(db, raw, meta, now=None):
        if failing[0]:
            raise failure()
        return real_scan(db, raw, meta, now)

    monkeypatch.setattr(checkins, "scan", scan)
    _open_gate(page, live_server)
    _id, code, _name = first_non_vip(live_server.app)
    _scan_like_a_scanner(page, code)
    page.wait_for_selector("#result[data-result='waiting']")
    assert page.locator("#result-message").inner_text().startswith(message)
    assert page.evaluate("window.kioskGate.queueLength()") == 1
    screenshot(page, shot)
    failing[0] = False
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
        page.wait_for_function(f"() => document.getElementById('result-name').innerText.includes({naming.addressed(None, second_name)!r})",
                               timeout=10000)
        assert page.locator("#result").get_attribute("data-result") == "ok"
        # Scanned before the page's socket was back, it was judged on the copy and sent at once.
        page.wait_for_function("() => window.kioskGate.queueLength() === 0", timeout=10000)
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
        page.wait_for_function(f"() => document.getElementById('result-name').innerText.includes({naming.addressed(None, second_name)!r})",
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


def _in_view(page, selector: str) -> bool:
    """The element is on screen without scrolling (its whole box inside the viewport)."""
    return page.evaluate("""sel => { const r = document.querySelector(sel).getBoundingClientRect();
        return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; }""", selector)


@pytest.mark.parametrize("size", [(1366, 768), (390, 844)], ids=["laptop", "phone"])
def test_the_verdict_is_on_screen_after_a_search_and_after_a_walk_in(browser, live_server, size):
    context = browser.new_context(locale="vi-VN", viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    try:
        _open_gate(page, live_server)
        _id, vip_code, _ = invitations(live_server.app, 1)[0]
        # A VIP found by name: the whole card, escort line and seat chip included, in view; the list closed.
        page.keyboard.type("Huyện ủy")
        page.keyboard.press("Enter")
        page.wait_for_selector("#search-list li")
        page.locator("#search-list li").first.get_by_role("button", name="Cho vào").click()
        page.wait_for_selector("#result[data-result='ok']")
        assert page.locator("#search-results").is_hidden()
        assert _in_view(page, "#result"), "the verdict needs scrolling"
        screenshot(page, f"gate-verdict-after-search-{size[0]}")
        # An unknown code (red), then a search that finds nobody: no red card above the "nobody" list.
        _scan_like_a_scanner(page, "TM" + "B" * 15 + "0")
        page.wait_for_selector("#result.error")
        page.keyboard.type("Không Ai Có Tên Này")
        page.keyboard.press("Enter")
        page.wait_for_selector("#search-title:has-text('Không tìm thấy')")
        assert page.locator("#result").is_hidden() and _in_view(page, "#search-title")
        # A walk-in: the dialog closes on the verdict, in view.
        page.get_by_role("button", name="+ Khách vãng lai").click()
        page.get_by_label("Họ và tên *").fill("Lò Văn Páo")
        page.get_by_role("button", name="Cho vào").click()
        page.wait_for_selector("#result[data-result='ok']")
        assert _in_view(page, "#result") and page.locator("#search-results").is_hidden()
    finally:
        context.close()


def test_verdict_colours_and_chips_are_readable_in_daylight(page, live_server):
    """At least 4.5:1 between every verdict's text and its colour, measured from the page's own CSS."""
    _open_gate(page, live_server)
    ratios = page.evaluate("""() => {
        const rgb = s => s.match(/[\\d.]+/g).map(Number);
        const lum = c => { const v = c.slice(0, 3).map(x => { x /= 255; return x <= 0.03928 ? x / 12.92
                           : Math.pow((x + 0.055) / 1.055, 2.4); }); return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
        const over = (top, under) => { const a = top.length > 3 ? top[3] : 1;
                                       return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)); };
        const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
        const box = document.getElementById("result"), seat = document.getElementById("result-seat");
        seat.hidden = false; seat.textContent = "Khu A, ghế 1";
        const out = {};
        for (const kind of ["ok", "vip", "already", "error", "waiting"]) {
            box.className = "result " + kind;
            const bg = rgb(getComputedStyle(box).backgroundColor);
            for (const id of ["result-kind", "result-name", "result-detail", "result-message"])
                out[kind + " " + id] = ratio(rgb(getComputedStyle(document.getElementById(id)).color), bg);
            out[kind + " seat"] = ratio(rgb(getComputedStyle(seat).color), over(rgb(getComputedStyle(seat).backgroundColor), bg));
        }
        const white = [255, 255, 255];
        for (const li of ["ok", "vip", "already", "error", "waiting"]) {
            const el = document.createElement("li"); el.className = li; el.innerHTML = '<span class="k">x</span>';
            document.getElementById("recent-list").appendChild(el);
            out["recent " + li] = ratio(rgb(getComputedStyle(el.firstChild).color), white);
        }
        document.querySelectorAll(".chip").forEach((chip, i) => {
            out["count chip " + i] = ratio(rgb(getComputedStyle(chip.querySelector("b")).color),
                                           rgb(getComputedStyle(chip).backgroundColor));
        });
        return out;
    }""")
    low = {where: round(value, 2) for where, value in ratios.items() if value < 4.5}
    assert low == {}, low
    assert len(ratios) == 5 * 5 + 5 + 4     # five verdicts × (4 texts + seat), 5 recent kinds, 4 count chips


def test_browser_messages_are_vietnamese_and_the_walk_in_buttons_stay_in_view(browser, live_server):
    context = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 768})   # an English browser
    page = context.new_page()
    try:
        page.goto(live_server.url + "/login?role=gate")
        page.get_by_role("button", name="Đăng nhập").click()
        assert page.locator("#pin").evaluate("el => el.validationMessage") == "Vui lòng điền vào ô này."
        page.locator("#pin").fill("12ab")
        assert page.locator("#pin").evaluate("el => el.validationMessage") == "Chỉ gõ chữ số."
        page.locator("#pin").fill("")
        _open_gate(page, live_server)
        page.get_by_role("button", name="+ Khách vãng lai").click()
        page.get_by_role("button", name="Cho vào").click()                 # empty name
        assert page.locator("#walkin-name").evaluate("el => el.validationMessage") == "Vui lòng điền vào ô này."
        page.get_by_label("Họ và tên *").fill("Hoàng Văn Sinh")
        page.get_by_label("Điện thoại").fill("12345")                        # refused by the server
        page.get_by_role("button", name="Cho vào").click()
        page.wait_for_selector("#walkin-error:not([hidden])")
        assert _in_view(page, "#walkin-save") and _in_view(page, "#walkin-cancel") and _in_view(page, "#walkin-error")
        assert "Số điện thoại" in page.locator("#walkin-error").inner_text()
        screenshot(page, "gate-walkin-error-768")
    finally:
        context.close()
