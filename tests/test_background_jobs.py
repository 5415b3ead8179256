"""Card exports and imports kept in the database: followed (and an export downloaded, an import's valid rows
written) by any app on the same database, one at a time, a job whose process died read as failed (and a new
one allowed), a live one never taken for dead, and the exports folder where KIOSK_EXPORT_DIR says."""
from __future__ import annotations

import datetime as dt
import io
import stat
import uuid
from pathlib import Path

import pytest

from checkin import import_jobs
from checkin.background import QUIET_SECONDS
from checkin.card_exports import INTERRUPTED
from kiosk import create_app
from kiosk.storage import Database, jobs, utcnow

from .conftest import app_config, login
from .display_helpers import wait_until
from .invitee_files import xlsx_bytes


@pytest.fixture
def apps_on_one_database(tmp_path):
    """Factory: apps on one data folder and database, as two processes would be; all closed at the end."""
    made = []

    def make(**extra):
        made.append(create_app(app_config(tmp_path / "data", **extra)))
        return made[-1]
    yield make
    for app in made:
        app.extensions["kiosk.db"].dispose()


def _admin(app):
    client = app.test_client()
    login(client, "admin")
    return client


def _finished(client, job: str) -> dict:
    status = {}

    def done():
        status.update(client.get(f"/api/invitations/export/{job}").get_json())
        return status["status"] != "running"
    wait_until(done, timeout=90, message="the export to end")
    return status


def _left_running(db: Database, quiet_for: float = 60.0, kind: str = "cards") -> str:
    """A running job as a process that has been silent for `quiet_for` seconds leaves it."""
    job_id = uuid.uuid4().hex
    with db.write() as session:
        jobs.add(session, job_id, kind, "running" if kind == "cards" else "writing", "may-khac:4242:abcdef",
                 utcnow(), total=100, detail={"format": "pdf"} if kind == "cards" else {"filename": "ds.xlsx"})
        jobs.change(session, job_id, utcnow() - dt.timedelta(seconds=quiet_for), done=37)
    return job_id


def test_an_export_lands_in_the_exports_folder_and_another_app_on_the_database_follows_and_serves_it(
        tmp_path, apps_on_one_database):
    shared = tmp_path / "the-shared-exports"
    admin = _admin(apps_on_one_database(KIOSK_EXPORT_DIR=str(shared)))
    started = admin.post("/api/invitations/export", json={"format": "pdf"})
    assert started.status_code == 202 and started.get_json()["total"] > 0
    job = started.get_json()["job"]
    status = _finished(admin, job)
    assert status["status"] == "done" and status["done"] == status["total"], status
    files = list(shared.glob("thu-moi-*.pdf"))
    assert len(files) == 1 and stat.S_IMODE(shared.stat().st_mode) == 0o700
    assert not list((tmp_path / "data" / "exports").glob("thu-moi-*"))
    # Another app on the same database and exports folder (another process) knows the export.
    other = _admin(apps_on_one_database(KIOSK_EXPORT_DIR=str(shared)))
    assert other.get(f"/api/invitations/export/{job}").get_json() == status
    download = other.get(status["download_url"])
    assert download.status_code == 200 and download.data == files[0].read_bytes()
    assert download.data.startswith(b"%PDF")


def test_an_export_whose_process_died_reads_failed_and_a_new_one_starts(app):
    admin = _admin(app)
    dead = _left_running(app.extensions["kiosk.db"])
    status = admin.get(f"/api/invitations/export/{dead}").get_json()
    assert status["status"] == "failed" and status["error"] == INTERRUPTED and status["done"] == 37
    started = admin.post("/api/invitations/export", json={"format": "png"}).get_json()
    assert started["job"] != dead and "message" not in started
    assert _finished(admin, started["job"])["status"] == "done"


def test_a_dead_export_blocking_a_start_is_given_up_at_once(app):
    admin = _admin(app)
    dead = _left_running(app.extensions["kiosk.db"])
    started = admin.post("/api/invitations/export", json={"format": "pdf"}).get_json()
    assert started["job"] != dead and started["status"] == "running"
    assert admin.get(f"/api/invitations/export/{dead}").get_json()["status"] == "failed"
    _finished(admin, started["job"])


