"""The programme as plain data: local times for people, and the gaps and overlaps an editor flags."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from kiosk.vietnamese import format_time


def describe(items, timezone: str) -> list[dict]:
    """Agenda rows (anything with planned_start/end, content, performer, slide) as JSON-ready dicts."""
    zone = ZoneInfo(timezone)
    described = []
    for index, item in enumerate(items):
        start = item.planned_start.astimezone(zone)
        end = item.planned_end.astimezone(zone) if item.planned_end else None
        described.append({
            "index": index,
            "content": item.content,
            "performer": item.performer or "",
            "slide": item.slide,
            "planned_start": start.isoformat(),
            "planned_end": end.isoformat() if end else None,
            "start_label": format_time(start),
            "end_label": format_time(end) if end else "",
            "time_label": f"{format_time(start)}–{format_time(end)}" if end else format_time(start),
        })
    return described


def warnings(described: list[dict]) -> list[dict]:
    """Gaps and overlaps between consecutive items, each with a Vietnamese sentence."""
    found = []
    for before, after in zip(described, described[1:]):
        if not before["planned_end"]:
            continue
        end = dt.datetime.fromisoformat(before["planned_end"])
        start = dt.datetime.fromisoformat(after["planned_start"])
        if start > end:
            found.append({"kind": "gap", "after_index": before["index"],
                          "message": f"Khoảng trống {before['end_label']}–{after['start_label']} giữa mục "
                                     f"{before['index'] + 1} và mục {after['index'] + 1} chưa có nội dung."})
        elif start < end:
            found.append({"kind": "overlap", "after_index": before["index"],
                          "message": f"Mục {before['index'] + 1} (đến {before['end_label']}) chồng lên mục "
                                     f"{after['index'] + 1} (bắt đầu {after['start_label']})."})
    return found
