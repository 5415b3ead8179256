"""Consistent snapshots of the SQLite database while the server runs, and restoring one."""
from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)
PREFIX = "kiosk-"
SUFFIX = ".sqlite3"
# The copy saved before a restore is named apart, so pruning the automatic backups never deletes it.
SAFETY_PREFIX = "truoc-khoi-phuc-"


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
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{prefix}{now.astimezone(dt.timezone.utc):%Y%m%d-%H%M%S}{SUFFIX}"
    if target.exists():  # two backups in the same second (button and timer): keep both
        target = folder / f"{target.stem}-{os.getpid()}-{threading.get_ident()}{SUFFIX}"
    partial = target.with_suffix(f".{threading.get_ident()}.part")
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


def check_backup(path: Path) -> str:
    """The schema version recorded in a backup file; raises BackupError if it is not a kiosk database."""
    if not path.is_file():
        raise BackupError(f"Không tìm thấy tệp {path}.")
    try:
        conn = sqlite3.connect(path)
        try:
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError("Tệp sao lưu bị hỏng.")
            row = conn.execute("SELECT value FROM kiosk_meta WHERE key = 'schema_version'").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"Không phải tệp sao lưu của kiosk ({exc}).") from None
    if row is None:
        raise BackupError("Không phải tệp sao lưu của kiosk (thiếu phiên bản).")
    return row[0]


def restore(backup: Path, db_file: Path, folder: Path, now: dt.datetime) -> Path:
    """Replace the database with a backup, after saving the current one; return that safety copy."""
    check_backup(backup)
    safety = take_backup(db_file, folder, keep=10_000, now=now, prefix=SAFETY_PREFIX) \
        if db_file.exists() else None
    src = sqlite3.connect(backup)
    dst = sqlite3.connect(db_file, timeout=30)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return safety


class AutoBackup:
    """Takes a snapshot every `minutes` in a background thread until stopped."""

    def __init__(self, db_file: Path, folder: Path, minutes: float, keep: int):
        self.db_file, self.folder, self.minutes, self.keep = db_file, folder, minutes, keep
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="auto-backup", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.minutes * 60):
            try:
                take_backup(self.db_file, self.folder, self.keep, dt.datetime.now(dt.timezone.utc))
            except Exception:  # a failed backup must never stop the server; it is logged and retried
                log.exception("Automatic backup failed")

    def start(self) -> "AutoBackup":
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
