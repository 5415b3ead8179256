"""Benchmark: invitation cards for 1,000 invitees, as an A4 PDF and as a ZIP of PNGs.

Run: .venv/bin/python bench/bench_cards.py [COUNT]
Imports COUNT generated invitees into a fresh data folder through the real import path, then times
the same functions the admin page and `python -m kiosk invitations` call. Prints figures; asserts nothing.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checkin import invitations  # noqa: E402
from kiosk import create_app  # noqa: E402
from tests.invitee_files import many_people, xlsx_bytes  # noqa: E402


def main(count: int = 1000) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app({"KIOSK_DATA_DIR": data_dir, **{f"KIOSK_PIN_{r}": "111111"
                                                          for r in ("ADMIN", "GATE", "MC", "CASHIER")}})
        db = app.extensions["kiosk.db"]
        started = time.perf_counter()
        report = invitations.check_import(db, "bench.xlsx", xlsx_bytes(many_people(count)))
        assert report.ok, report.errors[:3]
        invitations.apply_import(db, report, False, "bench")
        import_seconds = time.perf_counter() - started
        _info, people = invitations.card_people(db)
        print(f"invitees with a card: {len(people)} (imported {count} rows in {import_seconds:.2f} s)")
        for fmt, name in (("pdf", "cards.pdf"), ("png", "cards.zip")):
            out = Path(data_dir) / name
            started = time.perf_counter()
            invitations.write_cards(db, out, fmt)
            seconds = time.perf_counter() - started
            size = out.stat().st_size / 1e6
            print(f"{fmt.upper():>4}: {len(people)} cards in {seconds:.2f} s "
                  f"({1000 * seconds / len(people):.1f} ms/card, {size:.1f} MB)")
        db.dispose()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
