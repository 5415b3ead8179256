"""The desk's actions: each is one write transaction around the ledger rules, then a nudge to the queue."""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.cleaning import clean_text
from kiosk.storage import donations as store
from kiosk.storage import events as event_queries
from kiosk.vietnamese import fold

from . import device, ledger
from .receipt import WIDTHS, ReceiptData, render_calibration, render_receipt

# Test prints are paper too: a few per ten minutes is plenty to set the width.
CALIBRATIONS_PER_WINDOW = 5
CALIBRATION_WINDOW = dt.timedelta(minutes=10)
JOB_LABELS = {"queued": "Đang chờ in", "printing": "Đang in", "done": "Đã in", "failed": "In lỗi",
              "cancelled": "Đã hủy lệnh in"}
# In preview mode nothing reaches paper: the desk must never say "Đã in" to a donor waiting for a receipt.
PREVIEW_DONE = "Đã lưu bản xem trước"
KIND_LABELS = {"receipt": "Biên nhận", "copy": "Bản sao", "calibration": "In thử khổ giấy"}


@dataclass
class PrintSettings:
    """How this kiosk prints: the target, paper width, cutter, where previews go, the QR's address."""

    target: device.Target
    paper_dots: int
    cutter: bool
    receipts_dir: Path
    secret_key: str
    base_url: str | None = None
    config_error: str | None = None
    rehearsal: bool = False          # a rehearsal copy: receipts carry the band, their QR has its own key
    _resolve_base: object = field(default=None, repr=False)

    def public_base(self) -> str:
        """The address phones reach the kiosk at (worked out once, on first use)."""
        if self.base_url is None:
            self.base_url = self._resolve_base() if self._resolve_base else "http://127.0.0.1:5000"
        return self.base_url


def receipt_data(settings: PrintSettings, donation, event, copy_no: int | None = None) -> ReceiptData:
    """What goes on a donation's receipt, from its row and the event."""
    mac = ledger.receipt_mac(settings.secret_key, donation.receipt_no, donation.amount_vnd, settings.rehearsal)
    # Cleaned again here: a database written by an older version may hold what no printer can draw.
    return ReceiptData(
        receipt_no=clean_text(donation.receipt_no),
        association=clean_text(event.association) or "Hội Khuyến học",
        fund_name=clean_text(event.fund_name) or "Quỹ Khuyến học",
        donor_name=clean_text(donation.donor_name),
        organisation=clean_text(donation.organisation) or None,
        amount_vnd=donation.amount_vnd,
        method_label=ledger.METHODS.get(donation.method, donation.method),
        created_local=ledger.local_time(donation.created_at, event.timezone),
        cashier_name=clean_text(donation.cashier_name) or None,
        verify_url=ledger.verify_url(settings.public_base(), donation.receipt_no, mac),
        copy_no=copy_no,
        voided=donation.voided_at is not None,
        rehearsal=settings.rehearsal,
    )


def preview_name(job, receipt_no: str | None) -> str:
    """File name (without extension) of a job's preview in the receipts folder."""
    if job.kind == "calibration":
        return f"thu-kho-{job.paper_dots}-{job.id}"
    if job.kind == "copy":
        return f"{receipt_no}-ban-sao-{job.copy_no}"
    return receipt_no or f"job-{job.id}"


def job_renderer(settings: PrintSettings):
    """The queue's renderer: a job's image exactly as it must print, and its preview file name."""

    def render(session, job):
        if job.kind == "calibration":
            return render_calibration(job.paper_dots), preview_name(job, None)
        donation = store.by_id(session, job.donation_id)
        event = store.event_of(session, donation)
        # A receipt prints as recorded, never marked void: a voided gift's jobs are cancelled instead.
        data = receipt_data(settings, donation, event, copy_no=job.copy_no if job.kind == "copy" else None)
        data = dataclasses.replace(data, voided=False)
        return render_receipt(data, job.paper_dots), preview_name(job, donation.receipt_no)
    return render


def describe_job(job, settings: PrintSettings, receipt_no: str | None = None) -> dict:
    """A print job as JSON for the desk."""
    preview = settings.target.kind == "preview" and job.status == "done"
    label = PREVIEW_DONE if job.status == "done" and job.printer == device.PREVIEW else JOB_LABELS.get(job.status, job.status)
    return {
        "job_id": job.id, "kind": job.kind, "kind_label": KIND_LABELS.get(job.kind, job.kind),
        "status": job.status, "status_label": label, "previewed": job.printer == device.PREVIEW,
        "error": job.error_code, "message": job.error or job.warning, "warning": job.warning,
        "attempts": job.attempts, "copy_no": job.copy_no, "paper_dots": job.paper_dots,
        "receipt_no": receipt_no, "printer": job.printer,
        "retryable": job.status == "failed",
        "preview_png": f"/donations/jobs/{job.id}/preview.png" if preview else None,
        "preview_bin": f"/donations/jobs/{job.id}/preview.bin" if preview else None,
    }


