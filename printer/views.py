"""Thin HTTP views of the donation desk: pages, the JSON API, exports, receipt images, /r/ verification."""
from __future__ import annotations

import io

from flask import abort, current_app, jsonify, render_template, request, send_file, session

from display.push import schedule_broadcast
from kiosk import auth
from kiosk.storage import utcnow
from kiosk.vietnamese import format_date_short, format_time

from . import bp, desk, export, ledger
from .money import MoneyError, describe_amount, parse_amount

WAIT_FOR_PRINT = 2.0  # seconds a save waits for its receipt, so the answer usually has the outcome
COLLECTOR = "collector_name"  # in the desk's login session: who is collecting, asked once per login


def _db():
    return current_app.extensions["kiosk.db"]


def _settings() -> desk.PrintSettings:
    return current_app.extensions["printer.settings"]


def _queue():
    return current_app.extensions["printer.queue"]


def _error(exc: ledger.LedgerError):
    status = {"not_found": 404, "job_not_found": 404, "already_voided": 409, "voided": 409,
              "job_not_failed": 409, "reprint_pending": 409, "calibration_busy": 429,
              "calibration_limit": 429}.get(exc.code, 400)
    return auth.api_error(exc.code, status, exc.message)


def _body() -> dict:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _after_queue(job: dict | None) -> dict | None:
    """Wake the worker and give it a moment, so the answer usually carries the print outcome."""
    if job is None:
        return None
    _queue().kick()
    _queue().wait(job["job_id"], WAIT_FOR_PRINT)
    return desk.job_status(_db(), _settings(), job["job_id"])


# --- Pages ------------------------------------------------------------------------------------------

@bp.get("/donations", endpoint="desk")
@auth.requires_role("cashier")
def desk_page():
    settings = _settings()
    return render_template("printer/desk.html", printer=desk.printer_view(_db(), settings, _queue()),
                           widths=(384, 512, 576), view=desk.ledger_view(_db(), settings, limit=12),
                           collector=session.get(COLLECTOR))


@bp.get("/donations/ledger", endpoint="ledger")
@auth.requires_role("cashier")
def ledger_page():
    query = request.args.get("q", "")
    return render_template("printer/ledger.html", view=desk.ledger_view(_db(), _settings(), query))


@bp.get("/donations/ledger/export.<fmt>")
@auth.requires_role("cashier")
def ledger_export(fmt: str):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    view = desk.ledger_view(_db(), _settings(), request.args.get("q", ""), newest_first=False)
    now = ledger.local_time(utcnow(), view["event"]["timezone"])
    name = f"so-ung-ho-{view['event']['receipt_prefix']}-{export.file_stamp(now)}.{fmt}"
    if fmt == "csv":
        data, mimetype = export.to_csv(view["donations"]), "text/csv; charset=utf-8"
    else:
        title = f"Sổ ủng hộ {view['event']['fund_name'] or ''} — {view['event']['title']}"
        generated = f"Xuất lúc {format_time(now)} ngày {format_date_short(now)}"
        if view["query"]:
            generated += f" · lọc theo “{view['query']}”"
        data = export.to_xlsx(view["donations"], view["totals"], title, generated)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name)


