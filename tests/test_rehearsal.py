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
