"""The organiser's dashboard: one snapshot of the gate, the donations, the programme, printer and screens."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask

from .auth import ROLE_LABELS
from .report import METHODS
from .storage import events as event_queries
from .storage import report as report_queries
from .storage import staff, utcnow
from .storage import snapshots
from .vietnamese import format_time, format_vnd


def _ten_minutes(moment: dt.datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.hour:02d}h{local.minute - local.minute % 10:02d}"


def donations_summary(app: Flask) -> dict:
    """Count, total, by method and per ten minutes, voided gifts left out, straight from the ledger."""
    with app.extensions["kiosk.db"].read() as session:
        event = event_queries.current_event(session)
        gifts = report_queries.donations(session, event.id)
    zone = ZoneInfo(event.timezone)
    kept = [g for g in gifts if g.voided_at is None]
    by_method = Counter()
    over_time = Counter()
    for gift in kept:
        by_method[METHODS.get(gift.method, gift.method)] += gift.amount_vnd
        over_time[_ten_minutes(gift.created_at, zone)] += gift.amount_vnd
    total = sum(g.amount_vnd for g in kept)
    return {"count": len(kept), "total_vnd": total, "total_label": format_vnd(total),
            "voided": len(gifts) - len(kept),
            "by_method": [{"method": m, "total_vnd": v, "label": format_vnd(v)} for m, v in sorted(by_method.items())],
            "over_time": [{"slot": slot, "total_vnd": over_time[slot]} for slot in sorted(over_time)]}


def programme_summary(app: Flask, now: dt.datetime | None = None) -> list[dict]:
    """Each item's planned time and, once it ran, its actual start and how late it began: measured, like
    the MC page, against the plan moved to the day the programme is run (a rehearsal, a laptop whose
    date is not the event's), in Vietnamese units ("chậm 14 phút")."""
    from display import timing
    from display.push import load
    with app.extensions["kiosk.db"].read() as session:
        event, agenda, show = load(session)
    zone = ZoneInfo(event.timezone)
    slots = [timing.Slot(item.planned_start, item.planned_end) for item in agenda]
    shift = timing.plan_shift(slots, show, event.timezone, now or utcnow())
    rows = []
    for index, item in enumerate(agenda):
        run = show.runs.get(item.id)
        planned = item.planned_start.astimezone(zone)
        late = run.started_at - (item.planned_start + shift) if run else None
        rows.append({"no": index + 1, "content": item.content, "planned": format_time(planned),
                     "actual": format_time(run.started_at.astimezone(zone)) if run else None,
                     "late_minutes": round(late.total_seconds() / 60) if run else None,
                     "late_label": timing.drift_label(late) if run else None,
                     "current": index == show.current_index})
    return rows


def snapshot(app: Flask) -> dict:
    """Everything the dashboard shows, computed now."""
    from checkin import checkins
    from checkin.gate_events import gate_list
    from display.push import current_timing, screen_list

    db = app.extensions["kiosk.db"]
    printer = None
    if "printer.settings" in app.extensions:
        from printer import desk
        printer = desk.printer_view(db, app.extensions["printer.settings"], app.extensions["printer.queue"])
    missing_vips = [p for p in checkins.absent(db) if p["vip"]]
    return {
        "stats": checkins.stats(db),
        "missing_vips": [{"name": p["addressed"],
                          "organisation": p["organisation"], "phone": p["phone"]} for p in missing_vips],
        "donations": donations_summary(app),
        "programme": programme_summary(app),
        "programme_timing": current_timing(app),   # the MC page's drift and projected end, computed alike
        "printer": printer,
        "screens": screen_list(app),
        "gate_devices": gate_list(app),
        "conflicts": checkins.conflicts(db)[:20],
        "backup": last_backup(app),
        "security": security_summary(app),
        "server_time": int(utcnow().timestamp() * 1000),
    }


def security_summary(app: Flask) -> dict:
    """Roles whose PIN login is locked now, and the wrong PINs of the last ten minutes, for the organiser."""
    now = utcnow()
    with app.extensions["kiosk.db"].read() as session:
        zone = ZoneInfo(event_queries.current_event(session).timezone)
        count, recent = staff.failed_logins(session, now - dt.timedelta(minutes=10))
    locked = app.extensions["kiosk.throttle"].locked_roles()
    return {"locked_roles": [{"role": role, "label": ROLE_LABELS[role], "seconds": seconds}
                             for role, seconds in sorted(locked.items())],
            "failed_logins_10_min": count,
            "recent_failed_logins": [{"at_label": format_time(row.at.astimezone(zone)),
                                      "role": ROLE_LABELS.get(row.actor, row.actor), "address": row.detail}
                                     for row in recent]}


def last_backup(app: Flask) -> dict | None:
    """When the newest backup was taken (on PostgreSQL: by any of the processes)."""
    return snapshots.newest(app.extensions["kiosk.db"], Path(app.config["KIOSK_DATA_DIR"]))
