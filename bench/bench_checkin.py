"""Benchmark: check-in throughput and latency on the real server, load from wrk in another process.

Run: .venv/bin/python bench/bench_checkin.py [SECONDS]   (needs `wrk`: apt-get install wrk)
Starts `python -m kiosk serve` on a fresh data folder with generated invitees, logs in as the gate, and
drives POST /api/checkin at 1, 8 and 32 concurrent connections: first-time scans (each a durable commit
plus a scan-log row), repeat scans, unknown codes. Then the same first-time load against a bare Flask
+ SQLite endpoint (bench/bare_checkin_app.py), on Werkzeug's own server and on the kiosk's, for the
ratio. Prints figures; asserts nothing.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
LEVELS = (1, 8, 32)
# Fresh codes per second of each first-time run: more than any server here scans, so none is scanned twice.
CODES_PER_SECOND = 2000
BARE_CODES_PER_SECOND = 5000

LUA = """
local codes = {}
local counter = 0
local step = %(threads)d
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end
function init(args)
  for line in io.lines("%(codes)s") do codes[#codes + 1] = line end
  counter = id
end
function request()
  local code = codes[(counter %% #codes) + 1]
  counter = counter + step
  return wrk.format("POST", "/api/checkin", {
    ["Content-Type"] = "application/json",
    ["Cookie"] = "%(cookie)s",
    ["X-CSRFToken"] = "%(csrf)s"}, '{"code":"' .. code .. '","gate":"bench"}')
end
%(pause)s
"""


def wait_up(url: str) -> None:
    for _ in range(200):
        try:
            requests.get(url + "/healthz", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def wait_for_port(port: int) -> None:
    """Wait until something listens on 127.0.0.1:port."""
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def wrk(url: str, connections: int, seconds: int, codes_file: Path, cookie: str = "", csrf: str = "",
        pause_ms: int = 0) -> dict:
    """wrk's figures for POST /api/checkin; with `pause_ms`, each connection waits that long after every
    answer (a gate between two guests) instead of sending its next scan at once."""
    threads = min(connections, 2)
    script = codes_file.with_suffix(f".{connections}.lua")
    pause = f"function delay() return {pause_ms} end" if pause_ms else ""
    script.write_text(LUA % {"threads": threads, "codes": codes_file, "cookie": cookie, "csrf": csrf,
                             "pause": pause})
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
                          url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)

    def pct(p):
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    return {"rps": rate, "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "p50": pct(50), "p99": pct(99), "non2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else "none"}


def line(label: str, c: int, r: dict, fresh_codes: int | None = None) -> str:
    """One result; for first-time runs, a warning if the run had to scan some of its codes twice."""
    warning = (f"   (!) {r['requests']} requests for {fresh_codes} codes: some were repeats"
               if fresh_codes is not None and r["requests"] > fresh_codes else "")
    return (f"{label:<30} c={c:<3} {r['rps']:8.0f} req/s   p50 {r['p50']:6.2f} ms   p99 {r['p99']:6.2f} ms"
            f"   non-2xx {r['non2xx']}   socket errors: {r['socket_errors']}{warning}")


def main(seconds: int = 5) -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    from checkin.codes import new_code
    work = Path(tempfile.mkdtemp(prefix="bench-checkin-"))
    data = work / "data"
    env = {**os.environ, "KIOSK_DATA_DIR": str(data), "KIOSK_PIN_GATE": "222222", "KIOSK_PIN_ADMIN": "111111",
           "KIOSK_PIN_MC": "333333", "KIOSK_PIN_CASHIER": "444444", "PYTHONPATH": str(ROOT)}
    needed = CODES_PER_SECOND * seconds * len(LEVELS) + 2000
    from tests.invitee_files import csv_bytes, many_people
    subprocess.run([PY, "-m", "kiosk", "init"], env=env, cwd=ROOT, check=True, capture_output=True)
    everyone = many_people(needed)
    for start in range(0, needed, 15_000):  # the importer takes at most 20,000 rows a file
        people = work / f"people-{start}.csv"
        people.write_bytes(csv_bytes(everyone[start:start + 15_000]))
        subprocess.run([PY, "-m", "kiosk", "import", str(people)], env=env, cwd=ROOT, check=True,
                       capture_output=True)
    db = sqlite3.connect(data / "kiosk.sqlite3")
    codes = [row[0] for row in db.execute("SELECT code FROM invitation_code WHERE revoked_at IS NULL")]
    db.close()
    print(f"{len(codes)} invitations; {seconds} s per run; wrk {subprocess.run(['wrk', '-v'], capture_output=True, text=True).stdout.split()[1]}")

    port = 5601
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([PY, "-m", "kiosk", "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = {}
    try:
        wait_up(url)
        http = requests.Session()
        csrf = http.post(url + "/api/login", json={"role": "gate", "pin": "222222"}).json()["csrf_token"]
        cookie = "kiosk_session=" + http.cookies["kiosk_session"]
        offset = 0
        for c in LEVELS:
            chunk = work / f"first-{c}.txt"
            chunk.write_text("\n".join(codes[offset:offset + CODES_PER_SECOND * seconds]) + "\n")
            offset += CODES_PER_SECOND * seconds
            results[("first", c)] = wrk(url + "/api/checkin", c, seconds, chunk, cookie, csrf)
            print(line("kiosk first-time scans", c, results[("first", c)], CODES_PER_SECOND * seconds))
        repeat = work / "repeat.txt"
        repeat.write_text("\n".join(codes[:2000]) + "\n")
        unknown = work / "unknown.txt"
        unknown.write_text("\n".join(new_code() for _ in range(2000)) + "\n")
        for c in LEVELS:
            print(line("kiosk repeat scans", c, wrk(url + "/api/checkin", c, seconds, repeat, cookie, csrf)))
        for c in LEVELS:
            print(line("kiosk unknown codes", c, wrk(url + "/api/checkin", c, seconds, unknown, cookie, csrf)))
    finally:
        server.terminate()
        server.wait(10)

    # The yardstick twice: on Werkzeug's own server (a new connection per request, as the figure
    # was measured) and on the kiosk's keep-alive server; the ratio to the latter is the app's own cost.
    for server_kind, bare_port in (("werkzeug", 5602), ("kiosk", 5603)):
        bare_db = work / f"bare-{server_kind}.sqlite3"
        bare = subprocess.Popen([PY, str(ROOT / "bench" / "bare_checkin_app.py"), str(bare_db), str(bare_port),
                                 server_kind], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(bare_port)
            # The yardstick scans faster than the kiosk: it gets its own, larger supply of fresh codes.
            bare_codes = [new_code() for _ in range(BARE_CODES_PER_SECOND * seconds * len(LEVELS))]
            conn = sqlite3.connect(bare_db)
            conn.executemany("INSERT INTO guest (code) VALUES (?)", [(code,) for code in bare_codes])
            conn.commit()
            conn.close()
            for i, c in enumerate(LEVELS):
                chunk = work / f"bare-{server_kind}-{c}.txt"
                per_run = BARE_CODES_PER_SECOND * seconds
                chunk.write_text("\n".join(bare_codes[i * per_run:(i + 1) * per_run]) + "\n")
                bare_result = wrk(f"http://127.0.0.1:{bare_port}/api/checkin", c, seconds, chunk)
                print(line(f"bare Flask+SQLite ({server_kind})", c, bare_result, per_run))
                ratio = results[("first", c)]["rps"] / bare_result["rps"]
                print(f"{'':<30} c={c:<3} kiosk/bare throughput ratio {ratio:.2f}")
        finally:
            bare.terminate()
            bare.wait(10)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
