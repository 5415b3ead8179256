""""Back up now", the schedule, and "the newest backup", whichever engine: SQLite copies or pg_dump."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path

from . import backup as sqlite_backup
from . import pg_backup
from .engine import Database

log = logging.getLogger(__name__)


def take(db: Database, data_dir: Path, keep: int, now: dt.datetime) -> Path:
    """A backup into the data folder's `backups/` now; BackupError (Vietnamese) when it cannot be taken."""
    folder = Path(data_dir) / "backups"
    if db.is_sqlite:
        return sqlite_backup.take_backup(sqlite_backup.database_file(db.url), folder, keep, now)
    return pg_backup.take_dump(db, folder, keep, now)


def newest(db: Database, data_dir: Path) -> dict | None:
    """The newest backup: file, when, size. On PostgreSQL, the newest any process took (noted in the database)."""
    if not db.is_sqlite:
        return pg_backup.last_dump(db)
    found = next(iter(sqlite_backup.list_backups(Path(data_dir) / "backups")), None)
    if found is None:
        return None
    taken = dt.datetime.fromtimestamp(found.stat().st_mtime, dt.timezone.utc)
    return {"file": found.name, "at": taken.isoformat(), "size_kb": round(found.stat().st_size / 1024)}


class AutoBackup:
    """A backup every `minutes` in a background thread until stopped. With several processes on PostgreSQL,
    only the one holding the schedule's lock takes them (another takes over if it stops)."""

    def __init__(self, db: Database, data_dir: Path, minutes: float, keep: int):
        self.db, self.data_dir, self.minutes, self.keep = db, Path(data_dir), minutes, keep
        self._stop = threading.Event()
        self._held = None
        self.thread = threading.Thread(target=self._run, name="auto-backup", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.minutes * 60):
            try:
                if self._held is None or not self._held.still_held():
                    self._held = self.db.try_hold("auto-backup")
                if self._held is not None:
                    take(self.db, self.data_dir, self.keep, dt.datetime.now(dt.timezone.utc))
            except Exception:  # a failed backup must never stop the server; it is logged and retried
                log.exception("Automatic backup failed")

    def start(self) -> "AutoBackup":
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._held is not None:
            self._held.release()
