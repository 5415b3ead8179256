"""Benchmark: how much an invitee-list import delays gate scans on the real server.

Run: .venv/bin/python bench/bench_import_gate.py [ROWS]   (default 20000, the importer's maximum)
Starts `python -m kiosk serve` on a fresh data folder with 3,000 invitations, then two gate clients scan
fresh codes sequentially (one scan every 40 ms each, like a busy gate) while the organiser uploads an
.xlsx of ROWS people through the admin page. Prints scan latency before, while the file is read (in a
worker process) and while its rows are written (a few per transaction), and how long the import took.
For comparison it then reads the same file inside a server process's own interpreter (as the kiosk did
before), showing what that costs the gate. Prints figures; asserts nothing.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
PINS = {"KIOSK_PIN_ADMIN": "11111111", "KIOSK_PIN_GATE": "222222", "KIOSK_PIN_MC": "333333",
        "KIOSK_PIN_CASHIER": "444444"}
GATES = 2
SCAN_EVERY = 0.04


def _percentiles(values: list[float]) -> str:
    if not values:
        return "no scans"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"{len(values):5d} scans   p50 {statistics.median(ordered):6.1f} ms   p99 {p99:6.1f} ms   "
            f"max {ordered[-1]:6.1f} ms")


class Gates:
    """Scanner threads posting fresh codes; every latency is kept with its phase."""

    def __init__(self, url: str, codes: list[str]):
        self.url, self.codes = url, codes
        self.phase = "warm-up"
        self.latencies: dict[str, list[float]] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._scan, args=(n,), daemon=True) for n in range(GATES)]

    def _scan(self, n: int) -> None:
        session = requests.Session()
        csrf = session.post(self.url + "/api/login", json={"role": "gate", "pin": PINS["KIOSK_PIN_GATE"]}).json()["csrf_token"]
        for code in self.codes[n::GATES]:
            if self._stop.is_set():
                return
            phase = self.phase
            started = time.perf_counter()
            answer = session.post(self.url + "/api/checkin", json={"code": code, "gate": f"Cổng {n}"},
                                  headers={"X-CSRFToken": csrf})
            took = (time.perf_counter() - started) * 1000
            assert answer.status_code == 200 and answer.json()["result"] == "ok", answer.text
            with self._lock:
                self.latencies.setdefault(phase, []).append(took)
            time.sleep(SCAN_EVERY)

    def start(self):
        for thread in self.threads:
            thread.start()
        return self

    def stop(self):
        self._stop.set()
        for thread in self.threads:
            thread.join()


def _served(env: dict) -> tuple[subprocess.Popen, str]:
    from tests.live import free_port
    port = free_port()
    server = subprocess.Popen([PY, "-m", "kiosk", "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            requests.get(url + "/healthz", timeout=1)
            return server, url
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def _codes(data_dir: Path) -> list[str]:
    import sqlite3
    with sqlite3.connect(data_dir / "kiosk.sqlite3") as db:
        return [row[0] for row in db.execute("SELECT code FROM invitation_code WHERE revoked_at IS NULL")]


def through_the_server(rows: int) -> None:
    """The kiosk as it is: the upload goes through the admin page and its background job."""
    from tests.invitee_files import csv_bytes, many_people, xlsx_bytes
    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    env = {**os.environ, "KIOSK_DATA_DIR": str(work / "data"), "PYTHONPATH": str(ROOT), **PINS,
           "KIOSK_BACKUP_MINUTES": "0"}
    subprocess.run([PY, "-m", "kiosk", "init"], env=env, cwd=ROOT, check=True, capture_output=True)
    first = work / "first.csv"
    first.write_bytes(csv_bytes(many_people(3000)))
    subprocess.run([PY, "-m", "kiosk", "import", str(first)], env=env, cwd=ROOT, check=True, capture_output=True)
    upload = xlsx_bytes(many_people(rows))
    server, url = _served(env)
    try:
        gates = Gates(url, _codes(work / "data")).start()
        time.sleep(1.5)  # first connections, first pushes: not what an import does to the gate
        gates.phase = "before"
        time.sleep(4)
        admin = requests.Session()
        csrf = admin.post(url + "/api/login", json={"role": "admin", "pin": PINS["KIOSK_PIN_ADMIN"]}).json()["csrf_token"]
        gates.phase = "reading"
        started = time.perf_counter()
        answer = admin.post(url + "/admin/invitees/import", data={"csrf_token": csrf},
                            files={"file": ("danh-sach.xlsx", upload)}, allow_redirects=False)
        if answer.status_code != 303:
            raise RuntimeError(f"upload refused: {answer.status_code} {answer.text[:300]}")
        job_page = url + answer.headers["Location"]
        read_done = write_done = None
        while True:
            page = admin.get(job_page, allow_redirects=False)
            if page.status_code == 302:
                break
            if "Đang ghi" in page.text and read_done is None:
                read_done = time.perf_counter()
                gates.phase = "writing"
            if page.status_code == 400:
                raise RuntimeError(page.text[:500])
            time.sleep(0.2)
        write_done = time.perf_counter()
        read_done = read_done or write_done
        gates.phase = "after"
        time.sleep(2)
        gates.stop()
    finally:
        server.terminate()
        server.wait(10)
    print(f"Import of {rows} rows through the admin page (xlsx, {len(upload) / 1e6:.1f} MB): "
          f"read {read_done - started:.1f} s, written {write_done - read_done:.1f} s")
    for phase in ("before", "reading", "writing", "after"):
        print(f"  gate scans {phase:<8} {_percentiles(gates.latencies.get(phase, []))}")


def read_inside_the_server(rows: int) -> None:
    """For comparison: the same file read by a thread of the server's own process."""
    from checkin.importer import parse_invitees
    from tests.conftest import app_config
    from tests.invitee_files import xlsx_bytes, many_people
    from tests.live import LiveServer
    import logging
    logging.disable(logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="bench-import-inline-"))
    config = {**app_config(work / "data"), "KIOSK_PIN_GATE": PINS["KIOSK_PIN_GATE"], "KIOSK_BACKUP_MINUTES": 0}
    server = LiveServer(config).start()
    from checkin import invitations
    from tests.invitee_files import csv_bytes
    db = server.app.extensions["kiosk.db"]
    invitations.apply_import(db, invitations.check_import(db, "first.csv", csv_bytes(many_people(3000))), False, "bench")
    upload = xlsx_bytes(many_people(rows))
    try:
        gates = Gates(server.url, _codes(work / "data")).start()
        time.sleep(1.5)
        gates.phase = "before"
        time.sleep(3)
        gates.phase = "reading"
        started = time.perf_counter()
        reader = threading.Thread(target=parse_invitees, args=("danh-sach.xlsx", upload, {}))
        reader.start()
        reader.join()
        took = time.perf_counter() - started
        gates.phase = "after"
        time.sleep(1)
        gates.stop()
    finally:
        server.stop()
    print(f"For comparison, the same file read by a thread inside the server process: {took:.1f} s")
    for phase in ("before", "reading"):
        print(f"  gate scans {phase:<8} {_percentiles(gates.latencies.get(phase, []))}")


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    through_the_server(count)
    read_inside_the_server(count)
