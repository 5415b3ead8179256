"""Backups: consistent snapshots while writes are in progress, pruning, restore after confirmation."""
from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from checkin import checkins
from kiosk.storage import backup as backups

from .gate_helpers import invitations

# Backups of the SQLite file; on PostgreSQL, pg_dump and pg_restore (tests/test_backup_postgres.py).
pytestmark = pytest.mark.sqlite_only

ROOT = Path(__file__).resolve().parent.parent


def _db_file(app) -> Path:
    return backups.database_file(app.config["DATABASE_URL"])


def test_backup_while_scans_are_written_restores_to_a_consistent_database(app, tmp_path):
    db = app.extensions["kiosk.db"]
    rows = invitations(app)
    meta = checkins.ScanMeta(gate="A", operator="gate", client_addr="t", nonce=None)
    stop = threading.Event()

    def keep_scanning():
        i = 0
        while not stop.is_set():
            checkins.scan(db, rows[i % len(rows)][1], meta)
            i += 1

    writer = threading.Thread(target=keep_scanning)
    writer.start()
    try:
        snapshots = [backups.take_backup(_db_file(app), tmp_path / "b", keep=50,
                                         now=dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=i))
                     for i in range(5)]
    finally:
        stop.set()
        writer.join()
    for snap in snapshots:
        conn = sqlite3.connect(snap)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # Consistent: every admitted person has exactly the ok rows the log says, in the same snapshot.
        admitted = conn.execute("SELECT count(*) FROM invitee WHERE checked_in_at IS NOT NULL").fetchone()[0]
        ok_rows = conn.execute("SELECT count(DISTINCT invitee_id) FROM scan_log WHERE outcome='ok'").fetchone()[0]
        assert admitted == ok_rows
        conn.close()


def test_old_backups_are_pruned(app, tmp_path):
    base = dt.datetime(2023, 10, 2, 0, 0, tzinfo=dt.timezone.utc)
    for i in range(5):
        path = backups.take_backup(_db_file(app), tmp_path, keep=3, now=base + dt.timedelta(minutes=i))
        os.utime(path, (1_700_000_000 + i, 1_700_000_000 + i))
    kept = backups.list_backups(tmp_path)
    assert len(kept) == 3


def test_restore_brings_back_the_snapshot_and_keeps_the_current_one(app, tmp_path):
    db = app.extensions["kiosk.db"]
    snap = backups.take_backup(_db_file(app), tmp_path, keep=10, now=dt.datetime.now(dt.timezone.utc))
    meta = checkins.ScanMeta(gate="A", operator="gate", client_addr="t", nonce=None)
    checkins.scan(db, invitations(app, 1)[0][1], meta)
    safety = backups.restore(snap, _db_file(app), tmp_path,
                             dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=5)).safety
    conn = sqlite3.connect(_db_file(app))
    assert conn.execute("SELECT count(*) FROM scan_log").fetchone()[0] == 0
    conn.close()
    conn = sqlite3.connect(safety)
    assert conn.execute("SELECT count(*) FROM scan_log").fetchone()[0] == 1
    conn.close()


def test_restore_refuses_files_that_are_not_kiosk_backups(tmp_path):
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all, just text" * 10)
    with pytest.raises(backups.BackupError, match="Không phải tệp sao lưu"):
        backups.check_backup(junk)
    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).execute("CREATE TABLE x (a)").connection.close()
    with pytest.raises(backups.BackupError):
        backups.check_backup(empty)


def _cli(data_dir, *args, stdin=""):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env.update({"KIOSK_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)})
    return subprocess.run([sys.executable, "-m", "kiosk", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=60, input=stdin)


def test_cli_backup_and_restore_with_confirmation(app, data_dir):
    made = _cli(data_dir, "backup")
    assert made.returncode == 0, made.stderr
    path = made.stdout.strip().split(": ", 1)[1]
    refused = _cli(data_dir, "restore", path, stdin="n\n")
    assert refused.returncode != 0 and "Đã huỷ" in refused.stderr
    done = _cli(data_dir, "restore", path, stdin="y\n")
    assert done.returncode == 0 and "Đã khôi phục" in done.stdout


def test_the_copy_saved_before_a_restore_survives_pruning(app, tmp_path):
    db_file = backups.database_file(app.config["DATABASE_URL"])
    start = dt.datetime(2023, 10, 2, tzinfo=dt.timezone.utc)
    snap = backups.take_backup(db_file, tmp_path, keep=2, now=start)
    safety = backups.restore(snap, db_file, tmp_path, start + dt.timedelta(minutes=1)).safety
    for minute in range(2, 8):
        backups.take_backup(db_file, tmp_path, keep=2, now=start + dt.timedelta(minutes=minute))
    assert safety.exists() and len(backups.list_backups(tmp_path)) == 2
    # Two backups in the same second both land.
    same = start + dt.timedelta(hours=1)
    first, second = (backups.take_backup(db_file, tmp_path, keep=50, now=same) for _ in range(2))
    assert first != second and first.exists() and second.exists()
