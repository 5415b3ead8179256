"""Admin pages for invitations: the list, add/edit, import, reissue, substitutes, cards."""
from __future__ import annotations

from io import BytesIO

from flask import (abort, current_app, flash, jsonify, redirect, render_template, request, send_file,
                   url_for)

from kiosk import auth, boundary
from kiosk.storage import events as event_queries
from kiosk.storage import invitees as invitee_queries

from . import bp, card_exports, invitations, naming
from .codes import display_form
from .import_jobs import ImportJobs
from .people import HONORIFICS, PersonError

ADMIN = "admin"
UPLOAD_LIMIT = 5 * 1024 * 1024
TOO_LARGE = boundary.TOO_LARGE_MESSAGES["checkin.import_upload"]


def _db():
    return current_app.extensions["kiosk.db"]


def _jobs() -> card_exports.CardJobs:
    return current_app.extensions["kiosk.card_jobs"]


def _groups():
    with _db().read() as session:
        event = event_queries.current_event(session)
        return invitee_queries.group_pairs(session, event.id), event


@bp.app_template_filter("code_groups")
def _code_groups(code: str | None) -> str:
    return display_form(code) if code else "—"


@bp.app_template_filter("listed_name")
def _listed_name(person) -> str:
    """A person with their honorific; an office's invitation as written ("Đại diện …")."""
    return naming.card_name(person.honorific, person.full_name)


@bp.get("/admin/invitees")
@auth.requires_role(ADMIN)
def admin_invitees():
    query = request.args.get("q", "")
    with _db().read() as session:
        event = event_queries.current_event(session)
        people = invitee_queries.list_invitees(session, event.id, query or None)
        total = invitee_queries.count_invitations(session, event.id)
    return render_template("checkin/invitees.html", people=people, query=query, total=total, event=event)


def _form_values() -> dict:
    keys = ("full_name", "honorific", "title", "organisation", "group", "protocol_rank", "seat", "phone", "note")
    return {key: request.form.get(key) for key in keys}


def _render_form(person=None, values=None, error=None, status=200):
    groups, event = _groups()
    codes = []
    if person is not None:
        with _db().read() as session:
            codes = invitee_queries.code_history(session, person.id)
    return render_template("checkin/invitee_form.html", person=person, values=values or {}, groups=groups,
                           default_group=event.default_group_key, honorifics=HONORIFICS, codes=codes,
                           error=error, event_tz=event.timezone), status


@bp.get("/admin/invitees/new")
@auth.requires_role(ADMIN)
def invitee_new():
    return _render_form()


@bp.post("/admin/invitees/new")
@auth.requires_role(ADMIN)
def invitee_create():
    try:
        fields = invitations.person_from_form(_db(), _form_values())
    except PersonError as exc:
        return _render_form(values=_form_values(), error=f"{exc.column}: {exc.message}", status=400)
    invitee_id = invitations.add_person(_db(), fields, auth.current_role())
    flash(f"Đã thêm “{fields.full_name}” và cấp mã thư mời.")
    return redirect(url_for("checkin.invitee_edit", invitee_id=invitee_id))


def _person_or_404(invitee_id: int):
    with _db().read() as session:
        person = invitee_queries.get_invitee(session, invitee_id)
    if person is None:
        abort(404)
    return person


@bp.get("/admin/invitees/<int:invitee_id>")
@auth.requires_role(ADMIN)
def invitee_edit(invitee_id: int):
    person = _person_or_404(invitee_id)
    values = {"full_name": person.full_name, "honorific": person.honorific, "title": person.title,
              "organisation": person.organisation, "group": person.group.key,
              "protocol_rank": person.protocol_rank, "seat": person.seat, "phone": person.phone,
              "note": person.note}
    return _render_form(person, values)


@bp.post("/admin/invitees/<int:invitee_id>")
@auth.requires_role(ADMIN)
def invitee_update(invitee_id: int):
    person = _person_or_404(invitee_id)
    try:
        fields = invitations.person_from_form(_db(), _form_values())
        invitations.edit_person(_db(), invitee_id, fields, auth.current_role())
    except PersonError as exc:
        return _render_form(person, _form_values(), f"{exc.column}: {exc.message}", 400)
    except invitations.InvitationError as exc:
        return _render_form(person, _form_values(), exc.message, 400)
    flash("Đã lưu thay đổi.")
    return redirect(url_for("checkin.invitee_edit", invitee_id=invitee_id))


