"""Real headless Chromium against the live server: login, admin page, screens, nothing from the internet."""
from __future__ import annotations

import pytest

from .conftest import PINS, screenshot

pytestmark = pytest.mark.browser


def _watch_requests(page, live_server) -> list[str]:
    outside = []

    def check(request):
        url = request.url
        if not (url.startswith(live_server.url) or url.startswith(("data:", "blob:"))):
            outside.append(url)
    page.on("request", check)
    return outside


def test_login_page_then_admin_page(page, live_server):
    outside = _watch_requests(page, live_server)
    page.goto(live_server.url + "/admin")
    assert "/login" in page.url
    page.get_by_label("Mã PIN").fill("000000")
    page.get_by_role("button", name="Đăng nhập").click()
    assert page.get_by_role("alert").inner_text() == "Mã PIN không đúng."
    page.get_by_text("Quản trị", exact=True).click()
    page.get_by_label("Mã PIN").fill(PINS["admin"])
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(live_server.url + "/admin")
    assert page.get_by_role("heading", level=1).inner_text() == \
        "Lễ khai mạc Tuần lễ hưởng ứng học tập suốt đời năm 2023"
    assert "Khoảng trống 08h25–08h35" in page.locator("#programme").inner_text()
    assert page.locator("#programme tbody tr").count() == 8
    groups = page.locator("#groups").inner_text()
    assert "Báo cáo: cán bộ nhà trường" in groups and "Báo cáo: học sinh" in groups
    assert page.evaluate("document.fonts.check('16px \"Be Vietnam Pro\"')")
    assert page.evaluate("document.documentElement.lang") == "vi"
    screenshot(page, "admin")
    assert outside == []


def test_home_page_lists_every_station(page, live_server):
    outside = _watch_requests(page, live_server)
    page.goto(live_server.url + "/")
    stations = page.locator(".station .path").all_inner_texts()
    assert stations == ["/admin", "/gate", "/mc", "/display", "/donations"]
    assert "07h30 ngày 02/10/2023" in page.locator(".hero").inner_text()
    screenshot(page, "home")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "home-phone")
    assert outside == []


@pytest.mark.parametrize("view,size", [("projector", (1920, 1080)), ("lobby", (1024, 768))])
def test_screen_connects_and_shows_the_welcome(page, live_server, view, size):
    outside = _watch_requests(page, live_server)
    page.set_viewport_size({"width": size[0], "height": size[1]})
    path = "/display" if view == "projector" else "/display/lobby"
    page.goto(live_server.url + path)
    page.wait_for_selector("body[data-connected='1']", state="attached", timeout=5000)
    assert page.locator("#clock").inner_text().count("h") == 1
    if view == "projector":
        assert page.locator("#welcome").is_visible()
        assert "Lễ khai mạc" in page.locator("#welcome-title").inner_text()
    else:
        assert page.locator("#lobby-list li").count() == 8
    screenshot(page, f"display-{view}-{size[0]}x{size[1]}")
    assert outside == []
