"""The dress rehearsal (tổng duyệt): a copy of the real database, moved to today, that the real one never sees.

The copy lives in `<data>/rehearsal/` as a data folder of its own (database, secret key, logs, receipts), so
nothing a rehearsal writes can reach the real folder's files. The real database file is only ever opened
read-only, for SQLite's online backup. Plain Python, no Flask.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import shutil
import sqlite3
from contextlib import closing, contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

from .config import SECRET_KEY_FILE_NAME, ensure_data_dir, private_file
from .storage.events import REHEARSAL_KEY as META_KEY

FOLDER = "rehearsal"
DATABASE = "kiosk.sqlite3"
PREFIX = "TD"
BAND = "TỔNG DUYỆT — KHÔNG CÓ GIÁ TRỊ"
MARK = "TỔNG DUYỆT"
PID_FILE = "pid"
REPORT_GLOB = "bao-cao-tong-duyet-*.xlsx"
REPORT_NAME = re.compile(r"bao-cao-tong-duyet-\d{8}-\d{6}\.xlsx")
# Copied beside the database: the same sessions stay valid (devices stay logged in), the same printer.
CARRIED_FILES = (SECRET_KEY_FILE_NAME, "config.toml")


class RehearsalError(RuntimeError):
    """A rehearsal could not be prepared; the message is Vietnamese."""


def folder(data_dir: str | Path) -> Path:
    """Where the rehearsal copy of this data folder lives."""
    return Path(data_dir) / FOLDER


def _database_file(url: str) -> Path:
    if not url.startswith("sqlite:///"):
        raise RehearsalError("Tổng duyệt chạy trên bản sao của cơ sở dữ liệu SQLite; với PostgreSQL hãy "
                             "dựng một cơ sở dữ liệu riêng (pg_dump rồi pg_restore) cho buổi tổng duyệt.")
    return Path(url[len("sqlite:///"):])


def default_start(now: dt.datetime, timezone: str) -> dt.datetime:
    """Five minutes from now, on the minute, in the event's time zone."""
    local = now.astimezone(ZoneInfo(timezone)) + dt.timedelta(minutes=5)
    return local.replace(second=0, microsecond=0)


def parse_start(text: str, now: dt.datetime, timezone: str) -> dt.datetime:
    """`14:00` or `14h00` today in the event's time zone."""
    cleaned = text.strip().lower().replace("h", ":").replace(".", ":")
    try:
        hour, minute = (int(part) for part in (cleaned.split(":") + ["0"])[:2])
        return now.astimezone(ZoneInfo(timezone)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    except ValueError:
        raise RehearsalError(f"Giờ bắt đầu “{text}” không đọc được: hãy ghi như 14:00.") from None


@contextmanager
def _read_only(database: Path):
    """A read-only connection (mode=ro: SQLite never writes the file, not even a checkpoint).

    A reader of a WAL database creates the -wal and -shm files when no writer has them open; those it
    made (empty, holding nothing) are removed again, so the real folder is left as it was."""
    sidecars = [database.with_name(database.name + suffix) for suffix in ("-wal", "-shm")]
    made = [path for path in sidecars if not path.exists()]
    conn = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        yield conn
    finally:
        conn.close()
        wal = sidecars[0]
        if wal in made and (not wal.exists() or wal.stat().st_size == 0):
            for path in made:
                path.unlink(missing_ok=True)


def _online_backup(source: Path, target: Path) -> None:
    """Copy the real database, opened read-only, with SQLite's online backup."""
    if not source.is_file():
        raise RehearsalError(f"Chưa có cơ sở dữ liệu {source}: chạy ./run.sh một lần trước khi tổng duyệt.")
    private_file(target)
    with _read_only(source) as src:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=-1)
        finally:
            dst.close()


