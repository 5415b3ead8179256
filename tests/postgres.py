"""A private PostgreSQL server for the test run: its own cluster in a temporary folder, on a free port.

Debian's server programs (apt-get install postgresql; ./run.sh test does it as root) are used directly:
initdb, then pg_ctl start with durability switched off (a test cluster need not survive a power cut).
PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` system user.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from .live import free_port


def server_bin() -> Path | None:
    """The folder with initdb and pg_ctl (the newest installed major version), or None."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    """initdb + pg_ctl in a temporary folder; `url(name)` for a fresh database; stop() removes it all."""

    def __init__(self):
        self.bin = server_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL server programs not found (apt-get install postgresql)")
        self.folder = Path(tempfile.mkdtemp(prefix="kiosk-pg-"))
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:
            self.user = "postgres"
            owner = pwd.getpwnam(self.user)
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        self.data = self.folder / "data"
        self._databases = 0
        self._lock = threading.RLock()

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True, cwd=self.folder)

    def start(self, durable: bool = False) -> "PrivatePostgres":
        """initdb and start; `durable` keeps PostgreSQL's own defaults (fsync, synchronous commit), for benchmarks."""
        self._run("initdb", "-D", str(self.data), "-U", "kiosk", "--auth=trust", "-E", "UTF8", "--no-locale")
        speed = "" if durable else "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        for attempt in range(3):
            options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 {speed}"
                       "-c max_connections=200")
            try:
                self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "server.log"),
                          "-w", "start")
                return self
            except subprocess.CalledProcessError:
                if attempt == 2:
                    raise
                self.port = free_port()  # the free port was taken meanwhile by another program: another one
        return self

    def _admin(self, statement: str) -> None:
        """Run one statement outside a transaction on the maintenance database (CREATE/DROP DATABASE)."""
        import psycopg
        with self._lock, psycopg.connect(f"host=127.0.0.1 port={self.port} user=kiosk dbname=postgres",
                                         autocommit=True) as conn:
            conn.execute(statement)

    def new_database(self) -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        with self._lock:
            self._databases += 1
            name = f"kiosk_{self._databases}"
        self._admin(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://kiosk@127.0.0.1:{self.port}/{name}"

    def drop_database(self, url: str) -> None:
        """Drop a database made by new_database, closing whatever still holds it (a test's leftovers)."""
        self._admin(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
