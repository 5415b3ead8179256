"""Consistent snapshots of the SQLite database while the server runs, and restoring one."""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..config import private_file
from .donations import RECEIPT_FLOOR
from .migrations import SCHEMA_VERSION

PREFIX = "kiosk-"
SUFFIX = ".sqlite3"
# The copy saved before a restore is named apart, so pruning the automatic backups never deletes it.
SAFETY_PREFIX = "truoc-khoi-phuc-"
# Tables every kiosk database has had since version 1: a file without them is something else.
REQUIRED_TABLES = {"kiosk_meta", "event", "agenda_item", "invitee_group", "invitee", "invitation_code",
                   "scan_log", "donation", "print_job", "staff_role", "staff_session", "audit_log"}


class BackupError(RuntimeError):
    """A backup or restore could not be done; the message is Vietnamese."""


def database_file(url: str) -> Path:
    """The file behind a sqlite:/// URL (backups are for the embedded database)."""
    if not url.startswith("sqlite:///"):
        raise BackupError("Sao lưu tự động chỉ dành cho SQLite; với PostgreSQL hãy dùng pg_dump.")
    return Path(url[len("sqlite:///"):])


def _copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy even while other connections write."""
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        # In one step: copying in slices restarts whenever the gate writes, and might never finish.
        src.backup(dst, pages=-1)
        ok = dst.execute("PRAGMA quick_check").fetchone()[0]
        if ok != "ok":
            raise BackupError(f"Bản sao lưu bị lỗi: {ok}")
    finally:
        dst.close()
        src.close()


def take_backup(db_file: Path, folder: Path, keep: int, now: dt.datetime, prefix: str = PREFIX) -> Path:
    """Write a snapshot into `folder`, keep only the newest `keep` automatic ones, return its path."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = folder / f"{prefix}{now.astimezone(dt.timezone.utc):%Y%m%d-%H%M%S}{SUFFIX}"
    if target.exists():  # two backups in the same second (button and timer): keep both
        target = folder / f"{target.stem}-{os.getpid()}-{threading.get_ident()}{SUFFIX}"
    partial = target.with_suffix(f".{threading.get_ident()}.part")
    # Created owner-only before SQLite opens it: a backup holds every phone number and every gift.
    private_file(partial)
    try:
        _copy(db_file, partial)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"Không sao lưu được: {exc}") from None
    os.replace(partial, target)
    for old in list_backups(folder)[keep:]:
        old.unlink(missing_ok=True)
    return target


def list_backups(folder: Path) -> list[Path]:
    """Backups in the folder, newest first."""
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"{PREFIX}*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)


def check_backup(path: Path) -> int:
    """The schema version of a backup this kiosk can run; BackupError (Vietnamese) for anything else."""
    if not path.is_file():
        raise BackupError(f"Không tìm thấy tệp {path}.")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError("Tệp sao lưu bị hỏng.")
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            missing = REQUIRED_TABLES - tables
            if missing:
                raise BackupError(f"Không phải tệp sao lưu của kiosk (thiếu bảng {', '.join(sorted(missing))}).")
            row = conn.execute("SELECT value FROM kiosk_meta WHERE key = 'schema_version'").fetchone()
            events = conn.execute("SELECT COUNT(*) FROM event").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"Không phải tệp sao lưu của kiosk ({exc}).") from None
    if row is None or not str(row[0]).isdigit():
        raise BackupError("Không phải tệp sao lưu của kiosk (thiếu phiên bản).")
    version = int(row[0])
    if version > SCHEMA_VERSION:
        raise BackupError(f"Bản sao lưu do phần mềm mới hơn tạo (phiên bản dữ liệu {version}, phần mềm này đọc "
                          f"được đến {SCHEMA_VERSION}). Hãy cập nhật phần mềm trước khi khôi phục.")
    if version < 1:
        raise BackupError(f"Phiên bản dữ liệu {version} không hợp lệ.")
    if not events:
        raise BackupError("Tệp sao lưu không có sự kiện nào: không khôi phục.")
    return version


def receipt_floors(conn: sqlite3.Connection) -> dict[str, int]:
    """Per receipt prefix, the highest receipt number printed: its donations', or a floor carried over."""
    floors: dict[str, int] = {}
    for prefix, top in conn.execute("SELECT e.receipt_prefix, MAX(d.seq) FROM donation d "
                                    "JOIN event e ON e.id = d.event_id GROUP BY e.receipt_prefix"):
        floors[prefix] = int(top or 0)
    for key, value in conn.execute("SELECT key, value FROM kiosk_meta WHERE key LIKE ?", (RECEIPT_FLOOR + "%",)):
        prefix = key[len(RECEIPT_FLOOR):]
        if str(value).isdigit():
            floors[prefix] = max(floors.get(prefix, 0), int(value))
    return floors


