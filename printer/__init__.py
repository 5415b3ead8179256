"""Donations ledger, receipt layout, ESC/POS output and the print queue."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Blueprint, Flask

bp = Blueprint("printer", __name__, template_folder="templates")
log = logging.getLogger(__name__)

from . import views  # noqa: E402,F401  (registers the routes on bp)


def _lan_base_url(config: dict) -> str:
    from kiosk.netinfo import lan_addresses

    scheme = "https" if config.get("KIOSK_TLS") else "http"
    host = config.get("KIOSK_HOST") or "0.0.0.0"
    # The same address the start-up banner prints for the stations.
    address = lan_addresses()[0] if host in ("0.0.0.0", "::") else host
    return f"{scheme}://{address}:{config.get('PORT', 5000)}"


def setup(app: Flask) -> None:
    """Bind the desk to the app: printer settings, the print queue (recovered), the screens' total."""
    from display.push import register_state_part

    from . import desk, device
    from .queue import PrintQueue

    config = app.config
    data_dir = Path(config["KIOSK_DATA_DIR"])
    device.configure(data_dir)
    config_error = None
    try:
        target = device.parse_target(config.get("KIOSK_PRINTER"))
    except device.PrinterError as exc:
        # A typo in the printer setting must not stop the gate and the screens: keep the desk
        # working in preview mode and say why on its page.
        log.error("%s", exc.message)
        target, config_error = device.Target("preview"), exc.message + " Đang dùng chế độ xem trước."
    settings = desk.PrintSettings(
        target=target, paper_dots=int(config["KIOSK_PAPER_DOTS"]), cutter=bool(config.get("KIOSK_PRINTER_CUTTER", True)),
        receipts_dir=data_dir / "receipts", secret_key=config["SECRET_KEY"],
        base_url=config.get("KIOSK_PUBLIC_URL"), config_error=config_error,
        rehearsal=bool(config.get("KIOSK_REHEARSAL")),
        _resolve_base=lambda: _lan_base_url(config))
    queue = PrintQueue(app.extensions["kiosk.db"], target, cutter=settings.cutter,
                       receipts_dir=settings.receipts_dir, render=desk.job_renderer(settings))
    app.extensions["printer.settings"] = settings
    app.extensions["printer.queue"] = queue
    register_state_part(app, "donations", desk.screen_state)
    queue.start()
