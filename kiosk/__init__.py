"""The kiosk app shell: create_app() builds the Flask app, its database and its Socket.IO server."""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from checkin.codes import new_code

from . import boundary, errors
from .config import ROLES, ensure_data_dir, load_config, load_or_create_secret_key
from .event_file import DEFAULT_EVENT_FILE, read_event_file
from .logs import configure_logging
from .login_throttle import LoginThrottle
from .sockets import make_socketio, tell_mode_on_connect
from .storage import Database, ensure_schema, utcnow
from .storage import events as event_queries
from .storage import gate_copy as gate_copy_queries
from .storage import invitees as invitee_queries
from .storage import staff
from .storage.throttle import SharedCounts
from .vietnamese import format_time

PROJECT_ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


def _rehearsal_labels(info: dict | None) -> dict | None:
    """The rehearsal's record with its programme start as the banner says it (14h00)."""
    if info is None:
        return None
    start = info.get("programme_start")
    return {**info, "start_label": format_time(dt.datetime.fromisoformat(start)) if start else ""}


def create_app(config: dict | None = None) -> Flask:
    """Build the app on its data folder: config, secret key, database, default event, PINs, blueprints."""
    cfg = load_config(config)
    data_dir = ensure_data_dir(cfg["KIOSK_DATA_DIR"], cfg["KIOSK_EXPORT_DIR"])
    configure_logging(data_dir)

    app = Flask(__name__, static_folder=str(PROJECT_ROOT / "static"), static_url_path="/static")
    app.config.update(cfg)
    app.config.update(
        SECRET_KEY=cfg.get("KIOSK_SECRET_KEY") or load_or_create_secret_key(data_dir),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="kiosk_session",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(days=2),
        # The cookie is signed once at login; re-signing it on every scan only costs time.
        SESSION_REFRESH_EACH_REQUEST=False,
        JSON_AS_ASCII=False,
        KIOSK_CSRF_EXEMPT={"kiosk.api_login", "kiosk.login_submit"},
    )
    app.json.ensure_ascii = False
    # First: every request's size is checked and its text cleaned before any other hook reads it.
    boundary.install(app)
    errors.install(app)

    db = Database(cfg["DATABASE_URL"])
    ensure_schema(db)
    app.extensions["kiosk.db"] = db
    # Several processes on one database count wrong PINs together; one laptop keeps them in memory.
    app.extensions["kiosk.throttle"] = LoginThrottle(shared=None if db.is_sqlite else SharedCounts(db))
    app.extensions["kiosk.new_pins"] = initialise(db, cfg)
    with db.read() as session:
        # Read once: a data folder is a rehearsal copy or the real event for the app's whole life.
        app.config["KIOSK_REHEARSAL"] = _rehearsal_labels(event_queries.rehearsal_info(session))
        # Pages and sockets carry it: a page made by another database (a rehearsal begun or ended) reloads.
        app.config["KIOSK_MODE"] = gate_copy_queries.instance(session)

    socketio = make_socketio(app)
    app.extensions["kiosk.socketio"] = socketio
    if cfg.get("KIOSK_BEHIND_PROXY"):
        # Outside Socket.IO's middleware, so screens' and stations' addresses are the devices' too.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)

    from . import admin_views, rehearsal_views, views  # noqa: F401  (they add the organiser's routes to views.bp)
    from checkin import bp as checkin_bp
    from checkin import gate_events
    from display import bp as display_bp
    from display import events as display_events
    from printer import bp as printer_bp
    from printer import setup as printer_setup

    app.register_blueprint(views.bp)
    app.register_blueprint(checkin_bp)
    app.register_blueprint(display_bp)
    app.register_blueprint(printer_bp)
    printer_setup(app)
    display_events.register(app, socketio)
    gate_events.register(app, socketio)
    tell_mode_on_connect(socketio.server, app.config["KIOSK_MODE"])
    return app


def initialise(db: Database, cfg: dict, event_file: str | Path | None = None) -> dict[str, str]:
    """Load the default (or given) event into an empty database and give every role a PIN."""
    now = utcnow()
    # Under the setup lock: two processes starting on an empty database load the event once, not twice.
    with db.setup_lock(), db.write() as session:
        if event_queries.event_count(session) == 0:
            path = Path(event_file) if event_file else DEFAULT_EVENT_FILE
            spec = read_event_file(path)
            event = event_queries.load_event(session, spec, now, source=path.name)
            # Said to the clerk who starts the laptop, so in Vietnamese like the rest of the start screen.
            log.info("Đã nạp sự kiện “%s” từ tệp %s", spec.title, path.name)
            invitee_queries.ensure_codes(session, event.id, now, new_code)
        env_pins = {role: cfg.get(f"KIOSK_PIN_{role.upper()}") for role in ROLES}
        return staff.sync_pins(session, env_pins, now)
