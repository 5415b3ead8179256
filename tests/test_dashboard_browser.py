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
    # What the printed page says, as the PDF's own text: the official header block, the attendance line,
    # and the signature block (on the last page, recipients on the left, the signer on the right).
    first = " ".join(document[0].get_textpage().get_text_range().split())
    last_page = document[len(document) - 1]
    last = " ".join(last_page.get_textpage().get_text_range().split())
    for words in ("ỦY BAN NHÂN DÂN HUYỆN BẠCH THÔNG", "PHÒNG GIÁO DỤC VÀ ĐÀO TẠO HUYỆN BẠCH THÔNG", "/BC-PGDĐT",
                  "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "Bạch Thông, ngày"):
        assert words in first, words
    assert "Tổng số người tham dự: 0 người" in first + " " + last
    assert "Nơi nhận:" in last and "TRƯỞNG PHÒNG" in last and "Lưu: VT." in last
    text = last_page.get_textpage()
    recipients = text.search("Nơi nhận").get_next()
    signer = text.search("TRƯỞNG PHÒNG").get_next()
    assert recipients and signer
    left_box, signer_box = text.get_charbox(recipients[0]), text.get_charbox(signer[0])
    assert left_box[0] < last_page.get_width() / 3 < signer_box[0]
    document.close()


def _run_programme_today(app, minutes_late: int) -> None:
    """Every item started `minutes_late` after its planned time of day, today (not the event's date)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from display import push
    from display import show as sm
    from kiosk.storage import show as show_queries
    from kiosk.storage import utcnow
    db = app.extensions["kiosk.db"]
    with db.write() as session:
        event, agenda, _show = push.load(session)
        zone = ZoneInfo(event.timezone)
        today = utcnow().astimezone(zone).date()
        ids, show = [item.id for item in agenda], sm.Show()
        for item in agenda:
            planned = item.planned_start.astimezone(zone)
            on_today = dt.datetime.combine(today, planned.time(), tzinfo=zone)
            show = sm.next_item(show, ids, on_today + dt.timedelta(minutes=minutes_late))
        show_queries.write_show(session, event.id, sm.to_record(show), utcnow(), _show.rev)
    push.broadcast_state(app)


def test_dashboard_and_mc_page_agree_on_the_delay_of_a_programme_run_on_another_day(page, browser, live_server):
    # The laptop's date is not the event's (a rehearsal, a clock never set): delay is still minutes.
    _run_programme_today(live_server.app, 14)
    _admin(page, live_server, "/admin")
    rows = page.locator("#d-programme tbody tr")
    rows.first.wait_for()
    actual = [rows.nth(i).locator("td").nth(2).inner_text() for i in range(rows.count())]
    assert all(text.split("\n")[-1] == "chậm 14 phút" for text in actual), actual
    assert "′" not in page.locator("#d-programme").inner_text()
    drift = page.locator("#d-drift")
    assert drift.inner_text().startswith("Tiến độ: chậm 14 phút")
    mc_context = browser.new_context(locale="vi-VN", viewport={"width": 1366, "height": 900})
    try:
        mc = mc_context.new_page()
        browser_login(mc, live_server, "mc", "/mc")
        mc.wait_for_selector("#mc[data-connected='1']", state="attached")
        assert mc.locator("#mc-drift").inner_text() == "chậm 14 phút"
    finally:
        mc_context.close()
    page.locator("#d-programme").scroll_into_view_if_needed()
    screenshot(page, "admin-dashboard-programme-late")


@pytest.mark.parametrize("size", [(1366, 768), (1280, 800), (390, 844)])
def test_the_donation_tile_fits_any_total_up_to_ten_digits(page, live_server, size):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    cashier = _login(live_server.url, "cashier")
    for amount in (9_000_000_000, 999_999_999):
        assert cashier.post(live_server.url + "/api/donations", json={"donor_name": "Công ty Cổ phần Bắc Kạn",
                                                                      "amount_vnd": amount}, timeout=10).ok
    _admin(page, live_server, "/admin")
    page.wait_for_selector("#d-money:text('9.999.999.999 đ')", timeout=5000)
    assert page.evaluate("""(() => {
        const b = document.getElementById('d-money'), tile = b.parentElement;
        const t = tile.getBoundingClientRect(), r = b.getBoundingClientRect();
        return b.scrollWidth <= b.clientWidth + 1 && r.left >= t.left && r.right <= t.right
               && tile.scrollWidth <= tile.clientWidth + 1;
    })()""")
    screenshot(page, f"admin-dashboard-money-{size[0]}")