def _current_event(session):
    return event_queries.current_event(session)


def record(db, settings: PrintSettings, data: ledger.DonationInput, role: str, now: dt.datetime):
    """Save a gift with the next receipt number and queue its receipt, in one transaction.

    Returns (donation dict, job dict, created); a repeated request_id returns the first save unchanged.
    """
    def work(session):
        existing = store.by_request_id(session, data.request_id)
        if existing is not None:
            event = store.event_of(session, existing)
            jobs = store.jobs_for(session, existing.id)
            return (ledger.describe(existing, event.timezone),
                    describe_job(jobs[0], settings, existing.receipt_no) if jobs else None, False)
        event = _current_event(session)
        seq = store.next_seq(session, event.id)
        receipt_no = ledger.receipt_number(event.receipt_prefix, seq)
        text = ledger.search_text(receipt_no, data.donor_name, data.organisation, data.note, data.amount_vnd)
        donation = store.add_donation(session, event.id, seq, receipt_no, data, role, text, now)
        job = store.add_job(session, "receipt", settings.target.name, settings.paper_dots, now, donation)
        return ledger.describe(donation, event.timezone), describe_job(job, settings, receipt_no), True

    # A save retried on another process while the first was committing meets its request_id: the
    # second run reads the first save (and its number) instead of failing.
    return db.write_or_replay(work)


def void(db, receipt_no: str, reason, actor: str, now: dt.datetime) -> dict:
    """Void a gift: it keeps its number and row, its unprinted jobs are cancelled, nothing prints."""
    with db.write() as session:
        donation = store.by_receipt_no(session, receipt_no)
        if donation is None:
            raise ledger.LedgerError("not_found")
        cleaned = ledger.check_void(donation.voided_at, reason)
        if not store.void(session, donation, cleaned, actor, now):
            raise ledger.LedgerError("already_voided")
        return ledger.describe(donation, store.event_of(session, donation).timezone)


def reprint(db, settings: PrintSettings, receipt_no: str, actor: str, now: dt.datetime) -> tuple[dict, dict]:
    """Count a reprint and queue an identical receipt marked BẢN SAO."""
    with db.write() as session:
        donation = store.by_receipt_no(session, receipt_no)
        if donation is None:
            raise ledger.LedgerError("not_found")
        ledger.check_reprint(donation.voided_at)
        # One copy at a time per receipt: repeated clicks (or a script) never queue a roll of copies.
        store.hold_print_limits(session)
        if store.count_jobs(session, "copy", pending=True, donation_id=donation.id):
            raise ledger.LedgerError("reprint_pending")
        job = store.add_copy_job(session, donation, settings.target.name, settings.paper_dots, actor, now)
        event = store.event_of(session, donation)
        return ledger.describe(donation, event.timezone), describe_job(job, settings, receipt_no)


def retry(db, settings: PrintSettings, job_id: int, actor: str, now: dt.datetime) -> dict:
    """A person asks to print a failed job again (the only way a job is sent a second time)."""
    with db.write() as session:
        job = store.job(session, job_id)
        if job is None:
            raise ledger.LedgerError("job_not_found")
        if job.donation_id is not None:
            donation = store.by_id(session, job.donation_id)
            ledger.check_reprint(donation.voided_at)
        if not store.retry(session, job_id, actor, now):
            raise ledger.LedgerError("job_not_failed")
        # The retry goes to today's printer even if the job was queued for another one.
        job.printer = settings.target.name
        session.flush()
        session.refresh(job)
        receipt_no = store.by_id(session, job.donation_id).receipt_no if job.donation_id else None
        return describe_job(job, settings, receipt_no)


def calibrate(db, settings: PrintSettings, dots, now: dt.datetime) -> dict:
    """Queue a ruler print at `dots` (default: the configured width)."""
    dots = settings.paper_dots if dots in (None, "") else dots
    if isinstance(dots, bool) or not isinstance(dots, int) or dots not in WIDTHS:
        raise ledger.LedgerError("bad_width")
    with db.write() as session:
        store.hold_print_limits(session)
        if store.count_jobs(session, "calibration", pending=True):
            raise ledger.LedgerError("calibration_busy")
        if store.count_jobs(session, "calibration", since=now - CALIBRATION_WINDOW) >= CALIBRATIONS_PER_WINDOW:
            raise ledger.LedgerError("calibration_limit")
        job = store.add_job(session, "calibration", settings.target.name, dots, now)
        return describe_job(job, settings)


