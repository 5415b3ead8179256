"""The print queue: jobs persist in print_job; one worker thread per printer sends them one at a time."""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Callable

from kiosk.storage import donations as store
from kiosk.storage import process_name, utcnow

from . import device

log = logging.getLogger(__name__)

IDLE_EXIT_SECONDS = 30.0  # an idle worker ends; the next job starts a new one (no idle threads pile up)
# Several processes on PostgreSQL: the printer's owner looks for jobs other processes queued this often,
# and the others try this often to take the printer over from an owner that died.
POLL_SECONDS = 0.25
TAKEOVER_SECONDS = 2.0
RECOVER_SECONDS = 5.0  # how often the owner looks for jobs whose lease ran out
# A job printing longer than this was cut off by a process that died (a receipt takes seconds; the device
# gives up after its own timeout, well under this).
LEASE = dt.timedelta(seconds=60)
INTERRUPTED = ("Máy chủ dừng khi đang in lệnh này. Kiểm tra biên nhận: nếu chưa in, bấm “Thử in lại”.")
ORPHANED = ("Lệnh in này chờ một máy in khác, không còn nối với máy chủ. Bấm “Thử in lại” để in bằng máy in "
            "hiện tại.")

# (read session, job) -> (1-bit image, preview file name)
Renderer = Callable[[object, object], tuple[object, str]]


