"""Queries for donations and their print jobs: numbering, voids, reprints, the job queue, totals."""
from __future__ import annotations

import datetime as dt
from sqlalchemy import case, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .schema import AuditLog, Donation, Event, Meta, PrintJob, ReceiptCounter

PENDING = ("queued", "printing")
# kiosk_meta key (+ receipt prefix) of the highest receipt number printed before a restore: numbers the
# restored ledger does not hold were still printed on paper, and are never given out again.
RECEIPT_FLOOR = "receipt_floor:"


def next_seq(session: Session, event_id: int) -> int:
    """The next receipt sequence number; call inside the write transaction that inserts it."""
    # The counter row is locked until this transaction ends, so two desks (on any process) take turns, and
    # a rolled-back gift takes its number back with it: gapless. Not the event row: every gate scan's
    # foreign key takes a share lock on that one, and locking it stalled the gate for seconds.
    taken = session.execute(update(ReceiptCounter).where(ReceiptCounter.event_id == event_id)
                            .values(last=ReceiptCounter.last + 1).returning(ReceiptCounter.last)).scalar()
    if taken is None:
        taken = _start_counter(session, event_id)
    prefix = session.scalar(select(Event.receipt_prefix).where(Event.id == event_id))
    floor = int(session.scalar(select(Meta.value).where(Meta.key == RECEIPT_FLOOR + prefix)) or 0)
    if taken <= floor:  # numbers printed before a restore are never given out again
        taken = floor + 1
        session.execute(update(ReceiptCounter).where(ReceiptCounter.event_id == event_id).values(last=taken))
    return taken


def _start_counter(session: Session, event_id: int) -> int:
    """The event's first number: the counter row is created after the gifts already recorded."""
    current = session.scalar(select(func.max(Donation.seq)).where(Donation.event_id == event_id)) or 0
    try:
        with session.begin_nested():
            session.execute(insert(ReceiptCounter).values(event_id=event_id, last=current + 1))
        return current + 1
    except IntegrityError:  # another desk created it first (it waited for that one to commit): take the next
        return session.execute(update(ReceiptCounter).where(ReceiptCounter.event_id == event_id)
                               .values(last=ReceiptCounter.last + 1).returning(ReceiptCounter.last)).scalar_one()


def by_request_id(session: Session, request_id: str | None) -> Donation | None:
    """The donation an earlier attempt of the same save created, if any."""
    if not request_id:
        return None
    return session.scalars(select(Donation).where(Donation.request_id == request_id)).first()


def add_donation(session: Session, event_id: int, seq: int, receipt_no: str, data, role: str,
                 search_text: str, now: dt.datetime) -> Donation:
    """Insert a donation (fields from a ledger.DonationInput)."""
    donation = Donation(
        event_id=event_id, seq=seq, receipt_no=receipt_no, donor_name=data.donor_name,
        organisation=data.organisation, amount_vnd=data.amount_vnd, method=data.method, note=data.note,
        show_on_screen=data.show_on_screen, cashier=role, cashier_name=data.cashier_name,
        search_text=search_text, request_id=data.request_id, created_at=now, reprint_count=0)
    session.add(donation)
    session.flush()
    session.add(AuditLog(at=now, actor=role, action="donation_recorded",
                         detail=f"{receipt_no} {data.amount_vnd}"))
    return donation


def by_receipt_no(session: Session, receipt_no: str) -> Donation | None:
    """One donation by its printed number."""
    return session.scalars(select(Donation).where(Donation.receipt_no == receipt_no)).first()


def by_id(session: Session, donation_id: int) -> Donation | None:
    """One donation by its row id."""
    return session.get(Donation, donation_id)


def list_donations(session: Session, event_id: int, folded_query: str = "", limit: int | None = None,
                   newest_first: bool = True) -> list[Donation]:
    """Donations of the event, optionally filtered by folded search text."""
    query = select(Donation).where(Donation.event_id == event_id)
    for word in folded_query.split():
        query = query.where(Donation.search_text.contains(word, autoescape=True))
    query = query.order_by(Donation.seq.desc() if newest_first else Donation.seq)
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))


def totals_rows(session: Session, event_id: int) -> list[tuple[str, bool, int, int]]:
    """(method, voided, count, sum) for the event's donations."""
    voided = case((Donation.voided_at.is_(None), False), else_=True)
    rows = session.execute(
        select(Donation.method, voided, func.count(), func.coalesce(func.sum(Donation.amount_vnd), 0))
        .where(Donation.event_id == event_id).group_by(Donation.method, voided))
    return [(method, bool(is_voided), count, total) for method, is_voided, count, total in rows]


