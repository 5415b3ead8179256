"""Benchmark: first-time scans on PostgreSQL with 1 and 2 kiosk processes, beside SQLite; a screen push
from one process to a screen on another.

Run: .venv/bin/python bench/bench_processes.py [SECONDS]   (needs wrk, PostgreSQL's server programs and
redis-server: apt-get install wrk postgresql redis-server)
A private PostgreSQL cluster with its durable defaults (fsync, synchronous commit: every acknowledged scan
is on disk), a private Redis, `python -m kiosk serve` processes sharing both. wrk drives POST /api/checkin
with codes never scanned before at 8 and 32 connections in all, split evenly over the processes (each wrk
talks to one process, as nginx's per-device hash would spread devices). The same load on one process on
SQLite. On 2 processes also 32 clients that pause 50 ms after each answer (gates between guests: a rate
of about 500/s offered, and the latency at it). Then 200 MC presses on process A, timed until a Socket.IO
screen on process A and on process B has the new state.
Prints figures; asserts nothing.
"""
from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
import socketio
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
CLIENTS = (8, 32)
CODES_PER_SECOND = 1500
# The paced run: this many clients, each waiting this long after every answer (about 500 scans/s offered).
PACED_CLIENTS, PACED_PAUSE_MS = 32, 50
PINS = {"KIOSK_PIN_GATE": "222222", "KIOSK_PIN_ADMIN": "111111", "KIOSK_PIN_MC": "333333",
        "KIOSK_PIN_CASHIER": "444444"}


def _env(data: Path, url: str | None, queue: str | None, secret: str) -> dict:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}, **PINS,
           "KIOSK_DATA_DIR": str(data), "PYTHONPATH": str(ROOT), "KIOSK_SECRET_KEY": secret,
           "KIOSK_BACKUP_MINUTES": "0"}
    if url:
        env["DATABASE_URL"] = url
    if queue:
        env["KIOSK_MESSAGE_QUEUE"] = queue
    return env


def _load(env: dict, work: Path, count: int) -> None:
    from tests.invitee_files import csv_bytes, many_people
    subprocess.run([PY, "-m", "kiosk", "init"], env=env, cwd=ROOT, check=True, capture_output=True)
    everyone = many_people(count)
    for start in range(0, count, 15_000):
        sheet = work / f"people-{start}.csv"
        sheet.write_bytes(csv_bytes(everyone[start:start + 15_000]))
        subprocess.run([PY, "-m", "kiosk", "import", str(sheet)], env=env, cwd=ROOT, check=True, capture_output=True)


