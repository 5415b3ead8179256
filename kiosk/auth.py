"""Roles on the server: who is logged in, the role guard for views and socket events, CSRF."""
from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import time

from flask import current_app, g, jsonify, redirect, render_template, request, session, url_for

from .config import ROLES
from .pins import is_well_formed
from .storage import staff, utcnow

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
ROLE_LABELS = {"admin": "Quản trị", "gate": "Cổng đón tiếp", "mc": "Dẫn chương trình",
               "cashier": "Bàn ủng hộ"}
ROLE_HOME = {"admin": "/admin", "gate": "/gate", "mc": "/mc", "cashier": "/donations"}
MESSAGES = {
    "login_required": "Vui lòng đăng nhập bằng mã PIN của trạm.",
    "forbidden": "Tài khoản này không có quyền thực hiện thao tác này.",
    "csrf": "Phiên làm việc không hợp lệ hoặc đã hết hạn. Vui lòng tải lại trang.",
    "wrong_pin": "Mã PIN không đúng.",
    "throttled": "Nhập sai mã PIN quá nhiều lần. Vui lòng đợi {seconds} giây rồi thử lại.",
    "role_locked": "Đăng nhập trạm này bằng mã PIN đang tạm khoá ({minutes} phút nữa) vì có quá nhiều lần nhập "
                   "sai từ nhiều máy. Các máy đã đăng nhập vẫn dùng bình thường. Hãy báo ban tổ chức.",
    "bad_request": "Yêu cầu không hợp lệ.",
    "unknown_role": "Vai trò không hợp lệ.",
}


def api_error(code: str, status: int, message: str | None = None, **extra):
    """A JSON error in the contract's shape: {"error": code, "message": vi}."""
    body = {"error": code, "message": message or MESSAGES.get(code, code), **extra}
    return jsonify(body), status


def wants_json() -> bool:
    """API calls and fetches get JSON errors; page loads get pages and redirects."""
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


# A login is re-checked against the database at most this often per server process: the gate scans
# hundreds of codes a minute, and a PIN reset from the command line still bites within seconds.
ROLE_CACHE_SECONDS = 2.0


def token_role(app, token: str | None) -> str | None:
    """The role of a login token (None when unknown or ended), re-read from the database every few seconds."""
    if not token:
        return None
    cache = app.extensions.setdefault("kiosk.role_cache", {})
    cached = cache.get(token)
    if cached and cached[1] > time.monotonic():
        return cached[0]
    with app.extensions["kiosk.db"].read() as db_session:
        role = staff.session_role(db_session, token)
    cache[token] = (role, time.monotonic() + ROLE_CACHE_SECONDS)
    return role


def current_role() -> str | None:
    """The role of this request's login, checked against the database (logout and PIN resets bite)."""
    if "kiosk_role" not in g:
        g.kiosk_role = token_role(current_app, session.get("sid"))
    return g.kiosk_role


def forget_role(token: str | None) -> None:
    """Drop a login from this process's cache (logout)."""
    current_app.extensions.get("kiosk.role_cache", {}).pop(token, None)


def role_allows(role: str | None, allowed: tuple[str, ...]) -> bool:
    """Admin may do everything; other roles only what is listed."""
    return role is not None and (role == "admin" or role in allowed)


def requires_role(*allowed: str):
    """Guard a view: 401/redirect without a login, 403 with the wrong role."""
    for role in allowed:
        assert role in ROLES, role

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            role = current_role()
            if role is None:
                if wants_json():
                    return api_error("login_required", 401)
                return redirect(url_for("kiosk.login_page", next=request.full_path.rstrip("?"),
                                        role=allowed[0] if allowed else None))
            if not role_allows(role, allowed):
                if wants_json():
                    return api_error("forbidden", 403)
                return render_template("forbidden.html", role=role, allowed=allowed), 403
            return view(*args, **kwargs)
        guarded.kiosk_roles = allowed
        return guarded
    return decorate


def socket_requires_role(*allowed: str):
    """Guard a Socket.IO handler: the role is checked on every event, not only at connect.

    A refused connect handler returns False (Socket.IO then rejects the connection); a refused event
    answers {"error", "message"} to the client's acknowledgement.
    """

    def decorate(handler):
        is_connect = handler.__name__ in ("on_connect", "connect")

        @functools.wraps(handler)
        def guarded(*args, **kwargs):
            g.pop("kiosk_role", None)
            role = current_role()
            if not role_allows(role, allowed):
                code = "login_required" if role is None else "forbidden"
                return False if is_connect else {"error": code, "message": MESSAGES[code]}
            return handler(*args, **kwargs)
        guarded.kiosk_roles = allowed
        return guarded
    return decorate


