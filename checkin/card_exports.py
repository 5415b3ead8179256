"""Card exports in the background: one at a time over every process, progress and downloads from any.

The state is a background job in the database (checkin/background.py); the files are in the exports
folder, which several processes share (KIOSK_EXPORT_DIR), so a status request or a download reaching
another process than the one rendering still finds the export.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from kiosk import errors
from kiosk.storage import Database, utcnow

from . import invitations
from .background import JobBook, JobState
from .invitations import InvitationError

log = logging.getLogger(__name__)

# Finished exports kept for download, with the running one; older ones (and their files) are removed
# when a new one starts.
KEEP_EXPORTS = 3
EXPORT_PATTERNS = ("thu-moi-*.pdf", "thu-moi-*.zip", "thu-moi-*.part")
INTERRUPTED = "Máy chủ dừng khi đang tạo thẻ. Hãy bấm tạo lại."


@dataclass
class CardJob:
    """What the admin page shows of one export."""

    id: str
    fmt: str
    total: int
    done: int
    status: str  # running | done | failed
    path: Path | None
    error: str | None

    @property
    def running(self) -> bool:
        return self.status == "running"


class CardJobs:
    """Starts card exports in a thread of this process; reads any process's from the database."""

    def __init__(self, db: Database, out_dir: Path):
        self.db = db
        self.out_dir = out_dir
        self.book = JobBook(db, "cards", KEEP_EXPORTS, INTERRUPTED)

    def start(self, fmt: str) -> tuple[CardJob, bool]:
        """Begin an export of every card in `fmt` (pdf or png); (job, False) when one is already running
        (on any process): rendering a thousand cards takes every core, so a second request gets that one."""
        if fmt not in ("pdf", "png"):
            raise InvitationError("bad_format", "Định dạng chỉ có thể là pdf hoặc png.")
        _info, people = invitations.card_people(self.db)
        state, started, kept = self.book.start("running", total=len(people), detail={"format": fmt})
        if not started:
            return self._job(state), False
        self._remove_other_files({job.detail.get("file") for job in kept})
        target = self.out_dir / f"thu-moi-{utcnow():%Y%m%d-%H%M%S}-{state.id[:6]}.{'pdf' if fmt == 'pdf' else 'zip'}"
        threading.Thread(target=self._run, args=(state.id, fmt, target, state.total), name=f"cards-{state.id[:6]}",
                         daemon=True).start()
        return self._job(state), True

    def get(self, job_id: str) -> CardJob | None:
        """An export by id (only the last few are kept); a running one whose process died reads failed."""
        state = self.book.get(job_id)
        return None if state is None else self._job(state)

    def _job(self, state: JobState) -> CardJob:
        file_name = state.detail.get("file")
        return CardJob(id=state.id, fmt=state.detail.get("format", "pdf"), total=state.total, done=state.done,
                       status=state.status, path=self.out_dir / file_name if file_name else None, error=state.error)

    def _run(self, job_id: str, fmt: str, target: Path, total: int) -> None:
        try:
            path = invitations.write_cards(self.db, target, fmt, progress=lambda n: self.book.progress(job_id, n))
        except Exception as exc:  # noqa: BLE001 - reported on the page; the organiser can start again
            self._failed(job_id, exc)
            return
        listed = self.book.finish(job_id, "done", done=total,
                                  detail={"format": fmt, "file": path.name})
        if not listed:   # given up for dead meanwhile: its file would never be offered
            path.unlink(missing_ok=True)

    def _failed(self, job_id: str, exc: Exception) -> None:
        if isinstance(exc, InvitationError):
            message = exc.message
        elif errors.is_disk_full(exc):
            message = errors.DISK_FULL
        else:
            log.error("Card export %s failed", job_id, exc_info=exc)
            message = "Lỗi ngoài dự kiến khi tạo thẻ (đã ghi vào nhật ký). Hãy bấm tạo lại."
        try:
            self.book.finish(job_id, "failed", error=message)
        except Exception:  # noqa: BLE001 - the database refused too: the next look finds the job lost
            log.exception("Recording the failure of card export %s", job_id)

    def _remove_other_files(self, kept: set) -> None:
        """Delete every export file but the kept exports' (cards hold personal data). Called as a new
        export starts, when no other runs: a .part file left now is from a crash."""
        for pattern in EXPORT_PATTERNS:
            for path in self.out_dir.glob(pattern):
                if path.is_file() and path.name not in kept:
                    path.unlink(missing_ok=True)
