"""The organiser's pages: the live dashboard, backups, and the after-event report."""
from __future__ import annotations

from io import BytesIO
from pathlib import Path

from flask import abort, current_app, flash, jsonify, redirect, render_template, send_file, url_for

from . import auth, dashboard, report, report_files
from .storage import backup as backups
from .storage import snapshots
from .storage import utcnow
from .views import bp, load_event_view

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _app():
    return current_app._get_current_object()


@bp.get("/admin")
@auth.requires_role("admin")
def admin():
    from display.control import programme_view
    event, _items, groups = load_event_view()
    from .rehearsal import default_start
    from .rehearsal_views import report_files
    view = programme_view(_app())
    suggested = default_start(utcnow(), event.timezone).strftime("%H:%M")
    return render_template("admin.html", event=event, items=view["items"], groups=groups,
                           warnings=view["warnings"], dashboard=dashboard.snapshot(_app()),
                           rehearsal_start=suggested, rehearsal_reports=report_files(event.timezone))


@bp.get("/api/dashboard")
@auth.requires_role("admin")
def api_dashboard():
    return jsonify(dashboard.snapshot(_app()))


@bp.post("/admin/backup")
@auth.requires_role("admin")
def admin_backup():
    try:
        path = snapshots.take(current_app.extensions["kiosk.db"], Path(current_app.config["KIOSK_DATA_DIR"]),
                              current_app.config["KIOSK_BACKUP_KEEP"], utcnow())
    except backups.BackupError as exc:
        flash(str(exc), "error")
    else:
        flash(f"Đã sao lưu: {path.name}")
    return redirect(url_for("kiosk.admin"))


def _report() -> report.Report:
    return report.build(current_app.extensions["kiosk.db"], utcnow())


@bp.get("/admin/report")
@auth.requires_role("admin")
def admin_report():
    data = _report()
    return render_template("report.html", report=data, tables=data.tables)


@bp.get("/admin/report.xlsx")
@auth.requires_role("admin")
def report_xlsx():
    return send_file(BytesIO(report_files.workbook_bytes(_report())), mimetype=XLSX, as_attachment=True,
                     download_name=f"bao-cao-le-khai-mac-{utcnow():%Y%m%d-%H%M}.xlsx")


@bp.get("/admin/report/<key>.csv")
@auth.requires_role("admin")
def report_csv(key: str):
    table = next((t for t in _report().tables if t.key == key), None)
    if table is None:
        abort(404)
    return send_file(BytesIO(report_files.csv_bytes(table)), mimetype="text/csv", as_attachment=True,
                     download_name=f"{key}.csv")


@bp.get("/admin/report/print")
@auth.requires_role("admin")
def report_print():
    return render_template("report_print.html", report=_report())
