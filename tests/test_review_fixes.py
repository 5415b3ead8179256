"""Edge cases a review found: each would have been a wrong import, a 500, a bypass or lost data."""
from __future__ import annotations

import datetime as dt
import threading

import pytest

from checkin import invitations
from checkin.importer import parse_invitees
from kiosk.pins import LoginThrottle
from kiosk.storage import backup as backups
from kiosk.storage.group_commit import GroupCommitter

from .conftest import PINS
from .gate_helpers import first_non_vip
from .invitee_files import csv_bytes


def test_stt_is_the_row_number_not_the_protocol_rank():
    data = csv_bytes([["1", "Nguyễn An", "UBND", "5"], ["2", "Trần Bình", "UBND", "1"]],
                     headers=["STT", "Họ và tên", "Đơn vị", "Thứ tự"])
    report = parse_invitees("ds.csv", data, {})
    assert report.ok
    assert [p.protocol_rank for _row, p in report.rows] == [5, 1]


@pytest.mark.parametrize("body", [{"invitee_id": True, "reason": "x"}, {"invitee_id": 2**70, "reason": "x"},
                                  {"invitee_id": 1, "reason": "x", "gate": 5}])
def test_undo_with_bad_fields_is_400_not_500(client_as, body):
    response = client_as("admin").post("/api/checkin/undo", json=body)
    assert response.status_code == 400 and response.get_json()["error"] == "bad_request"


@pytest.mark.parametrize("invitee_id", [True, 2**70, 0, -3])
def test_admit_by_id_refuses_odd_ids(client_as, invitee_id):
    response = client_as("gate").post("/api/checkin/by-id", json={"invitee_id": invitee_id})
    assert response.status_code == 400


def test_an_undo_nonce_never_blocks_a_later_scan(app, client_as):
    gate, admin = client_as("gate"), client_as("admin")
    invitee_id, code, _ = first_non_vip(app)
    gate.post("/api/checkin", json={"code": code})
    assert admin.post("/api/checkin/undo", json={"invitee_id": invitee_id, "reason": "nhầm",
                                                 "nonce": "same"}).status_code == 200
    again = gate.post("/api/checkin", json={"code": code, "nonce": "same"})
    assert again.status_code == 200 and again.get_json()["result"] == "ok"


def test_parallel_wrong_pins_get_at_most_five_checks():
    throttle = LoginThrottle(clock=lambda: 100.0)
    allowed, barrier = [], threading.Barrier(40)

    def attempt():
        barrier.wait()
        if throttle.begin("10.0.0.9") == 0:
            allowed.append(1)

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(allowed) == 5
    assert throttle.wait_seconds("10.0.0.9") == 30


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/evil.example", "/\\evil.example",
                                    "//evil.example", "https://evil.example/", "/ /evil.example"])
def test_login_never_redirects_off_site(client, target):
    response = client.post("/login", data={"role": "gate", "pin": PINS["gate"], "next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/gate"


def test_the_copy_saved_before_a_restore_survives_pruning(app, tmp_path):
    db_file = backups.database_file(app.config["DATABASE_URL"])
    start = dt.datetime(2023, 10, 2, tzinfo=dt.timezone.utc)
    snap = backups.take_backup(db_file, tmp_path, keep=2, now=start)
    safety = backups.restore(snap, db_file, tmp_path, start + dt.timedelta(minutes=1))
    for minute in range(2, 8):
        backups.take_backup(db_file, tmp_path, keep=2, now=start + dt.timedelta(minutes=minute))
    assert safety.exists() and len(backups.list_backups(tmp_path)) == 2
    # Two backups in the same second both land.
    same = start + dt.timedelta(hours=1)
    first, second = (backups.take_backup(db_file, tmp_path, keep=50, now=same) for _ in range(2))
    assert first != second and first.exists() and second.exists()


def test_the_committer_survives_a_failing_write(app):
    committer = GroupCommitter(app.extensions["kiosk.db"].write)

    def boom(session):
        raise RuntimeError("lỗi giả")

    with pytest.raises(RuntimeError):
        committer.submit(boom)
    assert committer.submit(lambda session: 42) == 42
    committer.stop()
