"""Builds the whole show state that every screen receives (plain Python, no Flask)."""
from __future__ import annotations

import datetime as dt

from .show import Show


def _ms(moment: dt.datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment else None


def snapshot(event, show: Show, items: list[dict], now: dt.datetime) -> dict:
    """The state object of the public contract: rev, server_time, current_index, items, the event, and
    what the MC and the screens need besides (holds, slide, screen assignments).

    Apart from server_time nothing in it depends on the clock: screens and the MC page compute timers.
    """
    return {
        "rev": show.rev,
        "server_time": _ms(now),
        "current_index": show.current_index,
        "current_item_id": show.current_item_id,
        "started_at": _ms(show.started_at),
        "holding": show.holding,
        "held_since": _ms(show.held_since) if show.holding else None,
        "paused_ms": int((show.current_run.paused if show.current_run else dt.timedelta(0)).total_seconds() * 1000),
        "announcement": show.announcement or None,
        "blackout": bool(show.blackout),
        "slide": bool(show.slide),
        "screens": show.screens,
        "items": items,
        "event": {
            "title": event.title,
            "theme": event.theme,
            "venue": event.venue,
            "address": event.address,
            "starts_at": event.starts_at.isoformat(),
            "timezone": event.timezone,
            "fund_name": event.fund_name,
            "association": event.association,
        },
    }
