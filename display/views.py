"""Screen pages (no login) and the read-only agenda API."""
from __future__ import annotations

from flask import current_app, jsonify, render_template

from kiosk import auth
from . import bp
from .push import current_state


@bp.get("/display")
@bp.get("/display/<view>")
def screen(view: str = "projector"):
    if view not in ("projector", "lobby"):
        return render_template("message.html", title="Không có màn hình này",
                               message="Các màn hình: /display (máy chiếu), /display/lobby (sảnh)."), 404
    state = current_state(current_app._get_current_object())
    return render_template("display/screen.html", view=view, state=state)


@bp.get("/api/agenda")
def agenda():
    return jsonify(current_state(current_app._get_current_object()))


@bp.get("/mc")
@auth.requires_role("mc")
def mc():
    state = current_state(current_app._get_current_object())
    return render_template("display/mc.html", state=state)
