"""Queries for the server-owned show state of the programme and the audit trail of its control."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from .schema import AuditLog, ShowState

# The columns a show record carries besides `extra` (a JSON object of everything else).
COLUMNS = ("rev", "current_index", "started_at", "holding", "announcement", "blackout")


def show_state(session: Session, event_id: int) -> ShowState | None:
    """The event's show state row, or None before anything was shown."""
    return session.get(ShowState, event_id)


def ensure_show_state(session: Session, event_id: int, now: dt.datetime) -> ShowState:
    """The event's show state row, created (before the first item, rev 0) when missing."""
    row = session.get(ShowState, event_id)
    if row is None:
        row = ShowState(event_id=event_id, rev=0, current_index=-1, holding=False, blackout=False,
                        extra="{}", updated_at=now)
        session.add(row)
        session.flush()
    return row


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


def write_show(session: Session, event_id: int, record: dict, now: dt.datetime) -> ShowState:
    """Persist a whole show record (inside the caller's write transaction)."""
    row = ensure_show_state(session, event_id, now)
    for name in COLUMNS:
        setattr(row, name, record[name])
    row.extra = json.dumps(record.get("extra") or {}, ensure_ascii=False, sort_keys=True)
    row.updated_at = now
    return row


def log_action(session: Session, actor: str | None, action: str, detail: dict, now: dt.datetime) -> None:
    """Append one control action (or refusal) to the audit log."""
    session.add(AuditLog(at=now, actor=actor, action=action,
                         detail=json.dumps(detail, ensure_ascii=False, sort_keys=True)))


def recent_actions(session: Session, prefix: str, limit: int = 50) -> list[AuditLog]:
    """The latest audit entries whose action starts with `prefix`, newest first."""
    return list(session.scalars(select(AuditLog).where(AuditLog.action.startswith(prefix))
                                .order_by(AuditLog.id.desc()).limit(limit)))
