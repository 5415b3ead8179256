"""Real Chromium at a gate whose Wi-Fi drops: verdicts from the device's own copy, the queue synced at the
time of each scan, a conflict between two offline gates shown everywhere, and the page reloaded offline."""
from __future__ import annotations

import pytest

from checkin import codes
from checkin import invitations as invitation_use_cases

from .conftest import PINS, app_config, browser_login, screenshot
from .display_helpers import wait_until
from .gate_helpers import first_non_vip, invitations
from .live import HttpsServer, LiveServer

pytestmark = pytest.mark.browser


def _gate(browser, server, name="Cổng chính", **context_args):
    context = browser.new_context(locale="vi-VN", viewport={"width": 900, "height": 1000}, **context_args)
    page = context.new_page()
    browser_login(page, server, "gate", "/gate")
    page.wait_for_selector(".link-dot.on")
    page.fill("#gate-name", name)
    page.dispatch_event("#gate-name", "change")
    # The copy is in IndexedDB once the page says how many invitations it holds.
    page.wait_for_function("() => Number(document.getElementById('copy-state').dataset.people) > 0")
    page.focus("#scan-input")
    return context, page


def _forget_verdict(page):
    """Blank the shown verdict's mark, so the next wait sees the next verdict, never the one before."""
    page.evaluate("document.getElementById('result').dataset.result = ''")


def _scan(page, code: str):
    _forget_verdict(page)
    page.fill("#scan-input", code)
    page.press("#scan-input", "Enter")


def _verdict(page, result: str):
    try:
        page.wait_for_selector(f"#result[data-result='{result}'][data-offline='1']", timeout=5000)
    except Exception:
        raise AssertionError(page.evaluate("document.getElementById('result').dataset.result + ' ' + "
                                           "document.getElementById('result').innerText"))
    return page.inner_text("#result")


def _go_offline(context, page):
    context.set_offline(True)
    page.wait_for_selector(".link-dot.off")
    page.wait_for_selector("#offline-banner:not([hidden])")


def _vip(app):
    with app.extensions["kiosk.db"].read() as session:
        from kiosk.storage import invitees
        for person, code in invitees.list_invitees(session, 1):
            if person.group.is_vip:
                return person.id, code, person.full_name
    raise AssertionError("no VIP")


def test_every_offline_verdict_from_the_local_copy(browser, live_server):
    app = live_server.app
    context, page = _gate(browser, live_server)
    try:
        regular_id, regular, _ = first_non_vip(app)
        _vip_id, vip_code, _ = _vip(app)
        already = [c for i, c, _ in invitations(app) if c not in (regular, vip_code)][0]
        revoked_id, revoked = [(i, c) for i, c, _ in invitations(app) if c not in (regular, vip_code, already)][0]
        # While online: one guest comes in, one card is reissued; the copy follows both.
        _scan(page, already)
        page.wait_for_selector("#result[data-result='ok']:not([data-offline='1'])")
        invitation_use_cases.reissue(app.extensions["kiosk.db"], revoked_id, "Thư mời bị mất", "admin")
        from checkin import gate_copy, gate_events   # a change made outside a request is pushed too
        gate_events.schedule_copy_push(app)
        page.wait_for_function(f"() => kioskGate.copyVersion() === {gate_copy.current_version(app.extensions['kiosk.db'])}")

        _go_offline(context, page)
        _scan(page, regular)
        assert "NGOẠI TUYẾN" in _verdict(page, "ok")
        assert page.text_content("#result-kind") == "Mời vào"
        assert page.locator("#result").get_attribute("class") == "result ok offline"
        screenshot(page, "gate-offline-ok")
        _scan(page, vip_code)
        _verdict(page, "ok")
        assert page.locator("#result").get_attribute("class") == "result vip offline"
        assert "Đại biểu: hãy đón" in page.inner_text("#result-message")
        screenshot(page, "gate-offline-vip")
        _scan(page, already)
        _verdict(page, "already_checked_in")
        assert "đã vào lúc" in page.inner_text("#result-message") and "Cổng chính" in page.inner_text("#result-message")
        _scan(page, revoked)
        _verdict(page, "revoked")
        assert "Thư mời bị mất" in page.inner_text("#result-message")
        stranger = codes.new_code()
        _scan(page, stranger)
        _verdict(page, "not_here")
        assert page.inner_text("#result-name") == "Không có trong danh sách trên máy này"
        assert "danh sách giấy" in page.inner_text("#result-message")
        screenshot(page, "gate-offline-not-here")
        _scan(page, "TM" + "B" * 16)
        _verdict(page, "invalid")
        # The same card again on this device: it knows it let them in.
        _scan(page, "  " + regular.lower() + " ")
        _verdict(page, "already_checked_in")
        assert page.evaluate("kioskGate.queueLength()") == 7

        context.set_offline(False)
        page.wait_for_function("() => kioskGate.queueLength() === 0", timeout=20000)
        stats = page.evaluate("fetch('/api/stats').then(r => r.json())")
        assert stats["invited_present"] == 3           # already (online), regular and the VIP (offline)
        with app.extensions["kiosk.db"].read() as session:
            from kiosk.storage.schema import Invitee, ScanLog
            person = session.get(Invitee, regular_id)
            assert person.checked_in_source == "offline" and person.checked_in_gate == "Cổng chính"
            offline_rows = session.query(ScanLog).filter(ScanLog.source == "offline").count()
            assert offline_rows == 7
    finally:
        context.close()


