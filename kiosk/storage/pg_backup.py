"""Backups of a PostgreSQL database with pg_dump, restoring one with pg_restore (several kiosk processes).

Dumps go into the data folder's `backups/` beside where SQLite snapshots would, in pg_dump's custom format.
Each one is noted in the database itself, so the dashboard of every process shows the newest, whichever
process took it. As with SQLite, a restore first dumps what it replaces and never gives a receipt number
out twice: numbers printed after the dump become the restored ledger's floor.
"""
from __future__ import annotations

import datetime as dt
import glob
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from ..config import private_file
from .backup import PREFIX, SAFETY_PREFIX, BackupError, Restored
from .donations import RECEIPT_FLOOR
from .engine import Database
from .schema import Donation, Event, Meta
from .upsert import upsert

DUMP_SUFFIX = ".dump"
LAST_BACKUP_KEY = "last_backup"
TIMEOUT_SECONDS = 600


def _program(name: str) -> str:
    """pg_dump or pg_restore: on the PATH, or Debian's newest installed version."""
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                                                   key=lambda p: int(p.split("/")[4]), reverse=True)), None)
    if found is None:
        raise BackupError(f"Chưa cài {name} (gói postgresql-client): không sao lưu hay khôi phục được PostgreSQL.")
    return found


def _libpq(url: str) -> tuple[str, dict]:
    """A SQLAlchemy URL as pg_dump takes it: a libpq URL without the password, and the password apart (in
    the environment, so it never shows in the process list)."""
    parsed = make_url(url)
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackupError(f"Không chạy được {Path(command[0]).name}: {exc}") from None
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} báo lỗi: {done.stderr.strip()[-500:]}")


def list_dumps(folder: Path) -> list[Path]:
    """Dumps in the folder, newest first."""
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"{PREFIX}*{DUMP_SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)


def take_dump(db: Database, folder: Path, keep: int, now: dt.datetime, prefix: str = PREFIX) -> Path:
    """pg_dump the database into `folder`, keep the newest `keep` automatic dumps, note it; return its path."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = folder / f"{prefix}{now.astimezone(dt.timezone.utc):%Y%m%d-%H%M%S}{DUMP_SUFFIX}"
    if target.exists():
        target = folder / f"{target.stem}-{os.getpid()}-{threading.get_ident()}{DUMP_SUFFIX}"
    partial = target.with_suffix(f".{threading.get_ident()}.part")
    private_file(partial)  # every phone number and every gift: owner-only before pg_dump writes a byte
    url, env = _libpq(db.url)
    try:
        _run([_program("pg_dump"), "--format=custom", "--no-owner", f"--file={partial}", url], env)
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)
    if prefix == PREFIX:
        for old in list_dumps(folder)[keep:]:
            old.unlink(missing_ok=True)
    with db.write() as session:
        upsert(session, Meta, {"key": LAST_BACKUP_KEY, "value": json.dumps(
            {"file": target.name, "at": now.isoformat(), "size_kb": round(target.stat().st_size / 1024),
             "folder": str(folder)}, ensure_ascii=False)})
    return target


def last_dump(db: Database) -> dict | None:
    """The newest dump any process noted: file, when, size (the dashboard's backup line)."""
    with db.read() as session:
        value = session.scalar(select(Meta.value).where(Meta.key == LAST_BACKUP_KEY))
    if not value:
        return None
    noted = json.loads(value)
    return {"file": noted["file"], "at": noted["at"], "size_kb": noted["size_kb"]}


def _printed(db: Database) -> dict[str, int]:
    """Per receipt prefix, the highest number given out so far (floors carried over included)."""
    floors: dict[str, int] = {}
    with db.read() as session:
        for prefix, top in session.execute(select(Event.receipt_prefix, func.max(Donation.seq))
                                           .join(Donation, Donation.event_id == Event.id)
                                           .group_by(Event.receipt_prefix)):
            floors[prefix] = max(floors.get(prefix, 0), int(top or 0))
        for key, value in session.execute(select(Meta.key, Meta.value).where(Meta.key.startswith(RECEIPT_FLOOR))):
            prefix = key[len(RECEIPT_FLOOR):]
            floors[prefix] = max(floors.get(prefix, 0), int(value or 0))
    return floors


def restore_dump(db: Database, dump: Path, folder: Path, now: dt.datetime) -> Restored:
    """Replace the database's contents by a dump (stop the kiosk processes first); the current contents
    are dumped beside it first, and receipt numbers printed since stay given out."""
    if not dump.is_file() or dump.suffix != DUMP_SUFFIX:
        raise BackupError(f"{dump.name} không phải bản sao lưu PostgreSQL ({DUMP_SUFFIX}).")
    printed = _printed(db)
    safety = take_dump(db, folder, 0, now, prefix=SAFETY_PREFIX)
    db.dispose()  # our own connections would hold locks pg_restore's DROPs wait for
    url, env = _libpq(db.url)
    _run([_program("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
          f"--dbname={url}", str(dump)], env)
    restored = Database(db.url)
    try:
        missing = []
        now_printed = _printed(restored)
        with restored.write() as session:
            for prefix, last in sorted(printed.items()):
                if last > now_printed.get(prefix, 0):
                    missing.append((prefix, now_printed.get(prefix, 0) + 1, last))
                    session.merge(Meta(key=RECEIPT_FLOOR + prefix, value=str(last)))
    finally:
        restored.dispose()
    return Restored(safety, missing)
