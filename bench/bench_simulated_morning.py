"""Benchmark: a whole simulated morning against a real `kiosk serve` process (the soak test's driver).

Run: .venv/bin/python bench/bench_simulated_morning.py [--speed 200] [--gates 8] [--screens 50]
     [--invitees 1000] [--faults]
Starts `python -m kiosk serve` on a fresh data folder with a fake network printer on 127.0.0.1, plays the
morning through the real HTTP and Socket.IO API (kiosk/simulation) and prints its table: scans by verdict,
p50/p99 latency, pushes received by the screens, receipts, and the comparison with the server's report.
--faults adds the soak test's kill -9 at 07h15 and an 8-second printer unplug during item 6.
Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.simulation import run_morning  # noqa: E402
from tests.conftest import PINS  # noqa: E402
from tests.printer_fakes import FakePrinter  # noqa: E402
from tests.soak import morning_faults, soak_server  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=200)
    parser.add_argument("--gates", type=int, default=8)
    parser.add_argument("--screens", type=int, default=50)
    parser.add_argument("--invitees", type=int, default=1000)
    parser.add_argument("--faults", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-morning-"))
    printer = FakePrinter()
    server = soak_server(folder, printer)
    try:
        faults = morning_faults(server, printer) if args.faults else []
        summary = run_morning(server.url, PINS, speed=args.speed, gates=args.gates, screens=args.screens,
                              invitees=args.invitees, faults=faults, progress=sys.stdout)
        print(f"speed {args.speed:g}x, {args.gates} gates, {args.screens} screens, {args.invitees} invitees")
        print(summary.table())
    finally:
        server.stop()
        printer.close()


if __name__ == "__main__":
    main()