class PrintQueue:
    """Owns the printer: claims queued jobs, renders, sends, records done/failed. Never resends by itself.

    With several processes on one database, one of them owns each printer at a time (a lock in the
    database, freed when its process dies); the others leave its jobs alone until they can take it over.
    """

    def __init__(self, db, target: device.Target, *, cutter: bool, receipts_dir, render: Renderer,
                 clock: Callable = utcnow):
        self.db = db
        self.target = target
        self.cutter = cutter
        self.receipts_dir = receipts_dir
        self.render = render
        self.clock = clock
        self.owner = process_name()
        self.state = {"state": "unknown", "message": "Chưa in lần nào từ khi khởi động.", "checked_at": None}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._finished = threading.Condition()
        # Printing and status probes never talk to the device at the same time.
        self._device_lock = threading.Lock()
        self._stopping = False
        self._held = None  # the printer's ownership lock, once this process has it
        self._recovered_at: float | None = None  # when the owner last looked for expired leases
        self._shared = not db.is_sqlite  # other processes may serve the same database

    def start(self) -> None:
        """After a (re)start: jobs cut off mid-print become failed; queued jobs are picked up."""
        if self._shared:
            self.kick()  # the worker takes the printer when it can, and recovers only expired leases
            return
        now = self.clock()
        with self.db.write() as session:
            interrupted = store.recover_interrupted(session, None, now, "interrupted", INTERRUPTED)
            orphaned = store.fail_orphans(session, self.target.name, now, "printer_changed", ORPHANED)
            pending = store.has_queued(session, self.target.name)
        if interrupted:
            log.warning("%d print job(s) were interrupted by a restart; marked failed", interrupted)
        if orphaned:
            log.warning("%d print job(s) waited for another printer; marked failed for a person to retry", orphaned)
        if pending:
            self.kick()

    def kick(self) -> None:
        """Wake the worker (starting it when none runs): there is a job to print."""
        with self._lock:
            self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"print-{self.target.kind}", daemon=True)
                self._thread.start()

    def owns_printer(self) -> bool:
        """Whether this process drives the printer now (taking it over when nobody holds it)."""
        if self._held is None or not self._held.still_held():
            self._held = self.db.try_hold(f"printer:{self.target.name}")
            if self._held is None:
                return False
            self._recovered_at = None
        if self._shared and (self._recovered_at is None or time.monotonic() - self._recovered_at > RECOVER_SECONDS):
            # A job a stopped process left mid-print waits for a person once its lease has run out.
            self._recovered_at = time.monotonic()
            with self.db.write() as session:
                cut = store.recover_interrupted(session, self.target.name, self.clock(), "interrupted", INTERRUPTED)
            if cut:
                log.warning("%d print job(s) of a stopped process were interrupted; marked failed", cut)
        return True

    def _run(self) -> None:
        while True:
            self._wake.clear()
            owner = False
            if self._shared and self.db.closed:
                self._stopping = True  # the app was shut down (tests, restart): stop polling its database
            try:
                owner = not self._stopping and self.owns_printer()
                while owner and self.process_next():
                    pass
            except Exception:  # noqa: BLE001 - a database hiccup must not kill the printer's worker
                # No busy retry: the next job (or a person's retry) wakes the worker again.
                log.exception("print worker")
            if self._shared and not self._stopping:
                # Jobs arrive from other processes too: the owner polls, the others wait to take over.
                self._wake.wait(POLL_SECONDS if owner else TAKEOVER_SECONDS)
                continue
            if not self._stopping and self._wake.wait(IDLE_EXIT_SECONDS) and not self._stopping:
                continue
            with self._lock:
                if self._wake.is_set() and not self._stopping:
                    continue
                self._thread = None
                if self._stopping and self._held is not None:
                    self._held.release()
                    self._held = None
                return

    def stop(self, timeout: float) -> bool:
        """Take no further job and wait up to `timeout` seconds for the receipt being printed to finish (the
        server is stopping: a receipt torn off half-printed would have to be reprinted); False if it did not."""
        self._stopping = True
        self._wake.set()
        with self._lock:
            thread = self._thread
        finished = True
        if thread is not None:
            thread.join(timeout)
            finished = not thread.is_alive()
        if finished and self._held is not None:
            self._held.release()  # another process may take the printer over at once
            self._held = None
        return finished

    def process_next(self) -> bool:
        """Print the oldest queued job of this printer; False when there was none (or the server stops)."""
        if self._stopping:
            return False
        with self.db.write() as session:
            job_id = store.claim_next(session, self.target.name, self.owner, self.clock(), LEASE)
        if job_id is None:
            return False
        self._print(job_id)
        return True

    def process(self, job_id: int) -> None:
        """Claim one job (queued -> printing, atomically), print it, record the outcome."""
        now = self.clock()
        with self.db.write() as session:
            if not store.claim(session, job_id, now, self.owner, now + LEASE):
                return
        self._print(job_id)

    def _print(self, job_id: int) -> None:
        """Render and send a job this worker claimed, then record done or failed."""
        error: device.PrinterError | None = None
        warning = None
        try:
            with self.db.read() as session:
                image, name = self.render(session, store.job(session, job_id))
            chunks = device.raster_chunks(image, self.cutter)
            if self.target.kind == "preview":
                device.write_preview(self.receipts_dir, name, image, chunks)
            else:
                with self._device_lock:
                    warning = device.send(self.target, chunks)
        except device.PrinterError as exc:
            error = exc
        except Exception as exc:  # noqa: BLE001 - any failure must end as a failed job, not a stuck one
            log.exception("print job %s", job_id)
            error = device.PrinterError("internal", detail=str(exc) or type(exc).__name__)
        now = self.clock()
        with self.db.write() as session:
            store.finish(session, job_id, now, error_code=error.code if error else None,
                         error=error.message if error else None, warning=warning)
        if error:
            log.warning("print job %s failed: %s", job_id, error.code)
            self._set_state(error.code, error.message, now)
        else:
            done = "Đã lưu bản xem trước (chưa nối máy in)." if self.target.kind == "preview" else "In xong."
            self._set_state("near_end" if warning else "ok", warning or done, now)
        with self._finished:
            self._finished.notify_all()

    def _set_state(self, state: str, message: str, now) -> None:
        self.state = {"state": state, "message": message, "checked_at": now.isoformat()}

    def wait(self, job_id: int, timeout: float) -> str | None:
        """Block until the job leaves queued/printing or `timeout` passes; return its status."""
        deadline = time.monotonic() + timeout
        while True:
            with self.db.read() as session:
                job = store.job(session, job_id)
                status = job.status if job else None
            remaining = deadline - time.monotonic()
            if status not in store.PENDING or remaining <= 0:
                return status
            with self._finished:
                self._finished.wait(min(remaining, 0.25))

    def probe(self) -> dict:
        """Ask the printer's status now (waits for a print in progress to finish)."""
        if not self._device_lock.acquire(timeout=30):
            return self.state
        try:
            state, message = device.probe(self.target)
        finally:
            self._device_lock.release()
        self._set_state(state, message, self.clock())
        return self.state
