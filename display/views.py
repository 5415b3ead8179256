"""Screen pages (no login), the MC page, the read-only agenda API and the MC's control API."""
from __future__ import annotations

from flask import current_app, jsonify, render_template, request

from kiosk import auth
from . import bp, control, messages, push
from .screens import VIEW_LABELS
from .show import VIEWS, ShowError


def _app():
    return current_app._get_current_object()


@bp.get("/display")
@bp.get("/display/<view>")
def screen(view: str = "projector"):
    if view not in VIEWS:
        return render_template("message.html", title="Không có màn hình này",
                               message="Các màn hình: /display (máy chiếu), /display/lobby (sảnh), "
                                       "/display/welcome (chào đón khách)."), 404
    return render_template("display/screen.html", view=view, state=push.current_state(_app()),
                           greet_seconds=_greet_seconds())


def _greet_seconds() -> float:
    # How long each greeting stays on the welcome screen; ?greet=3 for a busy gate.
    try:
        return min(max(float(request.args.get("greet", 6)), 1.0), 30.0)
    except ValueError:
        return 6.0


@bp.get("/api/agenda")
def agenda():
    return jsonify(push.current_state(_app()))


@bp.get("/api/agenda/timing")
def agenda_timing():
    return jsonify(push.current_timing(_app()))


@bp.get("/mc")
@auth.requires_role("mc")
def mc():
    return render_template("display/mc.html", state=push.current_state(_app()),
                           screens=push.screen_list(_app()), view_labels=VIEW_LABELS)


@bp.get("/api/screens")
@auth.requires_role("mc")
def screen_list():
    return jsonify(push.screen_list(_app()))


@auth.requires_role("mc")
def control_action(action: str):
    body = request.get_json(silent=True)
    if body is None and not request.get_data():
        body = {}
    if not isinstance(body, dict):
        return messages.error("bad_request")
    try:
        state = control.perform(_app(), action, body, actor=auth.current_role(), address=auth.client_address())
    except ShowError as refusal:
        # The MC's page replaces its state with the one sent back, so a stale click shows what is true.
        return messages.error(refusal.code, state=push.current_state(_app()))
    return jsonify(state)


for _action in control.ACTIONS:
    bp.add_url_rule(f"/api/agenda/{_action}", endpoint=f"agenda_{_action}", view_func=control_action,
                    methods=["POST"], defaults={"action": _action})
