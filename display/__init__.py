"""The programme on screens: MC control, projector, lobby and welcome views, and the pushed show state."""
import threading

from flask import Blueprint

from .screens import Registry

bp = Blueprint("display", __name__, template_folder="templates")


@bp.record_once
def _setup(state) -> None:
    # Per app, created once when the blueprint is registered (create_app), before any request.
    app = state.app
    app.extensions["display.control_lock"] = threading.Lock()  # one control action at a time
    app.extensions["display.emit_lock"] = threading.RLock()    # read-then-emit of states stays in rev order
    db = app.extensions["kiosk.db"]
    if db.is_sqlite:
        app.extensions["display.screens"] = Registry()
    else:
        # Several processes may serve this database: the MC's list holds every process's screens.
        from .presence import SharedRegistry
        from .push import schedule_screens_push
        app.extensions["display.screens"] = SharedRegistry(db, lambda: schedule_screens_push(app))
    from kiosk.login_sockets import LoginSockets

    from .push import MC_NAMESPACE
    app.extensions["display.mc_sockets"] = LoginSockets(app, MC_NAMESPACE, "mc")   # MC pages and their logins


from . import editor, views  # noqa: E402,F401  (registers the routes on bp)
