"""Printing through python-escpos to a fake network printer: bytes, pixels, QR, faults, the queue."""
from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import zxingcpp
from PIL import Image

from kiosk import create_app
from kiosk.storage import donations as store
from kiosk.storage import utcnow
from printer import device, ledger
from printer.queue import PrintQueue

from .conftest import app_config, login
from .printer_fakes import NEAR_END, OFFLINE, PAPER_END, PAPER_END_STOP, FakePrinter, raster_image

PUBLIC = "http://kiosk.test:5000"
GIFT = {"donor_name": "Trần Thị Mai", "organisation": "Phòng GD&ĐT huyện Bạch Thông",
        "amount_vnd": 1_500_000, "method": "cash", "show_on_screen": True}


@pytest.fixture
def make_app(tmp_path):
    """Factory: an app whose KIOSK_PRINTER points where the test says; all disposed at the end."""
    apps = []

    def make(printer: str = "preview", folder: str = "data", **extra):
        app = create_app(app_config(tmp_path / folder, KIOSK_PRINTER=printer, KIOSK_PUBLIC_URL=PUBLIC, **extra))
        apps.append(app)
        return app
    yield make
    for app in apps:
        app.extensions["kiosk.db"].dispose()


@pytest.fixture
def fake():
    printers = []

    def make(*args, **kwargs):
        printer = FakePrinter(*args, **kwargs)
        printers.append(printer)
        return printer
    yield make
    for printer in printers:
        printer.close()


def cashier(app):
    client = app.test_client()
    login(client, "cashier")
    return client


def save_and_wait(app, client, body=GIFT) -> dict:
    """POST a donation and wait (without asserting on time) until its receipt job has ended."""
    response = client.post("/api/donations", json=body)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    app.extensions["printer.queue"].wait(data["print"]["job_id"], timeout=30)
    return client.get(f"/api/donations/{data['receipt_no']}").get_json()


def png(response) -> Image.Image:
    return Image.open(io.BytesIO(response.data)).convert("1")


