"""Invitations (codes, QR cards, import) and the gate (scan, search, walk-in, undo, live counts)."""
from flask import Blueprint

bp = Blueprint("checkin", __name__, template_folder="templates")


@bp.record_once
def _setup(state) -> None:
    # Per app, once, when create_app registers the blueprint: the roster joins the screens' state.
    from . import live
    live.setup(state.app)


from . import admin_views, views  # noqa: E402,F401  (registers the routes on bp)