@dataclass
class Restored:
    """What a restore did: the copy of the replaced database, and receipt numbers printed since the backup
    (prefix, first, last) that the restored ledger does not hold; they are never given out again."""

    safety: Path | None
    missing_receipts: list[tuple[str, int, int]] = field(default_factory=list)


# A receipt preview (KIOSK_PRINTER=preview) is named after its number: "KH-2023-0015.png", "...-ban-sao-1.bin".
_PREVIEW = re.compile(r"^(?P<prefix>.+)-(?P<seq>[0-9]{4,})(?:-ban-sao-[0-9]+)?\.(?:png|bin)$")


def printed_so_far(db_file: Path, folder: Path, receipts_dir: Path | None = None) -> dict[str, int]:
    """Per receipt prefix, the highest receipt number known to have been given out: in the current database
    (read as far as it can be, damaged or not, since damage is why people restore), in every backup beside
    it, and in the receipt previews."""
    floors: dict[str, int] = {}

    def note(prefix: str, last: int) -> None:
        floors[prefix] = max(floors.get(prefix, 0), last)

    for source in [db_file, *sorted(folder.glob(f"*{SUFFIX}"))]:
        if not source.is_file():
            continue
        try:
            conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            try:
                for prefix, last in receipt_floors(conn).items():
                    note(prefix, last)
            finally:
                conn.close()
        except sqlite3.Error:
            continue  # unreadable: the other sources still count
    for preview in (receipts_dir.iterdir() if receipts_dir and receipts_dir.is_dir() else ()):
        match = _PREVIEW.match(preview.name)
        if match:
            note(match["prefix"], int(match["seq"]))
    return floors


def _keep_current(db_file: Path, folder: Path, now: dt.datetime) -> Path | None:
    """Save the database about to be replaced: a checked snapshot, or, when it is too damaged for one, the
    file as it is (the restore goes on: a damaged database is the usual reason to restore)."""
    if not db_file.exists():
        return None
    try:
        return take_backup(db_file, folder, keep=10_000, now=now, prefix=SAFETY_PREFIX)
    except BackupError:
        damaged = folder / f"{SAFETY_PREFIX}{now.astimezone(dt.timezone.utc):%Y%m%d-%H%M%S}-hong{SUFFIX}"
        shutil.copyfile(db_file, private_file(damaged))
        for suffix in ("-wal", "-shm"):
            if Path(f"{db_file}{suffix}").exists():
                shutil.copyfile(f"{db_file}{suffix}", private_file(f"{damaged}{suffix}"))
        return damaged


def _copy_into(source: sqlite3.Connection, db_file: Path) -> None:
    """Copy a database over `db_file` (SQLite's backup API, so its WAL is handled); a file too damaged to be
    opened as a database (it was kept by _keep_current) is removed first."""
    try:
        dst = sqlite3.connect(db_file, timeout=30)
        try:
            source.backup(dst)
            return
        finally:
            dst.close()
    except sqlite3.DatabaseError as exc:
        # Only a file SQLite calls damaged or not a database (SQLITE_CORRUPT, SQLITE_NOTADB); never a busy one.
        if getattr(exc, "sqlite_errorcode", None) not in (11, 26):
            raise
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    dst = sqlite3.connect(private_file(db_file), timeout=30)
    try:
        source.backup(dst)
    finally:
        dst.close()


def restore(backup: Path, db_file: Path, folder: Path, now: dt.datetime,
            receipts_dir: Path | None = None) -> Restored:
    """Replace the database with a backup, after saving the current one. Receipt numbering never goes back:
    a number given out since the backup stays used in the restored database."""
    check_backup(backup)
    printed = printed_so_far(db_file, folder, receipts_dir)
    safety = _keep_current(db_file, folder, now)
    # Staged: the backup and its receipt floor reach the database in one copy, never one without the other.
    staged = private_file(folder / f".dang-khoi-phuc-{os.getpid()}{SUFFIX}")
    try:
        src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        stage = sqlite3.connect(staged)
        try:
            src.backup(stage)
            restored = receipt_floors(stage)
            missing = [(prefix, restored.get(prefix, 0) + 1, last) for prefix, last in sorted(printed.items())
                       if last > restored.get(prefix, 0)]
            stage.executemany("INSERT OR REPLACE INTO kiosk_meta (key, value) VALUES (?, ?)",
                              [(RECEIPT_FLOOR + prefix, str(last)) for prefix, _first, last in missing])
            stage.commit()
        finally:
            stage.close()
            src.close()
        stage = sqlite3.connect(staged)
        try:
            _copy_into(stage, db_file)
        finally:
            stage.close()
    finally:
        staged.unlink(missing_ok=True)
    private_file(db_file)
    return Restored(safety, missing)