@bp.get("/donations/receipts/<receipt_no>.png")
@auth.requires_role("cashier")
def receipt_png(receipt_no: str):
    copy_no = request.args.get("copy", type=int)
    try:
        image = desk.preview_image(_db(), _settings(), receipt_no, copy_no)
    except ledger.LedgerError:
        abort(404)
    out = io.BytesIO()
    image.save(out, format="PNG")
    out.seek(0)
    response = send_file(out, mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/donations/jobs/<int:job_id>/preview.<fmt>")
@auth.requires_role("cashier")
def job_preview(job_id: int, fmt: str):
    if fmt not in ("png", "bin"):
        abort(404)
    path = desk.preview_path(_db(), _settings(), job_id, fmt)
    if path is None:
        abort(404)
    return send_file(path, mimetype="image/png" if fmt == "png" else "application/octet-stream",
                     as_attachment=fmt == "bin", download_name=path.name, max_age=0)


@bp.get("/r/<receipt_no>")
def verify(receipt_no: str):
    settings = _settings()
    genuine, donation = desk.verify(_db(), settings.secret_key, receipt_no, request.args.get("k"), settings.rehearsal)
    status = 200 if genuine else 404
    return render_template("printer/verify.html", genuine=genuine, donation=donation,
                           receipt_no=receipt_no, practice=settings.rehearsal), status


# --- JSON API ---------------------------------------------------------------------------------------

@bp.get("/api/money/parse")
@auth.requires_role("cashier")
def api_parse_amount():
    text = request.args.get("text", "")
    try:
        return jsonify(describe_amount(parse_amount(text)))
    except MoneyError as exc:
        return auth.api_error(exc.code, 400, exc.message)


@bp.post("/api/desk/collector")
@auth.requires_role("cashier")
def api_collector():
    """Who collects at this desk until logout: printed as "Người thu" on every receipt."""
    try:
        name = ledger.collector_name(_body().get("name"))
    except ledger.LedgerError as exc:
        return _error(exc)
    session[COLLECTOR] = name
    return jsonify({"collector_name": name})


@bp.post("/api/donations")
@auth.requires_role("cashier")
def api_create():
    try:
        data = ledger.validate_donation(request.get_json(silent=True), session.get(COLLECTOR))
    except ledger.LedgerError as exc:
        return _error(exc)
    donation, job, created = desk.record(_db(), _settings(), data, auth.current_role(), utcnow())
    if created:
        schedule_broadcast(current_app._get_current_object())
    job = _after_queue(job) if created else job
    # The contract's fields (receipt_no, amount_vnd, amount_words, print) and the rest of the record.
    return jsonify({**donation, "print": job, "duplicate": not created}), 201 if created else 200


@bp.get("/api/donations")
@auth.requires_role("cashier")
def api_list():
    limit = request.args.get("limit", type=int)
    limit = min(max(limit, 1), 500) if limit else None  # a huge or negative LIMIT is not for SQL to judge
    view = desk.ledger_view(_db(), _settings(), request.args.get("q", ""), limit=limit)
    return jsonify({"donations": view["donations"], "totals": view["totals"], "query": view["query"]})


@bp.get("/api/donations/total")
@auth.requires_role("cashier", "mc")
def api_total():
    """The exact total for the MC's announcement (screens show it in steps of three receipts)."""
    return jsonify(desk.exact_summary(_db()))


@bp.get("/api/donations/<receipt_no>")
@auth.requires_role("cashier")
def api_one(receipt_no: str):
    try:
        return jsonify(desk.details(_db(), _settings(), receipt_no))
    except ledger.LedgerError as exc:
        return _error(exc)


@bp.post("/api/donations/<receipt_no>/reprint")
@auth.requires_role("cashier")
def api_reprint(receipt_no: str):
    try:
        donation, job = desk.reprint(_db(), _settings(), receipt_no, auth.current_role(), utcnow())
    except ledger.LedgerError as exc:
        return _error(exc)
    return jsonify({**donation, "print": _after_queue(job)})


@bp.post("/api/donations/<receipt_no>/void")
@auth.requires_role("cashier")
def api_void(receipt_no: str):
    try:
        donation = desk.void(_db(), receipt_no, _body().get("reason"), auth.current_role(), utcnow())
    except ledger.LedgerError as exc:
        return _error(exc)
    schedule_broadcast(current_app._get_current_object())
    return jsonify(donation)


@bp.post("/api/print-jobs/<int:job_id>/retry")
@auth.requires_role("cashier")
def api_retry(job_id: int):
    try:
        job = desk.retry(_db(), _settings(), job_id, auth.current_role(), utcnow())
    except ledger.LedgerError as exc:
        return _error(exc)
    return jsonify({"print": _after_queue(job)})


@bp.get("/api/print-jobs/<int:job_id>")
@auth.requires_role("cashier")
def api_job(job_id: int):
    job = desk.job_status(_db(), _settings(), job_id)
    if job is None:
        return _error(ledger.LedgerError("job_not_found"))
    return jsonify(job)


@bp.get("/api/printer")
@auth.requires_role("cashier")
def api_printer():
    return jsonify(desk.printer_view(_db(), _settings(), _queue()))


@bp.post("/api/printer/check")
@auth.requires_role("cashier")
def api_printer_check():
    _queue().probe()
    return jsonify(desk.printer_view(_db(), _settings(), _queue()))


@bp.post("/api/printer/calibration")
@auth.requires_role("cashier")
def api_calibration():
    try:
        job = desk.calibrate(_db(), _settings(), _body().get("dots"), utcnow())
    except ledger.LedgerError as exc:
        return _error(exc)
    return jsonify({"print": _after_queue(job)})
