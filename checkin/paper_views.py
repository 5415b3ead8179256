"""Entering the paper door list: GET /admin/paper and POST /api/checkin/paper (admin)."""
from __future__ import annotations

from flask import current_app, jsonify, render_template

from kiosk import auth
from kiosk.storage import checkins as checkin_queries
from kiosk.storage import events as event_queries

from . import bp, live, paper
from .gate import CheckInError
from .views import _bad, _body, _invitee_id, _meta, _text


def _db():
    return current_app.extensions["kiosk.db"]


@bp.get("/admin/paper")
@auth.requires_role("admin")
def admin_paper():
    with _db().read() as session:
        event = event_queries.current_event(session)
        groups = checkin_queries.walk_in_groups(session, event.id)
    return render_template("checkin/paper.html", event=event, walk_in_groups=groups)


@bp.post("/api/checkin/paper")
@auth.requires_role("admin")
def api_checkin_paper():
    """{"invitee_id", "time": "07:25", "nonce"} for a ticked invitation, or {"walk_in": {"full_name",
    "group", "organisation"?, "phone"?}, "time", "nonce"} for a row of the walk-in sheet."""
    body = _body()
    if body is None:
        return _bad()
    try:
        meta, written = _meta(body), _text(body, "time", 20)
        walk_in = body.get("walk_in")
        if isinstance(walk_in, dict):
            values = {key: _text(walk_in, key) for key in ("full_name", "group", "organisation", "phone")}
            result = paper.walk_in(_db(), values, written, meta)
        elif _invitee_id(body) is not None:
            result = paper.admit(_db(), body["invitee_id"], written, meta)
        else:
            return _bad("Cần invitee_id (khách mời) hoặc walk_in (khách vãng lai).")
    except CheckInError as exc:   # before ValueError, which it extends
        return auth.api_error(exc.code, 404 if exc.code == "not_found" else 400, exc.message)
    except ValueError as exc:
        return _bad(f"Trường “{exc}” không hợp lệ.")
    live.after_checkin(current_app._get_current_object(), result)
    return jsonify(result)
