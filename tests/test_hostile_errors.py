"""Every /api answer is Vietnamese JSON, whatever arrives; a full disk is named as such and loses nothing."""
from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import event

from kiosk import create_app

from .conftest import app_config, login
from .gate_helpers import invitations

BODIES = [b"{", b"[1, 2]", b'"x"', b"5", b"null", b"[" * 5000 + b"]" * 5000, b'{"a": "\\ud800\\u0000"}',
          b"1e400", b"\xff\xfe{", json.dumps({
              "code": [], "invitee_id": "1", "amount_vnd": "nhiều", "reason": {}, "text": 5, "index": "a",
              "expected_index": 1.5, "on": "yes", "screen_id": [], "format": {}, "dots": "x", "ids": "x",
              "start": 5, "end": [], "content": [], "key": 5, "accepted": "x", "donor_name": 5, "role": 5, "pin": 5,
              "full_name": [], "group": {}, "gate": 7, "nonce": {}, "request_id": 5, "method": [], "name": 5,
              "view": [], "forget": "x", "show_on_screen": "x", "position": "1"}).encode()]


def _api_calls(app):
    """Every /api rule with a concrete URL and each of its methods."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        values = {name: 1 if type(converter).__name__ == "IntegerConverter" else "x"
                  for name, converter in rule._converters.items()}
        url = rule.build(values)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, url


def _is_vietnamese_error(response) -> bool:
    body = response.get_json(silent=True)
    return (isinstance(body, dict) and isinstance(body.get("error"), str) and isinstance(body.get("message"), str)
            and not body["message"].isascii())


def test_malformed_bodies_on_every_api_path_get_vietnamese_json_and_no_traceback(app, client_as, caplog):
    admin = client_as("admin")
    calls = list(_api_calls(app))
    assert len(calls) > 40
    with caplog.at_level(logging.INFO):
        for method, url in calls:
            for body in BODIES:
                response = admin.open(url, method=method, data=body, content_type="application/json")
                assert response.status_code < 500, (method, url, body[:40], response.get_data(as_text=True)[:200])
                assert response.is_json, (method, url)
                if response.status_code >= 400:
                    assert _is_vietnamese_error(response), (method, url, response.get_json())
            weird = admin.open(url + "?q=%00%ff&limit=99999999999999999999&copy=-1&text=%ED%A0%80", method=method)
            assert weird.status_code < 500, (method, url)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize("path", ["/api/agenda/announce", "/api/agenda/start", "/api/agenda/next",
                                  "/api/agenda/screen", "/api/programme/items", "/api/programme/order",
                                  "/api/programme/warnings", "/api/checkin", "/api/donations", "/api/login"])
@pytest.mark.parametrize("body", [b"{not json", b"garbage", b"[" * 3000])
def test_a_body_that_is_not_json_is_refused_not_read_as_empty(client_as, path, body):
    """A malformed body is a 400: never the action done as if nothing had been sent (an announcement
    taken down, the programme started)."""
    admin = client_as("admin")
    admin.post("/api/agenda/announce", json={"text": "Mời quý vị ổn định chỗ ngồi"})
    before = admin.get("/api/agenda").get_json()
    answer = admin.post(path, data=body, content_type="application/json")
    assert answer.status_code == 400 and _is_vietnamese_error(answer), (path, answer.get_json())
    after = admin.get("/api/agenda").get_json()
    assert (after["rev"], after["announcement"]) == (before["rev"], "Mời quý vị ổn định chỗ ngồi")


@pytest.mark.parametrize("method, path, status, code", [
    ("GET", "/api/khong-co", 404, "not_found"), ("DELETE", "/api/checkin", 405, "method_not_allowed"),
    ("POST", "/api/agenda", 405, "method_not_allowed")])
def test_unknown_api_paths_and_methods_answer_vietnamese_json(client_as, method, path, status, code):
    response = client_as("gate").open(path, method=method)
    assert response.status_code == status and response.get_json()["error"] == code
    assert _is_vietnamese_error(response)


def test_unknown_pages_get_a_vietnamese_page(client):
    page = client.get("/trang-khong-co")
    assert page.status_code == 404 and "Không tìm thấy" in page.get_data(as_text=True)
    assert page.mimetype == "text/html"


def test_an_unexpected_error_is_a_vietnamese_json_500_logged_once(app, client_as, monkeypatch, caplog):
    from checkin import checkins
    monkeypatch.setattr(checkins, "stats", lambda db: 1 / 0)
    with caplog.at_level(logging.ERROR):
        response = client_as("gate").get("/api/stats")
    assert response.status_code == 500 and response.get_json()["error"] == "server_error"
    assert "Máy chủ gặp lỗi ngoài dự kiến" in response.get_json()["message"]
    assert len([r for r in caplog.records if r.exc_info]) == 1


@pytest.mark.sqlite_only
def test_healthz_proves_the_database_takes_a_write(app, client, monkeypatch):
    assert client.get("/healthz").get_json() == {"ok": True}
    data = Path(app.config["KIOSK_DATA_DIR"])
    os.chmod(data / "kiosk.sqlite3", 0o400)            # read-only, as a copied or mounted file might be
    app.extensions["kiosk.db"].engine.dispose()
    try:
        if os.geteuid() == 0:  # root writes anyway: make the write fail the way a read-only file would
            monkeypatch.setattr("kiosk.health.write_probe", lambda db, now: (_ for _ in ()).throw(
                OSError(errno.EROFS, "Read-only file system")))
        app.extensions.pop("kiosk.health", None)                  # the last answer is kept for a second
        answer = client.get("/healthz")
        assert answer.status_code == 503 and answer.get_json()["ok"] is False
        assert answer.get_json()["error"] == "not_writable"
    finally:
        os.chmod(data / "kiosk.sqlite3", 0o600)


def test_a_flood_of_health_checks_makes_one_write_a_second(app, client, monkeypatch):
    import kiosk.health
    writes = []
    real = kiosk.health.write_probe
    monkeypatch.setattr(kiosk.health, "write_probe", lambda db, now: writes.append(now) or real(db, now))
    app.extensions.pop("kiosk.health", None)
    started = time.monotonic()
    for _ in range(200):
        assert client.get("/healthz").get_json() == {"ok": True}
    assert len(writes) <= int(time.monotonic() - started) + 1


# ---- the disk fills up

@pytest.fixture
def small_disk(tmp_path):
    """A 16 MB file system of its own (tmpfs, as root), or None where the suite cannot make one."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        yield None
        return
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        yield None
        return
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(folder: Path) -> Path:
    """Write a file until the disk says it is full; return it (delete it to free the space)."""
    filler = folder / "filler.bin"
    # Unbuffered: nothing is left in a buffer for close() to fail on once the disk is full.
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * (256 * 1024))
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


