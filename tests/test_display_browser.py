"""Real headless Chromium against the live server: the MC page, the projector, lobby and welcome
screens, and the programme editor. Screenshots land in test-artifacts/display-*.png."""
from __future__ import annotations

import datetime as dt

import pytest

from display import programme, show as sm, timing
from display.push import register_state_part
from display.state import snapshot
from kiosk.storage import events as event_queries
from printer.desk import screen_state

from .conftest import PINS, app_config, screenshot

from .display_helpers import Staff, install_fake_parts, remove_parts
from .live import LiveServer

# The projector must follow the MC; how fast it does is measured (bench/bench_display.py), not asserted:
# a loaded CI machine once took longer than a second.
FOLLOW_MS = 10_000

pytestmark = pytest.mark.browser

ITEM_8 = "Tổ chức một hoặc một số hoạt động thiết thực"


@pytest.fixture
def open_page(browser):
    """Factory: a page in its own browser context (own cookies and localStorage) at a viewport size."""
    contexts = []

    def make(width=1280, height=800):
        context = browser.new_context(locale="vi-VN", viewport={"width": width, "height": height})
        contexts.append(context)
        return context.new_page()
    yield make
    for context in contexts:
        context.close()


def open_screen(page, base_url, path="/display"):
    page.goto(base_url + path)
    page.wait_for_selector("body[data-connected='1']", state="attached", timeout=5000)
    page.evaluate("document.fonts.ready")
    return page


def login_mc(page, base_url, role="mc"):
    page.goto(base_url + "/mc")
    assert "/login" in page.url
    page.get_by_label("Mã PIN").fill(PINS[role])
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(base_url + "/mc")
    page.wait_for_selector("#mc[data-connected='1']", state="attached", timeout=5000)
    page.bring_to_front()   # the MC's keys go to this page, not to another test page opened beside it
    return page


def shown_index(page) -> int:
    return page.evaluate("kioskDisplay.state().current_index")


def test_mc_presses_space_and_the_projector_follows_each_key(open_page, live_server):
    projector = open_screen(open_page(1280, 720), live_server.url)
    assert projector.locator("#welcome").is_visible()
    mc = login_mc(open_page(1366, 900), live_server.url)
    assert mc.locator("#mc-item-no").text_content().startswith("Chưa bắt đầu")

    mc.keyboard.press(" ")
    projector.wait_for_function(
        "() => !document.getElementById('current').hidden && "
        "document.getElementById('current-content').textContent === 'Đón tiếp đại biểu.'", timeout=FOLLOW_MS)
    assert projector.locator("#welcome").is_hidden()
    assert mc.locator("#mc-item-no").text_content() == "Mục 1/8"

    # Like a person, the MC acts on what their own page shows.
    mc.wait_for_function("() => kioskMc.state().current_index === 0")
    mc.keyboard.press("ArrowRight")
    projector.wait_for_function("() => kioskDisplay.state().current_index === 1", timeout=FOLLOW_MS)
    assert projector.locator("#current-content").inner_text() == "Văn nghệ chào mừng."
    assert projector.locator("#next-content").inner_text() == \
        "Chào cờ; tuyên bố lý do, giới thiệu đại biểu và thành phần tham dự."

    mc.wait_for_function("() => kioskMc.state().current_index === 1")
    mc.keyboard.press("ArrowLeft")
    projector.wait_for_function("() => kioskDisplay.state().current_index === 0", timeout=FOLLOW_MS)

    # After a click on "Màn đen", Space still means "next", never a second click on that button.
    mc.locator("#btn-blackout").click()
    projector.wait_for_function("() => kioskDisplay.state().blackout === true", timeout=FOLLOW_MS)
    assert projector.locator("#blackout").is_visible()
    mc.wait_for_function("() => kioskMc.state().blackout === true")
    mc.keyboard.press(" ")
    projector.wait_for_function("() => kioskDisplay.state().current_index === 1", timeout=FOLLOW_MS)
    assert projector.evaluate("kioskDisplay.state().blackout") is True
    mc.wait_for_function("() => kioskMc.state().current_index === 1")
    mc.locator("#btn-blackout").click()
    projector.wait_for_function("() => kioskDisplay.state().blackout === false", timeout=FOLLOW_MS)
    assert mc.locator("#mc-programme .mc-item.now .text").inner_text() == "Văn nghệ chào mừng."
    assert "bắt đầu" in mc.locator("#mc-programme .mc-item").nth(0).inner_text()
    screenshot(mc, "display-mc")
    screenshot(projector, "display-projector-item2")


