"""Background jobs in the database (card exports, imports): one running per kind over every process."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .schema import BackgroundJob


def add(session: Session, job_id: str, kind: str, status: str, owner: str, now: dt.datetime, *,
        total: int = 0, detail: dict | None = None) -> None:
    """A new running job; the flush meets the unique running slot (IntegrityError) if one of its kind runs."""
    session.add(BackgroundJob(id=job_id, kind=kind, status=status, running_slot=1, done=0, total=total,
                              detail=json.dumps(detail or {}), owner=owner,
                              started_at=now, updated_at=now))
    session.flush()


def running(session: Session, kind: str) -> BackgroundJob | None:
    """The job of this kind still marked running, if any."""
    return session.scalar(select(BackgroundJob).where(BackgroundJob.kind == kind, BackgroundJob.running_slot == 1))


def get(session: Session, kind: str, job_id: str) -> BackgroundJob | None:
    """A job of this kind by id."""
    job = session.get(BackgroundJob, job_id[:32])
    return job if job is not None and job.kind == kind else None


def change(session: Session, job_id: str, now: dt.datetime, *, running: bool | None = True,
           detail: dict | None = None, **values) -> bool:
    """Update a job only if it is still running (running=True) or not (False), or either (None); `detail`
    replaces its detail. False when it was not in that state (given up for dead, or ended)."""
    query = update(BackgroundJob).where(BackgroundJob.id == job_id)
    if running is not None:
        query = query.where(BackgroundJob.running_slot == 1 if running else BackgroundJob.running_slot.is_(None))
    if detail is not None:
        values["detail"] = json.dumps(detail)  # escaped: no text the database could refuse
    return session.execute(query.values(updated_at=now, **values)).rowcount == 1


def forget_all_but(session: Session, kind: str, keep: int) -> list[BackgroundJob]:
    """Drop every finished job of this kind but the newest `keep`; those that stay."""
    finished = list(session.scalars(select(BackgroundJob).where(BackgroundJob.kind == kind,
                                                                BackgroundJob.running_slot.is_(None))
                                    .order_by(BackgroundJob.started_at.desc(), BackgroundJob.id)))
    for row in finished[keep:]:
        session.delete(row)
    return finished[:keep]
