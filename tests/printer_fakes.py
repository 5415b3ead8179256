"""A fake ESC/POS network printer on 127.0.0.1 that records bytes, and helpers to decode what it got."""
from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass, field

from PIL import Image

from .live import free_port

OK = 0x12  # a status byte with nothing wrong: bits 1 and 4 are always set
OFFLINE = OK | 0x08  # DLE EOT 1
PAPER_END_STOP = OK | 0x20  # DLE EOT 2: printing stopped because the paper ran out
PAPER_END = OK | 0x60  # DLE EOT 4: paper end sensor
NEAR_END = OK | 0x0C  # DLE EOT 4: near-end sensor


@dataclass
class Command:
    """One ESC/POS command the fake parsed."""

    name: str  # init | raster | status | feed | cut | unknown
    args: tuple = ()
    data: bytes = b""


@dataclass
class Connection:
    """Everything one client connection sent."""

    raw: bytearray = field(default_factory=bytearray)
    commands: list[Command] = field(default_factory=list)
    last_byte_at: float = 0.0
    closed: bool = False

    def names(self) -> list[str]:
        return [c.name for c in self.commands]

    def rasters(self) -> list[Command]:
        return [c for c in self.commands if c.name == "raster"]


class EscPosParser:
    """Splits a byte stream into commands; raster data is skipped whole, as a printer does."""

    def __init__(self):
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[Command]:
        self.buffer += data
        out = []
        while self.buffer:
            command, used = self._one(self.buffer)
            if command is None:
                break
            del self.buffer[:used]
            out.append(command)
        return out

    @staticmethod
    def _one(b: bytearray) -> tuple[Command | None, int]:
        if b[0] == 0x10:  # DLE EOT n
            if len(b) < 3:
                return None, 0
            return (Command("status", (b[2],)) if b[1] == 0x04 else Command("unknown", (b[0],))), 3
        if b[0] == 0x1B:  # ESC
            if len(b) < 2:
                return None, 0
            if b[1] == 0x40:
                return Command("init"), 2
            if b[1] == 0x64:
                return (Command("feed", (b[2],)), 3) if len(b) >= 3 else (None, 0)
            return Command("unknown", (b[0], b[1])), 2
        if b[0] == 0x1D:  # GS
            if len(b) < 2:
                return None, 0
            if b[1] == 0x76:  # GS v 0 m xL xH yL yH d1...dk
                if len(b) < 8:
                    return None, 0
                m = b[3]
                x, y = struct.unpack_from("<HH", b, 4)
                size = x * y
                if len(b) < 8 + size:
                    return None, 0
                return Command("raster", (m, x, y), bytes(b[8:8 + size])), 8 + size
            if b[1] == 0x56:  # GS V m [n]
                if len(b) < 3:
                    return None, 0
                if b[2] in (0, 1, 48, 49):
                    return Command("cut", (b[2],)), 3
                return (Command("cut", (b[2], b[3])), 4) if len(b) >= 4 else (None, 0)
            return Command("unknown", (b[0], b[1])), 2
        return Command("unknown", (b[0],)), 1


def raster_image(commands: list[Command]) -> Image.Image:
    """Stack GS v 0 blocks back into one 1-bit image (bit 1 = black dot, MSB = leftmost)."""
    parts = []
    for command in commands:
        _m, x_bytes, rows = command.args
        # "1;I": a set bit is black, as on paper; Pillow's "1" stores white as set.
        parts.append(Image.frombytes("1", (x_bytes * 8, rows), command.data, "raw", "1;I"))
    width = parts[0].width
    assert all(p.width == width for p in parts), "every block must be as wide as the paper"
    image = Image.new("1", (width, sum(p.height for p in parts)), 1)
    top = 0
    for part in parts:
        image.paste(part, (0, top))
        top += part.height
    return image


class FakePrinter:
    """A TCP printer on 127.0.0.1. Modes: ok; silent (accepts, never reads nor answers); stall (answers
    status, then stops reading mid-job, like a jammed printer with a full buffer); reset (drops mid-job).

    Status answers (DLE EOT 1/2/4) are configurable: paper_out() makes it report an empty roll. `slow`
    seconds of pause after each 4 KB read make a receipt take a while to print, as on paper.
    """

    def __init__(self, mode: str = "ok", *, online: int = OK, cause: int = OK, paper: int = OK,
                 reset_after: int = 20_000, answer_status: bool = True, slow: float = 0.0):
        self.mode = mode
        self.slow = slow
        self.answers = {1: online, 2: cause, 4: paper}
        self.reset_after = reset_after
        self.answer_status = answer_status
        self.connections: list[Connection] = []
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if mode in ("silent", "stall") or slow:
            # A real printer's buffer is small; keep ours small too so a writer fills it quickly.
            self._server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(8)
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._clients: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        self.job_done = threading.Event()
        self.unplugged = False

    @classmethod
    def paper_out(cls) -> "FakePrinter":
        return cls(online=OFFLINE, cause=PAPER_END_STOP, paper=PAPER_END)

    def url(self, timeout: float = 1.0) -> str:
        return f"tcp://127.0.0.1:{self.port}?timeout={timeout:g}"

    @staticmethod
    def refused_url() -> str:
        """A port on 127.0.0.1 where nothing listens."""
        return f"tcp://127.0.0.1:{free_port()}?timeout=1"

    def _accept(self) -> None:
        self._server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except (socket.timeout, OSError):
                continue
            if self.unplugged:
                # The cable is out: the connection is reset at once, as by a port nobody listens on.
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                continue
            self._clients.append(client)
            conn = Connection()
            self.connections.append(conn)
            threading.Thread(target=self._serve, args=(client, conn), daemon=True).start()

    def _serve(self, client: socket.socket, conn: Connection) -> None:
        if self.mode == "silent":
            self._stop.wait()  # accept, then never read nor answer
            return
        parser = EscPosParser()
        client.settimeout(0.2)
        try:
            while not self._stop.is_set():
                try:
                    data = client.recv(4096 if self.slow else 65536)
                except socket.timeout:
                    continue
                if not data:
                    break
                time.sleep(self.slow)
                conn.raw += data
                conn.last_byte_at = time.perf_counter()
                for command in parser.feed(data):
                    conn.commands.append(command)
                    if command.name == "status" and self.answer_status:
                        client.sendall(bytes((self.answers[command.args[0]],)))
                    if command.name == "cut" or (command.name == "feed" and command.args[0] < 10):
                        self.job_done.set()
                if self.mode == "stall" and len(conn.raw) >= self.reset_after:
                    self._stop.wait()  # stop reading: the client's writes back up until they time out
                    break
                if self.mode == "reset" and len(conn.raw) >= self.reset_after:
                    # SO_LINGER 0 makes close() send RST: the printer was switched off mid-job.
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    break
        finally:
            conn.closed = True
            client.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._server.close()
        for client in self._clients:
            try:
                client.close()
            except OSError:
                pass

    def __enter__(self) -> "FakePrinter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
