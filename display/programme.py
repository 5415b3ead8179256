"""The programme as plain data: local times for people, the editor's checks, and the gaps and overlaps
it flags."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from kiosk.vietnamese import format_time, nfc

SLIDES = ("delegates", "donations")
MAX_CONTENT = 600
MAX_PERFORMER = 200
_CLOCK = re.compile(r"^\s*(\d{1,2})\s*[:hH.]\s*(\d{2})\s*$")


class ProgrammeError(Exception):
    """An edit the programme cannot take; `code` says why and `field` which input is wrong."""

    def __init__(self, code: str, field: str | None = None):
        super().__init__(code)
        self.code = code
        self.field = field


def describe(items, timezone: str, runs: dict | None = None) -> list[dict]:
    """Agenda rows (anything with planned_start/end, content, performer, slide) as JSON-ready dicts.

    `runs` maps item ids to their actual start (a datetime), added as `actual_start` (ms) and its label.
    """
    zone = ZoneInfo(timezone)
    runs = runs or {}
    described = []
    for index, item in enumerate(items):
        start = item.planned_start.astimezone(zone)
        end = item.planned_end.astimezone(zone) if item.planned_end else None
        item_id = getattr(item, "id", None)
        actual = runs.get(item_id)
        described.append({
            "index": index,
            "id": item_id,
            "content": item.content,
            "performer": item.performer or "",
            "slide": item.slide,
            "planned_start": start.isoformat(),
            "planned_end": end.isoformat() if end else None,
            "start_label": format_time(start),
            "end_label": format_time(end) if end else "",
            "time_label": f"{format_time(start)}–{format_time(end)}" if end else format_time(start),
            "actual_start": int(actual.timestamp() * 1000) if actual else None,
            "actual_start_label": format_time(actual.astimezone(zone)) if actual else "",
        })
    return described


def warnings(described: list[dict], accepted: frozenset[str] | set[str] = frozenset()) -> list[dict]:
    """Gaps and overlaps between consecutive items, each with a key, a Vietnamese sentence and whether
    the organiser accepted it (only gaps can be accepted: an overlap is a mistake to fix)."""
    found = []
    for before, after in zip(described, described[1:]):
        start = dt.datetime.fromisoformat(after["planned_start"])
        begun = dt.datetime.fromisoformat(before["planned_start"])
        if start < begun:
            found.append(_warning("order", before, after, accepted,
                                  f"Mục {after['index'] + 1} ({after['start_label']}) bắt đầu trước mục "
                                  f"{before['index'] + 1} ({before['start_label']}): thứ tự chưa đúng giờ."))
            continue
        if not before["planned_end"]:
            continue
        end = dt.datetime.fromisoformat(before["planned_end"])
        if start > end:
            found.append(_warning("gap", before, after, accepted,
                                  f"Khoảng trống {before['end_label']}–{after['start_label']} giữa mục "
                                  f"{before['index'] + 1} và mục {after['index'] + 1} chưa có nội dung."))
        elif start < end:
            found.append(_warning("overlap", before, after, accepted,
                                  f"Mục {before['index'] + 1} (đến {before['end_label']}) chồng lên mục "
                                  f"{after['index'] + 1} (bắt đầu {after['start_label']})."))
    return found


def _warning(kind: str, before: dict, after: dict, accepted, message: str) -> dict:
    # The key names the two items and the times, so moving either item asks the organiser again.
    key = (f"{kind}:{before.get('id')}:{after.get('id')}:"
           f"{before['end_label'] or before['start_label']}-{after['start_label']}")
    return {"kind": kind, "after_index": before["index"], "key": key, "message": message,
            "acceptable": kind == "gap", "accepted": kind == "gap" and key in accepted}


def parse_clock(text, day: dt.date, zone: ZoneInfo, field: str) -> dt.datetime:
    """'07:30', '7h30' or '07.30' on the event's day, as an aware datetime."""
    match = _CLOCK.match(text) if isinstance(text, str) else None
    if not match:
        raise ProgrammeError("bad_time", field)
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ProgrammeError("bad_time", field)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


def _text(value, field: str, limit: int, required: bool = False) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ProgrammeError("bad_request", field)
    clean = nfc(value)
    if required and not clean:
        raise ProgrammeError("content_required", field)
    if len(clean) > limit:
        raise ProgrammeError("too_long", field)
    return clean or None


def item_fields(body: dict, day: dt.date, timezone: str, current: dict | None = None) -> dict:
    """Validate an add or edit: the item's columns (planned_start/end aware, content, performer, slide).

    `current` holds the item's present columns for a partial edit; a new item needs start and content.
    """
    if not isinstance(body, dict):
        raise ProgrammeError("bad_request")
    zone = ZoneInfo(timezone)
    merged = dict(current or {})
    if "start" in body or current is None:
        merged["planned_start"] = parse_clock(body.get("start"), day, zone, "start")
    if "end" in body:
        end = body.get("end")
        merged["planned_end"] = parse_clock(end, day, zone, "end") if end not in (None, "") else None
    merged.setdefault("planned_end", None)
    if "content" in body or current is None:
        merged["content"] = _text(body.get("content"), "content", MAX_CONTENT, required=True)
    if "performer" in body or current is None:
        merged["performer"] = _text(body.get("performer"), "performer", MAX_PERFORMER)
    if "slide" in body or current is None:
        slide = body.get("slide") or None
        if slide is not None and slide not in SLIDES:
            raise ProgrammeError("bad_slide", "slide")
        merged["slide"] = slide
    if merged["planned_end"] is not None and merged["planned_end"] <= merged["planned_start"]:
        raise ProgrammeError("end_before_start", "end")
    return merged


def check_order(ids, existing: list[int]) -> list[int]:
    """A new running order must name every item exactly once."""
    if not isinstance(ids, list) or any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
        raise ProgrammeError("bad_order")
    if sorted(ids) != sorted(existing) or len(set(ids)) != len(ids):
        raise ProgrammeError("bad_order")
    return ids
