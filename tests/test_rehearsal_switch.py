"""The admin's rehearsal buttons on a real `kiosk serve` process: into a rehearsal and back, the real event intact."""
from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import click
import pytest

from kiosk import cli, rehearsal
from kiosk.storage import utcnow
from kiosk.simulation.driver import Station, invitation_list

from .conftest import PINS
from .live import KioskProcess, free_port

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parent.parent
GIFT = {"donor_name": "Trần Thị Hoa", "amount_vnd": 200_000, "method": "cash"}
SWITCH_WITHIN = 60.0


def _fingerprint(data_dir: Path) -> dict[str, str]:
    """SHA-256 of the real database and of a WAL that holds anything."""
    files = [data_dir / "kiosk.sqlite3", data_dir / "kiosk.sqlite3-wal"]
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in files if path.is_file() and path.stat().st_size}


def _wait_for(admin: Station, rehearsing: bool) -> str:
    """Poll the admin page until it says the server is (or is no longer) rehearsing; return the page."""
    deadline = time.monotonic() + SWITCH_WITHIN
    while True:
        page = admin.call("GET", "/admin")
        if page.status_code == 200 and ('id="rehearsal-banner"' in page.text) == rehearsing:
            return page.text
        assert time.monotonic() < deadline, f"still {'not ' if rehearsing else ''}rehearsing: {page.status_code}"
        time.sleep(0.3)


def _button(admin: Station, action: str, **form) -> str:
    """Press a rehearsal button as the page does: a form POST with the page's CSRF token; return the flash."""
    page = admin.call("GET", "/admin").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = admin.http.post(f"{admin.base}/admin/rehearsal/{action}", data={"csrf_token": token, **form},
                             headers={"X-CSRFToken": ""}, timeout=10)
    assert answer.status_code == 200, answer.status_code   # the redirect to the admin page was followed
    return answer.text


def _give(cashier: Station) -> str:
    answer = cashier.call("POST", "/api/donations", GIFT)
    assert answer.status_code == 201, answer.text
    return answer.json()["receipt_no"]


def _scan(gate: Station, code: str) -> str:
    return gate.call("POST", "/api/checkin", {"code": code}).json()["result"]


@pytest.fixture
def served(tmp_path):
    """`kiosk serve` on a fresh data folder, receipts to the preview folder, with the tests' PINs."""
    env = {"KIOSK_DATA_DIR": str(tmp_path / "data"), "KIOSK_BACKUP_MINUTES": "0"}
    env.update({f"KIOSK_PIN_{role.upper()}": pin for role, pin in PINS.items()})
    server = KioskProcess(env, tmp_path / "serve.log").start()
    yield server
    server.stop()


@pytest.mark.sqlite_only
def test_the_admin_button_rehearses_on_a_copy_and_ending_serves_the_real_event_unchanged(served):
    data_dir = Path(served.env["KIOSK_DATA_DIR"])
    stop = threading.Event()
    admin = Station(served.url, "admin", PINS["admin"], stop)
    gate = Station(served.url, "gate", PINS["gate"], stop)
    cashier = Station(served.url, "cashier", PINS["cashier"], stop)
    first, second = (person.code for person in invitation_list(admin)[:2])
    assert _scan(gate, first) == "ok"
    real_receipt = _give(cashier)

    flashed = _button(admin, "start", start="14:00")
    assert "Đang chuyển sang tổng duyệt" in flashed
    page = _wait_for(admin, rehearsing=True)
    assert "bắt đầu lúc 14h00" in page and 'id="rehearsal-end"' in page
    # The same child process, never restarted from outside: it stopped serving and re-executed itself.
    assert served.starts == 1 and served.process.poll() is None
    before = _fingerprint(data_dir)
    # The session survives the switch, but a token from a page of the real event is refused by the rehearsal:
    # a form left open there cannot write into the copy (nor, afterwards, a rehearsal page into the real one).
    stale = gate.http.post(served.url + "/api/checkin", json={"code": second}, timeout=10)
    assert stale.status_code == 400 and stale.json()["error"] == "csrf"
    # The rehearsal: every invitation is valid again, receipts have their own numbers.
    assert _scan(gate, first) == "ok" and _scan(gate, second) == "ok"
    assert _give(cashier) == "TD-0001"
    assert gate.call("GET", "/api/stats").json()["present"] == 2
    assert _fingerprint(data_dir) == before

    assert "Đang kết thúc tổng duyệt" in _button(admin, "end")
    page = _wait_for(admin, rehearsing=False)
    assert served.starts == 1 and served.process.poll() is None
    assert not (data_dir / "rehearsal").exists()
    # The real event as it was: one arrival, the first card already used, the second still unused.
    assert gate.call("GET", "/api/stats").json()["present"] == 1
    assert _scan(gate, first) == "already_checked_in"
    prefix, number = real_receipt.rsplit("-", 1)
    assert _give(cashier) == f"{prefix}-{int(number) + 1:04d}"
    # The rehearsal's report waits in the real exports folder, for the admin only.
    name = re.search(r"bao-cao-tong-duyet-\d{8}-\d{6}\.xlsx", page).group(0)
    assert (data_dir / "exports" / name).is_file()
    download = admin.call("GET", f"/admin/rehearsal/reports/{name}")
    assert download.status_code == 200 and download.content[:2] == b"PK"
    assert gate.call("GET", f"/admin/rehearsal/reports/{name}").status_code == 403
    assert admin.call("GET", "/admin/rehearsal/reports/bao-cao-tong-duyet-20000101-000000.xlsx").status_code == 404
    assert admin.call("GET", "/admin/rehearsal/reports/kiosk.sqlite3").status_code == 404
    log = Path(served.log_path).read_text(encoding="utf-8")
    stopped, rehearsing, ended = (log.index(text) for text in ("Đã dừng máy chủ", "TỔNG DUYỆT trên bản sao",
                                                              "Đã kết thúc tổng duyệt"))
    assert stopped < rehearsing < ended and log.count("Đã dừng máy chủ") == 2, log[-3000:]


