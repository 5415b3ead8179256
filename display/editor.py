"""The programme editor (admin): its page and its JSON API."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import current_app, jsonify, render_template, request

from kiosk import auth
from kiosk.vietnamese import format_date_short
from kiosk.storage import events as event_queries
from . import bp, control, messages
from .programme import ProgrammeError
from .show import ShowError


def _app():
    return current_app._get_current_object()


@bp.get("/admin/programme")
@auth.requires_role("admin")
def admin_programme():
    with _app().extensions["kiosk.db"].read() as session:
        event = event_queries.current_event(session)
    day = format_date_short(event.starts_at.astimezone(ZoneInfo(event.timezone)))
    return render_template("display/programme_editor.html", event=event, event_date=day,
                           programme=control.programme_view(_app()))


@bp.get("/api/programme")
@auth.requires_role("admin")
def programme_get():
    return jsonify(control.programme_view(_app()))


def _edit(op: str, item_id: int | None = None, status: int = 200):
    body = request.get_json(silent=True)
    if body is None and not request.get_data():
        body = {}
    try:
        result = control.edit_programme(_app(), op, body, actor=auth.current_role(),
                                        address=auth.client_address(), item_id=item_id)
    except ProgrammeError as refusal:
        return messages.error(refusal.code, field=refusal.field)
    except ShowError as refusal:
        return messages.error(refusal.code)
    return jsonify(result), status


@bp.post("/api/programme/items")
@auth.requires_role("admin")
def programme_add():
    return _edit("add", status=201)


@bp.patch("/api/programme/items/<int:item_id>")
@auth.requires_role("admin")
def programme_update(item_id: int):
    return _edit("update", item_id)


@bp.delete("/api/programme/items/<int:item_id>")
@auth.requires_role("admin")
def programme_remove(item_id: int):
    return _edit("remove", item_id)


@bp.post("/api/programme/order")
@auth.requires_role("admin")
def programme_reorder():
    return _edit("reorder")


@bp.post("/api/programme/warnings")
@auth.requires_role("admin")
def programme_accept():
    return _edit("accept")