def test_an_mc_error_goes_once_the_next_action_succeeds(open_page, live_server):
    mc = login_mc(open_page(1366, 900), live_server.url)
    toast = mc.locator("#mc-toast")
    # The Wi-Fi drops for one click: the MC is told.
    mc.route("**/api/agenda/next", lambda route: route.abort(), times=1)
    with mc.expect_request("**/api/agenda/next", timeout=10000):
        mc.keyboard.press(" ")
    toast.wait_for(state="visible")
    assert toast.inner_text().startswith("Không gửi được lệnh tới máy chủ")
    # The next click lands: the message is no longer true and goes at once (not seconds later).
    mc.keyboard.press(" ")
    mc.wait_for_function("() => kioskMc.state().current_index === 0")
    # The push may land a moment before the click's own answer, which is what clears the message: allow it
    # that moment, far less than the 6 s after which the message would go by itself.
    toast.wait_for(state="hidden", timeout=2000)


def test_a_held_down_key_advances_one_item(open_page, live_server):
    mc = login_mc(open_page(), live_server.url)
    mc.keyboard.down(" ")
    for _ in range(5):
        mc.keyboard.down(" ")                       # auto-repeat while held
    mc.keyboard.up(" ")
    mc.wait_for_function("() => kioskMc.state().current_index === 0")
    mc.wait_for_timeout(300)
    assert Staff(live_server.url).state()["current_index"] == 0


@pytest.mark.parametrize("size", [(1920, 1080), (1024, 768)])
def test_the_longest_item_fits_the_projector(open_page, live_server, size):
    Staff(live_server.url).act("goto", index=7, expected_index=-1)
    page = open_screen(open_page(*size), live_server.url)
    page.wait_for_function(f"() => document.getElementById('current-content').textContent.startsWith('{ITEM_8}')")
    box = page.evaluate("""() => {
        const el = document.getElementById('current-content');
        const r = el.getBoundingClientRect();
        const stage = document.getElementById('stage').getBoundingClientRect();
        return {scrollHeight: el.scrollHeight, clientHeight: el.clientHeight, scrollWidth: el.scrollWidth,
                clientWidth: el.clientWidth, bottom: r.bottom, stageBottom: stage.bottom,
                fontSize: parseFloat(getComputedStyle(el).fontSize), pageHeight: document.documentElement.scrollHeight};
    }""")
    assert box["scrollHeight"] <= box["clientHeight"], box
    assert box["scrollWidth"] <= box["clientWidth"], box
    assert box["bottom"] <= box["stageBottom"] + 1 and box["pageHeight"] <= size[1], box
    assert box["fontSize"] >= size[1] * 0.03, box       # shrunk to fit, still readable from the back
    assert page.locator("#current-content").inner_text().endswith("sách điện tử ....")
    screenshot(page, f"display-projector-item8-{size[0]}x{size[1]}")


def test_no_blank_frame_when_the_item_changes(open_page, live_server):
    page = open_screen(open_page(1280, 720), live_server.url)
    # Check the stage after every batch of DOM changes (what the next frame would paint).
    page.evaluate("""() => {
        window.blankStages = 0; window.mutations = 0;
        const stage = document.getElementById('stage');
        new MutationObserver(() => {
            window.mutations++;
            const shown = [...stage.children].filter(e => !e.hidden);
            if (shown.length !== 1 || !shown[0].innerText.trim()) window.blankStages++;
        }).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
    }""")
    mc = Staff(live_server.url)
    for index in range(-1, 7):
        mc.act("next", expected_index=index)
        page.wait_for_function(f"() => kioskDisplay.state().current_index === {index + 1}")
    mc.act("goto", index=-1)
    page.wait_for_function("() => !document.getElementById('welcome').hidden")
    assert page.evaluate("window.mutations") > 8
    assert page.evaluate("window.blankStages") == 0