@pytest.mark.sqlite_only
def test_a_full_disk_is_named_and_loses_no_acknowledged_scan(small_disk, tmp_path, caplog):
    data = (small_disk or tmp_path) / "data"
    app = create_app(app_config(data))
    gate, cashier = app.test_client(), app.test_client()
    login(gate, "gate")
    login(cashier, "cashier")
    codes = [code for _id, code, _name in invitations(app)]
    for code in codes[:5]:
        assert gate.post("/api/checkin", json={"code": code}).get_json()["result"] == "ok"
    db = app.extensions["kiosk.db"]
    import sqlite3
    checkpoint = sqlite3.connect(data / "kiosk.sqlite3")
    checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)")           # no room left over in the WAL either
    checkpoint.close()
    if small_disk is not None:
        filler = _fill(small_disk)
    else:  # no file system of our own: SQLite's own "disk full" at the storage layer
        def full(*_args):
            import sqlite3
            raise sqlite3.OperationalError("database or disk is full")
        event.listen(db.engine, "before_cursor_execute", full)
    with caplog.at_level(logging.ERROR):
        refused = gate.post("/api/checkin", json={"code": codes[5], "nonce": uuid.uuid4().hex})
        gift = cashier.post("/api/donations", json={"donor_name": "Ông Tám", "amount_vnd": 100_000})
        app.extensions.pop("kiosk.health", None)
        health = app.test_client().get("/healthz")
    for answer in (refused, gift):
        assert answer.status_code == 507 and answer.get_json()["error"] == "disk_full"
        assert answer.get_json()["message"].startswith("Ổ đĩa đầy")
    assert health.status_code == 503 and health.get_json()["error"] == "disk_full"
    assert not [r for r in caplog.records if r.exc_info]       # named, not a traceback
    if small_disk is not None:
        filler.unlink()
    else:
        event.remove(db.engine, "before_cursor_execute", full)
    again = gate.post("/api/checkin", json={"code": codes[5]})
    assert again.status_code == 200 and again.get_json()["result"] == "ok"
    assert gate.get("/api/stats").get_json()["invited_present"] == 6
    assert cashier.post("/api/donations", json={"donor_name": "Ông Tám", "amount_vnd": 100_000}).get_json()[
        "receipt_no"] == "KH-2023-0001"                          # the refused gift took no number
    time.sleep(1.5)  # the pushes these scans scheduled (roster: within a second) read the disk before it goes
    db.dispose()