def details(db, settings: PrintSettings, receipt_no: str) -> dict:
    """One donation with all its print jobs."""
    with db.read() as session:
        donation = store.by_receipt_no(session, receipt_no)
        if donation is None:
            raise ledger.LedgerError("not_found")
        event = store.event_of(session, donation)
        result = ledger.describe(donation, event.timezone)
        result["jobs"] = [describe_job(j, settings, receipt_no) for j in store.jobs_for(session, donation.id)]
        return result


def job_status(db, settings: PrintSettings, job_id: int) -> dict | None:
    with db.read() as session:
        job = store.job(session, job_id)
        if job is None:
            return None
        receipt_no = store.by_id(session, job.donation_id).receipt_no if job.donation_id else None
        return describe_job(job, settings, receipt_no)


def preview_path(db, settings: PrintSettings, job_id: int, fmt: str) -> Path | None:
    """The preview file (png or bin) a printed job left in the receipts folder, if any."""
    with db.read() as session:
        job = store.job(session, job_id)
        if job is None or job.status != "done" or settings.target.kind != "preview":
            return None
        receipt_no = store.by_id(session, job.donation_id).receipt_no if job.donation_id else None
        path = settings.receipts_dir / f"{preview_name(job, receipt_no)}.{fmt}"
    return path if path.is_file() else None


def ledger_view(db, settings: PrintSettings, query: str = "", limit: int | None = None,
                newest_first: bool = True) -> dict:
    """Donations matching a search (diacritics folded), each with its latest print job, and the totals."""
    with db.read() as session:
        event = _current_event(session)
        rows = store.list_donations(session, event.id, fold(query), limit, newest_first)
        latest = store.latest_jobs(session, [d.id for d in rows])
        donations = []
        for d in rows:
            item = ledger.describe(d, event.timezone)
            job = latest.get(d.id)
            item["print"] = describe_job(job, settings, d.receipt_no) if job else None
            donations.append(item)
        return {"event": {"title": event.title, "fund_name": event.fund_name, "timezone": event.timezone,
                          "receipt_prefix": event.receipt_prefix, "association": event.association},
                "query": query, "donations": donations,
                "totals": ledger.totals(store.totals_rows(session, event.id))}


def printer_view(db, settings: PrintSettings, queue) -> dict:
    """The printer as the desk sees it: target, width, last known state, queue counts, failed jobs."""
    with db.read() as session:
        failed = []
        for job in store.failed_jobs(session):
            receipt_no = store.by_id(session, job.donation_id).receipt_no if job.donation_id else None
            failed.append(describe_job(job, settings, receipt_no))
        counts = store.queue_counts(session)
    return {"target": settings.target.name, "label": settings.target.label, "kind": settings.target.kind,
            "paper_dots": settings.paper_dots, "cutter": settings.cutter, "config_error": settings.config_error,
            "state": queue.state, "queue": {k: counts.get(k, 0) for k in JOB_LABELS}, "failed": failed}


def screen_state(session, event) -> dict:
    """The `donations` part of the screens' state (registered with display.push): the fund as of the last
    full step of ledger.PUBLISH_EVERY changes, so no watcher can tell what one named donor gave."""
    shown = ledger.published_gifts(store.fund_history(session, event.id))
    summary = ledger.totals([(gift.method, False, 1, gift.amount_vnd) for gift in shown])
    recent = [gift for gift in reversed(shown) if gift.show_on_screen][:ledger.RECENT_DONORS_ON_SCREEN]
    return ledger.screen_part(summary, recent, event.fund_name)


def exact_summary(db) -> dict:
    """The fund's exact figures and the consenting donors, for the desk and the MC (logged in)."""
    with db.read() as session:
        event = _current_event(session)
        summary = ledger.totals(store.totals_rows(session, event.id))
        recent = store.recent_on_screen(session, event.id, ledger.RECENT_DONORS_ON_SCREEN)
        return ledger.screen_part(summary, recent, event.fund_name)


def preview_image(db, settings: PrintSettings, receipt_no: str, copy_no: int | None = None):
    """The receipt as it prints (marked ĐÃ HỦY when voided), for the desk's preview."""
    with db.read() as session:
        donation = store.by_receipt_no(session, receipt_no)
        if donation is None:
            raise ledger.LedgerError("not_found")
        data = receipt_data(settings, donation, store.event_of(session, donation), copy_no)
    return render_receipt(data, settings.paper_dots)


def verify(db, secret_key: str, receipt_no: str, mac: str | None, rehearsal: bool = False):
    """For the public /r/ page: (genuine?, donation dict or None). Details only with a valid code."""
    with db.read() as session:
        donation = store.by_receipt_no(session, receipt_no)
        if donation is None or not ledger.mac_matches(secret_key, donation.receipt_no, donation.amount_vnd, mac,
                                                      rehearsal):
            return False, None
        event = store.event_of(session, donation)
        result = ledger.describe(donation, event.timezone)
        result["fund_name"] = event.fund_name
        result["association"] = event.association
        return True, result