@pytest.mark.parametrize("size", [(1024, 768), (1920, 1080), (1280, 720)])
def test_lobby_highlights_the_current_item_and_shows_every_item_in_full(open_page, live_server, size):
    Staff(live_server.url).act("goto", index=2)
    page = open_screen(open_page(*size), live_server.url, "/display/lobby")
    rows = page.locator("#lobby-list li")
    assert rows.count() == 8
    assert rows.nth(2).get_attribute("class") == "now" and rows.nth(0).get_attribute("class") == "done"
    assert page.evaluate("(() => { const l = document.getElementById('lobby-list');"
                         " return l.scrollHeight <= l.clientHeight; })()")
    # Item 8 (four lines in the plan) is shown whole: no line cut, no ellipsis, nothing below the screen.
    last = rows.nth(7).locator(".c")
    assert last.inner_text().startswith(ITEM_8) and last.inner_text().endswith("sách điện tử ....")
    assert page.evaluate("""(() => {
        const items = [...document.querySelectorAll('#lobby-list li .c')];
        const box = document.getElementById('lobby-list').getBoundingClientRect();
        return items.every(c => c.scrollHeight <= c.clientHeight + 1
                                && getComputedStyle(c).webkitLineClamp === 'none'
                                && c.getBoundingClientRect().bottom <= Math.min(box.bottom, innerHeight) + 1
                                && c.getBoundingClientRect().top >= box.top - 1);
    })()""")
    # Still a size one reads from across a hall.
    assert float(page.evaluate("parseFloat(getComputedStyle(document.getElementById('lobby-list')).fontSize)")) \
        >= size[1] * 0.022
    screenshot(page, f"display-lobby-item3-{size[0]}x{size[1]}")


def test_welcome_screen_greets_arriving_guests_in_turn(open_page, live_server):
    page = open_screen(open_page(1280, 720), live_server.url, "/display/welcome?greet=1")
    assert page.locator("#welcome").is_visible()
    assert "Lễ khai mạc" in page.locator("#welcome-title").inner_text()
    socketio = live_server.app.extensions["kiosk.socketio"]
    for name, seat in (("Nguyễn Văn A", "Khu A, ghế 3"), ("Lường Thị Hạnh", "Khu A, ghế 4")):
        socketio.emit("greet", {"greeting": f"Kính chào đồng chí {name}", "title": "Phó Chủ tịch UBND huyện",
                                "organisation": "Ủy ban nhân dân huyện Bạch Thông", "seat": seat}, namespace="/display")
    page.wait_for_function("() => document.getElementById('greeting-text').textContent.endsWith('Nguyễn Văn A')")
    assert page.locator("#greeting").is_visible() and page.locator("#welcome").is_hidden()
    assert page.locator("#greeting-seat").inner_text() == "Chỗ ngồi: Khu A, ghế 3"
    screenshot(page, "display-welcome-greeting")
    page.wait_for_function("() => document.getElementById('greeting-text').textContent.endsWith('Lường Thị Hạnh')",
                           timeout=5000)
    page.wait_for_function("() => document.getElementById('greeting').hidden", timeout=5000)
    assert page.locator("#welcome").is_visible()
    screenshot(page, "display-welcome")


def test_greetings_are_for_the_welcome_view_only(open_page, live_server):
    page = open_screen(open_page(), live_server.url)
    live_server.app.extensions["kiosk.socketio"].emit("greet", {"greeting": "Kính chào"}, namespace="/display")
    page.wait_for_timeout(300)
    assert page.locator("#greeting").is_hidden() and page.locator("#welcome").is_visible()


