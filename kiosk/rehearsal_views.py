"""The admin's rehearsal buttons: begin a tổng duyệt on a copy, end it, download the reports it left."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, send_from_directory, url_for

from . import auth, rehearsal
from .storage import utcnow
from .vietnamese import format_date_short, format_time
from .views import bp

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOT_FROM_CLI = ("Máy chủ này không chạy bằng ./run.sh nên không tự khởi động lại được. "
                "Hãy dừng nó và chạy: ./run.sh rehearse")
SWITCHING = "Máy chủ đang khởi động lại, các trạm tự tải lại sau vài giây."


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


def _switching(message: str):
    """The answer to a button that restarts the server: a page that waits for the other server, then opens
    its admin page (a redirect could land in the second the old server closes, on a browser error page)."""
    return render_template("rehearsal_switching.html", message=message)


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
    with restart.lock:
        if restart.pending():
            return _switching(SWITCHING)
        try:
            copy_dir = rehearsal.prepare(current_app.config["KIOSK_DATA_DIR"], current_app.config["DATABASE_URL"],
                                         utcnow(), start)
        except rehearsal.RehearsalError as exc:
            flash(str(exc), "error")
            return _back()
        # The start goes along in case the copy cannot be used and `rehearse` has to make it again.
        restart(["rehearse", "--prepared", "--start", rehearsal.info(copy_dir)["programme_start"][11:16]])
    return _switching("Đang chuyển sang tổng duyệt: máy chủ khởi động lại trên bản sao dữ liệu, các trạm tự tải "
                      "lại sau vài giây. Dữ liệu thật không bị ghi cho đến khi kết thúc tổng duyệt.")


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
    with restart.lock:
        if restart.pending():
            return _switching(SWITCHING)
        restart(["serve"])
    return _switching("Đang kết thúc tổng duyệt: báo cáo tổng duyệt được giữ lại, bản sao bị xoá, máy chủ trở lại "
                      "buổi lễ thật. Các trạm tự tải lại sau vài giây.")


@bp.get("/admin/rehearsal/reports/<name>")
@auth.requires_role("admin")
def rehearsal_report(name: str):
    if not rehearsal.REPORT_NAME.fullmatch(name) or name not in (path.name for path in rehearsal.reports(real_data_dir())):
        abort(404)
    return send_from_directory(real_data_dir() / "exports", name, mimetype=XLSX, as_attachment=True)
