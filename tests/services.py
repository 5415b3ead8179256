"""Private Redis and nginx servers for the multi-process tests: Debian's programs, in a temporary folder,
on free ports (./run.sh test installs them as root with apt, as it does PostgreSQL)."""
from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .live import free_port

ROOT = Path(__file__).resolve().parent.parent
NGINX_SITE = ROOT / "deploy" / "nginx-kiosk.conf"


def _wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port} after {timeout:.0f} s")


class PrivateRedis:
    """redis-server on a free loopback port, nothing saved to disk; `url(n)` for database n."""

    def __init__(self):
        self.program = shutil.which("redis-server")
        if self.program is None:
            raise RuntimeError("redis-server not found (apt-get install redis-server)")
        self.folder = Path(tempfile.mkdtemp(prefix="kiosk-redis-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> "PrivateRedis":
        log = self.folder / "redis.log"
        self.process = subprocess.Popen(
            [self.program, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", str(log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_port(self.port, self.process, log)
        return self

    def url(self, database: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        shutil.rmtree(self.folder, ignore_errors=True)


class PrivateNginx:
    """nginx running the repository's deploy/nginx-kiosk.conf, its upstreams pointed at the given ports."""

    def __init__(self, upstream_ports: list[int]):
        self.program = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
        if self.program is None:
            raise RuntimeError("nginx not found (apt-get install nginx-light)")
        self.folder = Path(tempfile.mkdtemp(prefix="kiosk-nginx-"))
        self.port = free_port()
        self.upstream_ports = upstream_ports
        self.process: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def site(self) -> str:
        """The deploy file as shipped, with this run's ports: the tests prove the documented config."""
        text = NGINX_SITE.read_text(encoding="utf-8")
        servers = "".join(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;\n" for port in self.upstream_ports)
        text, count = re.subn(r"(?:    server 127\.0\.0\.1:\d+[^\n]*\n)+", servers, text)
        assert count == 1, "deploy/nginx-kiosk.conf: the upstream's server lines were not found"
        return text.replace("listen 80;", f"listen 127.0.0.1:{self.port};")

    def start(self) -> "PrivateNginx":
        folder = self.folder
        user = "root" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        (folder / "site.conf").write_text(self.site(), encoding="utf-8")
        (folder / "nginx.conf").write_text(f"""
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
user {user};
events {{ worker_connections 1024; }}
http {{
    log_format upstream '$remote_addr $upstream_addr $status "$request"';
    access_log {folder}/access.log upstream;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
""", encoding="utf-8")
        self.process = subprocess.Popen([self.program, "-c", str(folder / "nginx.conf"), "-p", str(folder)],
                                        stdout=subprocess.DEVNULL, stderr=open(folder / "stderr.log", "w"))
        _wait_for_port(self.port, self.process, folder / "stderr.log")
        return self

    def served(self) -> list[tuple[str, str, str]]:
        """(device address, process address, request line) of every request nginx passed on so far."""
        time.sleep(0.2)  # nginx writes its access log as each request ends
        rows = []
        for line in (self.folder / "access.log").read_text(encoding="utf-8").splitlines():
            device, upstream, _status, request = line.split(" ", 3)
            rows.append((device, upstream, request.strip('"')))
        return rows

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)
