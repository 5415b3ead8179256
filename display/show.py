"""The show state machine: which item is on, since when, and what the screens show (plain Python).

Every transition takes the programme's item ids in running order and `now`, and returns a new Show
with `rev` one higher, or the same Show when nothing changes. Refusals raise ShowError(code).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Sequence

from kiosk.vietnamese import nfc

VIEWS = ("projector", "lobby", "welcome")
MAX_ANNOUNCEMENT = 280
MAX_SCREEN_NAME = 60
SCREEN_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
ZERO = dt.timedelta(0)


class ShowError(Exception):
    """A control action that cannot be applied; `code` says why (mapped to HTTP by the views)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Run:
    """When an item actually started and how long it has been held (paused) since."""

    started_at: dt.datetime
    paused: dt.timedelta = ZERO


@dataclass(frozen=True)
class Show:
    """The whole server-owned state of the programme; never mutated, transitions return a new one."""

    rev: int = 0
    current_index: int = -1
    current_item_id: int | None = None
    runs: dict[int, Run] = field(default_factory=dict)
    holding: bool = False
    held_since: dt.datetime | None = None
    announcement: str | None = None
    blackout: bool = False
    slide: bool = False
    screens: dict[str, dict] = field(default_factory=dict)
    accepted_warnings: frozenset[str] = frozenset()

    @property
    def current_run(self) -> Run | None:
        """The run of the item on now, if any."""
        return self.runs.get(self.current_item_id) if self.current_item_id is not None else None

    @property
    def started_at(self) -> dt.datetime | None:
        """When the item on now really started (it survives restarts, holds and undo)."""
        run = self.current_run
        return run.started_at if run else None

    def paused_at(self, now: dt.datetime) -> dt.timedelta:
        """How long the current item has been held, the running hold included."""
        run = self.current_run
        paused = run.paused if run else ZERO
        if self.holding and self.held_since is not None:
            paused += max(now - self.held_since, ZERO)
        return paused


def _changed(show: Show, **changes) -> Show:
    """A copy with `changes` and the next rev, or `show` itself when the changes change nothing."""
    if all(getattr(show, name) == value for name, value in changes.items()):
        return show
    return dataclasses.replace(show, rev=show.rev + 1, **changes)


def _check_expected(show: Show, expected_index: int | None) -> None:
    # The MC's index is what they saw when they pressed: a second press of the same view is stale.
    if expected_index is not None and expected_index != show.current_index:
        raise ShowError("stale_index")


def _move(show: Show, item_ids: Sequence[int], target: int, now: dt.datetime) -> Show:
    """Make item `target` current (-1: before the first item), keeping actual starts honest."""
    if target == show.current_index:
        return show
    runs = dict(show.runs)
    leaving = show.current_run
    if leaving is not None and show.holding:
        # Bank the running hold into the item being left, so an undo restores its true timer.
        runs[show.current_item_id] = Run(leaving.started_at, show.paused_at(now))
    if target > show.current_index:
        runs[item_ids[target]] = Run(now)
    else:
        # Going back is an undo: the items after the target have not happened after all.
        for item_id in item_ids[target + 1:]:
            runs.pop(item_id, None)
        if target >= 0 and item_ids[target] not in runs:
            runs[item_ids[target]] = Run(now)
    return dataclasses.replace(show, rev=show.rev + 1, current_index=target,
                               current_item_id=item_ids[target] if target >= 0 else None, runs=runs,
                               holding=False, held_since=None, slide=False)


def next_item(show: Show, item_ids: Sequence[int], now: dt.datetime, expected_index: int | None = None) -> Show:
    """Go to the next item (from the welcome screen: the first item)."""
    _check_expected(show, expected_index)
    if not item_ids:
        raise ShowError("empty_programme")
    if show.current_index >= len(item_ids) - 1:
        raise ShowError("at_end")
    return _move(show, item_ids, show.current_index + 1, now)


def previous_item(show: Show, item_ids: Sequence[int], now: dt.datetime,
                  expected_index: int | None = None) -> Show:
    """Undo the last step: back to the previous item, with its original start (from item 1: welcome)."""
    _check_expected(show, expected_index)
    if show.current_index < 0:
        raise ShowError("at_start")
    return _move(show, item_ids, show.current_index - 1, now)


def go_to(show: Show, item_ids: Sequence[int], index: int, now: dt.datetime,
          expected_index: int | None = None) -> Show:
    """Jump to item `index` (-1: back to the welcome screen, which resets every actual start)."""
    _check_expected(show, expected_index)
    if isinstance(index, bool) or not isinstance(index, int) or not -1 <= index < len(item_ids):
        raise ShowError("out_of_range")
    return _move(show, item_ids, index, now)


def start(show: Show, item_ids: Sequence[int], now: dt.datetime, expected_index: int | None = None) -> Show:
    """Start the programme from the welcome screen, or resume a held item."""
    _check_expected(show, expected_index)
    if show.current_index < 0:
        return next_item(show, item_ids, now)
    if not show.holding:
        raise ShowError("already_running")
    runs = dict(show.runs)
    run = show.current_run
    if run is not None:
        runs[show.current_item_id] = Run(run.started_at, show.paused_at(now))
    return dataclasses.replace(show, rev=show.rev + 1, runs=runs, holding=False, held_since=None)


def hold(show: Show, now: dt.datetime, expected_index: int | None = None) -> Show:
    """Hold the current item: its timer stops until `start` resumes it (screens keep showing it)."""
    _check_expected(show, expected_index)
    if show.current_index < 0:
        raise ShowError("not_started")
    if show.holding:
        return show
    return dataclasses.replace(show, rev=show.rev + 1, holding=True, held_since=now)


