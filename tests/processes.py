"""Several `kiosk serve` processes on one PostgreSQL database and one Redis, as deploy/ describes them."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import create_engine, text

from .conftest import PINS
from .live import KioskProcess

ROOT = Path(__file__).resolve().parent.parent


class FromAddress(HTTPAdapter):
    """Requests sent from one loopback address (127.0.0.N), as from one device of the school Wi-Fi."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def station(base_url: str, role: str, address: str | None = None) -> requests.Session:
    """A logged-in station: its session cookie and CSRF header set, optionally from its own address."""
    session = requests.Session()
    if address:
        session.mount("http://", FromAddress(address))
    answer = session.post(f"{base_url}/api/login", json={"role": role, "pin": PINS[role]}, timeout=10)
    assert answer.status_code == 200, answer.text
    session.headers["X-CSRFToken"] = answer.json()["csrf_token"]
    if role in ("cashier", "admin"):
        named = session.post(f"{base_url}/api/desk/collector", json={"name": "Hoàng Thị Lan"}, timeout=10)
        assert named.status_code == 200, named.text
    return session


class Cluster:
    """N kiosk processes sharing a database, a message queue, a session secret and an exports folder, each
    with its own data folder and log file (as deploy/ sets them up)."""

    def __init__(self, folder: Path, database_url: str, queue_url: str, count: int = 2, **env: str):
        self.database_url = database_url
        self.export_dir = folder / "exports"
        common = {"DATABASE_URL": database_url, "KIOSK_MESSAGE_QUEUE": queue_url,
                  "KIOSK_SECRET_KEY": secrets.token_hex(32), "KIOSK_BEHIND_PROXY": "1",
                  "KIOSK_EXPORT_DIR": str(self.export_dir),
                  **{f"KIOSK_PIN_{role.upper()}": pin for role, pin in PINS.items()}, **env}
        self.processes = [KioskProcess({**common, "KIOSK_DATA_DIR": str(folder / f"kiosk{i}")},
                                       folder / f"kiosk{i}.log") for i in range(count)]
        self.engine = create_engine(database_url)

    def start(self) -> "Cluster":
        """Start every process at the same moment (on an empty database, they race to set it up)."""
        errors: list[BaseException] = []

        def start(process):
            try:
                process.start()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
        threads = [threading.Thread(target=start, args=(p,)) for p in self.processes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return self

    @property
    def urls(self) -> list[str]:
        return [process.url for process in self.processes]

    def query(self, sql: str, **params):
        """Rows of one query on the shared database (the tests' own view of what was written)."""
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).all()

    def codes(self, count: int) -> list[str]:
        """Active invitation codes of delegates not yet arrived, in protocol order."""
        rows = self.query("SELECT c.code FROM invitation_code c JOIN invitee i ON i.id = c.invitee_id "
                          "WHERE c.revoked_at IS NULL AND i.checked_in_at IS NULL AND i.removed_at IS NULL "
                          "ORDER BY i.id LIMIT :n", n=count)
        assert len(rows) == count, f"only {len(rows)} codes"
        return [code for code, in rows]

    def import_people(self, folder: Path, count: int) -> None:
        """Add `count` invitees with the command line on the shared database, as the organiser would."""
        from .invitee_files import csv_bytes, many_people
        sheet = folder / "khach-moi.csv"
        sheet.write_bytes(csv_bytes(many_people(count)))
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}, "PYTHONPATH": str(ROOT),
               "DATABASE_URL": self.database_url, "KIOSK_DATA_DIR": str(folder / "cli")}
        done = subprocess.run([sys.executable, "-m", "kiosk", "import", str(sheet)], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        self.engine.dispose()