def prepare(data_dir: str | Path, database_url: str, now: dt.datetime, start: str | None = None) -> Path:
    """Build a fresh rehearsal copy of the data folder; return the copy's data folder."""
    real = _database_file(database_url)
    target_dir = folder(data_dir)
    shutil.rmtree(target_dir, ignore_errors=True)
    ensure_data_dir(target_dir)
    for name in CARRIED_FILES:
        if (Path(data_dir) / name).is_file():
            shutil.copy2(Path(data_dir) / name, target_dir / name)
    # The same certificates: phones that trust the laptop's CA open the rehearsal without a warning.
    if (Path(data_dir) / "tls").is_dir():
        shutil.copytree(Path(data_dir) / "tls", target_dir / "tls")
    copy = target_dir / DATABASE
    try:
        _online_backup(real, copy)
        with closing(sqlite3.connect(copy)) as conn, conn:  # closed after the `with conn` commits
            _make_rehearsal(conn, now, start)
    except BaseException:
        shutil.rmtree(target_dir, ignore_errors=True)
        raise
    return target_dir


def _make_rehearsal(conn: sqlite3.Connection, now: dt.datetime, start_text: str | None) -> None:
    """Turn the copy into a rehearsal: its own identity and receipt numbers, a clean morning, today's plan."""
    row = conn.execute("SELECT id, timezone FROM event ORDER BY id LIMIT 1").fetchone()
    if row is None:
        raise RehearsalError("Cơ sở dữ liệu chưa có sự kiện nào để tổng duyệt.")
    event_id, timezone = row
    start = parse_start(start_text, now, timezone) if start_text else default_start(now, timezone)
    first = conn.execute("SELECT MIN(planned_start) FROM agenda_item WHERE event_id = ?", (event_id,)).fetchone()[0]
    shift = _naive_utc(start) - dt.datetime.fromisoformat(first) if first else dt.timedelta(0)
    # Times are stored as naive UTC text, as SQLAlchemy writes them.
    for table, columns in (("agenda_item", ("planned_start", "planned_end")), ("event", ("starts_at",))):
        key = "event_id" if table == "agenda_item" else "id"
        for row_id, *values in conn.execute(f"SELECT id, {', '.join(columns)} FROM {table} WHERE {key} = ?",
                                            (event_id,)).fetchall():
            moved = [None if value is None else _text(dt.datetime.fromisoformat(value) + shift) for value in values]
            conn.execute(f"UPDATE {table} SET {', '.join(c + ' = ?' for c in columns)} WHERE id = ?",
                         (*moved, row_id))
    conn.execute("UPDATE event SET receipt_prefix = ? WHERE id = ?", (PREFIX, event_id))
    # A clean morning: nobody in yet, no gift, no print job, the programme before its first item.
    conn.execute("DELETE FROM print_job")
    conn.execute("DELETE FROM donation")
    conn.execute("DELETE FROM scan_log")
    conn.execute("DELETE FROM show_state")
    walk_ins = "SELECT id FROM invitee WHERE is_walk_in = 1"
    conn.execute(f"DELETE FROM invitation_code WHERE invitee_id IN ({walk_ins})")
    conn.execute(f"DELETE FROM invitee WHERE id IN ({walk_ins})")
    conn.execute("UPDATE invitee SET checked_in_at = NULL, checked_in_gate = NULL, checked_in_source = NULL")
    conn.execute("DELETE FROM kiosk_meta WHERE key LIKE 'receipt_floor:%'")
    # Its receipts start again at TD-0001 (a copy of a database from before the counter has none).
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'receipt_counter'").fetchone():
        conn.execute("DELETE FROM receipt_counter")
    # The real event's exports and imports: their files are in the real exports folder, not the copy's.
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'background_job'").fetchone():
        conn.execute("DELETE FROM background_job")
    # Its own identity: scans queued on a gate during the rehearsal are refused by the real event (409).
    info = {"started_at": now.isoformat(), "programme_start": start.isoformat()}
    for key, value in (("instance", secrets.token_hex(8)), (META_KEY, json.dumps(info))):
        conn.execute("INSERT INTO kiosk_meta (key, value) VALUES (?, ?) "
                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))
    conn.execute("INSERT INTO audit_log (at, actor, action, detail) VALUES (?, 'cli', 'rehearsal_started', ?)",
                 (_text(_naive_utc(now)), start.isoformat()))


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _text(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def info(data_dir: str | Path) -> dict | None:
    """What the copy in this data folder says of its rehearsal, or None for a real event's folder."""
    database = Path(data_dir) / DATABASE
    if not database.is_file():
        return None
    with _read_only(database) as conn:
        try:
            row = conn.execute("SELECT value FROM kiosk_meta WHERE key = ?", (META_KEY,)).fetchone()
        except sqlite3.Error:
            return None
    return json.loads(row[0]) if row else None


def finish(data_dir: str | Path, report_bytes: bytes | None, now: dt.datetime) -> Path | None:
    """Keep the rehearsal's report in the real exports folder for one look, then remove the copy."""
    saved = None
    if report_bytes is not None:
        exports = Path(data_dir) / "exports"
        exports.mkdir(mode=0o700, parents=True, exist_ok=True)
        saved = exports / f"bao-cao-tong-duyet-{now.astimezone(dt.timezone.utc):%Y%m%d-%H%M%S}.xlsx"
        private_file(saved)
        saved.write_bytes(report_bytes)
    shutil.rmtree(folder(data_dir), ignore_errors=True)
    return saved


def database_url(copy_dir: Path) -> str:
    """The SQLAlchemy URL of a rehearsal copy's database."""
    return f"sqlite:///{Path(copy_dir) / DATABASE}"


def claim(copy_dir: Path, pid: int) -> None:
    """Record which process serves this rehearsal (a power cut leaves the copy; the next start finds it)."""
    path = Path(copy_dir) / PID_FILE
    private_file(path)
    path.write_text(str(pid), encoding="ascii")


def owner(data_dir: str | Path) -> int | None:
    """The live process, other than this one, that serves a rehearsal of this data folder; None if none."""
    try:
        pid = int((folder(data_dir) / PID_FILE).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    if pid == os.getpid():
        return None   # this process served it before it re-executed itself (the admin's button)
    return pid if _kiosk_alive(pid) else None


def _kiosk_alive(pid: int) -> bool:
    """Whether `pid` is a running kiosk: after a power cut the number may belong to anything else."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if Path("/proc/self/cmdline").exists():
        try:
            return b"kiosk" in cmdline.read_bytes()
        except OSError:
            return False
    if os.name == "nt":
        return _windows_alive(pid)
    try:
        os.kill(pid, 0)   # POSIX without /proc (macOS): signal 0 only asks whether it exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _windows_alive(pid: int) -> bool:
    # os.kill there would send Ctrl+C (signal 0 is CTRL_C_EVENT) or terminate the process: ask the kernel.
    import ctypes
    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenProcess(0x1000, False, pid)   # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    try:
        code = ctypes.c_ulong()
        return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def report_of(copy_dir: Path, now: dt.datetime) -> bytes | None:
    """The rehearsal's report workbook, or None when the copy cannot be read (it must still go)."""
    from . import report as report_data
    from . import report_files
    from .storage import Database

    if not (Path(copy_dir) / DATABASE).is_file():
        return None
    db = Database(database_url(copy_dir))
    try:
        return report_files.workbook_bytes(report_data.build(db, now))
    except Exception:  # noqa: BLE001 - a damaged copy: nothing to keep, but it must still go
        return None
    finally:
        db.dispose()


def end(data_dir: str | Path, now: dt.datetime) -> Path | None:
    """End the rehearsal of this data folder: keep its report in exports, remove the copy."""
    return finish(data_dir, report_of(folder(data_dir), now), now)


def reports(data_dir: str | Path) -> list[Path]:
    """The kept rehearsal reports, newest first."""
    exports = Path(data_dir) / "exports"
    if not exports.is_dir():
        return []
    return sorted((path for path in exports.glob(REPORT_GLOB) if REPORT_NAME.fullmatch(path.name)), reverse=True)
