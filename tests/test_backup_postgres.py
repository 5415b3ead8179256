"""Backups on PostgreSQL: pg_dump from the command line, the admin's button and the schedule, the same line
on every process's dashboard, and pg_restore that keeps printed receipt numbers given out."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from kiosk import create_app
from kiosk.storage import pg_backup, snapshots

from .conftest import app_config, login

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def pg_app(tmp_path, postgres):
    """An app on a fresh PostgreSQL database (whichever pass of the suite this is)."""
    url = postgres.new_database()
    app = create_app(app_config(tmp_path / "data", DATABASE_URL=url))
    yield app
    app.extensions["kiosk.db"].dispose()


def _cli(app, data_dir: Path, *args: str, stdin: str = ""):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env.update({"KIOSK_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT), "DATABASE_URL": app.config["DATABASE_URL"]})
    return subprocess.run([sys.executable, "-m", "kiosk", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120, input=stdin)


def _give(client, name: str, amount: int) -> str:
    answer = client.post("/api/donations", json={"donor_name": name, "amount_vnd": amount})
    assert answer.status_code in (200, 201), answer.get_json()
    return answer.get_json()["receipt_no"]


def test_a_pg_dump_restores_the_ledger_and_never_reissues_a_printed_number(pg_app, tmp_path):
    db = pg_app.extensions["kiosk.db"]
    cashier = pg_app.test_client()
    login(cashier, "cashier")
    first = _give(cashier, "Nguyễn Văn An", 500_000)
    made = _cli(pg_app, tmp_path / "cli", "backup")
    assert made.returncode == 0, made.stderr
    dump = Path(made.stdout.strip().split(": ", 1)[1])
    assert dump.suffix == ".dump" and dump.stat().st_size > 0
    assert oct(dump.stat().st_mode & 0o777) == "0o600"
    later = [_give(cashier, "Trần Thị Mai", 200_000), _give(cashier, "Lê Văn Hùng", 1_005_000)]

    refused = _cli(pg_app, tmp_path / "cli", "restore", str(dump), stdin="n\n")
    assert refused.returncode != 0 and "Đã huỷ" in refused.stderr
    done = _cli(pg_app, tmp_path / "cli", "restore", str(dump), stdin="y\n")
    assert done.returncode == 0, done.stderr
    assert "Đã khôi phục" in done.stdout and later[-1] in done.stdout  # the numbers printed since are named
    with db.read() as session:
        numbers = [n for n, in session.execute(text("SELECT receipt_no FROM donation ORDER BY seq"))]
    assert numbers == [first]
    again = _give(cashier, "Phạm Thu Hà", 300_000)
    assert again not in later and again.endswith("0004")  # after the highest printed, never a reused one
    safety = [p for p in (tmp_path / "cli" / "backups").iterdir() if p.name.startswith("truoc-khoi-phuc-")]
    assert len(safety) == 1 and safety[0].stat().st_size > 0


def test_every_process_dashboard_shows_the_newest_dump_and_the_button_takes_one(pg_app, tmp_path):
    admin = pg_app.test_client()
    login(admin, "admin")
    assert admin.get("/api/dashboard").get_json()["backup"] is None
    answer = admin.post("/admin/backup")
    assert answer.status_code == 302
    shown = admin.get("/api/dashboard").get_json()["backup"]
    assert shown["file"].endswith(".dump") and shown["size_kb"] >= 1
    # Another process, with a data folder of its own, shows the same backup.
    other = create_app(app_config(tmp_path / "other", DATABASE_URL=pg_app.config["DATABASE_URL"]))
    try:
        assert snapshots.newest(other.extensions["kiosk.db"], tmp_path / "other") == shown
    finally:
        other.extensions["kiosk.db"].dispose()


def test_only_one_process_takes_the_scheduled_dumps(pg_app, tmp_path):
    db = pg_app.extensions["kiosk.db"]
    schedules = [snapshots.AutoBackup(db, tmp_path / f"p{i}", minutes=0.02, keep=3) for i in range(2)]
    try:
        for schedule in schedules:
            schedule.start()
        deadline = dt.datetime.now() + dt.timedelta(seconds=20)
        while dt.datetime.now() < deadline and len(pg_backup.list_dumps(tmp_path / "p0" / "backups")) + \
                len(pg_backup.list_dumps(tmp_path / "p1" / "backups")) < 3:
            time.sleep(0.05)
    finally:
        for schedule in schedules:
            schedule.stop()
    counts = [len(pg_backup.list_dumps(tmp_path / f"p{i}" / "backups")) for i in range(2)]
    assert sorted(counts)[0] == 0 and sorted(counts)[1] >= 1, counts  # one process dumps, kept to `keep`
    assert max(counts) <= 3


def test_a_file_that_is_not_a_dump_is_refused_in_vietnamese(pg_app, tmp_path):
    bogus = tmp_path / "khong-phai.sqlite3"
    bogus.write_bytes(b"SQLite format 3\x00")
    done = _cli(pg_app, tmp_path / "cli", "restore", str(bogus), "--yes")
    assert done.returncode != 0 and "không phải bản sao lưu PostgreSQL" in done.stderr
