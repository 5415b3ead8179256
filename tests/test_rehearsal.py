"""The dress rehearsal: a copy moved to today, its own receipt numbers and identity, the real database untouched."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from kiosk import create_app, rehearsal
from kiosk.storage import events as event_queries
from kiosk.storage import gate_copy as copy_queries
from kiosk.storage import utcnow

from .conftest import PINS, app_config, login
from .gate_helpers import invitations
from .live import free_port

ROOT = Path(__file__).resolve().parent.parent
GIFT = {"donor_name": "Nguyễn Văn Bình", "amount_vnd": 500_000, "method": "cash"}


def _fingerprint(data_dir: Path) -> dict[str, str]:
    """SHA-256 of the real database and of its WAL when it holds anything: the bytes a rehearsal must never
    change (an empty WAL and the -shm index appear whenever any reader opens the file)."""
    files = [data_dir / "kiosk.sqlite3", data_dir / "kiosk.sqlite3-wal"]
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in files if path.is_file() and path.stat().st_size}


def _real_morning(data_dir: Path) -> tuple[dict, str]:
    """A real database with one admission and one gift; return the fingerprint after it closed, and a code."""
    app = create_app(app_config(data_dir))
    try:
        rows = invitations(app)
        gate = app.test_client()
        login(gate, "gate")
        assert gate.post("/api/checkin", json={"code": rows[0][1]}).get_json()["result"] == "ok"
        cashier = app.test_client()
        login(cashier, "cashier")
        _give(app, cashier)
    finally:
        app.extensions["kiosk.db"].dispose()
    return _fingerprint(data_dir), rows[1][1]


def _give(app, cashier) -> dict:
    """Record a gift and wait for its receipt to print (the print worker writes the job's end)."""
    answer = cashier.post("/api/donations", json=GIFT)
    assert answer.status_code == 201, answer.get_json()
    app.extensions["printer.queue"].wait(answer.get_json()["print"]["job_id"], 30)
    return answer.get_json()


@pytest.mark.sqlite_only
def test_a_rehearsal_copy_starts_a_clean_morning_today_and_never_writes_the_real_database(data_dir):
    before, code = _real_morning(data_dir)
    now = utcnow()
    copy_dir = rehearsal.prepare(data_dir, f"sqlite:///{data_dir / 'kiosk.sqlite3'}", now, "14:00")
    assert copy_dir == data_dir / "rehearsal" and rehearsal.info(copy_dir)["programme_start"].endswith("+07:00")
    assert rehearsal.info(data_dir) is None

    app = create_app(app_config(copy_dir, KIOSK_DATA_DIR=str(copy_dir)))
    try:
        db = app.extensions["kiosk.db"]
        with db.read() as session:
            event = event_queries.current_event(session)
            first = min(item.planned_start for item in event.agenda)
            assert copy_queries.instance(session) != ""
        local = first.astimezone(ZoneInfo(event.timezone))
        assert (local.date(), local.hour, local.minute) == (now.astimezone(ZoneInfo(event.timezone)).date(), 14, 0)
        stats = app.test_client()
        login(stats, "gate")
        assert stats.get("/api/stats").get_json()["present"] == 0
        # The invitation admitted at the real gate is valid again in the rehearsal, and so is every other.
        assert stats.post("/api/checkin", json={"code": code}).get_json()["result"] == "ok"
        cashier = app.test_client()
        login(cashier, "cashier")
        assert _give(app, cashier)["receipt_no"] == "TD-0001"
    finally:
        app.extensions["kiosk.db"].dispose()
    assert _fingerprint(data_dir) == before

    real = create_app(app_config(data_dir))
    try:
        with real.extensions["kiosk.db"].read() as session:
            assert copy_queries.instance(session) != _instance(copy_dir)
        gate = real.test_client()
        login(gate, "gate")
        assert gate.get("/api/stats").get_json()["present"] == 1
        cashier = real.test_client()
        login(cashier, "cashier")
        assert not _give(real, cashier)["receipt_no"].startswith("TD-")
    finally:
        real.extensions["kiosk.db"].dispose()


def _instance(copy_dir: Path) -> str:
    app = create_app(app_config(copy_dir, KIOSK_DATA_DIR=str(copy_dir)))
    try:
        with app.extensions["kiosk.db"].read() as session:
            return copy_queries.instance(session)
    finally:
        app.extensions["kiosk.db"].dispose()


def test_the_default_start_is_five_minutes_from_now_and_a_bad_time_is_refused_in_vietnamese():
    now = dt.datetime(2026, 12, 1, 7, 12, 40, tzinfo=dt.timezone.utc)
    start = rehearsal.default_start(now, "Asia/Ho_Chi_Minh")
    assert (start.hour, start.minute, start.second) == (14, 17, 0)
    assert rehearsal.parse_start("8h05", now, "Asia/Ho_Chi_Minh").strftime("%H:%M") == "08:05"
    with pytest.raises(rehearsal.RehearsalError, match="không đọc được"):
        rehearsal.parse_start("sáng mai", now, "Asia/Ho_Chi_Minh")
    with pytest.raises(rehearsal.RehearsalError, match="PostgreSQL"):
        rehearsal.prepare("/tmp/nowhere", "postgresql+psycopg://kiosk@localhost/kiosk", now)


@pytest.mark.sqlite_only
def test_run_sh_rehearse_serves_the_copy_and_ctrl_c_keeps_its_report_and_removes_it(data_dir):
    before, code = _real_morning(data_dir)
    port = free_port()
    env = {**os.environ, "KIOSK_DATA_DIR": str(data_dir), "KIOSK_BACKUP_MINUTES": "0",
           **{f"KIOSK_PIN_{role.upper()}": pin for role, pin in PINS.items()}}
    server = subprocess.Popen([sys.executable, "-m", "kiosk", "rehearse", "--host", "127.0.0.1",
                               "--port", str(port), "--start", "14:00"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, server.stdout.read()
            time.sleep(0.2)
        gate = requests.Session()
        token = gate.post(f"{base}/api/login", json={"role": "gate", "pin": PINS["gate"]}).json()["csrf_token"]
        scan = gate.post(f"{base}/api/checkin", json={"code": code}, headers={"X-CSRFToken": token}).json()
        assert scan["result"] == "ok"
        assert (data_dir / "rehearsal" / "kiosk.sqlite3").is_file()
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=60)
    assert "TỔNG DUYỆT" in output and "Đã kết thúc tổng duyệt" in output, output
    assert not (data_dir / "rehearsal").exists()
    reports = list((data_dir / "exports").glob("bao-cao-tong-duyet-*.xlsx"))
    assert len(reports) == 1 and reports[0].read_bytes()[:2] == b"PK"
    assert _fingerprint(data_dir) == before

    real = create_app(app_config(data_dir))
    try:
        gate = real.test_client()
        login(gate, "gate")
        # The rehearsal's admission never reached the real event: the card is still unused here.
        assert gate.get("/api/stats").get_json()["present"] == 1
        assert gate.post("/api/checkin", json={"code": code}).get_json()["result"] == "ok"
    finally:
        real.extensions["kiosk.db"].dispose()


# --- Everything that leaves the laptop says it is a rehearsal ----------------------------------------------

PUBLIC = "http://192.168.1.10:5000"
STATION_PAGES = {"admin": ["/admin", "/admin/invitees", "/admin/report"], "gate": ["/gate", "/gate/arrivals"],
                 "mc": ["/mc"], "cashier": ["/donations"]}
BANNER = 'id="rehearsal-banner"'


@pytest.fixture
def both(data_dir):
    """(real app, rehearsal app) on the same data folder, each printing to its own fake printer."""
    from .printer_fakes import FakePrinter

    _real_morning(data_dir)
    copy_dir = rehearsal.prepare(data_dir, f"sqlite:///{data_dir / 'kiosk.sqlite3'}", utcnow(), "14:00")
    with FakePrinter() as real_printer, FakePrinter() as practice_printer:
        real = create_app(app_config(data_dir, KIOSK_PRINTER=real_printer.url(), KIOSK_PUBLIC_URL=PUBLIC))
        practice = create_app(app_config(copy_dir, KIOSK_DATA_DIR=str(copy_dir), KIOSK_PRINTER=practice_printer.url(),
                                         KIOSK_PUBLIC_URL=PUBLIC))
        real.printer, practice.printer = real_printer, practice_printer
        try:
            yield real, practice
        finally:
            real.extensions["kiosk.db"].dispose()
            practice.extensions["kiosk.db"].dispose()


def _printed_receipt(app) -> tuple[dict, "Image.Image"]:
    """Record a gift in `app`; return it and the image its fake printer received, decoded from ESC/POS."""
    from .printer_fakes import raster_image

    cashier = app.test_client()
    login(cashier, "cashier")
    gift = _give(app, cashier)
    connection = next(c for c in reversed(app.printer.connections) if c.rasters())
    return gift, raster_image(connection.rasters()).convert("L")


def _black_rows(image, top: int, bottom: int) -> list[int]:
    """Rows between `top` and `bottom` that are black across nearly the whole paper width (a band)."""
    return [y for y in range(top, bottom) if image.crop((0, y, image.width, y + 1)).tobytes().count(0) > 0.97 * image.width]


@pytest.mark.sqlite_only
def test_a_rehearsal_receipt_has_its_own_numbers_and_a_band_top_and_bottom_and_a_real_one_none(both):
    import zxingcpp

    real, practice = both
    gift, image = _printed_receipt(practice)
    assert gift["receipt_no"] == "TD-0001"
    top, bottom = _black_rows(image, 0, image.height // 8), _black_rows(image, image.height * 7 // 8, image.height)
    assert len(top) > 20 and len(bottom) > 20
    # The same words in both bands (white letters inside the black), so the band survives a torn-off top.
    height = top[-1] - top[0]
    first = image.crop((0, top[0], image.width, top[0] + height))
    last = image.crop((0, bottom[0], image.width, bottom[0] + height))
    assert first.tobytes() == last.tobytes() and first.tobytes().count(255) > 500

    real_gift, real_image = _printed_receipt(real)
    assert not real_gift["receipt_no"].startswith("TD-")
    assert _black_rows(real_image, 0, real_image.height // 8) == []
    assert _black_rows(real_image, real_image.height * 7 // 8, real_image.height) == []
    ARTIFACTS = ROOT / "test-artifacts"
    ARTIFACTS.mkdir(exist_ok=True)
    image.save(ARTIFACTS / "receipt-tong-duyet.png")

    # Its QR verifies at the rehearsal as a practice receipt, and never at the real event, which holds the same
    # secret key: the code is made with a key of its own.
    [url] = [r.text for r in zxingcpp.read_barcodes(image)]
    path = url[len(PUBLIC):]
    assert path.startswith("/r/TD-0001?k=")
    shown = practice.test_client().get(path)
    assert shown.status_code == 200 and "Biên nhận tổng duyệt — không có giá trị" in shown.get_data(as_text=True)
    assert practice.config["SECRET_KEY"] == real.config["SECRET_KEY"]
    refused = real.test_client().get(path)
    assert refused.status_code == 404 and "Biên nhận tổng duyệt" not in refused.get_data(as_text=True)
    from printer import ledger
    mac = path.split("k=")[1]
    assert ledger.mac_matches(practice.config["SECRET_KEY"], "TD-0001", GIFT["amount_vnd"], mac, rehearsal=True)
    assert not ledger.mac_matches(real.config["SECRET_KEY"], "TD-0001", GIFT["amount_vnd"], mac)


@pytest.mark.sqlite_only
def test_a_card_printed_at_a_rehearsal_carries_the_band_in_its_footer(both):
    import io

    from PIL import Image

    from checkin.cards import mm

    strips = {}
    for name, app in zip(("real", "practice"), both):
        admin = app.test_client()
        login(admin, "admin")
        invitee_id = invitations(app)[0][0]
        answer = admin.get(f"/admin/invitees/{invitee_id}/card.png")
        assert answer.status_code == 200
        card = Image.open(io.BytesIO(answer.data)).convert("L")
        if name == "practice":
            (ROOT / "test-artifacts").mkdir(exist_ok=True)
            card.save(ROOT / "test-artifacts" / "the-moi-tong-duyet.png")
        strip = card.crop((mm(6), card.height - mm(9), card.width - mm(6), card.height - mm(4.5)))
        strips[name] = sum(1 for value in strip.tobytes() if value < 128) / (strip.width * strip.height)
    assert strips["practice"] > 0.6 and strips["real"] < 0.1, strips


@pytest.mark.sqlite_only
def test_every_station_page_has_the_banner_and_every_screen_the_mark_only_in_a_rehearsal(both):
    real, practice = both
    for app, shown in ((practice, True), (real, False)):
        for role, paths in STATION_PAGES.items():
            client = app.test_client()
            login(client, role)
            for path in paths:
                page = client.get(path).get_data(as_text=True)
                assert (BANNER in page) == shown, (path, shown)
                if shown:
                    assert "bắt đầu lúc 14h00" in page
                    # Only the admin is offered the way out.
                    assert ("Kết thúc tổng duyệt" in page) == (role == "admin"), path
        for path in ("/display", "/display/lobby", "/display/welcome"):
            screen = app.test_client().get(path).get_data(as_text=True)
            assert ('id="rehearsal-mark"' in screen) == shown and BANNER not in screen
    # Each database stamps its pages with its own identity, which the sockets repeat (test below).
    assert real.config["KIOSK_MODE"] != practice.config["KIOSK_MODE"]
    assert f'data-mode="{practice.config["KIOSK_MODE"]}"' in practice.test_client().get("/display").get_data(as_text=True)


def test_every_namespace_tells_a_connecting_page_which_database_serves_it(data_dir):
    import socketio

    from .live import LiveServer

    server = LiveServer(app_config(data_dir)).start()
    try:
        for namespace, role in (("/display", None), ("/gate", "gate"), ("/mc", "mc")):
            headers = None
            if role:
                http = requests.Session()
                http.post(server.url + "/api/login", json={"role": role, "pin": PINS[role]}, timeout=5).raise_for_status()
                headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in http.cookies.items())}
            heard = []
            client = socketio.Client()
            client.on("kiosk_mode", heard.append, namespace=namespace)
            client.connect(server.url, namespaces=[namespace], transports=["websocket"], wait_timeout=10,
                           headers=headers)
            deadline = time.monotonic() + 10
            while not heard and time.monotonic() < deadline:
                time.sleep(0.05)
            client.disconnect()
            assert heard == [server.app.config["KIOSK_MODE"]], namespace
    finally:
        server.stop()