def _action(invitee_id: int, run, done_message: str):
    """Run a POSTed action on one invitee; flash its outcome and return to the edit page."""
    try:
        run()
        flash(done_message)
    except invitations.InvitationError as exc:
        flash(exc.message, "error")
    return redirect(url_for("checkin.invitee_edit", invitee_id=invitee_id))


@bp.post("/admin/invitees/<int:invitee_id>/reissue")
@auth.requires_role(ADMIN)
def invitee_reissue(invitee_id: int):
    reason = request.form.get("reason", "")
    return _action(invitee_id, lambda: invitations.reissue(_db(), invitee_id, reason, auth.current_role()),
                   "Đã cấp mã mới. Mã cũ đã bị thu hồi và sẽ bị từ chối ở cổng. Hãy in lại thẻ.")


@bp.post("/admin/invitees/<int:invitee_id>/substitute")
@auth.requires_role(ADMIN)
def invitee_substitute(invitee_id: int):
    name, title = request.form.get("substitute_name"), request.form.get("substitute_title")
    return _action(invitee_id, lambda: invitations.set_substitute(_db(), invitee_id, name, title,
                                                                  auth.current_role()),
                   "Đã ghi nhận người đi thay." if (name or "").strip() else "Đã xoá người đi thay.")


@bp.post("/admin/invitees/<int:invitee_id>/remove")
@auth.requires_role(ADMIN)
def invitee_remove(invitee_id: int):
    try:
        invitations.remove_person(_db(), invitee_id, auth.current_role())
    except invitations.InvitationError as exc:
        flash(exc.message, "error")
        return redirect(url_for("checkin.invitee_edit", invitee_id=invitee_id))
    flash("Đã huỷ thư mời. Mã của thư mời này sẽ bị từ chối ở cổng.")
    return redirect(url_for("checkin.admin_invitees"))


@bp.get("/admin/invitees/<int:invitee_id>/card.png")
@auth.requires_role(ADMIN)
def invitee_card(invitee_id: int):
    try:
        data, name = invitations.card_png(_db(), invitee_id)
    except invitations.InvitationError:
        abort(404)
    return send_file(BytesIO(data), mimetype="image/png", download_name=name,
                     as_attachment=request.args.get("download") == "1", max_age=0)


