"""Thin HTTP views of the shell: home, login/logout, the admin page, health."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, send_file, url_for

from display import programme
from . import auth
from . import health as health_check
from .report import Money
from .storage import events as event_queries
from .vietnamese import format_date_short, format_time, format_vnd

bp = Blueprint("kiosk", __name__, template_folder="templates")


@bp.before_app_request
def _csrf_guard():
    return auth.check_csrf()


# With KIOSK_TLS the plain-HTTP port only serves the phone set-up page; everything else moves to HTTPS.
PLAIN_HTTP_ALLOWED = ("/setup", "/static/", "/healthz")


@bp.before_app_request
def _https_only():
    if current_app.config.get("KIOSK_TLS") and not request.is_secure \
            and not request.path.startswith(PLAIN_HTTP_ALLOWED):
        host = request.host.rsplit(":", 1)[0]
        return redirect(f"https://{host}:{current_app.config['PORT']}{request.full_path.rstrip('?')}", code=302)
    return None


# Each feature's admin page, in tab order; a tab shows once its feature registers the endpoint.
ADMIN_TABS = (("kiosk.admin", "Tổng quan"), ("checkin.admin_invitees", "Khách mời"),
              ("checkin.admin_arrivals", "Đến dự"), ("checkin.admin_paper", "Danh sách giấy"),
              ("display.admin_programme", "Chương trình"), ("printer.ledger", "Sổ ủng hộ"),
              ("kiosk.admin_report", "Báo cáo"))


def admin_tabs() -> list[tuple[str, str]]:
    """The admin tabs whose pages exist in this app."""
    return [(endpoint, label) for endpoint, label in ADMIN_TABS if endpoint in current_app.view_functions]


@bp.app_context_processor
def _template_globals():
    return {"csrf_token": auth.csrf_token, "current_role": auth.current_role,
            "role_labels": auth.ROLE_LABELS, "admin_tabs": admin_tabs,
            "rehearsal": current_app.config.get("KIOSK_REHEARSAL"), "kiosk_mode": current_app.config.get("KIOSK_MODE", "")}


# A Host header fit to repeat in a header: a name or address and a port, nothing that could end the policy.
_PLAIN_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


@bp.after_app_request
def _security_headers(response):
    # Pages only ever load from this laptop and talk only to it; forms post only to it; no inline script.
    host = request.host if _PLAIN_HOST.match(request.host or "") else ""
    # 'self' covers this origin's WebSocket in CSP 3; older Safari needs the ws(s):// origin spelled out.
    sockets = f" ws://{host} wss://{host}" if host else ""
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'; img-src 'self' data: blob:; media-src 'self' blob: data:; "
        f"style-src 'self' 'unsafe-inline'; connect-src 'self'{sockets}")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _db():
    return current_app.extensions["kiosk.db"]


def load_event_view():
    """The event and its programme as plain data for templates."""
    with _db().read() as session:
        event = event_queries.current_event(session)
        items = event_queries.agenda_items(session, event.id)
        groups = event_queries.groups_with_counts(session, event.id)
    return event, items, groups


@bp.get("/")
def home():
    event, items, _groups = load_event_view()
    return render_template("home.html", event=event, items=programme.describe(items, event.timezone))


@bp.get("/login")
def login_page():
    role = request.args.get("role") or ""
    return render_template("login.html", role=role, next=_safe_next(request.args.get("next")), error=None)


@bp.post("/login")
def login_submit():
    role = request.form.get("role", "")
    outcome, status, extra = auth.attempt_login(role, request.form.get("pin", "").strip())
    if outcome == "ok":
        return redirect(_safe_next(request.form.get("next")) or auth.ROLE_HOME[role])
    error = auth.message_for(outcome, extra.get("retry_after", 0))
    return render_template("login.html", role=role, next=_safe_next(request.form.get("next")),
                           error=error), status


@bp.post("/api/login")
def api_login():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("role"), str) or not isinstance(body.get("pin"), str):
        return auth.api_error("bad_request", 400)
    outcome, status, extra = auth.attempt_login(body["role"], body["pin"].strip())
    if outcome == "ok":
        return jsonify(extra)
    response, status = auth.api_error(outcome, status,
                                      auth.message_for(outcome, extra.get("retry_after", 0)), **extra)
    if "retry_after" in extra:
        response.headers["Retry-After"] = str(extra["retry_after"])
    return response, status


@bp.post("/logout")
def logout():
    auth.logout()
    if auth.wants_json():
        return jsonify({"ok": True})
    return redirect(url_for("kiosk.home"))


@bp.get("/api/me")
def api_me():
    role = auth.current_role()
    return jsonify({"role": role, "csrf_token": auth.csrf_token() if role else None})


@bp.get("/setup")
def setup():
    tls = bool(current_app.config.get("KIOSK_TLS"))
    host = request.host.rsplit(":", 1)[0]
    return render_template("setup.html", tls=tls, https_gate=f"https://{host}:{current_app.config['PORT']}/gate")


@bp.get("/setup/ca.crt")
def setup_ca():
    ca = Path(current_app.config["KIOSK_DATA_DIR"]) / "tls" / "ca.crt"
    if not current_app.config.get("KIOSK_TLS") or not ca.is_file():
        return render_template("message.html", title="Chưa bật HTTPS",
                               message="Máy chủ chưa chạy với KIOSK_TLS=1 nên không có chứng chỉ để cài."), 404
    # This MIME type makes Android and iOS offer to install the certificate.
    return send_file(ca, mimetype="application/x-x509-ca-cert", download_name="kiosk-ca.crt", as_attachment=True)


@bp.get("/healthz")
def health():
    answer = health_check.check(current_app._get_current_object())
    return jsonify(answer), 200 if answer["ok"] else 503


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths may be redirected to after login."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    # Browsers and Werkzeug drop tabs and newlines ("/\t/evil" becomes "//evil"): refuse them all.
    if any(ord(ch) <= 0x20 or ch == "\\" for ch in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


@bp.app_template_filter("local")
def _local(moment, timezone: str):
    """An aware UTC datetime in the event's time zone."""
    return moment.astimezone(ZoneInfo(timezone))


@bp.app_template_filter("vnd")
def _vnd(amount) -> str:
    """Money as 1.500.000 đ."""
    return format_vnd(int(amount or 0))


@bp.app_template_test("money")
def _is_money(value) -> bool:
    """An amount in đồng (report.Money), shown as 1.500.000 đ."""
    return isinstance(value, Money)


@bp.app_template_global()
def event_when(event) -> str:
    """'07h30 ngày 02/10/2023' for the event's start."""
    start = event.starts_at.astimezone(ZoneInfo(event.timezone))
    return f"{format_time(start)} ngày {format_date_short(start)}"
