"""Restore takes only what this kiosk can run, and never gives out a receipt number already printed."""
from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.storage import backup as backups

# Restoring the SQLite file; on PostgreSQL, pg_restore (tests/test_backup_postgres.py).
pytestmark = pytest.mark.sqlite_only

ROOT = Path(__file__).resolve().parent.parent


def _db_file(app) -> Path:
    return backups.database_file(app.config["DATABASE_URL"])


def _snapshot(app, folder: Path) -> Path:
    return backups.take_backup(_db_file(app), folder, keep=100, now=dt.datetime.now(dt.timezone.utc))


def _altered(snapshot: Path, tmp_path: Path, name: str, *statements: str) -> Path:
    copy = tmp_path / name
    shutil.copy(snapshot, copy)
    conn = sqlite3.connect(copy)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return copy


@pytest.mark.parametrize("name, statements, message", [
    ("newer", ["UPDATE kiosk_meta SET value = '99' WHERE key = 'schema_version'"], "phần mềm mới hơn"),
    ("odd-version", ["UPDATE kiosk_meta SET value = 'ba' WHERE key = 'schema_version'"], "thiếu phiên bản"),
    ("no-version", ["DELETE FROM kiosk_meta WHERE key = 'schema_version'"], "thiếu phiên bản"),
    ("no-event", ["PRAGMA foreign_keys = OFF", "DELETE FROM event"], "không có sự kiện"),
    ("not-ours", ["DROP TABLE scan_log", "DROP TABLE print_job"], "thiếu bảng"),
])
def test_restore_refuses_what_it_cannot_run(app, tmp_path, name, statements, message):
    snapshot = _snapshot(app, tmp_path / "backups")
    candidate = _altered(snapshot, tmp_path, f"{name}.sqlite3", *statements)
    before = _db_file(app).read_bytes()
    with pytest.raises(backups.BackupError, match=message):
        backups.restore(candidate, _db_file(app), tmp_path / "backups", dt.datetime.now(dt.timezone.utc))
    assert _db_file(app).read_bytes() == before                      # nothing was touched


def test_restore_refuses_a_sqlite_file_of_another_program(tmp_path):
    other = tmp_path / "contacts.sqlite3"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE kiosk_meta (key TEXT, value TEXT)")
    conn.execute("INSERT INTO kiosk_meta VALUES ('schema_version', '3')")
    conn.commit()
    conn.close()
    with pytest.raises(backups.BackupError, match="Không phải tệp sao lưu của kiosk"):
        backups.check_backup(other)


def _give(cashier, n: int) -> list[str]:
    return [cashier.post("/api/donations", json={"donor_name": f"Người ủng hộ {i}", "amount_vnd": 100_000 + i})
            .get_json()["receipt_no"] for i in range(n)]


def test_receipt_numbers_never_restart_below_one_already_printed(app, client_as, data_dir, tmp_path):
    cashier = client_as("cashier")
    assert _give(cashier, 2) == ["KH-2023-0001", "KH-2023-0002"]
    snapshot = _snapshot(app, tmp_path / "backups")
    assert _give(cashier, 3) == ["KH-2023-0003", "KH-2023-0004", "KH-2023-0005"]   # printed after the backup
    app.extensions["kiosk.db"].dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env.update({"KIOSK_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)})
    restored = subprocess.run([sys.executable, "-m", "kiosk", "restore", str(snapshot), "--yes"], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
    assert restored.returncode == 0, restored.stderr
    assert "biên nhận KH-2023-0003 đến KH-2023-0005 đã in sau lúc sao lưu" in restored.stdout
    assert "biên nhận tiếp theo là KH-2023-0006" in restored.stdout
    from kiosk import create_app
    from .conftest import app_config, login
    again = create_app(app_config(data_dir))
    try:
        desk = again.test_client()
        login(desk, "cashier")
        assert [d["receipt_no"] for d in desk.get("/api/donations").get_json()["donations"]] == [
            "KH-2023-0002", "KH-2023-0001"]
        assert _give(desk, 1) == ["KH-2023-0006"]
        # And again: a second restore of the same old backup still remembers 0006 was given out.
        again.extensions["kiosk.db"].dispose()
        backups.restore(snapshot, _db_file(again), tmp_path / "backups", dt.datetime.now(dt.timezone.utc))
        third = create_app(app_config(data_dir))
        desk = third.test_client()
        login(desk, "cashier")
        assert _give(desk, 1) == ["KH-2023-0007"]
        third.extensions["kiosk.db"].dispose()
    finally:
        again.extensions["kiosk.db"].dispose()


def test_a_damaged_database_is_kept_and_its_printed_receipts_still_count(app, client_as, data_dir, tmp_path):
    """The usual reason to restore: the database is damaged. Numbers printed since the backup are known from
    what can still be read (here: the receipt previews the printer left), and never given out again."""
    cashier = client_as("cashier")
    _give(cashier, 2)
    snapshot = _snapshot(app, tmp_path / "backups")
    _give(cashier, 3)                                                   # 0003–0005, printed (previews)
    assert (data_dir / "receipts" / "KH-2023-0005.png").exists()
    app.extensions["kiosk.db"].dispose()
    db_file = _db_file(app)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    db_file.write_bytes(b"SQLite format 3\0" + os.urandom(8192))       # damaged beyond reading
    restored = backups.restore(snapshot, db_file, tmp_path / "backups", dt.datetime.now(dt.timezone.utc),
                               data_dir / "receipts")
    assert restored.missing_receipts == [("KH-2023", 3, 5)]
    assert restored.safety.name.endswith("-hong.sqlite3") and restored.safety.stat().st_size == 8192 + 16
    from kiosk import create_app
    from .conftest import app_config, login
    again = create_app(app_config(data_dir))
    try:
        desk = again.test_client()
        login(desk, "cashier")
        assert _give(desk, 1) == ["KH-2023-0006"]
    finally:
        again.extensions["kiosk.db"].dispose()