@pytest.mark.sqlite_only
def test_only_the_admin_with_the_page_token_can_start_a_rehearsal(served):
    stop = threading.Event()
    gate = Station(served.url, "gate", PINS["gate"], stop)
    assert gate.http.post(served.url + "/admin/rehearsal/start", data={"csrf_token": gate.http.headers["X-CSRFToken"]},
                          headers={"X-CSRFToken": ""}, timeout=10, allow_redirects=False).status_code == 403
    admin = Station(served.url, "admin", PINS["admin"], stop)
    forged = admin.http.post(served.url + "/admin/rehearsal/start", data={"start": "14:00"},
                             headers={"X-CSRFToken": ""}, timeout=10, allow_redirects=False)
    assert forged.status_code == 400 and "Phiên không hợp lệ" in forged.text
    assert "không đọc được" in _button(admin, "start", start="sáng mai")
    assert not Path(served.env["KIOSK_DATA_DIR"], "rehearsal").exists()
    assert 'id="rehearsal-banner"' not in admin.call("GET", "/admin").text


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.sqlite_only
def test_a_copy_left_by_a_power_cut_is_removed_and_a_live_rehearsal_is_never_served_beside(tmp_path):
    data_dir = tmp_path / "data"
    env = {**os.environ, "KIOSK_DATA_DIR": str(data_dir)}
    subprocess.run([sys.executable, "-m", "kiosk", "init"], cwd=ROOT, env=env, check=True, capture_output=True)
    url = f"sqlite:///{data_dir / 'kiosk.sqlite3'}"

    rehearsal.claim(rehearsal.prepare(data_dir, url, utcnow()), _dead_pid())
    cli._clear_stale_rehearsal({"KIOSK_DATA_DIR": str(data_dir)})
    assert not (data_dir / "rehearsal").exists()
    assert len(rehearsal.reports(data_dir)) == 1

    # After a power cut the old number may now be any other program's: that is no rehearsal.
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        rehearsal.claim(rehearsal.prepare(data_dir, url, utcnow()), stranger.pid)
        cli._clear_stale_rehearsal({"KIOSK_DATA_DIR": str(data_dir)})
        assert not (data_dir / "rehearsal").exists()
    finally:
        stranger.kill()
        stranger.wait()

    # A live kiosk process (this stand-in says so in its command line, as `python -m kiosk rehearse` does).
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "kiosk", "rehearse"])
    try:
        rehearsal.claim(rehearsal.prepare(data_dir, url, utcnow()), live.pid)
        with pytest.raises(click.ClickException, match=f"Đang tổng duyệt \\(tiến trình {live.pid}\\)"):
            cli._clear_stale_rehearsal({"KIOSK_DATA_DIR": str(data_dir)})
        refused = subprocess.run([sys.executable, "-m", "kiosk", "serve", "--port", "1"], cwd=ROOT, env=env,
                                 capture_output=True, text=True, timeout=60)
        assert refused.returncode == 1 and "Kết thúc tổng duyệt trước" in refused.stderr
        assert (data_dir / "rehearsal" / "kiosk.sqlite3").is_file()
    finally:
        live.kill()
        live.wait()


