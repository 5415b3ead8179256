"""Sizes and background work have ceilings: no body, export, test print or socket message can pile up."""
from __future__ import annotations

import json
import socket

from checkin import card_exports, invitations
from kiosk.boundary import MAX_BODY, SMALL_BODY
from kiosk.sockets import MAX_MESSAGE
from printer import desk

from .display_helpers import wait_until


def test_the_app_and_the_json_apis_have_body_limits(app, client_as):
    gate = client_as("gate")
    assert app.config["MAX_CONTENT_LENGTH"] == MAX_BODY <= 8 * 1024 * 1024
    big = json.dumps({"code": "TM", "note": "x" * SMALL_BODY})
    answer = gate.post("/api/checkin", data=big, content_type="application/json")
    assert answer.status_code == 413 and answer.get_json()["error"] == "too_large"
    assert answer.get_json()["message"] == "Dữ liệu gửi lên quá lớn."
    deep = "[" * 10000 + "]" * 10000
    assert gate.post("/api/checkin", data=deep, content_type="application/json").status_code == 400


def test_a_large_body_is_refused_from_its_length_before_it_is_sent(live_server):
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=5) as sock:
        sock.sendall(b"POST /api/checkin HTTP/1.1\r\nHost: kiosk\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1073741824\r\n\r\n")       # a gigabyte announced, nothing sent
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413") and b"Connection: close" in answer


def test_one_card_export_at_a_time_and_old_files_are_removed(app, client_as, monkeypatch):
    admin = client_as("admin")
    exports = app.config["KIOSK_DATA_DIR"] + "/exports"
    release = []
    real_write = invitations.write_cards

    def slow_write(db, out, fmt, progress=None):
        wait_until(lambda: release, timeout=30, message="the test to let the export finish")
        return real_write(db, out, fmt, progress)

    monkeypatch.setattr(invitations, "write_cards", slow_write)
    first = admin.post("/api/invitations/export", json={"format": "pdf"}).get_json()
    second = admin.post("/api/invitations/export", json={"format": "png"})
    assert second.status_code == 202 and second.get_json()["job"] == first["job"]
    assert "Đang có một lượt tạo thẻ (PDF)" in second.get_json()["message"]
    release.append(1)
    done = lambda job: admin.get(f"/api/invitations/export/{job}").get_json()["status"] == "done"  # noqa: E731
    wait_until(lambda: done(first["job"]), timeout=60)
    from pathlib import Path
    (Path(exports) / "thu-moi-cu.part").write_bytes(b"left by a crash")
    jobs = [first["job"]]
    for _ in range(4):
        job = admin.post("/api/invitations/export", json={"format": "pdf"}).get_json()["job"]
        wait_until(lambda: done(job), timeout=60)
        jobs.append(job)
    files = sorted(p.name for p in Path(exports).glob("thu-moi-*"))
    assert len(files) == card_exports.KEEP_EXPORTS and not [f for f in files if f.endswith(".part")]
    assert admin.get(f"/api/invitations/export/{jobs[0]}").status_code == 404      # forgotten with its file
    assert admin.get(f"/api/invitations/export/{jobs[-1]}").get_json()["download_url"]


def test_test_prints_are_limited(app, client_as, monkeypatch):
    cashier = client_as("cashier")
    queue = app.extensions["printer.queue"]
    monkeypatch.setattr(queue, "kick", lambda: None)      # the printer is slow today: jobs stay queued
    monkeypatch.setattr(queue, "wait", lambda job_id, seconds: None)
    assert cashier.post("/api/printer/calibration", json={}).status_code == 200
    busy = cashier.post("/api/printer/calibration", json={})
    assert busy.status_code == 429 and busy.get_json()["error"] == "calibration_busy"
    with app.extensions["kiosk.db"].write() as session:
        from sqlalchemy import update
        from kiosk.storage.schema import PrintJob
        session.execute(update(PrintJob).values(status="done"))
    for _ in range(desk.CALIBRATIONS_PER_WINDOW - 1):
        assert cashier.post("/api/printer/calibration", json={}).status_code == 200
        with app.extensions["kiosk.db"].write() as session:
            session.execute(update(PrintJob).values(status="done"))
    limited = cashier.post("/api/printer/calibration", json={})
    assert limited.status_code == 429 and limited.get_json()["error"] == "calibration_limit"
    assert "10 phút" in limited.get_json()["message"]


def test_a_second_reprint_waits_for_the_first(app, client_as, monkeypatch):
    cashier = client_as("cashier")
    receipt = cashier.post("/api/donations", json={"donor_name": "Bà Lan", "amount_vnd": 200_000}).get_json()["receipt_no"]
    monkeypatch.setattr(app.extensions["printer.queue"], "kick", lambda: None)
    monkeypatch.setattr(app.extensions["printer.queue"], "wait", lambda job_id, seconds: None)
    assert cashier.post(f"/api/donations/{receipt}/reprint").status_code == 200
    again = cashier.post(f"/api/donations/{receipt}/reprint")
    assert again.status_code == 409 and again.get_json()["error"] == "reprint_pending"
    assert cashier.get(f"/api/donations/{receipt}").get_json()["reprint_count"] == 1


def test_a_socket_message_over_the_ceiling_closes_that_socket_only(live_server):
    import socketio as socketio_client
    flood, screen = socketio_client.Client(reconnection=False), socketio_client.Client(reconnection=False)
    for client in (flood, screen):
        client.connect(live_server.url, namespaces=["/display"], transports=["websocket"], wait_timeout=5)
    try:
        flood.emit("hello", {"key": "k" * 40, "name": "x" * (MAX_MESSAGE * 4)}, namespace="/display")
        wait_until(lambda: not flood.connected, timeout=10, message="the flooding socket to be closed")
        assert screen.connected
        answer = screen.call("hello", {"key": "s" * 40, "view": "lobby"}, namespace="/display", timeout=5)
        assert answer["ok"] is True
    finally:
        for client in (flood, screen):
            if client.connected:
                client.disconnect()


def test_huge_numbers_in_a_query_are_bounded_not_500(client_as):
    cashier = client_as("cashier")
    assert cashier.get("/api/donations?limit=99999999999999999999999").status_code == 200
    assert cashier.get("/api/donations?limit=-5").status_code == 200
    receipt = cashier.post("/api/donations", json={"donor_name": "Bà Lan", "amount_vnd": 1000}).get_json()["receipt_no"]
    assert cashier.get(f"/donations/receipts/{receipt}.png?copy=99999999999999999999").status_code == 200