def test_the_mc_names_a_screen_and_switches_its_view(open_page, live_server):
    screen = open_screen(open_page(1024, 768), live_server.url, "/display?name=Máy chiếu hội trường")
    screen_id = screen.wait_for_function("() => kioskDisplay.screenId()", timeout=3000).json_value()
    mc = login_mc(open_page(1366, 900), live_server.url)
    row = mc.locator(f"#mc-screens li[data-screen-id='{screen_id}']")
    row.wait_for(timeout=3000)
    assert row.locator("input.screen-name").input_value() == "Máy chiếu hội trường"
    assert "đang kết nối" in row.inner_text()

    row.locator("select.screen-view").select_option("lobby")
    screen.wait_for_function("() => document.body.dataset.view === 'lobby'", timeout=2000)
    assert screen.locator("#lobby-list").is_visible() and screen.locator("#welcome").is_hidden()
    assert screen.url.endswith("/display/lobby?name=M%C3%A1y%20chi%E1%BA%BFu%20h%E1%BB%99i%20tr%C6%B0%E1%BB%9Dng") \
        or screen.url.split("?")[0].endswith("/display/lobby")

    name = mc.locator(f"#mc-screens li[data-screen-id='{screen_id}'] input.screen-name")
    name.fill("Tivi sảnh chính")
    name.press("Enter")
    screen.wait_for_function("() => document.getElementById('screen-name').textContent === 'Tivi sảnh chính'",
                             timeout=2000)
    # The assignment is the server's: a reload of the plain projector URL comes back to the lobby.
    screen.goto(live_server.url + "/display")
    screen.wait_for_function("() => document.body.dataset.view === 'lobby'", timeout=3000)
    mc.wait_for_function(f"() => document.querySelector(\"#mc-screens li[data-screen-id='{screen_id}'] .screen-view\")"
                         ".value === 'lobby'")
    screenshot(mc, "display-mc-screens")


def test_a_screen_marks_a_lost_connection_and_is_right_again_after_a_restart(open_page, data_dir):
    config = app_config(data_dir)
    server = LiveServer(config).start()
    restarted = None
    try:
        page = open_screen(open_page(1280, 720), server.url)
        # Backoff between reconnection attempts stays under 1.5 s, so a screen is back within ~2 s.
        assert page.evaluate("kioskDisplay.socket.io.reconnectionDelayMax()") <= 1500
        Staff(server.url).act("next", expected_index=-1)
        page.wait_for_function("() => kioskDisplay.state().current_index === 0")
        server.stop()
        page.wait_for_selector("#offline-mark", state="visible", timeout=5000)
        # Still showing the last state while offline: no blank screen.
        assert page.locator("#current-content").inner_text() == "Đón tiếp đại biểu."
        screenshot(page, "display-projector-offline")
        restarted = LiveServer(config, port=server.port).start()
        page.wait_for_selector("#offline-mark", state="hidden", timeout=5000)
        Staff(restarted.url).act("next", expected_index=0)
        page.wait_for_function("() => kioskDisplay.state().current_index === 1", timeout=2000)
        assert page.locator("#current-content").inner_text() == "Văn nghệ chào mừng."
    finally:
        (restarted or server).stop()


def test_mc_page_reads_the_roster_and_the_total_and_the_projector_shows_the_slides(open_page, live_server):
    install_fake_parts(live_server.app)
    # The fund from the real desk: three gifts, a full step for the screens (printer.ledger.PUBLISH_EVERY).
    register_state_part(live_server.app, "donations", screen_state)
    cashier = Staff(live_server.url, "cashier")
    for donor, amount, shown in (("Ông Lý Văn Tám", 5_000_000, True), ("Bà Đặng Thị Hoa", 5_000_000, True),
                                 ("Người giấu tên", 2_500_000, False)):
        assert cashier.post("/api/donations", {"donor_name": donor, "amount_vnd": amount,
                                               "show_on_screen": shown}).status_code == 201
    staff = Staff(live_server.url)
    staff.act("goto", index=2)
    projector = open_screen(open_page(1920, 1080), live_server.url)
    mc = login_mc(open_page(1366, 1000), live_server.url)
    script = mc.locator("#mc-script")
    assert script.is_visible()
    rows = mc.locator("#mc-roster li")
    assert rows.count() == 3
    assert rows.nth(0).inner_text().startswith("Đồng chí Hoàng Văn Bình — Phó Bí thư Thường trực Huyện ủy")
    assert "Đến muộn · 08h04" in rows.nth(1).inner_text() and "late" in rows.nth(1).get_attribute("class")
    assert "(đi thay Ông Ma Văn Tiến)" in rows.nth(2).inner_text()
    assert mc.locator("#mc-roster-count").inner_text() == "(3 đại biểu có mặt, 1 đến muộn)"

    mc.get_by_role("button", name="Chiếu danh sách đại biểu").click()
    projector.wait_for_selector("#slide-delegates", state="visible", timeout=2000)
    assert projector.locator("#delegates li").count() == 3
    assert projector.evaluate("(() => { const l = document.getElementById('delegates');"
                              " return l.scrollHeight <= l.clientHeight && l.scrollWidth <= l.clientWidth; })()")
    screenshot(projector, "display-projector-delegates")
    screenshot(mc, "display-mc-delegates")

    staff.act("goto", index=5)
    mc.wait_for_selector("#mc-donations", state="visible")
    assert mc.locator("#mc-donation-total").inner_text() == "12.500.000 đ"
    donors = mc.locator("#mc-donation-donors").inner_text()
    assert "Ông Lý Văn Tám" in donors and "5.000.000" not in donors  # what each gave stays off the screens
    staff.act("slide", on=True)
    projector.wait_for_selector("#slide-donations", state="visible", timeout=2000)
    assert projector.locator("#donation-total").inner_text() == "12.500.000 đ"
    thanks = projector.locator("#donation-thanks").inner_text()
    assert "Ông Lý Văn Tám" in thanks and "5.000.000" not in thanks   # names only on the projector
    screenshot(projector, "display-projector-donations")


