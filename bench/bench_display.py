"""Benchmark: from the MC's action (HTTP POST /api/agenda/next) to the new state arriving at 1, 20 and
100 connected screens, and the server's memory with 100 screens connected.

The server is the real one, `python -m kiosk serve`, in its own process on a temporary data folder;
the screens are python-socketio clients over WebSocket in this process. Latency is measured per screen:
the moment its `state` event with the new rev arrives minus the moment the POST was sent. It therefore
includes the HTTP request, the SQLite write (synchronous=FULL), the audit row, the push and the client's
JSON decoding.

    .venv/bin/python bench/bench_display.py [--rounds 100] [--screens 1,20,100]
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import requests
import socketio

ROOT = Path(__file__).resolve().parent.parent
PIN = "246810"


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: str, port: int) -> subprocess.Popen:
    """`python -m kiosk serve` on a fresh data folder; returns once /healthz answers."""
    env = dict(os.environ, KIOSK_DATA_DIR=data_dir, KIOSK_PIN_MC=PIN, KIOSK_PIN_ADMIN="135790",
               KIOSK_PIN_GATE="112233", KIOSK_PIN_CASHIER="445566", PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "kiosk", "serve", "--host", "127.0.0.1", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    process.port = port
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/healthz", timeout=1).ok:
                return process
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not start")


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def screen_worker(url: str, count: int, results, ready, stop) -> None:
    """A process holding `count` screens; at the end it reports (rev, arrival time) of every state."""
    clients, arrivals = [], []

    def on_state(state):
        # Only note the time here: the screens' own work must not delay each other.
        arrivals.append((state["rev"], time.perf_counter()))
    for _ in range(count):
        # Browsers check UTF-8 natively; websocket-client does it in pure Python (about 1 ms for a 5 kB
        # state), which would measure the Python client, not the server.
        client = socketio.Client(reconnection=False, websocket_extra_options={"skip_utf8_validation": True})
        client.on("state", on_state, namespace="/display")
        client.connect(url, namespaces=["/display"], transports=["websocket"], wait_timeout=10)
        clients.append(client)
    ready.put(count)
    stop.wait()
    results.put(arrivals)
    threads = [threading.Thread(target=client.disconnect) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)


class Screens:
    """N python-socketio clients on /display, spread over a few processes as real screens are separate
    devices (one process would serialise their JSON decoding on its own GIL).

    time.perf_counter is CLOCK_MONOTONIC on Linux, so arrival times compare across processes."""

    def __init__(self, url: str, count: int, processes: int):
        context = multiprocessing.get_context("spawn")
        self.count = count
        self.results, ready, self.stop = context.Queue(), context.Queue(), context.Event()
        shares = [count // processes + (1 if i < count % processes else 0) for i in range(processes)]
        self.workers = [context.Process(target=screen_worker, args=(url, share, self.results, ready, self.stop))
                        for share in shares if share]
        for worker in self.workers:
            worker.start()
        for _ in self.workers:
            ready.get(timeout=120)

    def collect(self) -> dict[int, list[float]]:
        """Stop the screens; every rev with the arrival times at each screen."""
        self.stop.set()
        arrivals: dict[int, list[float]] = defaultdict(list)
        for _ in self.workers:
            for rev, arrived in self.results.get(timeout=60):
                arrivals[rev].append(arrived)
        for worker in self.workers:
            worker.join(timeout=30)
        return arrivals


def state_rev(url: str) -> int:
    return requests.get(url + "/api/agenda", timeout=5).json()["rev"]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def measure(url: str, count: int, rounds: int, pid: int, processes: int, interval: float) -> dict:
    mc = requests.Session()
    login = mc.post(url + "/api/login", json={"role": "mc", "pin": PIN}, timeout=5)
    login.raise_for_status()
    mc.headers["X-CSRFToken"] = login.json()["csrf_token"]
    started = time.perf_counter()
    screens = Screens(url, count, min(processes, count))
    print(f"  ({count} screens connected in {time.perf_counter() - started:.1f} s)", flush=True)
    time.sleep(1.0)                                  # let the snapshots on connect settle
    state = mc.get(url + "/api/agenda", timeout=5).json()
    last = len(state["items"]) - 1
    sent_at, http = {}, []
    step = 1
    for _ in range(rounds):
        index = state["current_index"]
        # Walk forward and back over the programme, always with the index the MC saw.
        if not 0 <= index + step <= last:
            step = -step
        sent = time.perf_counter()
        response = mc.post(f"{url}/api/agenda/{'next' if step > 0 else 'prev'}", json={"expected_index": index},
                           timeout=10)
        http.append((time.perf_counter() - sent) * 1000)
        response.raise_for_status()
        state = response.json()
        sent_at[state["rev"]] = sent
        # A fixed pace instead of waiting for every screen: the measuring must not slow the screens.
        time.sleep(max(0.0, interval - (time.perf_counter() - sent)))
    time.sleep(1.0)
    memory = rss_mb(pid)                             # the screens are still connected
    arrivals = screens.collect()
    latencies, firsts, missing = [], [], 0
    for rev, sent in sent_at.items():
        got = arrivals.get(rev, [])
        missing += count - len(got)
        latencies.extend((arrived - sent) * 1000 for arrived in got)
        if got:
            firsts.append((min(got) - sent) * 1000)
    return {"screens": count, "samples": len(latencies), "missing": missing, "p50": statistics.median(latencies),
            "p99": percentile(latencies, 0.99), "max": max(latencies), "first_p50": statistics.median(firsts),
            "http_p50": statistics.median(http), "rss_mb": memory[0], "hwm_mb": memory[1]}


def run_level(count: int, args) -> dict:
    """One level on a fresh server process, so memory figures do not carry over from other levels."""
    with tempfile.TemporaryDirectory() as data_dir:
        server = start_server(data_dir, free_port())
        try:
            idle = rss_mb(server.pid)[0]
            result = measure(f"http://127.0.0.1:{server.port}", count, args.rounds, server.pid, args.processes,
                             args.interval)
            result["idle_mb"] = idle
            return result
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--screens", default="1,20,100")
    parser.add_argument("--processes", type=int, default=2, help="client processes holding the screens")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between two MC actions")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; {args.rounds} MC actions per level")
    rows = []
    for count in (int(n) for n in args.screens.split(",")):
        rows.append(run_level(count, args))
    print(f"{'screens':>7} {'samples':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'1st p50':>7} {'HTTP p50':>8} "
          f"{'RSS idle':>8} {'RSS MB':>7} {'peak MB':>7}")
    for r in rows:
        print(f"{r['screens']:>7} {r['samples']:>7} {r['p50']:>7.1f} {r['p99']:>7.1f} {r['max']:>7.1f} "
              f"{r['first_p50']:>7.1f} {r['http_p50']:>8.1f} {r['idle_mb']:>8.1f} {r['rss_mb']:>7.1f} "
              f"{r['hwm_mb']:>7.1f}" + (f"  ({r['missing']} states never arrived)" if r["missing"] else ""))
    print("p50/p99/max: POST sent -> state received, over every screen and action; 1st: the first screen;")
    print("RSS: the server's VmRSS with the screens connected, after the actions; peak: its VmHWM.")


if __name__ == "__main__":
    main()
