"""The admin's rehearsal buttons: begin a tổng duyệt on a copy, end it, download the reports it left."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, request, send_from_directory, url_for

from . import auth, rehearsal
from .storage import utcnow
from .vietnamese import format_date_short, format_time
from .views import bp

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPORT_NAME = re.compile(r"bao-cao-tong-duyet-\d{8}-\d{6}\.xlsx")
NOT_FROM_CLI = ("Máy chủ này không chạy bằng ./run.sh nên không tự khởi động lại được. "
                "Hãy dừng nó và chạy: ./run.sh rehearse")


def real_data_dir() -> Path:
    """The real event's data folder, also while a rehearsal serves from its copy inside it."""
    data_dir = Path(current_app.config["KIOSK_DATA_DIR"])
    return data_dir.parent if current_app.config.get("KIOSK_REHEARSAL") else data_dir


def report_files(timezone: str = "UTC") -> list[tuple[str, str]]:
    """(file name, “17h14, 03/12/2026”) of each rehearsal report kept in the real exports folder, newest first."""
    files = []
    for path in rehearsal.reports(real_data_dir()):
        # The name carries the UTC moment the rehearsal ended; people read it in the event's time zone.
        ended = dt.datetime.strptime(path.name, "bao-cao-tong-duyet-%Y%m%d-%H%M%S.xlsx").replace(tzinfo=dt.timezone.utc)
        local = ended.astimezone(ZoneInfo(timezone))
        files.append((path.name, f"{format_time(local)}, {format_date_short(local)}"))
    return files


def _back():
    return redirect(url_for("kiosk.admin") + "#rehearsal")


@bp.post("/admin/rehearsal/start")
@auth.requires_role("admin")
def rehearsal_start():
    if current_app.config.get("KIOSK_REHEARSAL"):
        flash("Đang tổng duyệt rồi.", "error")
        return _back()
    restart = current_app.extensions.get("kiosk.restart")
    if restart is None:
        flash(NOT_FROM_CLI, "error")
        return _back()
    start = (request.form.get("start") or "").strip()[:8] or None
    try:
        rehearsal.prepare(current_app.config["KIOSK_DATA_DIR"], current_app.config["DATABASE_URL"], utcnow(), start)
    except rehearsal.RehearsalError as exc:
        flash(str(exc), "error")
        return _back()
    restart(["rehearse", "--prepared"])
    flash("Đang chuyển sang tổng duyệt: máy chủ khởi động lại trên bản sao dữ liệu, các trạm tự tải lại sau "
          "vài giây. Dữ liệu thật không bị ghi cho đến khi kết thúc tổng duyệt.")
    return _back()


@bp.post("/admin/rehearsal/end")
@auth.requires_role("admin")
def rehearsal_end():
    if not current_app.config.get("KIOSK_REHEARSAL"):
        flash("Không có buổi tổng duyệt nào đang chạy.", "error")
        return _back()
    restart = current_app.extensions.get("kiosk.restart")
    if restart is None:
        flash("Máy chủ này không chạy bằng ./run.sh: nhấn Ctrl+C ở cửa sổ dòng lệnh để kết thúc tổng duyệt.",
              "error")
        return _back()
    restart(["serve"])
    flash("Đang kết thúc tổng duyệt: báo cáo tổng duyệt được giữ lại, bản sao bị xoá, máy chủ trở lại buổi lễ "
          "thật. Các trạm tự tải lại sau vài giây.")
    return _back()


@bp.get("/admin/rehearsal/reports/<name>")
@auth.requires_role("admin")
def rehearsal_report(name: str):
    if not REPORT_NAME.fullmatch(name) or name not in (path.name for path in rehearsal.reports(real_data_dir())):
        abort(404)
    return send_from_directory(real_data_dir() / "exports", name, mimetype=XLSX, as_attachment=True)