def test_mc_page_says_when_a_long_roster_reaches_it_cut(open_page, live_server):
    data = install_fake_parts(live_server.app)
    data["roster_count"] = {"present": 412, "late": 9, "shown": 3}
    Staff(live_server.url).act("goto", index=2)
    mc = login_mc(open_page(1366, 1000), live_server.url)
    mc.wait_for_selector("#mc-script", state="visible")
    assert mc.locator("#mc-roster li").count() == 3
    assert (mc.locator("#mc-roster-count").inner_text()
            == "(412 đại biểu có mặt, 9 đến muộn; hiện 3 vị đầu theo thứ tự nghi thức)")
    screenshot(mc, "display-mc-roster-cut")


def test_without_the_gate_and_the_desk_the_mc_and_the_projector_degrade_gracefully(open_page, live_server):
    remove_parts(live_server.app)
    staff = Staff(live_server.url)
    staff.act("goto", index=2)
    staff.act("slide", on=True)
    projector = open_screen(open_page(1280, 720), live_server.url)
    assert projector.locator("#slide-delegates").is_hidden() and projector.locator("#current").is_visible()
    mc = login_mc(open_page(), live_server.url)
    assert "Chưa có danh sách đại biểu" in mc.locator("#mc-roster-empty").inner_text()
    staff.act("goto", index=5)
    mc.wait_for_selector("#mc-donation-empty", state="visible")
    assert projector.locator("#slide-donations").is_hidden()


def test_the_mc_pages_timers_compute_what_python_computes(open_page, live_server):
    """The MC page recomputes drift and the projected end every second in JS: same model, same numbers."""
    mc = login_mc(open_page(), live_server.url)
    app = live_server.app
    with app.extensions["kiosk.db"].read() as session:
        event = event_queries.current_event(session)
        agenda = event_queries.agenda_items(session, event.id)
    ids = [item.id for item in agenda]
    slots = [timing.Slot(item.planned_start, item.planned_end) for item in agenda]
    base = agenda[0].planned_start
    minute = dt.timedelta(minutes=1)

    def walk(index, started, hold_at=None):
        show = sm.Show()
        for i in range(index + 1):
            show = sm.next_item(show, ids, started - (index - i) * minute)
        return sm.hold(show, hold_at) if hold_at else show

    scenarios = [
        (sm.Show(), base - 10 * minute),                                # before the start, early
        (sm.Show(), base + 20 * minute),                                # before the start, late
        (walk(2, base + 67 * minute), base + 69 * minute),              # chào cờ 7 minutes late
        (walk(3, base + 70 * minute), base + 102 * minute),             # the speech overruns
        (walk(4, base + 92 * minute), base + 93 * minute),              # early
        (walk(2, base + 60 * minute, hold_at=base + 62 * minute), base + 75 * minute),   # held
        (walk(7, base + 161 * minute), base + 200 * minute),            # the open-ended last item
        (walk(2, base - dt.timedelta(days=1) + 65 * minute), base - dt.timedelta(days=1) + 66 * minute),  # rehearsal
    ]
    for show, now in scenarios:
        runs = {item_id: run.started_at for item_id, run in show.runs.items()}
        state = snapshot(event, show, programme.describe(agenda, event.timezone, runs), now)
        py = timing.project(slots, show, now, event.timezone)
        now_ms = int(now.timestamp() * 1000)
        js = mc.evaluate("([s, t]) => { const p = kioskMc.project(s, t);"
                         " return Object.assign(p, {label: kioskMc.driftLabel(p.drift)}); }", [state, now_ms])
        ms = lambda value: None if value is None else round(value.total_seconds() * 1000)  # noqa: E731
        at = lambda value: None if value is None else round(value.timestamp() * 1000)  # noqa: E731
        assert js["drift"] == ms(py.drift), (show.current_index, now)
        assert js["label"] == timing.drift_label(py.drift)
        assert js["projectedEnd"] == at(py.projected_end) and js["plannedEnd"] == at(py.planned_end)
        assert js["expected"] == [at(x) for x in py.expected_starts]
        assert js["elapsed"] == ms(py.elapsed) and js["remaining"] == ms(py.remaining)
        assert js["shift"] == ms(py.shift)


