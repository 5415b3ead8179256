"""Benchmark: the printed door list (GET /admin/door-list.pdf) for 1,000 and 5,000 invitees.

Run: .venv/bin/python bench/bench_door_list.py [COUNT ...]
Imports COUNT generated invitees into a fresh data folder through the real import path, then times the
same two calls the admin route makes (collect the rows, lay out and write the PDF). Prints figures;
asserts nothing.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checkin import door_list, invitations  # noqa: E402
from kiosk import create_app  # noqa: E402
from kiosk.storage import utcnow  # noqa: E402
from tests.invitee_files import many_people, xlsx_bytes  # noqa: E402


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app({"KIOSK_DATA_DIR": data_dir, **{f"KIOSK_PIN_{r}": "111111"
                                                          for r in ("ADMIN", "GATE", "MC", "CASHIER")}})
        db = app.extensions["kiosk.db"]
        report = invitations.check_import(db, "bench.xlsx", xlsx_bytes(many_people(count)))
        assert report.ok, report.errors[:3]
        invitations.apply_import(db, report, False, "bench")
        started = time.perf_counter()
        event, lines = door_list.collect(db)
        collected = time.perf_counter()
        data = door_list.door_list_pdf(event, lines, utcnow())
        finished = time.perf_counter()
        import pypdfium2
        pages = len(pypdfium2.PdfDocument(data))
        print(f"{len(lines):>5} invitations (imported {count} + the default event's): "
              f"query {collected - started:.2f} s, PDF {finished - collected:.2f} s, "
              f"total {finished - started:.2f} s; {pages} pages, {len(data) / 1e6:.2f} MB")
        db.dispose()


if __name__ == "__main__":
    for count in [int(arg) for arg in sys.argv[1:]] or [1000, 5000]:
        main(count)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