def _serve(env: dict, port: int) -> subprocess.Popen:
    from bench.bench_checkin import wait_up
    server = subprocess.Popen([PY, "-m", "kiosk", "serve", "--host", "127.0.0.1", "--port", str(port)],
                              env={**env, "MALLOC_ARENA_MAX": "2"}, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_up(f"http://127.0.0.1:{port}")
    return server


def _gate_login(url: str) -> tuple[str, str]:
    http = requests.Session()
    csrf = http.post(url + "/api/login", json={"role": "gate", "pin": "222222"}).json()["csrf_token"]
    return "kiosk_session=" + http.cookies["kiosk_session"], csrf


def _scan_load(urls: list[str], clients: int, seconds: int, codes: list[str], work: Path, pause_ms: int = 0) -> dict:
    """wrk on every process at once, clients split evenly (each pausing `pause_ms` after an answer); total
    rate, worst p50/p99, errors."""
    from bench.bench_checkin import wrk
    each = clients // len(urls)
    results: list[dict] = [{}] * len(urls)
    per = len(codes) // len(urls)

    def run(i):
        chunk = work / f"codes-{clients}-{i}-{len(urls)}.txt"
        chunk.write_text("\n".join(codes[i * per:(i + 1) * per]) + "\n")
        cookie, csrf = _gate_login(urls[i])
        results[i] = wrk(urls[i] + "/api/checkin", each, seconds, chunk, cookie, csrf, pause_ms)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(urls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"rps": sum(r["rps"] for r in results), "p50": max(r["p50"] for r in results),
            "p99": max(r["p99"] for r in results), "non2xx": sum(r["non2xx"] for r in results),
            "requests": sum(r["requests"] for r in results)}


def _show(label: str, clients: int, r: dict, fresh: int) -> None:
    repeats = "   (!) some codes scanned twice" if r["requests"] > fresh else ""
    print(f"{label:<34} c={clients:<3} {r['rps']:7.0f} first-time scans/s   p50 {r['p50']:6.2f} ms   "
          f"p99 {r['p99']:6.2f} ms   non-2xx {r['non2xx']}{repeats}")


def _codes(url: str) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        codes = [c for c, in conn.execute(text("SELECT code FROM invitation_code WHERE revoked_at IS NULL"))]
    engine.dispose()
    return codes


def _push_latency(mc_url: str, screen_url: str, presses: int = 200) -> list[float]:
    """Milliseconds from an MC's press on one process to the new state on a screen of another."""
    mc = requests.Session()
    csrf = mc.post(mc_url + "/api/login", json={"role": "mc", "pin": "333333"}).json()["csrf_token"]
    mc.headers["X-CSRFToken"] = csrf
    states: list[tuple[float, dict]] = []
    arrived = threading.Condition()

    def on_state(data):
        with arrived:
            states.append((time.perf_counter(), data))
            arrived.notify_all()
    screen = socketio.Client(reconnection=False)
    screen.on("state", on_state, namespace="/display")
    screen.connect(screen_url, namespaces=["/display"], transports=["websocket"], wait_timeout=10)
    latencies = []
    try:
        with arrived:
            arrived.wait_for(lambda: states, timeout=10)
        for i in range(presses):
            last = states[-1][1]
            action = "next" if last["current_index"] < len(last["items"]) - 1 and (i // 7) % 2 == 0 else "prev"
            if last["current_index"] <= -1:
                action = "next"
            sent = time.perf_counter()
            mc.post(f"{mc_url}/api/agenda/{action}", json={"expected_index": last["current_index"]}, timeout=10)
            with arrived:
                arrived.wait_for(lambda: states[-1][1]["rev"] > last["rev"], timeout=5)
            seen = next(at for at, s in states if s["rev"] > last["rev"])
            latencies.append((seen - sent) * 1000)
    finally:
        screen.disconnect()
    return latencies


def main(seconds: int = 5) -> None:
    from tests.postgres import PrivatePostgres
    from tests.services import PrivateRedis
    work = Path(tempfile.mkdtemp(prefix="bench-processes-"))
    needed = CODES_PER_SECOND * seconds * (len(CLIENTS) + 1) + 1000   # the runs, and the paced one
    secret = secrets.token_hex(32)
    print(f"{seconds} s per run; first-time scans, each a durable commit; {needed} invitations per database")

    # SQLite, one process: the laptop's default, for comparison.
    sqlite_env = _env(work / "sqlite", None, None, secret)
    _load(sqlite_env, work, needed)
    codes = _codes(f"sqlite:///{work / 'sqlite' / 'kiosk.sqlite3'}")
    server = _serve(sqlite_env, 5701)
    try:
        offset = 0
        for clients in CLIENTS:
            chunk = codes[offset:offset + CODES_PER_SECOND * seconds]
            offset += len(chunk)
            _show("SQLite, 1 process", clients, _scan_load(["http://127.0.0.1:5701"], clients, seconds, chunk, work),
                  len(chunk))
    finally:
        server.terminate()
        server.wait(10)

    postgres = PrivatePostgres().start(durable=True)
    redis = PrivateRedis().start()
    try:
        for processes in (1, 2):
            url = postgres.new_database()
            envs = [_env(work / f"pg{processes}-{i}", url, redis.url(), secret) for i in range(processes)]
            _load(envs[0], work, needed)
            codes = _codes(url)
            ports = [5710 + 10 * processes + i for i in range(processes)]
            servers = [_serve(env, port) for env, port in zip(envs, ports)]
            try:
                offset = 0
                for clients in CLIENTS:
                    chunk = codes[offset:offset + CODES_PER_SECOND * seconds]
                    offset += len(chunk)
                    result = _scan_load([f"http://127.0.0.1:{p}" for p in ports], clients, seconds, chunk, work)
                    _show(f"PostgreSQL, {processes} process{'es' if processes > 1 else ''}", clients, result,
                          len(chunk))
                if processes == 2:
                    # 32 gates, each pausing between two guests: the latency at a rate the day could see, which
                    # a closed loop cannot show (32 clients at 500/s there means 64 ms per scan on average).
                    chunk = codes[offset:offset + CODES_PER_SECOND * seconds]
                    result = _scan_load([f"http://127.0.0.1:{p}" for p in ports], PACED_CLIENTS, seconds, chunk,
                                        work, PACED_PAUSE_MS)
                    _show(f"PG, 2 proc., {PACED_PAUSE_MS} ms pause per client", PACED_CLIENTS, result, len(chunk))
                if processes == 2:
                    # Beside the same press seen on the same process: what crossing Redis adds.
                    for label, screen_port in (("process A", ports[0]), ("process B", ports[1])):
                        latencies = sorted(_push_latency(f"http://127.0.0.1:{ports[0]}",
                                                         f"http://127.0.0.1:{screen_port}"))
                        p99 = latencies[int(len(latencies) * 0.99) - 1]
                        print(f"MC on process A -> screen on {label}, {len(latencies)} presses: p50 "
                              f"{statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms")
            finally:
                for server in servers:
                    server.terminate()
                for server in servers:
                    server.wait(10)
    finally:
        redis.stop()
        postgres.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
