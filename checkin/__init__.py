"""Invitations (codes, QR cards, import) and the gate (scan, search, walk-in, undo, live counts)."""
from flask import Blueprint

bp = Blueprint("checkin", __name__, template_folder="templates")


@bp.record_once
def _setup(state) -> None:
    # Per app, once, when create_app registers the blueprint: the roster joins the screens' state, and the
    # background jobs exist before the first request (two first requests must not make two registries).
    from pathlib import Path

    from . import live
    from .import_jobs import ImportJobs
    from .card_exports import CardJobs
    app = state.app
    live.setup(app)
    app.extensions["kiosk.card_jobs"] = CardJobs(app.extensions["kiosk.db"], Path(app.config["KIOSK_EXPORT_DIR"]))
    app.extensions["kiosk.import_jobs"] = ImportJobs(app.extensions["kiosk.db"])


from . import admin_views, door_list_views, paper_views, views  # noqa: E402,F401  (registers the routes on bp)