@pytest.mark.sqlite_only
def test_rehearse_simulate_plays_a_morning_and_prints_its_table(tmp_path):
    data_dir = tmp_path / "data"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")},
           "KIOSK_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "kiosk", "init"], cwd=ROOT, env=env, check=True, capture_output=True)
    log_path = tmp_path / "rehearse.log"
    with open(log_path, "w", encoding="utf-8") as log:
        server = subprocess.Popen([sys.executable, "-m", "kiosk", "rehearse", "--host", "127.0.0.1",
                                   "--port", str(free_port()), "--simulate", "--speed", "600", "--invitees", "50",
                                   "--gates", "2", "--screens", "3"], cwd=ROOT, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 150
        while "Nhấn Ctrl+C để kết thúc tổng duyệt" not in log_path.read_text(encoding="utf-8"):
            assert server.poll() is None and time.monotonic() < deadline, log_path.read_text(encoding="utf-8")[-3000:]
            time.sleep(0.5)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    output = log_path.read_text(encoding="utf-8")
    assert "Bắt đầu buổi sáng mô phỏng: tốc độ 600×, 2 cổng, 3 màn hình." in output, output[-3000:]
    # The copy's new PINs are printed with the addresses, for a person to log in beside the simulation.
    pins = re.search(r"Mã PIN các trạm:\n((?:  .*\n){4})", output).group(1)
    assert len(re.findall(r"\b\d{4,}\b", click.unstyle(pins))) == 4, pins
    assert "Biên nhận đã in" in output and "KHÔNG KHỚP" not in output, output[-3000:]
    assert "Đã kết thúc tổng duyệt" in output and not (data_dir / "rehearsal").exists()


@pytest.mark.browser
@pytest.mark.sqlite_only
def test_open_stations_and_screens_reload_themselves_into_the_rehearsal_and_back(served, browser):
    from .conftest import browser_login, screenshot

    gate_page = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 800}).new_page()
    projector = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 720}).new_page()
    try:
        browser_login(gate_page, served, "gate", "/gate")
        gate_page.wait_for_selector("#scan-input", timeout=15_000)
        projector.goto(served.url + "/display")
        projector.wait_for_selector("body", timeout=15_000)
        assert gate_page.locator("#rehearsal-banner").count() == 0
        assert projector.locator("#rehearsal-mark").count() == 0

        # The organiser presses the button in a browser: a page waits for the rehearsal, then opens its admin page.
        organiser = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 800}).new_page()
        organiser.on("dialog", lambda dialog: dialog.accept())
        browser_login(organiser, served, "admin", "/admin")
        organiser.fill("#rehearsal input[name=start]", "14:00")
        organiser.click("#rehearsal-start")
        organiser.wait_for_selector("#switching", timeout=15_000)
        screenshot(organiser, "dang-chuyen-sang-tong-duyet")
        organiser.wait_for_selector("#rehearsal-banner", timeout=SWITCH_WITHIN * 1000)
        assert organiser.url.endswith("/admin#rehearsal") and organiser.locator("#rehearsal-end").is_visible()
        organiser.context.close()
        # Nobody touches the open pages: each reloads when its socket reconnects to the rehearsal.
        gate_page.wait_for_selector("#rehearsal-banner", timeout=SWITCH_WITHIN * 1000)
        projector.wait_for_selector("#rehearsal-mark", timeout=SWITCH_WITHIN * 1000)
        assert gate_page.url.endswith("/gate")      # still logged in: the copy carries the sessions' keys
        assert "TỔNG DUYỆT" in gate_page.locator("#rehearsal-banner").inner_text()
        projector.wait_for_timeout(1500)
        screenshot(gate_page, "cong-don-tiep-tong-duyet")
        screenshot(projector, "may-chieu-tong-duyet")

        _button(Station(served.url, "admin", PINS["admin"], threading.Event()), "end")
        gate_page.wait_for_selector("#rehearsal-banner", state="detached", timeout=SWITCH_WITHIN * 1000)
        projector.wait_for_selector("#rehearsal-mark", state="detached", timeout=SWITCH_WITHIN * 1000)
        assert gate_page.url.endswith("/gate")
    finally:
        gate_page.context.close()
        projector.context.close()


class _Server:
    """Stands in for the HTTP server `serve` runs: records that the button asked it to stop."""

    def __init__(self):
        self.stopped = threading.Event()

    def shutdown(self) -> None:
        self.stopped.set()


@pytest.mark.sqlite_only
def test_a_second_press_while_switching_changes_nothing_and_without_the_cli_the_page_says_what_to_run(app,
                                                                                                      data_dir):
    from .conftest import login

    admin = app.test_client()
    login(admin, "admin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', admin.get("/admin").get_data(as_text=True)).group(1)
    answer = admin.post("/admin/rehearsal/start", data={"csrf_token": token}, follow_redirects=True)
    assert "./run.sh rehearse" in answer.get_data(as_text=True)
    assert not (data_dir / "rehearsal").exists()

    server, following = _Server(), []
    app.extensions["kiosk.restart"] = cli._restarter(server, following)
    admin.post("/admin/rehearsal/start", data={"csrf_token": token, "start": "14:00"})
    made = (data_dir / "rehearsal" / "kiosk.sqlite3").stat().st_mtime_ns
    again = admin.post("/admin/rehearsal/start", data={"csrf_token": token, "start": "09:00"}, follow_redirects=True)
    assert "đang khởi động lại" in again.get_data(as_text=True) and 'id="switching"' in again.get_data(as_text=True)
    assert (data_dir / "rehearsal" / "kiosk.sqlite3").stat().st_mtime_ns == made
    assert "T14:00" in rehearsal.info(data_dir / "rehearsal")["programme_start"]
    # The start time goes along, should `rehearse` have to make the copy again.
    assert following == [["rehearse", "--prepared", "--start", "14:00"]]
    assert server.stopped.wait(5)
