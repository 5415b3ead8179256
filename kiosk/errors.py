"""Every error a client can meet, in Vietnamese: JSON on /api paths, a page elsewhere; disk full named as such."""
from __future__ import annotations

import errno
import logging

from flask import Flask, render_template, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from . import auth, boundary

try:
    from psycopg import OperationalError as _PostgresOperational
except ImportError:  # installed with the requirements; without it only SQLite runs
    _PostgresOperational = ()

log = logging.getLogger(__name__)

# HTTP status -> (error code, Vietnamese message) for errors raised before or around a view.
HTTP_ERRORS = {
    400: ("bad_request", "Yêu cầu không hợp lệ."),
    401: ("login_required", auth.MESSAGES["login_required"]),
    403: ("forbidden", auth.MESSAGES["forbidden"]),
    404: ("not_found", "Không tìm thấy địa chỉ này."),
    405: ("method_not_allowed", "Địa chỉ này không nhận thao tác kiểu này."),
    408: ("timeout", "Gửi dữ liệu quá chậm; hãy thử lại."),
    413: ("too_large", "Dữ liệu gửi lên quá lớn."),
    414: ("too_large", "Địa chỉ quá dài."),
    415: ("bad_request", "Dữ liệu gửi lên không đúng dạng (cần JSON)."),
    429: ("throttled", "Quá nhiều yêu cầu; hãy đợi một lát rồi thử lại."),
}
DISK_FULL = ("Ổ đĩa đầy: máy chủ không ghi được dữ liệu nên thao tác này chưa được lưu. Hãy giải phóng "
             "dung lượng trên ổ đĩa của máy chủ (xoá tệp không cần) rồi thử lại. Dữ liệu đã lưu trước đó vẫn an toàn.")
BUSY = "Cơ sở dữ liệu đang bận (một chương trình khác đang ghi). Hãy thử lại sau vài giây."
LINK_LOST = "Máy chủ mất kết nối tới cơ sở dữ liệu và đang kết nối lại. Hãy thử lại sau vài giây."
UNEXPECTED = ("Máy chủ gặp lỗi ngoài dự kiến (đã ghi vào nhật ký). Hãy thử lại; nếu vẫn lỗi, báo người quản trị. "
              "Các lượt đã báo thành công trước đó vẫn được lưu.")
TITLES = {404: "Không tìm thấy trang", 413: "Dữ liệu quá lớn", 507: "Ổ đĩa đầy"}


def _causes(exc: BaseException):
    """The exception, what it wraps (SQLAlchemy's .orig) and what caused it."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        orig = getattr(exc, "orig", None)
        if isinstance(orig, BaseException):
            yield orig
        exc = exc.__cause__ or exc.__context__


def is_disk_full(exc: BaseException) -> bool:
    """No space left: an OSError ENOSPC, SQLite's SQLITE_FULL, or PostgreSQL's disk_full (53100)."""
    for cause in _causes(exc):
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if getattr(cause, "sqlite_errorcode", None) == 13 or getattr(cause, "sqlstate", None) == "53100":
            return True
        if "database or disk is full" in str(cause) or "No space left on device" in str(cause):
            return True
    return False


def is_busy(exc: BaseException) -> bool:
    """SQLite stayed locked by another process for longer than the busy timeout."""
    return any(getattr(cause, "sqlite_errorcode", None) in (5, 6) or "database is locked" in str(cause)
               for cause in _causes(exc))


def lost_link(exc: BaseException) -> bool:
    """PostgreSQL could not be reached: the connection broke under the request, or none could be opened
    (the server restarting, the link down). The pool reconnects, so the request may be sent again."""
    return any((isinstance(cause, DBAPIError) and cause.connection_invalidated)
               # psycopg's: a connection refused or cut, a server starting or shutting down (never a wrong query)
               or isinstance(cause, _PostgresOperational) for cause in _causes(exc))


def respond(status: int, code: str, message: str, title: str | None = None):
    """The error as JSON for API calls and fetches, as a Vietnamese page for a browser's page load."""
    if auth.wants_json():
        return auth.api_error(code, status, message)
    return render_template("message.html", title=title or TITLES.get(status, "Không thực hiện được"),
                           message=message), status


def _http_error(exc: HTTPException):
    if exc.code is None or exc.code < 400:
        return exc
    code, message = HTTP_ERRORS.get(exc.code, ("server_error" if exc.code >= 500 else "bad_request",
                                               UNEXPECTED if exc.code >= 500 else HTTP_ERRORS[400][1]))
    if exc.code == 413:
        message = boundary.TOO_LARGE_MESSAGES.get(request.endpoint or "", message)
    # (A refused large body is not read: the server closes the connection after this answer.)
    return respond(exc.code, code, message)


def _unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    if isinstance(exc, (TimeoutError, ConnectionError)):
        # The client's body stopped arriving (the server's deadline) or its connection dropped: its
        # problem, answered if it still listens, never a traceback in the log.
        log.info("Request body not received: %s", exc)
        return respond(408, *HTTP_ERRORS[408])
    if is_disk_full(exc):
        log.error("Disk full: %s", exc)
        return respond(507, "disk_full", DISK_FULL)
    if is_busy(exc):
        log.warning("Database busy: %s", exc)
        return respond(503, "busy", BUSY)
    if lost_link(exc):
        log.warning("Database connection lost: %s", exc)
        return respond(503, "database_unreachable", LINK_LOST)
    log.error("Unexpected error", exc_info=exc)
    return respond(500, "server_error", UNEXPECTED, title="Lỗi máy chủ")


def install(app: Flask) -> None:
    """Register the handlers: every error becomes a Vietnamese answer, never Werkzeug's English page."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
