"""The faults of the soak test (and its benchmark): a power cut in the rush, a printer unplugged a while."""
from __future__ import annotations

import threading
import time
from pathlib import Path

from kiosk.simulation import programme_times
from kiosk.simulation.driver import agenda

from .conftest import PINS
from .live import KioskProcess
from .printer_fakes import FakePrinter

UNPLUGGED_SECONDS = 8.0


def soak_server(folder: Path, printer: FakePrinter) -> KioskProcess:
    """`kiosk serve` on a fresh data folder in `folder`, printing to the fake printer, with the tests' PINs."""
    env = {"KIOSK_DATA_DIR": str(folder / "data"), "KIOSK_PRINTER": printer.url(timeout=1.0)}
    env.update({f"KIOSK_PIN_{role.upper()}": pin for role, pin in PINS.items()})
    return KioskProcess(env, folder / "serve.log").start()


def morning_faults(server: KioskProcess, printer: FakePrinter) -> list[tuple[float, object]]:
    """(virtual time, fault) pairs for run_morning: kill -9 at 07h15, the printer out a minute into item 6."""
    items = programme_times(agenda(server.url))

    def power_cut():
        """máy chủ bị tắt đột ngột (kill -9) giữa giờ cao điểm rồi chạy lại"""
        server.kill()
        time.sleep(1.0)
        server.start()

    def unplug():
        """máy in bị rút dây 8 giây trong lúc nhận ủng hộ"""
        printer.unplugged = True
        threading.Timer(UNPLUGGED_SECONDS, setattr, (printer, "unplugged", False)).start()

    # 15 minutes after the first item (07h00) is mid-rush: scans in flight on every gate.
    return [(items[0][0] + 15 * 60, power_cut), (items[5][0] + 60, unplug)]