def test_programme_editor_adds_edits_reorders_and_removes(open_page, live_server):
    page = open_page(1280, 900)
    page.goto(live_server.url + "/admin/programme")
    page.get_by_label("Mã PIN").fill(PINS["admin"])
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(live_server.url + "/admin/programme")
    assert page.get_by_role("link", name="Chương trình").get_attribute("aria-current") == "page"
    rows = page.locator("#editor-rows tr")
    assert rows.count() == 8
    warning = page.locator("#editor-warnings .notice")
    assert warning.count() == 1 and "Khoảng trống 08h25–08h35" in warning.inner_text()
    screenshot(page, "display-editor")

    page.get_by_role("button", name="Chấp nhận khoảng trống này").click()
    page.wait_for_selector("#editor-warnings .notice[data-accepted='1']")
    assert "Đã chấp nhận" in warning.inner_text()

    form = page.locator("#add-form")
    form.get_by_label("Bắt đầu").fill("08:35")
    form.get_by_label("Kết thúc").fill("08:30")
    form.get_by_label("Nội dung").fill("Văn nghệ: hát về mái trường")
    form.get_by_role("button", name="Thêm vào chương trình").click()
    page.wait_for_selector("#add-error", state="visible")
    assert page.locator("#add-error").inner_text() == "Giờ kết thúc phải sau giờ bắt đầu."
    form.get_by_label("Bắt đầu").fill("08:25")
    form.get_by_label("Kết thúc").fill("08:35")
    form.get_by_role("button", name="Thêm vào chương trình").click()
    page.wait_for_function("() => document.querySelectorAll('#editor-rows tr').length === 9")
    assert rows.nth(4).locator("textarea").input_value() == "Văn nghệ: hát về mái trường"
    assert page.locator("#editor-warnings .notice").count() == 0          # the gap is filled

    rows.nth(3).get_by_label("Giờ kết thúc mục 4").fill("08:30")
    rows.nth(3).get_by_role("button", name="Lưu").click()
    page.wait_for_selector("#editor-warnings .notice[data-warning='overlap']")
    assert "Mục 4 (đến 08h30) chồng lên mục 5" in page.locator("#editor-warnings").inner_text()
    screenshot(page, "display-editor-overlap")

    page.get_by_role("button", name="Đưa mục 5 lên").click()
    page.wait_for_function("() => document.querySelectorAll('#editor-rows tr')[3]"
                           ".querySelector('textarea').value.startsWith('Văn nghệ: hát')")
    assert page.locator("#editor-warnings .notice[data-warning='order']").count() == 1
    page.get_by_role("button", name="Đưa mục 4 xuống").click()
    page.wait_for_function("() => document.querySelectorAll('#editor-rows tr')[4]"
                           ".querySelector('textarea').value.startsWith('Văn nghệ: hát')")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Xóa mục 5").click()
    page.wait_for_function("() => document.querySelectorAll('#editor-rows tr').length === 8")
    state = Staff(live_server.url).state()
    assert len(state["items"]) == 8 and state["items"][3]["end_label"] == "08h30"
