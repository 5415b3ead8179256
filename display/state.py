"""Builds the whole show state that every screen receives (plain Python, no Flask)."""
from __future__ import annotations

import datetime as dt


def snapshot(event, show, items: list[dict], now: dt.datetime) -> dict:
    """The state object of the public contract: rev, server_time, current_index, items and the event."""
    return {
        "rev": show.rev if show else 0,
        "server_time": int(now.timestamp() * 1000),
        "current_index": show.current_index if show else -1,
        "started_at": int(show.started_at.timestamp() * 1000) if show and show.started_at else None,
        "announcement": (show.announcement if show else None) or None,
        "blackout": bool(show.blackout) if show else False,
        "items": items,
        "event": {
            "title": event.title,
            "theme": event.theme,
            "venue": event.venue,
            "address": event.address,
            "starts_at": event.starts_at.isoformat(),
            "timezone": event.timezone,
        },
    }