def test_two_offline_gates_admitting_one_person_end_with_one_admission_and_a_conflict_everywhere(browser, live_server):
    app = live_server.app
    _id, code, _name = first_non_vip(app)
    context_a, gate_a = _gate(browser, live_server, "Cổng chính")
    context_b, gate_b = _gate(browser, live_server, "Cổng phụ")
    dash_context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 1400})
    dashboard = dash_context.new_page()
    try:
        browser_login(dashboard, live_server, "admin", "/admin")
        wait_until(lambda: dashboard.locator("#d-gate-devices li").count() == 2)
        _go_offline(context_a, gate_a)
        _go_offline(context_b, gate_b)
        _scan(gate_a, code)
        _verdict(gate_a, "ok")
        _scan(gate_b, code)
        _verdict(gate_b, "ok")
        # The dashboard sees both gates go offline, each with its waiting scan once they are back.
        dashboard.wait_for_selector("#d-gate-devices li.offline", timeout=30000)
        context_b.set_offline(False)
        gate_b.wait_for_function("() => kioskGate.queueLength() === 0", timeout=20000)
        context_a.set_offline(False)
        gate_a.wait_for_function("() => kioskGate.queueLength() === 0", timeout=20000)
        for page in (gate_a, gate_b):
            page.wait_for_selector("#conflicts:not([hidden])")
            assert page.locator("#conflict-list li").count() == 1
            assert "hai lần" in page.inner_text("#conflict-list")
        dashboard.wait_for_selector("#d-conflicts li")
        text = dashboard.inner_text("#d-conflicts")
        assert "Cổng chính" in text and "Cổng phụ" in text and "hai lần" in text
        stats = gate_a.evaluate("fetch('/api/stats').then(r => r.json())")
        assert stats["present"] == 1 and stats["invited_present"] == 1
        screenshot(gate_b, "gate-offline-conflict")
        screenshot(dashboard, "dashboard-gates-conflict")
    finally:
        for context in (context_a, context_b, dash_context):
            context.close()


def _spki_hash(cert_file) -> str:
    """What Chromium's --ignore-certificate-errors-spki-list takes: base64 SHA-256 of the public key."""
    import base64
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def test_a_gate_reloaded_offline_over_https_still_scans(browser, tmp_path):
    """Service workers need a secure context and a certificate the browser trusts: this Chromium trusts the
    kiosk's own certificate (by its key), as a phone does once /setup installed the kiosk's CA."""
    import shutil
    served = HttpsServer(app_config(tmp_path / "data"))
    trusting = None
    try:
        _id, code, _ = first_non_vip(served.app)
        cert = served.cert
        trusting = browser.browser_type.launch(
            executable_path=shutil.which("chromium") or shutil.which("chromium-browser"), headless=True,
            args=["--no-sandbox", "--disable-gpu", f"--ignore-certificate-errors-spki-list={_spki_hash(cert)}"])
        context = trusting.new_context(locale="vi-VN")
        page = context.new_page()
        page.goto(served.url + "/login?role=gate&next=/gate")
        page.get_by_label("Mã PIN").fill(PINS["gate"])
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_selector(".link-dot.on")
        page.wait_for_function("() => Number(document.getElementById('copy-state').dataset.people) > 0")
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        assert page.locator("#reload-note").is_hidden()
        context.set_offline(True)
        page.reload()
        page.wait_for_selector("#scan-input")
        page.wait_for_function("() => Number(document.getElementById('copy-state').dataset.people) > 0")
        _scan(page, code)
        _verdict(page, "ok")
        assert page.evaluate("kioskGate.queueLength()") == 1
        screenshot(page, "gate-offline-reloaded-https")
    finally:
        if trusting is not None:
            trusting.close()
        served.stop()


def test_over_plain_http_the_page_says_offline_reload_needs_https(page, live_server):
    # 127.0.0.1 counts as secure for Chromium, so the note is checked on the LAN address's behaviour:
    page.add_init_script("Object.defineProperty(window, 'isSecureContext', { get: () => false });")
    browser_login(page, live_server, "gate", "/gate")
    page.wait_for_selector("#reload-note:not([hidden])")
    assert "KIOSK_TLS=1" in page.inner_text("#reload-note")