@bp.get("/admin/invitees/template.xlsx")
@auth.requires_role(ADMIN)
def import_template():
    return send_file(BytesIO(invitations.import_template(_db())), download_name="mau-danh-sach-khach-moi.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     as_attachment=True)


def _import_jobs() -> ImportJobs:
    return current_app.extensions["kiosk.import_jobs"]


@bp.post("/admin/invitees/import")
@auth.requires_role(ADMIN)
def import_upload():
    jobs = _import_jobs()
    if request.form.get("job"):
        # "Import only the valid rows" after a report: the file was read already.
        job = jobs.write_valid_rows(request.form["job"], auth.current_role())
        if job is None:
            flash("Kết quả kiểm tra tệp đã hết hạn, hãy tải tệp lên lại.", "error")
            return redirect(url_for("checkin.admin_invitees"))
    else:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash("Hãy chọn tệp .xlsx hoặc .csv.", "error")
            return redirect(url_for("checkin.admin_invitees"))
        data = upload.read(UPLOAD_LIMIT + 1)
        if len(data) > UPLOAD_LIMIT:
            flash(TOO_LARGE, "error")
            return redirect(url_for("checkin.admin_invitees"))
        job, started = jobs.start(upload.filename, data, request.form.get("only_valid") == "1",
                                  auth.current_role())
        if not started:
            flash(f"Đang nhập tệp “{job.filename}”. Hãy đợi xong rồi nhập tệp khác.", "error")
    # A usual list is read and written in about a second: the answer then lands on the result itself.
    jobs.wait(job.id, 3.0)
    return redirect(url_for("checkin.import_job", job_id=job.id), code=303)


@bp.get("/admin/invitees/import/<job_id>")
@auth.requires_role(ADMIN)
def import_job(job_id: str):
    job = _import_jobs().get(job_id)
    if job is None:
        abort(404)
    if job.status == "done":
        if job.offices:
            # The list names people of offices invited as "Đại diện …": offer to withdraw those invitations.
            return render_template("checkin/import_offices.html", job=job, summary=_import_summary(job))
        if not job.announced:
            _import_jobs().announced(job.id)
            flash(_import_summary(job))
        return redirect(url_for("checkin.admin_invitees"))
    status = 400 if job.status in ("checked", "failed") else 200
    return render_template("checkin/import_report.html", job=job, report=job.report, filename=job.filename,
                           file_error=job.error), status


def _import_summary(job) -> str:
    skipped = len(job.report.errors)
    example = job.report.example_row
    return (f"Đã nhập “{job.filename}”: thêm {job.counts['created']}, cập nhật {job.counts['updated']}"
            + (f", bỏ qua {skipped} dòng lỗi" if skipped else "")
            + (f" (dòng {example} là dòng ví dụ của tệp mẫu, đã bỏ qua)." if example else "."))


@bp.post("/admin/invitees/import/<job_id>/offices")
@auth.requires_role(ADMIN)
def import_offices(job_id: str):
    """Withdraw the office invitations the organiser ticked after an import (or keep them all)."""
    job = _import_jobs().get(job_id)
    if job is None or job.status != "done":
        flash("Kết quả nhập đã hết hạn. Có thể huỷ từng thư mời đại diện ở trang sửa khách mời.", "error")
        return redirect(url_for("checkin.admin_invitees"))
    offered = {office.id for office in job.offices}
    chosen = [int(v) for v in request.form.getlist("withdraw") if v.isdigit() and int(v) in offered]
    withdrawn = invitations.withdraw_offices(_db(), chosen, auth.current_role()) if chosen else 0
    _import_jobs().announced(job.id, offices_handled=True)
    flash(_import_summary(job) + (f" Đã thu hồi {withdrawn} thư mời đại diện đơn vị; mã của các thư mời đó sẽ bị "
                                  "từ chối ở cổng." if withdrawn else " Giữ nguyên các thư mời đại diện đơn vị."))
    return redirect(url_for("checkin.admin_invitees"))


@bp.post("/api/invitations/export")
@auth.requires_role(ADMIN)
def export_start():
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    try:
        job, started = _jobs().start(str(body.get("format", "pdf")))
    except invitations.InvitationError as exc:
        return auth.api_error(exc.code, 400, exc.message)
    answer = _job_json(job)
    if not started:
        answer["message"] = (f"Đang có một lượt tạo thẻ ({job.fmt.upper()}) chưa xong: theo dõi lượt đó; "
                             "xong rồi hãy tạo lượt khác.")
    return jsonify(answer), 202


def _job_json(job) -> dict:
    return {"job": job.id, "format": job.fmt, "status": job.status, "done": job.done, "total": job.total,
            "error": job.error,
            "download_url": url_for("checkin.export_download", job_id=job.id) if job.status == "done" else None}


@bp.get("/api/invitations/export/<job_id>")
@auth.requires_role(ADMIN)
def export_status(job_id: str):
    job = _jobs().get(job_id)
    if job is None:
        return auth.api_error("not_found", 404, "Không tìm thấy lượt xuất thẻ này.")
    return jsonify(_job_json(job))


@bp.get("/admin/invitations/download/<job_id>")
@auth.requires_role(ADMIN)
def export_download(job_id: str):
    job = _jobs().get(job_id)
    if job is None or job.status != "done":
        abort(404)
    if not job.path.is_file():
        # Made by another process whose exports folder this one does not see (KIOSK_EXPORT_DIR not shared).
        return render_template("message.html", title="Không thấy tệp thẻ",
                               message="Tệp thẻ này được tạo trên một tiến trình máy chủ khác và không có ở đây. "
                                       "Hãy đặt KIOSK_EXPORT_DIR chung cho mọi tiến trình (README “Several "
                                       "processes”), hoặc tạo lại tệp ở trang Khách mời."), 404
    mimetype = "application/pdf" if job.fmt == "pdf" else "application/zip"
    return send_file(job.path, mimetype=mimetype, as_attachment=True, download_name=job.path.name)


@bp.get("/admin/arrivals")
@auth.requires_role(ADMIN)
def admin_arrivals():
    return render_template("checkin/arrivals.html")


@bp.post("/admin/invitees/<int:invitee_id>/undo")
@auth.requires_role(ADMIN)
def invitee_undo(invitee_id: int):
    from . import checkins, live
    from .gate import CheckInError
    meta = checkins.ScanMeta(gate="Quản trị", operator=auth.current_role(), client_addr=auth.client_address(),
                             nonce=None)
    try:
        checkins.undo(_db(), invitee_id, request.form.get("reason", ""), meta)
    except CheckInError as exc:
        flash(exc.message, "error")
    else:
        live.after_undo(current_app._get_current_object())
        flash("Đã huỷ lượt vào (vẫn lưu trong nhật ký quét). Khách có thể được quét lại.")
    return redirect(url_for("checkin.invitee_edit", invitee_id=invitee_id))
