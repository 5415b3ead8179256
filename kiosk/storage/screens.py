"""Screen presence in the database, for several processes: which screen sockets each process holds."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from .schema import ScreenPresence
from .upsert import upsert


def put(session: Session, sid: str, process: str, screen_id: str, own_name: str | None, view: str,
        since: dt.datetime, address: str | None, now: dt.datetime) -> None:
    """Record (or refresh) a screen on a socket of this process."""
    # Upserted: a screen's events are handled on threads of their own, and two hellos can race.
    upsert(session, ScreenPresence, {"sid": sid[:64], "process": process, "screen_id": screen_id,
                                     "own_name": own_name, "view": view, "since": since,
                                     "address": (address or "")[:64] or None, "seen_at": now})


def remove(session: Session, sid: str) -> None:
    """A socket closed."""
    session.execute(delete(ScreenPresence).where(ScreenPresence.sid == sid[:64]))


def touch(session: Session, process: str, now: dt.datetime) -> None:
    """This process still holds its sockets: refresh them, so they do not go stale."""
    session.execute(update(ScreenPresence).where(ScreenPresence.process == process).values(seen_at=now))


def live(session: Session, fresh_after: dt.datetime) -> list[ScreenPresence]:
    """Every socket refreshed since `fresh_after` (a process that died stops refreshing its own)."""
    return list(session.scalars(select(ScreenPresence).where(ScreenPresence.seen_at > fresh_after)))


def purge(session: Session, stale_before: dt.datetime) -> None:
    """Forget sockets no process has refreshed since `stale_before`."""
    session.execute(delete(ScreenPresence).where(ScreenPresence.seen_at <= stale_before))
