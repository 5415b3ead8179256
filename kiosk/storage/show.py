"""Queries for the server-owned show state of the programme and the audit trail of its control."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .schema import AuditLog, ShowState

# The columns a show record carries besides `extra` (a JSON object of everything else).
COLUMNS = ("rev", "current_index", "started_at", "holding", "announcement", "blackout")


def show_state(session: Session, event_id: int) -> ShowState | None:
    """The event's show state row, or None before anything was shown."""
    return session.get(ShowState, event_id)


def read_show(session: Session, event_id: int) -> dict | None:
    """The show state as a plain record (columns plus decoded `extra`), or None before the first change."""
    row = session.get(ShowState, event_id)
    if row is None:
        return None
    record = {name: getattr(row, name) for name in COLUMNS}
    try:
        record["extra"] = json.loads(row.extra or "{}")
    except ValueError:
        # A damaged extra must not take the screens down: the columns alone still show the right item.
        record["extra"] = {}
    return record


def write_show(session: Session, event_id: int, record: dict, now: dt.datetime,
               expected_rev: int | None = None) -> bool:
    """Persist a whole show record if the stored rev is still `expected_rev` (the rev it was computed from;
    default: one below the record's). False when another request, on any process, moved the show first."""
    expected = record["rev"] - 1 if expected_rev is None else expected_rev
    values = {name: record[name] for name in COLUMNS}
    values.update(extra=json.dumps(record.get("extra") or {}, ensure_ascii=False, sort_keys=True), updated_at=now)
    # Compare-and-set in the database: two MCs pressing at once on two processes both read rev N, and
    # only the first UPDATE still finds it (the second waits for its row lock, then matches nothing).
    moved = session.execute(update(ShowState).where(ShowState.event_id == event_id, ShowState.rev == expected)
                            .values(**values).execution_options(synchronize_session=False))
    if moved.rowcount == 1:
        return True
    if expected != 0 or session.scalar(select(ShowState.rev).where(ShowState.event_id == event_id)) is not None:
        return False
    # The very first change of the show: the row is created, once (a racing twin meets the primary key).
    try:
        with session.begin_nested():
            session.execute(insert(ShowState).values(event_id=event_id, **values))
    except IntegrityError:
        return False
    return True


def log_action(session: Session, actor: str | None, action: str, detail: dict, now: dt.datetime) -> None:
    """Append one control action (or refusal) to the audit log."""
    session.add(AuditLog(at=now, actor=actor, action=action,
                         detail=json.dumps(detail, ensure_ascii=False, sort_keys=True)))


def recent_actions(session: Session, prefix: str, limit: int = 50) -> list[AuditLog]:
    """The latest audit entries whose action starts with `prefix`, newest first."""
    return list(session.scalars(select(AuditLog).where(AuditLog.action.startswith(prefix))
                                .order_by(AuditLog.id.desc()).limit(limit)))
