"""Starts a simulated morning in the background of a running rehearsal (`./run.sh rehearse --simulate`)."""
from __future__ import annotations

import sys
import threading
import time

import requests

from . import run_morning

READY_WITHIN = 30.0


def wait_until_serving(base_url: str, timeout: float = READY_WITHIN, verify: bool | str = True) -> None:
    """Return once the kiosk answers its health check (the server thread may still be binding)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(base_url.rstrip("/") + "/healthz", timeout=2, verify=verify).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"máy chủ {base_url} chưa trả lời sau {timeout:.0f} giây")
        time.sleep(0.2)


def start(base_url: str, pins: dict, *, speed: float = 10.0, gates: int = 4, invitees: int | None = None,
          screens: int = 4, on_done=None, progress=sys.stdout, seed: int = 1,
          verify: bool | str = True) -> threading.Thread:
    """Run the morning in a daemon thread; `on_done` gets its Summary, or the exception that stopped it."""

    def run() -> None:
        try:
            wait_until_serving(base_url, verify=verify)
            outcome = run_morning(base_url, pins, speed=speed, gates=gates, screens=screens, invitees=invitees,
                                  seed=seed, progress=progress, verify=verify)
        except Exception as exc:  # noqa: BLE001 - handed to on_done, which tells the organiser
            outcome = exc
        if on_done:
            on_done(outcome)

    thread = threading.Thread(target=run, name="simulated-morning", daemon=True)
    thread.start()
    return thread
