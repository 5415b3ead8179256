"""Timers against the plan: elapsed time, drift ("chậm 7 phút") and the projected end (plain Python).

The model, which static/js/mc.js mirrors line for line so the MC page can recompute every second:
- the plan is read as times of day on the day the programme started (today, before it starts), so a
  rehearsal the day before shows real drift; the shift is whole days;
- the current item runs for its planned duration (an item without an end lasts until the next item's
  planned start; the last item without an end is open-ended); held time does not count;
- drift = when the current item is now expected to end minus when the plan ends it (before the first
  item: how late starting now would be);
- the items after it follow back to back but never before their planned start, so gaps in the plan
  absorb delays and an early programme waits for its timetable.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from kiosk.vietnamese import format_time

from .show import ZERO, Show

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Slot:
    """One item's planned start and (optional) end, as aware datetimes."""

    start: dt.datetime
    end: dt.datetime | None = None


@dataclass(frozen=True)
class Projection:
    """Where the programme stands at `now` against its plan."""

    elapsed: dt.timedelta | None        # of the current item, holds excluded
    remaining: dt.timedelta | None      # of the current item's planned duration; negative: overrun
    drift: dt.timedelta                 # positive: late
    expected_starts: list[dt.datetime | None]  # actual start for the current item, projection after it
    projected_end: dt.datetime | None
    planned_end: dt.datetime | None
    shift: dt.timedelta                 # how far the plan was moved to today's date


def durations(slots: list[Slot]) -> list[dt.timedelta | None]:
    """Each item's planned duration: its end, else the next item's start, else open-ended (None)."""
    found = []
    for index, slot in enumerate(slots):
        if slot.end is not None:
            found.append(slot.end - slot.start)
        elif index + 1 < len(slots):
            found.append(max(slots[index + 1].start - slot.start, ZERO))
        else:
            found.append(None)
    return found


def plan_shift(slots: list[Slot], show: Show, timezone: str, now: dt.datetime) -> dt.timedelta:
    """Whole days between the plan's date and the day the programme runs (its first start, else today)."""
    if not slots:
        return ZERO
    zone = ZoneInfo(timezone)
    starts = [run.started_at for run in show.runs.values()]
    reference = min(starts) if starts else now
    days = (reference.astimezone(zone).date() - slots[0].start.astimezone(zone).date()).days
    return days * DAY


def elapsed(show: Show, now: dt.datetime) -> dt.timedelta | None:
    """How long the current item has run, held time excluded (None before the first item)."""
    run = show.current_run
    if run is None:
        return None
    return max(now - run.started_at - show.paused_at(now), ZERO)


def project(slots: list[Slot], show: Show, now: dt.datetime, timezone: str) -> Projection:
    """Elapsed, drift and the projected end of the programme at `now`."""
    shift = plan_shift(slots, show, timezone, now)
    plan = [Slot(s.start + shift, s.end + shift if s.end else None) for s in slots]
    spans = durations(plan)
    expected: list[dt.datetime | None] = [None] * len(plan)
    if not plan:
        return Projection(None, None, ZERO, expected, None, None, shift)
    current = show.current_index if show.current_index < len(plan) else len(plan) - 1
    ran = elapsed(show, now)
    remaining = None
    if current < 0:
        cursor = now
        drift = max(now - plan[0].start, ZERO)
        first = 0
    else:
        begun = show.started_at or now
        expected[current] = begun
        span = spans[current]
        if span is None:
            # The open-ended last item: the timed programme ended when it began.
            cursor = begun
            drift = begun - plan[current].start
        else:
            remaining = span - (ran or ZERO)
            cursor = now + max(remaining, ZERO)
            drift = cursor - (plan[current].start + span)
        first = current + 1
    for index in range(first, len(plan)):
        begins = max(cursor, plan[index].start)
        expected[index] = begins
        cursor = begins + (spans[index] or ZERO)
    planned_end = plan[-1].start + (spans[-1] or ZERO)
    return Projection(ran, remaining, drift, expected, cursor, planned_end, shift)


def minutes_label(delta: dt.timedelta) -> str:
    """A duration in whole minutes, Vietnamese: '7 phút', '1 giờ 5 phút', '2 giờ'."""
    minutes = int(abs(delta.total_seconds()) // 60)
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} giờ {rest} phút"
    if hours:
        return f"{hours} giờ"
    return f"{rest} phút"


def drift_label(drift: dt.timedelta) -> str:
    """'chậm 7 phút', 'sớm 3 phút', or 'đúng giờ' within the first minute either way."""
    if abs(drift) < dt.timedelta(minutes=1):
        return "đúng giờ"
    return ("chậm " if drift > ZERO else "sớm ") + minutes_label(drift)


def _ms(moment: dt.datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment else None


def summary(projection: Projection, timezone: str) -> dict:
    """The projection as the JSON the state carries (valid at the state's server_time)."""
    zone = ZoneInfo(timezone)

    def label(moment):
        return format_time(moment.astimezone(zone)) if moment else ""

    return {
        "drift_s": int(projection.drift.total_seconds()),
        "drift_label": drift_label(projection.drift),
        "elapsed_s": int(projection.elapsed.total_seconds()) if projection.elapsed is not None else None,
        "remaining_s": int(projection.remaining.total_seconds()) if projection.remaining is not None else None,
        "projected_end": _ms(projection.projected_end),
        "projected_end_label": label(projection.projected_end),
        "planned_end": _ms(projection.planned_end),
        "planned_end_label": label(projection.planned_end),
        "expected_starts": [_ms(moment) for moment in projection.expected_starts],
        "plan_shift_ms": int(projection.shift.total_seconds() * 1000),
    }