def recent_on_screen(session: Session, event_id: int, limit: int) -> list[Donation]:
    """The newest valid donations whose donors agreed to be named on screen."""
    return list(session.scalars(
        select(Donation).where(Donation.event_id == event_id, Donation.show_on_screen.is_(True),
                               Donation.voided_at.is_(None))
        .order_by(Donation.seq.desc()).limit(limit)))


def fund_history(session: Session, event_id: int):
    """Every gift as plain rows (number, amount, method, when given, when voided, name if shown), for the
    screens' step-by-step total."""
    return session.execute(
        select(Donation.seq, Donation.amount_vnd, Donation.method, Donation.created_at, Donation.voided_at,
               Donation.show_on_screen, Donation.donor_name, Donation.organisation)
        .where(Donation.event_id == event_id).order_by(Donation.seq)).all()


def void(session: Session, donation: Donation, reason: str, actor: str, now: dt.datetime) -> bool:
    """Mark a donation void (the row and its number stay); cancel its unprinted jobs. False if raced."""
    changed = session.execute(
        update(Donation).where(Donation.id == donation.id, Donation.voided_at.is_(None))
        .values(voided_at=now, void_reason=reason, voided_by=actor)).rowcount
    if not changed:
        return False
    # A queued or failed receipt of a voided gift must never come out of the printer later.
    session.execute(update(PrintJob).where(PrintJob.donation_id == donation.id,
                                           PrintJob.status.in_(("queued", "failed")))
                    .values(status="cancelled", updated_at=now))
    session.add(AuditLog(at=now, actor=actor, action="donation_voided", detail=f"{donation.receipt_no}: {reason}"))
    session.refresh(donation)
    return True


def add_job(session: Session, kind: str, printer: str, paper_dots: int, now: dt.datetime,
            donation: Donation | None = None, copy_no: int | None = None) -> PrintJob:
    """Queue a print job (in the caller's transaction, so it exists exactly when its donation does)."""
    job = PrintJob(donation_id=donation.id if donation else None, kind=kind, status="queued", attempts=0,
                   copy_no=copy_no, paper_dots=paper_dots, printer=printer, created_at=now, updated_at=now)
    session.add(job)
    session.flush()
    return job


def add_copy_job(session: Session, donation: Donation, printer: str, paper_dots: int, actor: str,
                 now: dt.datetime) -> PrintJob:
    """Count a reprint and queue its "BẢN SAO" job."""
    session.execute(update(Donation).where(Donation.id == donation.id)
                    .values(reprint_count=Donation.reprint_count + 1))
    session.refresh(donation)
    session.add(AuditLog(at=now, actor=actor, action="receipt_reprinted",
                         detail=f"{donation.receipt_no} #{donation.reprint_count}"))
    return add_job(session, "copy", printer, paper_dots, now, donation, copy_no=donation.reprint_count)


def hold_print_limits(session: Session) -> None:
    """Take a lock that serialises the count-then-queue of test prints and copies across processes (the
    event row, FOR NO KEY UPDATE on PostgreSQL: gate scans' key-share locks on it are not blocked; SQLite's
    write transaction serialises anyway)."""
    session.execute(select(Event.id).order_by(Event.id).limit(1).with_for_update(key_share=True))


def count_jobs(session: Session, kind: str, *, pending: bool = False, since: dt.datetime | None = None,
               donation_id: int | None = None) -> int:
    """How many print jobs of a kind: still waiting or printing, created since a moment, of one gift."""
    query = select(func.count()).select_from(PrintJob).where(PrintJob.kind == kind)
    if pending:
        query = query.where(PrintJob.status.in_(PENDING))
    if since is not None:
        query = query.where(PrintJob.created_at >= since)
    if donation_id is not None:
        query = query.where(PrintJob.donation_id == donation_id)
    return session.scalar(query) or 0


def job(session: Session, job_id: int) -> PrintJob | None:
    """One print job."""
    return session.get(PrintJob, job_id)


def jobs_for(session: Session, donation_id: int) -> list[PrintJob]:
    """A donation's print jobs, oldest first."""
    return list(session.scalars(select(PrintJob).where(PrintJob.donation_id == donation_id).order_by(PrintJob.id)))


def latest_jobs(session: Session, donation_ids: list[int]) -> dict[int, PrintJob]:
    """The newest print job of each donation."""
    if not donation_ids:
        return {}
    newest = (select(func.max(PrintJob.id)).where(PrintJob.donation_id.in_(donation_ids))
              .group_by(PrintJob.donation_id))
    return {j.donation_id: j for j in session.scalars(select(PrintJob).where(PrintJob.id.in_(newest)))}