def announce(show: Show, text: str | None, expected_index: int | None = None) -> Show:
    """Overlay an announcement on every screen; empty text takes it down."""
    _check_expected(show, expected_index)
    if text is not None and not isinstance(text, str):
        raise ShowError("bad_request")
    clean = nfc(text) or None
    if clean and len(clean) > MAX_ANNOUNCEMENT:
        raise ShowError("too_long")
    return _changed(show, announcement=clean)


def set_blackout(show: Show, on: bool, expected_index: int | None = None) -> Show:
    """Black out the projectors (or bring the picture back)."""
    _check_expected(show, expected_index)
    if not isinstance(on, bool):
        raise ShowError("bad_request")
    return _changed(show, blackout=on)


def set_slide(show: Show, on: bool, slides: Sequence[str | None], expected_index: int | None = None) -> Show:
    """Put up (or take down) the current item's optional slide: delegates present, or the fund total."""
    _check_expected(show, expected_index)
    if not isinstance(on, bool):
        raise ShowError("bad_request")
    if on and (show.current_index < 0 or not slides[show.current_index]):
        raise ShowError("no_slide")
    return _changed(show, slide=on)


def set_screen(show: Show, screen_id: str, name: str | None = None, view: str | None = None,
               forget: bool = False) -> Show:
    """Name a screen and choose its view; the screen follows on its next state."""
    if not isinstance(screen_id, str) or not SCREEN_ID.match(screen_id):
        raise ShowError("bad_screen")
    screens = {key: dict(value) for key, value in show.screens.items()}
    if forget:
        screens.pop(screen_id, None)
        return _changed(show, screens=screens)
    entry = screens.setdefault(screen_id, {"name": None, "view": None})
    if name is not None:
        if not isinstance(name, str):
            raise ShowError("bad_request")
        clean = nfc(name)
        if len(clean) > MAX_SCREEN_NAME:
            raise ShowError("too_long")
        entry["name"] = clean or None
    if view is not None:
        if view not in VIEWS:
            raise ShowError("bad_view")
        entry["view"] = view
    return _changed(show, screens=screens)


def accept_warning(show: Show, key: str, accepted: bool = True) -> Show:
    """Record that the organiser accepts a programme warning (a planned gap), or withdraws that."""
    if not isinstance(key, str) or not key or len(key) > 200:
        raise ShowError("bad_request")
    keys = set(show.accepted_warnings)
    (keys.add if accepted else keys.discard)(key)
    return _changed(show, accepted_warnings=frozenset(keys))


def reconcile(show: Show, item_ids: Sequence[int], now: dt.datetime) -> Show:
    """After the programme was edited: the current item stays current by identity, at its new index."""
    runs = {item_id: run for item_id, run in show.runs.items() if item_id in item_ids}
    current_id, index = show.current_item_id, show.current_index
    if current_id in item_ids:
        index = list(item_ids).index(current_id)
    elif index >= 0:
        # Only reachable for a record written without the id: keep the index, within bounds.
        index = min(index, len(item_ids) - 1)
        current_id = item_ids[index] if index >= 0 else None
    if index >= 0 and current_id not in runs:
        runs[current_id] = Run(show.started_at or now)
    return dataclasses.replace(show, rev=show.rev + 1, current_index=index, current_item_id=current_id,
                               runs=runs, holding=show.holding and index >= 0,
                               held_since=show.held_since if index >= 0 else None)


def _ts(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.timezone.utc).isoformat() if moment else None


def _dt(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def to_record(show: Show) -> dict:
    """The Show as the storage record: the ShowState columns plus a JSON-ready `extra`."""
    return {
        "rev": show.rev, "current_index": show.current_index, "started_at": show.started_at,
        "holding": show.holding, "announcement": show.announcement, "blackout": show.blackout,
        "extra": {
            "current_item_id": show.current_item_id,
            "runs": {str(item_id): {"start": _ts(run.started_at), "paused_s": run.paused.total_seconds()}
                     for item_id, run in show.runs.items()},
            "held_since": _ts(show.held_since),
            "slide": show.slide,
            "screens": show.screens,
            "accepted_warnings": sorted(show.accepted_warnings),
        },
    }


def from_record(record: dict | None, item_ids: Sequence[int] = ()) -> Show:
    """The Show a storage record describes (a missing record: before the first item, rev 0)."""
    if record is None:
        return Show()
    extra = record.get("extra") or {}
    runs = {}
    for key, value in (extra.get("runs") or {}).items():
        try:
            runs[int(key)] = Run(_dt(value["start"]), dt.timedelta(seconds=float(value.get("paused_s") or 0)))
        except (KeyError, TypeError, ValueError):
            continue
    index = record["current_index"]
    current_id = extra.get("current_item_id")
    if current_id is None and 0 <= index < len(item_ids):
        current_id = item_ids[index]
    if current_id is not None and current_id not in runs and record.get("started_at"):
        runs[current_id] = Run(record["started_at"])
    return Show(rev=record["rev"], current_index=index, current_item_id=current_id, runs=runs,
                holding=bool(record["holding"]), held_since=_dt(extra.get("held_since")),
                announcement=record["announcement"], blackout=bool(record["blackout"]),
                slide=bool(extra.get("slide")), screens=dict(extra.get("screens") or {}),
                accepted_warnings=frozenset(extra.get("accepted_warnings") or ()))
