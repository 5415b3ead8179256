"""Queries for the server-owned show state of the programme."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from .schema import ShowState


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