def test_logging_out_of_a_gate_leaves_no_names_on_the_phone(page, live_server):
    browser_login(page, live_server, "gate", "/gate")
    page.wait_for_function("() => Number(document.getElementById('copy-state').dataset.people) > 0")
    assert "kiosk-gate" in page.evaluate("indexedDB.databases().then(list => list.map(d => d.name))")
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(live_server.url + "/")
    wait_until(lambda: "kiosk-gate" not in page.evaluate("indexedDB.databases().then(list => list.map(d => d.name))"))


def test_offline_the_gate_still_finds_people_by_name_and_registers_walk_ins(browser, live_server):
    app = live_server.app
    invitee_id, _code, name = first_non_vip(app)
    context, page = _gate(browser, live_server, "Cổng phụ")
    try:
        _go_offline(context, page)
        office = name.replace("Đại diện ", "")
        page.fill("#scan-input", "kho bac nha nuoc")                    # no accents, as staff type
        page.press("#scan-input", "Enter")
        page.wait_for_selector("#search-results[data-offline='1'] #search-list li")
        assert "ngoại tuyến" in page.inner_text("#search-title")
        assert office in page.inner_text("#search-list")
        page.locator("#search-list li").first.get_by_role("button", name="Cho vào").click()
        _verdict(page, "ok")
        page.get_by_role("button", name="+ Khách vãng lai").click()
        page.get_by_label("Họ và tên *").fill("Lương Thị Hoa")
        page.get_by_text("Các nhà hảo tâm trong và ngoài huyện").click()
        _forget_verdict(page)
        page.keyboard.press("Enter")
        _verdict(page, "ok")
        assert page.inner_text("#result-name") == "Lương Thị Hoa"
        screenshot(page, "gate-offline-walk-in")
        assert page.evaluate("kioskGate.queueLength()") == 2
        context.set_offline(False)
        page.wait_for_function("() => kioskGate.queueLength() === 0", timeout=20000)
        stats = page.evaluate("fetch('/api/stats').then(r => r.json())")
        assert stats["invited_present"] == 1 and stats["walk_ins"] == 1
        with app.extensions["kiosk.db"].read() as session:
            from kiosk.storage.schema import Invitee
            assert session.get(Invitee, invitee_id).checked_in_source == "offline"
            walk_in = session.query(Invitee).filter(Invitee.full_name == "Lương Thị Hoa").one()
            assert walk_in.checked_in_source == "offline" and walk_in.checked_in_gate == "Cổng phụ"
    finally:
        context.close()


def test_an_invitation_added_while_the_gate_is_open_reaches_its_copy_and_scans_offline(browser, live_server):
    from kiosk.storage import invitees

    from checkin import gate_events
    app, db = live_server.app, live_server.app.extensions["kiosk.db"]
    context, page = _gate(browser, live_server)
    try:
        before = int(page.get_attribute("#copy-state", "data-people"))
        fields = invitation_use_cases.person_from_form(db, {"full_name": "Nông Thị Hạnh", "honorific": "Bà",
                                                            "title": "Hiệu trưởng", "organisation": "Trường Mầm non Phủ Thông",
                                                            "group": "khach-moi"})
        new_id = invitation_use_cases.add_person(db, fields, "admin")
        gate_events.schedule_copy_push(app)
        page.wait_for_function(f"() => Number(document.getElementById('copy-state').dataset.people) === {before + 1}")
        with db.read() as session:
            code = invitees.active_code(session, new_id)
        _go_offline(context, page)
        _scan(page, code)
        _verdict(page, "ok")
        assert page.inner_text("#result-name") == "Bà Nông Thị Hạnh"
    finally:
        context.close()


def test_an_offline_entry_the_server_refuses_stays_listed_on_the_gate(browser, live_server):
    context, page = _gate(browser, live_server)
    try:
        _go_offline(context, page)
        page.get_by_role("button", name="+ Khách vãng lai").click()
        page.get_by_label("Họ và tên *").fill("Hà Văn Tú")
        page.get_by_label("Điện thoại").fill("12345")                    # the server will not take it
        page.keyboard.press("Enter")
        _verdict(page, "ok")
        context.set_offline(False)
        page.wait_for_function("() => kioskGate.queueLength() === 0", timeout=20000)
        page.wait_for_selector("#refused:not([hidden])")
        assert "Hà Văn Tú" in page.inner_text("#refused-list")
        page.reload()                                                     # kept on the device
        page.wait_for_selector("#refused:not([hidden])")
        assert "Hà Văn Tú" in page.inner_text("#refused-list")
        screenshot(page, "gate-offline-refused")
        page.get_by_role("button", name="Đã xử lý xong, xoá danh sách này").click()
        page.wait_for_selector("#refused", state="hidden")
    finally:
        context.close()