def test_an_export_another_live_process_runs_is_never_taken_for_dead(app):
    db = app.extensions["kiosk.db"]
    admin = _admin(app)
    if db.is_sqlite:
        # One process serves SQLite: an export of another is alive only while it keeps writing its progress.
        alive = _left_running(db, quiet_for=0)
        assert QUIET_SECONDS >= 5
        release = lambda: None  # noqa: E731
    else:
        # On PostgreSQL the other process holds the export's lock for as long as it lives, even silent.
        alive = _left_running(db, quiet_for=600)
        other_process = Database(app.config["DATABASE_URL"])
        held = other_process.try_hold(f"cards {alive}")
        assert held is not None

        def release():
            held.release()
            other_process.dispose()
    try:
        assert admin.get(f"/api/invitations/export/{alive}").get_json()["status"] == "running"
        again = admin.post("/api/invitations/export", json={"format": "pdf"})
        assert again.status_code == 202 and again.get_json()["job"] == alive
        assert "Đang có một lượt tạo thẻ (PDF)" in again.get_json()["message"]
    finally:
        release()
    if not db.is_sqlite:   # its process gone (the lock with it): now it is given up
        assert admin.get(f"/api/invitations/export/{alive}").get_json()["status"] == "failed"


def test_a_download_this_process_cannot_find_says_why(app):
    admin = _admin(app)
    job = admin.post("/api/invitations/export", json={"format": "pdf"}).get_json()["job"]
    status = _finished(admin, job)
    for path in Path(app.config["KIOSK_EXPORT_DIR"]).glob("thu-moi-*"):
        path.unlink()                         # as if made on a process with an exports folder of its own
    answer = admin.get(status["download_url"])
    assert answer.status_code == 404
    text = answer.get_data(as_text=True)
    assert "tiến trình máy chủ khác" in text and "KIOSK_EXPORT_DIR" in text


def _upload(client, data: bytes, name: str = "ds.xlsx"):
    return client.post("/admin/invitees/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_an_import_checked_on_one_app_is_shown_and_written_by_another(apps_on_one_database):
    first = _admin(apps_on_one_database())
    good = ["Nguyễn Thị Hằng", "Bà", "Giáo viên", "Trường THCS Phủ Thông", "", "", "", "", ""]
    answer = _upload(first, xlsx_bytes([good, ["", "Ông", "", "X", "", "", "", "", ""]]))
    assert answer.status_code == 303
    job = answer.headers["Location"].rsplit("/", 1)[1]
    other = _admin(apps_on_one_database())
    report = other.get(f"/admin/invitees/import/{job}")
    page = report.get_data(as_text=True)
    assert report.status_code == 400 and "chưa nhập dòng nào" in page and "Chỉ nhập 1 dòng hợp lệ" in page
    written = other.post("/admin/invitees/import", data={"job": job})
    assert written.status_code == 303
    assert other.get(written.headers["Location"]).status_code == 302          # done: back to the list
    listing = other.get("/admin/invitees").get_data(as_text=True)
    assert "Đã nhập “ds.xlsx”: thêm 1, cập nhật 0, bỏ qua 1 dòng lỗi." in listing
    assert "Nguyễn Thị Hằng" in listing
    # Told once, on whichever app: the first one does not announce it again.
    assert "Đã nhập “ds.xlsx”" not in first.get(f"/admin/invitees/import/{job}",
                                                follow_redirects=True).get_data(as_text=True)


def test_an_import_whose_process_died_reads_failed_and_another_can_start(app):
    admin = _admin(app)
    dead = _left_running(app.extensions["kiosk.db"], kind="import")
    page = admin.get(f"/admin/invitees/import/{dead}")
    assert page.status_code == 400 and import_jobs.INTERRUPTED in page.get_data(as_text=True)
    good = ["Lý Văn Quân", "Ông", "", "Tổ dân phố 2", "", "", "", "", ""]
    started = _upload(admin, xlsx_bytes([good]))
    assert started.status_code == 303 and dead not in started.headers["Location"]
    assert "Lý Văn Quân" in admin.get("/admin/invitees").get_data(as_text=True)


def test_an_import_running_elsewhere_turns_a_second_upload_away(app):
    db = app.extensions["kiosk.db"]
    admin = _admin(app)
    alive = _left_running(db, quiet_for=0, kind="import")
    answer = _upload(admin, xlsx_bytes([["Lý Văn Quân", "Ông", "", "Tổ dân phố 2", "", "", "", "", ""]]))
    assert answer.status_code == 303 and answer.headers["Location"].endswith(alive)
    followed = admin.get(answer.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "Hãy đợi xong rồi nhập tệp khác" in followed and "37/100" in followed
