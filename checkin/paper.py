"""Entering the paper door list afterwards: admissions at the time written beside each tick (plain Python)."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from zoneinfo import ZoneInfo

from kiosk.storage import Database, utcnow

from . import checkins
from .gate import CheckInError

PAPER_GATE = "Danh sách giấy"
# "07:25", "7:25", "7h25", "07h25", "7.25" — as people write a time on paper.
_TIME = re.compile(r"^\s*(\d{1,2})\s*[:hHgG.]\s*(\d{2})\s*$")


def paper_time(text: str | None, event_day: dt.date, zone: ZoneInfo, now: dt.datetime) -> dt.datetime:
    """The moment a time written on the paper list means: that time on the event's day, in its zone."""
    match = _TIME.match(text or "")
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise CheckInError("bad_time", "Giờ đến không hợp lệ: hãy ghi như trên giấy, ví dụ 07:25 hoặc 7h25.")
    moment = dt.datetime.combine(event_day, dt.time(int(match[1]), int(match[2])), zone)
    if moment > now + dt.timedelta(minutes=1):
        raise CheckInError("future_time", f"Giờ {match[1]}h{match[2]} chưa tới: hãy kiểm tra lại giờ ghi trên giấy.")
    return moment


def _meta(db: Database, written: str | None, meta: checkins.ScanMeta, now: dt.datetime) -> checkins.ScanMeta:
    ctx = checkins.event_context(db)
    day = ctx.starts_at.astimezone(ctx.zone).date()
    return replace(meta, gate=meta.gate or PAPER_GATE, source="paper",
                   scanned_at=paper_time(written, day, ctx.zone, now), local_verdict="ok")


def admit(db: Database, invitee_id: int, written: str | None, meta: checkins.ScanMeta,
          now: dt.datetime | None = None) -> dict:
    """Admit an invitee ticked on the paper list at the time written there (earliest admission wins)."""
    now = now or utcnow()
    return checkins.admit_by_id(db, invitee_id, _meta(db, written, meta, now), now)


def walk_in(db: Database, values: dict, written: str | None, meta: checkins.ScanMeta,
            now: dt.datetime | None = None) -> dict:
    """Register a walk-in written on the paper sheet, arrived at the time written there."""
    now = now or utcnow()
    return checkins.walk_in(db, values, _meta(db, written, meta, now), now)
