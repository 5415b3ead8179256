"""Background jobs every process sees (card exports, imports): the state in the database, one running per
kind whichever process is asked, and a job whose process died found out and given up.

The process running a job holds a database lock named after it (freed by PostgreSQL when the process
dies). A job marked running that has been quiet for a while, whose lock is free, lost its process.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from kiosk.storage import Database, process_name, utcnow
from kiosk.storage import jobs as store

PROGRESS_SECONDS = 0.5   # how often a running job writes its progress (its sign of life too)
QUIET_SECONDS = 5.0      # a running job silent this long may have lost its process: ask its lock


@dataclass(frozen=True)
class JobState:
    """One job as the database has it."""

    id: str
    status: str
    running: bool
    done: int
    total: int
    detail: dict
    error: str | None


class JobBook:
    """The jobs of one kind: start (one at a time over every process), follow, finish."""

    def __init__(self, db: Database, kind: str, keep: int, interrupted: str):
        self.db = db
        self.kind = kind
        self.keep = keep
        self.interrupted = interrupted   # the error a job whose process died reads
        self.owner = process_name()
        self._mine: dict[str, object] = {}         # running here: job id -> its lock
        self._progress_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def start(self, status: str, *, total: int = 0, detail: dict | None = None
              ) -> tuple[JobState, bool, list[JobState]]:
        """A new running job, or (the running one, False, []) when one runs on any process; with a new one,
        the finished jobs still kept (the others are forgotten)."""
        job_id = uuid.uuid4().hex
        with self._lock:
            running = self.running()
            if running is not None:
                return running, False, []
            # Taken before the row exists, held until the job ends: the others know it is alive.
            held = self.db.try_hold(f"{self.kind} {job_id}")
            try:
                with self.db.write() as session:
                    store.add(session, job_id, self.kind, status, self.owner, utcnow(), total=total, detail=detail)
                    kept = [_state(row) for row in store.forget_all_but(session, self.kind, self.keep - 1)]
            except IntegrityError:   # another process started one a moment ago
                held.release()
                running = self.running()
                if running is None:
                    raise
                return running, False, []
            self._mine[job_id] = held
        return self.get(job_id), True, kept

    def resume(self, job_id: str, from_status: str, status: str, detail: dict) -> bool:
        """Run a job that waits (an import checked, for its valid rows) again: False when it is not waiting
        in `from_status`, or another job of the kind runs."""
        with self._lock:
            if self.running() is not None:
                return False
            held = self.db.try_hold(f"{self.kind} {job_id}")
            try:
                with self.db.write() as session:
                    current = store.get(session, self.kind, job_id)
                    if current is None or current.status != from_status or current.running_slot is not None:
                        held.release()
                        return False
                    store.change(session, job_id, utcnow(), running=False, status=status, running_slot=1,
                                 owner=self.owner, detail=detail)
            except IntegrityError:
                held.release()
                return False
            self._mine[job_id] = held
            return True

    def get(self, job_id: str) -> JobState | None:
        """A job by id (only the last few are kept); a running one whose process died reads as failed."""
        with self.db.read() as session:
            row = store.get(session, self.kind, job_id)
            if row is None:
                return None
            lost = row.running_slot is not None and self._lost(row)
            state = _state(row)
        if lost:
            with self.db.write() as session:
                store.change(session, job_id, utcnow(), status="failed", running_slot=None, error=self.interrupted)
            return self.get(job_id)
        return state

    def running(self) -> JobState | None:
        """The job of this kind running now on any process (a lost one is failed first)."""
        with self.db.read() as session:
            row = store.running(session, self.kind)
            job_id = None if row is None else row.id
        job = None if job_id is None else self.get(job_id)
        return job if job is not None and job.running else None

    def progress(self, job_id: str, done: int) -> None:
        """Work done so far, written at most every PROGRESS_SECONDS."""
        now = time.monotonic()
        if now - self._progress_at.get(job_id, 0.0) < PROGRESS_SECONDS:
            return
        self._progress_at[job_id] = now
        with self.db.write() as session:
            store.change(session, job_id, utcnow(), done=done)

    def update(self, job_id: str, **values) -> bool:
        """Change a running job (its status, total, detail); False if it was given up meanwhile."""
        with self.db.write() as session:
            return store.change(session, job_id, utcnow(), **values)

    def note(self, job_id: str, **detail) -> None:
        """Add to a finished job's detail (what the admin has seen of it)."""
        with self.db.write() as session:
            row = store.get(session, self.kind, job_id)
            if row is not None:
                store.change(session, job_id, utcnow(), running=None, detail={**json.loads(row.detail), **detail})

    def finish(self, job_id: str, status: str, **values) -> bool:
        """End a job running here (done, failed, or waiting for a choice); False if it had been given up."""
        try:
            with self.db.write() as session:
                return store.change(session, job_id, utcnow(), status=status, running_slot=None, **values)
        finally:
            with self._lock:
                held = self._mine.pop(job_id, None)
                self._progress_at.pop(job_id, None)
            if held is not None:
                held.release()

    def wait(self, job_id: str, seconds: float) -> None:
        """Give a job a moment to finish (a small one ends within the request)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            job = self.get(job_id)
            if job is None or not job.running:
                return
            time.sleep(0.05)

    def _lost(self, row) -> bool:
        """Has this running job's process gone? Asked of the lock only when it has been quiet a while."""
        if row.id in self._mine:
            return False
        if (utcnow() - row.updated_at).total_seconds() < QUIET_SECONDS:
            return False
        if self.db.is_sqlite:
            return True   # one process serves SQLite: a job not running here ended with a crash
        probe = self.db.try_hold(f"{self.kind} {row.id}")
        if probe is None:
            return False  # its process holds the lock: alive, only busy (writing a PDF, reading a file)
        probe.release()
        return True


def _state(row) -> JobState:
    return JobState(id=row.id, status=row.status, running=row.running_slot is not None, done=row.done,
                    total=row.total, detail=json.loads(row.detail or "{}"), error=row.error)