def csrf_token() -> str:
    """The session's CSRF token, created on first use, tied to the database this server runs."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    # A rehearsal copy carries the sessions: without this, a form left open from the real event would be
    # accepted by the rehearsal (and one from the rehearsal by the real event) and write into the wrong one.
    mode = current_app.config.get("KIOSK_MODE") or ""
    return f"{token}.{hashlib.sha256(mode.encode()).hexdigest()[:8]}" if mode else token


def check_csrf():
    """Before every state-changing request from a logged-in session, require its CSRF token."""
    if request.method not in STATE_CHANGING or "sid" not in session:
        return None
    if request.endpoint in current_app.config.get("KIOSK_CSRF_EXEMPT", ()):
        return None
    view = current_app.view_functions.get(request.endpoint)
    if view is not None and not role_allows(current_role(), getattr(view, "kiosk_roles", ROLES)):
        # Its role guard will refuse it (401/403) without reading the body: neither will this check, which
        # for a form would parse the whole upload (and say "100 Continue") for a station that may not send it.
        return None
    sent = request.headers.get("X-CSRFToken") or request.form.get("csrf_token") or ""
    expected = csrf_token() if session.get("csrf") else ""
    # As bytes: compare_digest refuses str with non-ASCII characters, which a header may well hold.
    if not expected or not hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode()):
        if wants_json():
            return api_error("csrf", 400)
        return render_template("message.html", title="Phiên không hợp lệ", message=MESSAGES["csrf"]), 400
    return None


def client_address() -> str:
    """The requesting device's address (the kiosk is reached directly, never through a proxy)."""
    return request.remote_addr or "?"


def _refused(refusal) -> tuple[str, int, dict]:
    code = "role_locked" if refusal.scope == "role" else "throttled"
    return code, 429, {"retry_after": refusal.seconds}


def attempt_login(role: str, pin: str) -> tuple[str, int, dict]:
    """Check a PIN with the throttle; return (outcome code, HTTP status, extra fields)."""
    if role not in ROLES:
        return "unknown_role", 400, {}
    throttle = current_app.extensions["kiosk.throttle"]
    client = client_address()
    refusal = throttle.begin(client, role)
    db = current_app.extensions["kiosk.db"]
    if refusal:
        if refusal.first:  # a device that keeps trying during a lock: one audit line, not a write per try
            with db.write() as db_session:
                staff.record_refused_login(db_session, role, client, refusal.scope, utcnow())
        return _refused(refusal)
    try:
        # Anything that cannot be a PIN is a wrong PIN, counted like one, without hashing it.
        with db.read() as db_session:
            ok = is_well_formed(pin) and staff.check_pin(db_session, role, pin)
    except BaseException:
        throttle.abandoned(client, role)
        raise
    if not ok:
        refusal = throttle.failed(client, role)
        with db.write() as db_session:
            staff.record_failed_login(db_session, role, client, refusal.scope if refusal else None, utcnow())
        if refusal and refusal.scope == "role":
            current_app.logger.warning("PIN login of role %s locked for %d s after too many wrong PINs",
                                       role, refusal.seconds)
        return _refused(refusal) if refusal else ("wrong_pin", 401, {})
    throttle.succeeded(client, role)
    with db.write() as db_session:
        token = staff.open_session(db_session, role, client, utcnow())
    session.clear()
    session.permanent = True
    session["sid"] = token
    session["role"] = role
    g.kiosk_role = role
    return "ok", 200, {"role": role, "csrf_token": csrf_token()}


def logout() -> None:
    """End this device's login on the server and in its cookie."""
    token = session.get("sid")
    if token:
        with current_app.extensions["kiosk.db"].write() as db_session:
            staff.close_session(db_session, token, utcnow())
        forget_role(token)
        # Features close what this login holds open (the MC page's socket) at once.
        for hook in current_app.extensions.get("kiosk.on_logout", ()):
            hook(current_app._get_current_object(), token)
    session.clear()
    g.pop("kiosk_role", None)


def message_for(code: str, seconds: int = 0) -> str:
    """The Vietnamese message for an auth outcome."""
    return MESSAGES.get(code, code).format(seconds=seconds, minutes=max(1, round(seconds / 60)))
