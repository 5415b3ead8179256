"""Imports from the admin page, in the background: the file is read in a separate process, the rows are
written a few per transaction, so a large or crafted list never holds up the gate.

Reading an .xlsx is seconds of CPU for a large list; in the server's own process that time would be
taken from the gate (one interpreter lock for every thread). A separate process also bounds what a
crafted file can do: it gets a memory ceiling and a time limit, and if it dies, only it dies.
"""
from __future__ import annotations

import logging
import multiprocessing
import threading
import time
import uuid
from dataclasses import dataclass, field

from kiosk import errors
from kiosk.storage import Database

from . import invitations
from .importer import ImportFileError, ImportReport, parse_invitees
from .job_registry import JobRegistry

log = logging.getLogger(__name__)

READ_TIMEOUT = 120                  # seconds a worker may take to read a file
WORKER_MEMORY = 2 * 1024 ** 3       # address space of the worker (Linux): a bomb fails there, not here
KEEP_JOBS = 5                       # finished jobs remembered (their reports are shown until then)
TOO_COMPLEX = ("Tệp quá lớn hoặc quá phức tạp để đọc (quá thời gian hoặc bộ nhớ cho phép). "
               "Hãy mở tệp trong Excel, chỉ giữ danh sách khách mời rồi lưu lại.")
UNREADABLE = "Không đọc được tệp này. Hãy mở tệp trong Excel, lưu lại theo tệp mẫu rồi tải lên lại."


@dataclass
class ImportJob:
    """One import: reading → (checked, when the file has errors) → writing → done, or failed."""

    id: str
    filename: str
    actor: str
    status: str = "reading"
    report: ImportReport | None = None
    error: str | None = None
    done: int = 0
    total: int = 0
    counts: dict = field(default_factory=dict)
    announced: bool = False   # the "done" message was shown once
    offices: list = field(default_factory=list)   # office invitations the list now names people for

    @property
    def running(self) -> bool:
        return self.status in ("reading", "writing")


def _limit_memory() -> None:
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))
    except (ImportError, ValueError, OSError):  # Windows has no RLIMIT_AS; the time limit still holds
        pass


def _read_worker(conn, filename: str, data: bytes, groups: dict[str, str]) -> None:
    """In the worker process: parse and send back ("ok", report) or ("file_error", message)."""
    _limit_memory()
    try:
        conn.send(("ok", parse_invitees(filename, data, groups)))
    except ImportFileError as exc:
        conn.send(("file_error", str(exc)))
    except MemoryError:
        conn.send(("file_error", TOO_COMPLEX))
    except Exception:  # noqa: BLE001 - a fault of ours meeting an odd file: the organiser still gets an answer
        logging.getLogger(__name__).exception("Reading %s failed", filename)
        conn.send(("file_error", UNREADABLE))
    finally:
        conn.close()


def read_in_worker(filename: str, data: bytes, groups: dict[str, str], timeout: float = READ_TIMEOUT) -> ImportReport:
    """Parse a list in a fresh process (spawned: forking a threaded server is unsafe); ImportFileError when
    the file cannot be read, is too big for memory, or takes too long."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    worker = context.Process(target=_read_worker, args=(sender, filename, data, groups),
                             name="kiosk-import-reader", daemon=True)
    worker.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            raise ImportFileError(TOO_COMPLEX)
        kind, value = receiver.recv()
    except (EOFError, OSError):
        raise ImportFileError(TOO_COMPLEX) from None  # the worker died (memory) without answering
    finally:
        receiver.close()
        if worker.is_alive():
            worker.kill()
        worker.join(5)
    if kind != "ok":
        raise ImportFileError(value)
    return value


class ImportJobs:
    """Starts imports (one at a time) and remembers the last few for the admin page."""

    def __init__(self, db: Database):
        self.db = db
        self.registry: JobRegistry[ImportJob] = JobRegistry(KEEP_JOBS)

    def start(self, filename: str, data: bytes, only_valid: bool, actor: str) -> tuple[ImportJob, bool]:
        """Begin reading (and, if clean or `only_valid`, writing) a list; (job, False) when another import
        is still running: that one is returned instead."""
        with self.registry.lock:
            running = self.registry.running()
            if running is not None:
                return running, False
            job = ImportJob(id=uuid.uuid4().hex, filename=filename, actor=actor)
            self.registry.add(job)
        self._thread(self._read_then_write, job, data, only_valid)
        return job, True

    def write_valid_rows(self, job_id: str, actor: str) -> ImportJob | None:
        """After a report with errors: import its valid rows (the organiser chose to)."""
        with self.registry.lock:
            job = self.registry.get(job_id)
            if job is None or job.status != "checked" or self.registry.running() is not None:
                return job
            job.status, job.actor = "writing", actor
        self._thread(self._write, job, True)
        return job

    def get(self, job_id: str) -> ImportJob | None:
        """A job by id (only the last few are kept)."""
        return self.registry.get(job_id)

    def _thread(self, target, *args) -> None:
        threading.Thread(target=target, args=args, name="kiosk-import", daemon=True).start()

    def _read_then_write(self, job: ImportJob, data: bytes, only_valid: bool) -> None:
        try:
            job.report = read_in_worker(job.filename, data, invitations.group_choices(self.db))
        except ImportFileError as exc:
            job.status, job.error = "failed", str(exc)
            return
        except Exception as exc:  # noqa: BLE001 - reported on the page, never lost in a thread
            self._failed(job, exc)
            return
        if job.report.errors and not only_valid:
            job.status = "checked"
            return
        job.status = "writing"
        self._write(job, only_valid)

    def _write(self, job: ImportJob, only_valid: bool) -> None:
        job.total = len(job.report.rows)
        try:
            job.counts = invitations.apply_import(self.db, job.report, only_valid, job.actor, job.filename,
                                                  progress=lambda n: setattr(job, "done", n))
            job.offices = self._offices_now_named(job)
            job.status = "done"
        except invitations.InvitationError as exc:
            job.status, job.error = "failed", exc.message
        except Exception as exc:  # noqa: BLE001
            self._failed(job, exc)

    def _offices_now_named(self, job: ImportJob) -> list:
        try:
            return invitations.offices_now_named(self.db, job.report)
        except Exception:  # noqa: BLE001 - a suggestion only: the import itself is done and must say so
            log.exception("Looking for office invitations after importing %s failed", job.filename)
            return []

    def _failed(self, job: ImportJob, exc: Exception) -> None:
        written = f" Đã ghi {job.done}/{job.total} dòng; nhập lại cùng tệp sẽ cập nhật các dòng đó, không nhân đôi." \
            if job.done else ""
        if errors.is_disk_full(exc):
            job.error = errors.DISK_FULL + written
        else:
            log.error("Import of %s failed", job.filename, exc_info=exc)
            job.error = "Lỗi ngoài dự kiến khi nhập (đã ghi vào nhật ký)." + written
        job.status = "failed"


def wait(job: ImportJob, seconds: float) -> None:
    """Give a job a moment to finish (a small list is read and written within the request)."""
    deadline = time.monotonic() + seconds
    while job.running and time.monotonic() < deadline:
        time.sleep(0.02)