def failed_jobs(session: Session, limit: int = 20) -> list[PrintJob]:
    """Jobs that need a person: failed and not yet retried."""
    return list(session.scalars(select(PrintJob).where(PrintJob.status == "failed")
                                .order_by(PrintJob.id.desc()).limit(limit)))


def queue_counts(session: Session) -> dict[str, int]:
    """How many print jobs are in each status."""
    rows = session.execute(select(PrintJob.status, func.count()).group_by(PrintJob.status))
    return {status: count for status, count in rows}


def next_queued(session: Session, printer: str) -> int | None:
    """The oldest job waiting for this printer."""
    return session.scalar(select(PrintJob.id).where(PrintJob.status == "queued", PrintJob.printer == printer)
                          .order_by(PrintJob.id).limit(1))


def claim_next(session: Session, printer: str, owner: str, now: dt.datetime, lease: dt.timedelta) -> int | None:
    """Take the oldest queued job of this printer (queued -> printing, owned, leased); None when none waits."""
    # SKIP LOCKED (PostgreSQL; SQLite has one writer anyway): a job another process is claiming right now is
    # passed over, never waited for nor taken twice.
    job_id = session.scalar(select(PrintJob.id).where(PrintJob.status == "queued", PrintJob.printer == printer)
                            .order_by(PrintJob.id).limit(1).with_for_update(skip_locked=True))
    if job_id is None or not claim(session, job_id, now, owner, now + lease):
        return None
    return job_id


def claim(session: Session, job_id: int, now: dt.datetime, owner: str | None = None,
          lease_until: dt.datetime | None = None) -> bool:
    """Move a job from queued to printing; False when someone else did (or it was cancelled)."""
    return session.execute(
        update(PrintJob).where(PrintJob.id == job_id, PrintJob.status == "queued")
        .values(status="printing", attempts=PrintJob.attempts + 1, started_at=now, updated_at=now,
                error=None, error_code=None, warning=None, owner=owner, lease_until=lease_until)).rowcount == 1


def finish(session: Session, job_id: int, now: dt.datetime, error_code: str | None = None,
           error: str | None = None, warning: str | None = None) -> None:
    """Record how a printing job ended: done, or failed with a Vietnamese message."""
    session.execute(update(PrintJob).where(PrintJob.id == job_id, PrintJob.status == "printing").values(
        status="failed" if error_code else "done", error_code=error_code, error=error, warning=warning,
        finished_at=now, updated_at=now, lease_until=None))


def retry(session: Session, job_id: int, actor: str, now: dt.datetime) -> bool:
    """Put a failed job back in the queue (a person decided to); False unless it was failed."""
    changed = session.execute(update(PrintJob).where(PrintJob.id == job_id, PrintJob.status == "failed")
                              .values(status="queued", updated_at=now)).rowcount == 1
    if changed:
        session.add(AuditLog(at=now, actor=actor, action="print_retried", detail=str(job_id)))
    return changed


def recover_interrupted(session: Session, printer: str | None, now: dt.datetime, error_code: str, error: str) -> int:
    """Jobs cut off mid-print become failed (never resent blindly): this printer's whose lease ran out (their
    process died), or with printer None every printing job (one process only: none can still be printing)."""
    query = update(PrintJob).where(PrintJob.status == "printing")
    if printer is not None:
        query = query.where(PrintJob.printer == printer,
                            PrintJob.lease_until.is_(None) | (PrintJob.lease_until < now))
    return session.execute(query.values(status="failed", error_code=error_code, error=error, finished_at=now,
                                        updated_at=now, lease_until=None)).rowcount


def fail_orphans(session: Session, printer: str, now: dt.datetime, error_code: str, error: str) -> int:
    """One process only (SQLite): jobs queued for a printer this server no longer drives become failed, so
    the desk offers them to a person ("Thử in lại" prints them here); never sent elsewhere by themselves."""
    return session.execute(update(PrintJob).where(PrintJob.status == "queued", PrintJob.printer != printer)
                           .values(status="failed", error_code=error_code, error=error, finished_at=now,
                                   updated_at=now, lease_until=None)).rowcount


def has_queued(session: Session, printer: str) -> bool:
    """Whether any job waits for this printer."""
    return next_queued(session, printer) is not None


def event_of(session: Session, donation: Donation) -> Event:
    """The event a donation belongs to."""
    return session.get(Event, donation.event_id)
