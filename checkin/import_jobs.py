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
from dataclasses import asdict, dataclass

from kiosk import errors
from kiosk.storage import Database

from . import invitations
from .background import JobBook, JobState
from .importer import ImportFileError, ImportReport, RowError, parse_invitees
from .people import PersonFields

log = logging.getLogger(__name__)

READ_TIMEOUT = 120                  # seconds a worker may take to read a file
WORKER_MEMORY = 2 * 1024 ** 3       # address space of the worker (Linux): a bomb fails there, not here
KEEP_JOBS = 5                       # finished jobs remembered (their reports are shown until then)
TOO_COMPLEX = ("Tệp quá lớn hoặc quá phức tạp để đọc (quá thời gian hoặc bộ nhớ cho phép). "
               "Hãy mở tệp trong Excel, chỉ giữ danh sách khách mời rồi lưu lại.")
INTERRUPTED = ("Máy chủ dừng khi đang nhập tệp này. Hãy tải tệp lên lại: các dòng đã ghi sẽ được cập nhật, "
               "không nhân đôi.")
UNREADABLE = "Không đọc được tệp này. Hãy mở tệp trong Excel, lưu lại theo tệp mẫu rồi tải lên lại."


@dataclass
class ImportJob:
    """One import as the admin page shows it: reading → (checked, when the file has errors) → writing →
    done, or failed. Kept in the database (checkin/background.py), so any process shows it."""

    id: str
    filename: str
    actor: str
    status: str
    report: ImportReport | None
    error: str | None
    done: int
    total: int
    counts: dict
    announced: bool   # the "done" message was shown once
    offices: list     # office invitations the list now names people for

    @property
    def running(self) -> bool:
        return self.status in ("reading", "writing")


def _report_json(report: ImportReport) -> dict:
    return {"rows": [[row, asdict(person)] for row, person in report.rows],
            "errors": [asdict(error) for error in report.errors], "example_row": report.example_row}


def _report_of(data: dict | None) -> ImportReport | None:
    if data is None:
        return None
    return ImportReport(rows=[(row, PersonFields(**person)) for row, person in data["rows"]],
                        errors=[RowError(**error) for error in data["errors"]], example_row=data["example_row"])


def _job(state: JobState) -> ImportJob:
    detail = state.detail
    return ImportJob(id=state.id, filename=detail.get("filename", ""), actor=detail.get("actor", ""),
                     status=state.status, report=_report_of(detail.get("report")), error=state.error,
                     done=state.done, total=state.total, counts=detail.get("counts", {}),
                     announced=detail.get("announced", False),
                     offices=[invitations.NamedOffice(o["id"], o["name"], o["organisation"], tuple(o["named"]))
                              for o in detail.get("offices", [])])


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
    """Starts imports (one at a time over every process) and keeps the last few for the admin page."""

    def __init__(self, db: Database):
        self.db = db
        self.book = JobBook(db, "import", KEEP_JOBS, INTERRUPTED)

    def start(self, filename: str, data: bytes, only_valid: bool, actor: str) -> tuple[ImportJob, bool]:
        """Begin reading (and, if clean or `only_valid`, writing) a list; (job, False) when another import
        is still running: that one is returned instead."""
        state, started, _kept = self.book.start("reading", detail={"filename": filename, "actor": actor})
        if started:
            self._thread(self._read_then_write, state.id, filename, actor, data, only_valid)
        return _job(state), started

    def write_valid_rows(self, job_id: str, actor: str) -> ImportJob | None:
        """After a report with errors: import its valid rows (the organiser chose to)."""
        job = self.get(job_id)
        if job is None or job.status != "checked":
            return job
        detail = {"filename": job.filename, "actor": actor, "report": _report_json(job.report)}
        if self.book.resume(job_id, "checked", "writing", detail):
            self._thread(self._write, job_id, job.filename, actor, job.report, True)
        return self.get(job_id)

    def get(self, job_id: str) -> ImportJob | None:
        """A job by id (only the last few are kept); one whose process died reads as failed."""
        state = self.book.get(job_id)
        return None if state is None else _job(state)

    def announced(self, job_id: str, offices_handled: bool = False) -> None:
        """The admin has seen the result (and answered about the offices): it is not shown again."""
        self.book.note(job_id, announced=True, **({"offices": []} if offices_handled else {}))

    def wait(self, job_id: str, seconds: float) -> None:
        """Give a job a moment to finish (a small list is read and written within the request)."""
        self.book.wait(job_id, seconds)

    def _thread(self, target, *args) -> None:
        threading.Thread(target=target, args=args, name="kiosk-import", daemon=True).start()

    def _read_then_write(self, job_id: str, filename: str, actor: str, data: bytes, only_valid: bool) -> None:
        try:
            report = read_in_worker(filename, data, invitations.group_choices(self.db))
        except ImportFileError as exc:
            self.book.finish(job_id, "failed", error=str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - reported on the page, never lost in a thread
            self._failed(job_id, filename, exc, 0, 0)
            return
        detail = {"filename": filename, "actor": actor, "report": _report_json(report)}
        if report.errors and not only_valid:
            self.book.finish(job_id, "checked", detail=detail)
            return
        if self.book.update(job_id, status="writing", detail=detail):
            self._write(job_id, filename, actor, report, only_valid)

    def _write(self, job_id: str, filename: str, actor: str, report: ImportReport, only_valid: bool) -> None:
        total = len(report.rows)
        done = [0]

        def progress(n: int) -> None:
            done[0] = n
            self.book.progress(job_id, n)
        try:
            self.book.update(job_id, total=total)
            counts = invitations.apply_import(self.db, report, only_valid, actor, filename, progress=progress)
            offices = self._offices_now_named(report, filename)
            self.book.finish(job_id, "done", done=total, detail={
                "filename": filename, "actor": actor, "report": _report_json(report), "counts": counts,
                "offices": [asdict(office) for office in offices]})
        except invitations.InvitationError as exc:
            self.book.finish(job_id, "failed", error=exc.message)
        except Exception as exc:  # noqa: BLE001
            self._failed(job_id, filename, exc, done[0], total)

    def _offices_now_named(self, report: ImportReport, filename: str) -> list:
        try:
            return invitations.offices_now_named(self.db, report)
        except Exception:  # noqa: BLE001 - a suggestion only: the import itself is done and must say so
            log.exception("Looking for office invitations after importing %s failed", filename)
            return []

    def _failed(self, job_id: str, filename: str, exc: Exception, done: int, total: int) -> None:
        written = f" Đã ghi {done}/{total} dòng; nhập lại cùng tệp sẽ cập nhật các dòng đó, không nhân đôi." \
            if done else ""
        if errors.is_disk_full(exc):
            error = errors.DISK_FULL + written
        else:
            log.error("Import of %s failed", filename, exc_info=exc)
            error = "Lỗi ngoài dự kiến khi nhập (đã ghi vào nhật ký)." + written
        try:
            self.book.finish(job_id, "failed", error=error)
        except Exception:  # noqa: BLE001 - the database refused too (a full disk): the next look finds it lost
            log.exception("Recording the failure of import %s", job_id)