def test_the_fake_printer_gets_the_rendered_receipt_pixel_for_pixel_with_a_working_qr(make_app, fake):
    printer = fake()
    app = make_app(printer.url())
    client = cashier(app)
    donation = save_and_wait(app, client)
    job = donation["jobs"][0]
    assert job["status"] == "done" and job["attempts"] == 1 and job["message"] is None
    assert job["status_label"] == "Đã in" and not job["previewed"]

    assert len(printer.connections) == 1
    conn = printer.connections[0]
    # Status asked before printing, the receipt as raster blocks, a cut, and a status check after.
    names = conn.names()
    assert names[:3] == ["status", "status", "init"]
    assert names[-3:] == ["feed", "cut", "status"]
    assert set(names[3:-3]) == {"raster"}
    assert all(c.args[1] == 576 // 8 for c in conn.rasters())

    printed = raster_image(conn.rasters())
    expected = png(client.get(f"/donations/receipts/{donation['receipt_no']}.png"))
    assert printed.size == expected.size and printed.width == 576
    assert printed.tobytes() == expected.tobytes()

    [url] = [r.text for r in zxingcpp.read_barcodes(printed.convert("L"))]
    mac = ledger.receipt_mac(app.config["SECRET_KEY"], "KH-2023-0001", 1_500_000)
    assert url == f"{PUBLIC}/r/KH-2023-0001?k={mac}"
    parts = urlsplit(url)
    page = app.test_client().get(f"{parts.path}?{parts.query}")
    assert page.status_code == 200
    assert "Biên nhận hợp lệ" in page.get_data(as_text=True)
    assert "1.500.000 đ" in page.get_data(as_text=True)


@pytest.mark.parametrize("dots", [384, 512])
def test_other_paper_widths_print_at_their_width(make_app, fake, dots):
    printer = fake()
    app = make_app(printer.url(), KIOSK_PAPER_DOTS=dots)
    client = cashier(app)
    donation = save_and_wait(app, client)
    printed = raster_image(printer.connections[0].rasters())
    assert printed.width == dots
    expected = png(client.get(f"/donations/receipts/{donation['receipt_no']}.png"))
    assert printed.tobytes() == expected.tobytes()


def test_without_a_cutter_the_paper_is_fed_and_never_cut(make_app, fake):
    printer = fake()
    app = make_app(printer.url(), KIOSK_PRINTER_CUTTER=False)
    save_and_wait(app, cashier(app))
    names = printer.connections[0].names()
    assert "cut" not in names and names[-2:] == ["feed", "status"]


FAULTS = [
    ("refused", "unreachable", "Không kết nối được máy in"),
    ("silent", "no_answer", "không trả lời"),
    ("stall", "unconfirmed", "máy in không xác nhận"),
    ("paper_out", "paper_out", "Hết giấy"),
    ("reset", "disconnected", "Mất kết nối với máy in giữa chừng"),
]


@pytest.mark.parametrize("fault,code,message", FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_ends_as_a_failed_job_with_a_vietnamese_message_and_the_donation_intact(
        make_app, fake, fault, code, message):
    printer = None
    if fault == "refused":
        url = FakePrinter.refused_url()
    else:
        # silent: never answers; stall: answers, then stops reading after 2 kB (a jam);
        # reset: drops the connection after 2 kB (switched off); paper_out: reports an empty roll.
        printer = fake(online=OFFLINE, cause=PAPER_END_STOP, paper=PAPER_END) if fault == "paper_out" \
            else fake(fault, reset_after=2000)
        url = printer.url(timeout=0.5) + "&confirm=1"
    app = make_app(url)
    client = cashier(app)
    donation = save_and_wait(app, client)
    [job] = donation["jobs"]
    assert job["status"] == "failed" and job["error"] == code and job["retryable"] is True
    assert message in job["message"]
    # The gift is recorded whatever the printer did.
    assert donation["receipt_no"] == "KH-2023-0001" and donation["amount_vnd"] == 1_500_000
    assert donation["voided"] is False
    totals = client.get("/api/donations").get_json()["totals"]
    assert totals["count"] == 1 and totals["total_vnd"] == 1_500_000
    # The desk sees the printer's state and the failed job waiting for a person.
    printer_view = client.get("/api/printer").get_json()
    assert printer_view["state"]["state"] == code
    assert [j["job_id"] for j in printer_view["failed"]] == [job["job_id"]]
    if fault == "paper_out":
        assert printer.connections[0].rasters() == []  # nothing is sent to an empty printer


def test_a_failed_job_is_printed_when_a_person_retries_and_only_then(make_app, fake):
    printer = fake(online=OFFLINE, cause=PAPER_END_STOP, paper=PAPER_END)
    app = make_app(printer.url(timeout=0.5))
    client = cashier(app)
    donation = save_and_wait(app, client)
    job_id = donation["jobs"][0]["job_id"]
    assert donation["jobs"][0]["status"] == "failed"
    printer.answers = {1: 0x12, 2: 0x12, 4: 0x12}  # paper loaded
    assert client.post(f"/api/print-jobs/{job_id}/retry").status_code == 200
    app.extensions["printer.queue"].wait(job_id, 30)
    job = client.get(f"/api/print-jobs/{job_id}").get_json()
    assert job["status"] == "done" and job["attempts"] == 2
    assert sum(1 for c in printer.connections if c.rasters()) == 1
    # A done job cannot be "retried" into a second print.
    again = client.post(f"/api/print-jobs/{job_id}/retry")
    assert again.status_code == 409 and again.get_json()["error"] == "job_not_failed"


def test_near_end_prints_with_a_warning(make_app, fake):
    printer = fake(paper=NEAR_END)
    app = make_app(printer.url())
    donation = save_and_wait(app, cashier(app))
    job = donation["jobs"][0]
    assert job["status"] == "done" and job["warning"] == "Giấy sắp hết: chuẩn bị cuộn giấy mới."


def test_printer_check_reports_paper_out_without_printing(make_app, fake):
    printer = fake(online=OFFLINE, cause=PAPER_END_STOP, paper=PAPER_END)
    app = make_app(printer.url(timeout=0.5))
    client = cashier(app)
    state = client.post("/api/printer/check").get_json()["state"]
    assert state["state"] == "paper_out" and state["message"].startswith("Hết giấy")
    assert all(not c.rasters() for c in printer.connections)


def test_a_job_cut_off_by_a_restart_is_failed_not_resent_and_queued_jobs_are_printed(make_app, fake, tmp_path):
    printer = fake()
    first = make_app(printer.url())
    db = first.extensions["kiosk.db"]
    client = cashier(first)
    save_and_wait(first, client)
    save_and_wait(first, client, {**GIFT, "donor_name": "Lê Văn Hùng"})
    with db.write() as session:
        one, two = store.jobs_for(session, 1)[0], store.jobs_for(session, 2)[0]
        one.status, two.status = "printing", "queued"  # as if the power went mid-print / before printing
    db.dispose()
    printed_before = len([c for c in printer.connections if c.rasters()])

    restarted = make_app(printer.url())  # same data folder, same printer
    restarted.extensions["printer.queue"].wait(two.id, 30)
    client = cashier(restarted)
    job_one = client.get(f"/api/print-jobs/{one.id}").get_json()
    job_two = client.get(f"/api/print-jobs/{two.id}").get_json()
    assert job_one["status"] == "failed" and job_one["error"] == "interrupted"
    assert "Máy chủ dừng khi đang in" in job_one["message"]
    assert job_two["status"] == "done"
    printed = [raster_image(c.rasters()) for c in printer.connections if c.rasters()]
    assert len(printed) == printed_before + 1  # only the queued one: the interrupted receipt waits for a person


@pytest.mark.sqlite_only
def test_jobs_queued_for_another_printer_wait_for_a_person_and_are_never_sent_elsewhere(make_app, fake):
    printer = fake()
    first = make_app(FakePrinter.refused_url())
    db = first.extensions["kiosk.db"]
    save_and_wait(first, cashier(first))
    with db.write() as session:
        job = store.jobs_for(session, 1)[0]
        job.status = "queued"  # saved while the old printer was unplugged, then the laptop restarted
    db.dispose()

    restarted = make_app(printer.url())  # the clerk plugged in another printer
    client = cashier(restarted)
    waiting = client.get(f"/api/print-jobs/{job.id}").get_json()
    assert waiting["status"] == "failed" and waiting["error"] == "printer_changed"
    assert "máy in khác" in waiting["message"] and waiting["retryable"]
    assert not any(c.rasters() for c in printer.connections)  # not re-targeted by itself
    retried = client.post(f"/api/print-jobs/{job.id}/retry")
    assert retried.status_code == 200, retried.get_json()
    assert restarted.extensions["printer.queue"].wait(job.id, 30) == "done"
    assert len([c for c in printer.connections if c.rasters()]) == 1


def test_two_workers_never_print_the_same_job(make_app, fake):
    printer = fake()
    app = make_app(printer.url())
    db = app.extensions["kiosk.db"]
    settings = app.extensions["printer.settings"]
    from printer import desk
    with db.write() as session:
        job = store.add_job(session, "calibration", device.parse_target(printer.url()).name, 384, utcnow())
    queues = [PrintQueue(db, settings.target, cutter=True, receipts_dir=settings.receipts_dir,
                         render=desk.job_renderer(settings)) for _ in range(2)]
    barrier = threading.Barrier(2)

    def run(queue):
        barrier.wait()
        queue.process(job.id)
    threads = [threading.Thread(target=run, args=(q,)) for q in queues]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # On PostgreSQL the app's own worker polls for jobs too: a third contender, still one print.
    app.extensions["printer.queue"].wait(job.id, 30)
    assert sum(1 for c in printer.connections if c.rasters()) == 1
    with db.read() as session:
        assert store.job(session, job.id).attempts == 1


def test_preview_writes_the_png_and_the_exact_bytes(make_app):
    app = make_app("preview")
    client = cashier(app)
    donation = save_and_wait(app, client)
    job = donation["jobs"][0]
    assert job["status"] == "done" and job["preview_png"] and job["preview_bin"]
    # Nothing reached paper: the desk, its list and the ledger never say "Đã in".
    assert job["status_label"] == "Đã lưu bản xem trước" and job["previewed"]
    assert client.get("/api/donations").get_json()["donations"][0]["print"]["status_label"] == "Đã lưu bản xem trước"
    assert "Đã in<" not in client.get("/donations/ledger").get_data(as_text=True)
    assert client.get("/api/printer").get_json()["state"]["message"].startswith("Đã lưu bản xem trước")
    folder = Path(app.config["KIOSK_DATA_DIR"]) / "receipts"
    assert sorted(p.name for p in folder.iterdir()) == ["KH-2023-0001.bin", "KH-2023-0001.png"]
    from .printer_fakes import EscPosParser
    commands = EscPosParser().feed((folder / "KH-2023-0001.bin").read_bytes())
    from_bytes = raster_image([c for c in commands if c.name == "raster"])
    assert from_bytes.tobytes() == Image.open(folder / "KH-2023-0001.png").convert("1").tobytes()
    assert client.get(job["preview_png"]).status_code == 200
    assert client.get(job["preview_bin"]).data == (folder / "KH-2023-0001.bin").read_bytes()


def test_calibration_print(make_app, fake):
    printer = fake()
    app = make_app(printer.url())
    client = cashier(app)
    response = client.post("/api/printer/calibration", json={"dots": 384})
    job = response.get_json()["print"]
    app.extensions["printer.queue"].wait(job["job_id"], 30)
    assert client.get(f"/api/print-jobs/{job['job_id']}").get_json()["status"] == "done"
    ruler = raster_image(printer.connections[0].rasters())
    assert ruler.width == 384
    bad = client.post("/api/printer/calibration", json={"dots": 400})
    assert bad.status_code == 400 and bad.get_json()["error"] == "bad_width"


@pytest.mark.parametrize("text,kind,address,status", [
    ("preview", "preview", "", False),
    ("tcp://192.168.1.50", "tcp", "192.168.1.50:9100", True),
    ("tcp://192.168.1.50:9101?status=off", "tcp", "192.168.1.50:9101", False),
    ("usb://0416:5011", "usb", "0416:5011", True),
    ("serial:///dev/ttyUSB0?baudrate=19200", "serial", "/dev/ttyUSB0", True),
    ("serial://COM3", "serial", "COM3", True),
    ("file:///dev/usb/lp0", "file", "/dev/usb/lp0", False),
    ("cups://POS-80", "cups", "POS-80", False),
    ("win32://XP-58", "win32", "XP-58", False),
])
def test_printer_targets(text, kind, address, status):
    target = device.parse_target(text)
    assert (target.kind, target.address, target.status) == (kind, address, status)
    assert target.timeout == 3.0


@pytest.mark.parametrize("text", ["lpt://x", "tcp://:9100", "usb://zz:11", "tcp://h?timeout=abc"])
def test_bad_targets_are_reported_in_vietnamese(text):
    with pytest.raises(device.PrinterError) as info:
        device.parse_target(text)
    assert info.value.code == "bad_target" and "KIOSK_PRINTER không hợp lệ" in info.value.message


def test_a_bad_printer_setting_keeps_the_desk_working_in_preview(make_app):
    app = make_app("lpt://nowhere")
    client = cashier(app)
    assert app.extensions["printer.settings"].target.kind == "preview"
    assert "KIOSK_PRINTER không hợp lệ" in client.get("/donations").get_data(as_text=True)
    assert save_and_wait(app, client)["jobs"][0]["status"] == "done"


@pytest.mark.parametrize("n,byte,meaning", [
    (1, 0x12, None), (1, 0x1A, "offline"),
    (2, 0x12, None), (2, 0x16, "cover_open"), (2, 0x32, "paper_out"), (2, 0x52, "printer_error"),
    (4, 0x12, None), (4, 0x1E, "near_end"), (4, 0x72, "paper_out"),
])
def test_dle_eot_status_bytes(n, byte, meaning):
    assert device.is_status_byte(byte)
    assert device.read_status(n, byte) == meaning


def test_bytes_that_are_not_status_answers_are_ignored():
    assert not device.is_status_byte(0x00) and not device.is_status_byte(0xFF) and not device.is_status_byte(0x38)


def test_escpos_cache_goes_to_the_data_folder_and_escpos_adds_no_log_handler(tmp_path):
    code = (
        "import logging, os, sys\n"
        "from printer import device\n"
        f"device.configure({str(tmp_path)!r})\n"
        "before = len(logging.getLogger().handlers)\n"
        "device._escpos()\n"
        "print(len(logging.getLogger().handlers) - before)\n"
        "print(os.environ['ESCPOS_CAPABILITIES_PICKLE_DIR'])\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "ESCPOS_CAPABILITIES_PICKLE_DIR"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=Path(__file__).resolve().parent.parent, timeout=60)
    assert out.returncode == 0, out.stderr
    added, folder = out.stdout.split()
    assert added == "0"
    assert folder == str(tmp_path / "escpos")
    assert any(p.name.endswith(".capabilities.pickle") for p in (tmp_path / "escpos").iterdir())


def test_a_device_file_target_gets_the_same_bytes(make_app, tmp_path):
    out = tmp_path / "lp0"
    out.touch()
    app = make_app(f"file://{out}")
    client = cashier(app)
    donation = save_and_wait(app, client)
    assert donation["jobs"][0]["status"] == "done"
    from .printer_fakes import EscPosParser
    commands = EscPosParser().feed(out.read_bytes())
    printed = raster_image([c for c in commands if c.name == "raster"])
    assert printed.tobytes() == png(client.get(f"/donations/receipts/{donation['receipt_no']}.png")).tobytes()
    assert [c.name for c in commands if c.name != "raster"] == ["init", "feed", "cut"]


@pytest.mark.parametrize("target", ["serial:///dev/kiosk-no-such-port?timeout=0.5", "file:///kiosk-no-such-dir/lp0"])
def test_missing_local_printers_are_unreachable(target):
    with pytest.raises(device.PrinterError) as info:
        device.send(device.parse_target(target), [b"\x1b@"])
    assert info.value.code == "unreachable" and "Không kết nối được máy in" in info.value.message


def test_a_stopping_server_lets_the_receipt_being_printed_finish_and_starts_no_other(make_app, fake, monkeypatch):
    printer = fake(slow=0.1)   # about two seconds a receipt
    app = make_app(printer.url(timeout=10))
    client = cashier(app)
    monkeypatch.setattr("printer.views.WAIT_FOR_PRINT", 0)   # the desk's answer need not wait for the paper
    first, second = (client.post("/api/donations", json={**GIFT, "donor_name": name}).get_json()
                     for name in ("Lý Văn Hùng", "Đỗ Thị Hạnh"))
    deadline = time.monotonic() + 30
    while not any(c.rasters() for c in printer.connections) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not printer.job_done.is_set()     # mid-receipt when the server is told to stop

    assert app.extensions["printer.queue"].stop(timeout=30)
    assert printer.job_done.is_set()
    assert client.get(f"/api/donations/{first['receipt_no']}").get_json()["jobs"][0]["status"] == "done"
    assert client.get(f"/api/donations/{second['receipt_no']}").get_json()["jobs"][0]["status"] == "queued"
    assert sum(1 for c in printer.connections if c.rasters()) == 1


def test_on_a_shared_database_only_expired_leases_are_recovered_and_jobs_keep_their_printer(make_app, fake,
                                                                                            postgres):
    printer, other = fake(), fake()
    url = postgres.new_database()
    app = make_app(printer.url(), DATABASE_URL=url)
    db = app.extensions["kiosk.db"]
    name, other_name = (device.parse_target(p.url()).name for p in (printer, other))
    now = utcnow()
    with db.write() as session:
        dead = store.add_job(session, "calibration", name, 384, now)
        alive = store.add_job(session, "calibration", name, 384, now)
        elsewhere = store.add_job(session, "calibration", other_name, 384, now)
        session.flush()
        # A process that died mid-print (its lease runs out 2 s from now, after this process took the printer
        # over: the owner keeps looking); another one printing right now (its lease runs for minutes).
        dead.status, dead.owner, dead.lease_until = "printing", "dead:1:aaaaaa", now + dt.timedelta(seconds=2)
        alive.status, alive.owner, alive.lease_until = "printing", "busy:2:bbbbbb", now + dt.timedelta(minutes=5)
    queue = app.extensions["printer.queue"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with db.read() as session:
            if store.job(session, dead.id).status == "failed":
                break
        time.sleep(0.1)
    with db.read() as session:
        assert store.job(session, dead.id).error_code == "interrupted"
        assert store.job(session, alive.id).status == "printing"       # not touched: its lease still runs
        still = store.job(session, elsewhere.id)
        assert still.status == "queued" and still.printer == other_name  # never re-targeted
    assert queue.owner.split(":")[1] == str(os.getpid())
    assert not any(c.rasters() for c in printer.connections + other.connections)
