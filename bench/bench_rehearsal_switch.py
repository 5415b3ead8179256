"""Benchmark: how long the admin's rehearsal buttons leave the stations without a server.

Run: .venv/bin/python bench/bench_rehearsal_switch.py [--rounds 3]
Starts `python -m kiosk serve` on a fresh data folder, then presses "Bắt đầu tổng duyệt" and "Kết thúc tổng
duyệt" as the admin page does, and times each press until the admin page answers from the other database
(the copy made, the process re-executed, the app built, the port open). Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.cli import RESTART_AFTER  # noqa: E402
from kiosk.simulation.driver import Station  # noqa: E402
from tests.conftest import PINS  # noqa: E402
from tests.live import KioskProcess  # noqa: E402


def press(admin: Station, action: str, rehearsing: bool) -> float:
    """Seconds from the button's POST to the first admin page served by the other side."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', admin.call("GET", "/admin").text).group(1)
    started = time.perf_counter()
    admin.http.post(f"{admin.base}/admin/rehearsal/{action}", data={"csrf_token": token},
                    headers={"X-CSRFToken": ""}, timeout=10)
    while True:
        page = admin.call("GET", "/admin")
        if page.status_code == 200 and ('id="rehearsal-banner"' in page.text) == rehearsing:
            return time.perf_counter() - started
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-switch-"))
    env = {"KIOSK_DATA_DIR": str(folder / "data"), "KIOSK_BACKUP_MINUTES": "0",
           **{f"KIOSK_PIN_{role.upper()}": pin for role, pin in PINS.items()}}
    server = KioskProcess(env, folder / "serve.log").start()
    try:
        admin = Station(server.url, "admin", PINS["admin"], threading.Event())
        into, back = [], []
        for _ in range(args.rounds):
            into.append(press(admin, "start", rehearsing=True))
            back.append(press(admin, "end", rehearsing=False))
        for label, times in (("vào tổng duyệt", into), ("trở lại buổi lễ thật", back)):
            print(f"{label:<22} median {statistics.median(times):.2f} s, max {max(times):.2f} s "
                  f"({len(times)} lần; gồm {RESTART_AFTER:.1f} s chờ để trang nhận câu trả lời)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
