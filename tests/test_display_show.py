"""The show state machine (display/show.py): advancing with the MC's index, bounds, undo, holds,
screens, and the record it is persisted as."""
from __future__ import annotations

import datetime as dt
import unicodedata

import pytest

from display import show as sm
from display.show import Run, Show, ShowError

IDS = [11, 12, 13, 14, 15, 16, 17, 18]
T0 = dt.datetime(2023, 10, 2, 0, 30, tzinfo=dt.timezone.utc)  # 07h30 in Hà Nội


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def running(index: int, started: float = 0) -> Show:
    """A show on item `index`, every item before it run for real, started `started` minutes after T0."""
    show = Show()
    for i in range(index + 1):
        show = sm.next_item(show, IDS, at(started - (index - i)))
    return show


def test_next_from_the_welcome_screen_starts_the_first_item():
    show = sm.next_item(Show(), IDS, at(0), expected_index=-1)
    assert (show.rev, show.current_index, show.current_item_id, show.started_at) == (1, 0, 11, at(0))


def test_next_with_a_stale_index_is_refused_and_changes_nothing():
    show = sm.next_item(Show(), IDS, at(0), expected_index=-1)
    # The second click of a double click carries the index the MC saw before the first one landed.
    with pytest.raises(ShowError) as refused:
        sm.next_item(show, IDS, at(0.01), expected_index=-1)
    assert refused.value.code == "stale_index"
    assert show.current_index == 0 and show.rev == 1


def test_each_action_checks_the_expected_index_when_given():
    show = running(2)
    for call in (lambda: sm.previous_item(show, IDS, at(1), expected_index=1),
                 lambda: sm.go_to(show, IDS, 5, at(1), expected_index=1),
                 lambda: sm.start(show, IDS, at(1), expected_index=1),
                 lambda: sm.hold(show, at(1), expected_index=1),
                 lambda: sm.announce(show, "Xin chào", expected_index=1),
                 lambda: sm.set_blackout(show, True, expected_index=1)):
        with pytest.raises(ShowError, match="stale_index"):
            call()


def test_bounds_at_both_ends():
    with pytest.raises(ShowError, match="at_start"):
        sm.previous_item(Show(), IDS, at(0))
    last = sm.go_to(Show(), IDS, 7, at(0))
    with pytest.raises(ShowError, match="at_end"):
        sm.next_item(last, IDS, at(1))
    with pytest.raises(ShowError, match="empty_programme"):
        sm.next_item(Show(), [], at(0))
    for bad in (8, -2, True, "3", None):
        with pytest.raises(ShowError, match="out_of_range"):
            sm.go_to(Show(), IDS, bad, at(0))


def test_previous_is_an_undo_that_restores_the_original_start():
    show = sm.next_item(Show(), IDS, at(0))
    show = sm.next_item(show, IDS, at(30))          # item 2 starts at 08h00
    show = sm.next_item(show, IDS, at(31))          # a mistaken press
    undone = sm.previous_item(show, IDS, at(32), expected_index=2)
    assert undone.current_index == 1 and undone.started_at == at(30)
    assert 13 not in undone.runs                    # item 3 has not happened after all
    assert undone.rev == show.rev + 1


def test_previous_from_the_first_item_goes_back_to_the_welcome_screen():
    show = sm.previous_item(sm.next_item(Show(), IDS, at(0)), IDS, at(1))
    assert show.current_index == -1 and show.started_at is None and show.runs == {}


def test_goto_forward_starts_now_and_leaves_skipped_items_without_a_start():
    show = sm.go_to(running(0), IDS, 4, at(10), expected_index=0)
    assert show.current_index == 4 and show.started_at == at(10)
    assert set(show.runs) == {11, 15}


def test_goto_minus_one_resets_every_actual_start():
    show = sm.go_to(running(5), IDS, -1, at(60))
    assert show.current_index == -1 and show.runs == {}


def test_goto_the_current_item_changes_nothing():
    show = running(3)
    assert sm.go_to(show, IDS, 3, at(5), expected_index=3) is show


def test_moving_clears_the_slide_and_the_hold():
    show = sm.set_slide(running(2), True, ["x"] * 8)
    show = sm.hold(show, at(1))
    moved = sm.next_item(show, IDS, at(2))
    assert not moved.slide and not moved.holding and moved.held_since is None


def test_hold_stops_the_item_timer_and_start_resumes_it():
    show = running(2, started=0)
    held = sm.hold(show, at(4), expected_index=2)
    assert held.holding and held.held_since == at(4) and held.rev == show.rev + 1
    assert sm.hold(held, at(5)) is held             # holding twice is one hold
    assert held.paused_at(at(7)) == dt.timedelta(minutes=3)
    resumed = sm.start(held, IDS, at(7), expected_index=2)
    assert not resumed.holding and resumed.current_run.paused == dt.timedelta(minutes=3)
    assert resumed.started_at == at(0)             # the real start never moves


def test_a_hold_is_banked_into_the_item_it_leaves():
    show = sm.hold(running(2, started=0), at(2))
    show = sm.next_item(show, IDS, at(6))
    assert show.runs[13].paused == dt.timedelta(minutes=4)
    back = sm.previous_item(show, IDS, at(7))
    assert back.current_run == Run(at(0), dt.timedelta(minutes=4))


def test_start_and_hold_refusals():
    with pytest.raises(ShowError, match="not_started"):
        sm.hold(Show(), at(0))
    with pytest.raises(ShowError, match="already_running"):
        sm.start(running(1), IDS, at(0))
    assert sm.start(Show(), IDS, at(0), expected_index=-1).current_index == 0


def test_announcement_is_normalised_and_idempotent():
    # A phone may send NFD (letters and combining marks apart): screens get NFC, spaces collapsed.
    show = sm.announce(Show(), unicodedata.normalize("NFD", "  Kính mời  quý vị ổn định chỗ ngồi "))
    assert show.announcement == "Kính mời quý vị ổn định chỗ ngồi" and show.rev == 1
    assert show.announcement == unicodedata.normalize("NFC", show.announcement)
    assert sm.announce(show, show.announcement) is show
    cleared = sm.announce(show, "")
    assert cleared.announcement is None and cleared.rev == 2
    with pytest.raises(ShowError, match="too_long"):
        sm.announce(Show(), "x" * (sm.MAX_ANNOUNCEMENT + 1))
    with pytest.raises(ShowError, match="bad_request"):
        sm.announce(Show(), 42)


def test_blackout_and_slide():
    show = sm.set_blackout(Show(), True)
    assert show.blackout and sm.set_blackout(show, True) is show
    with pytest.raises(ShowError, match="bad_request"):
        sm.set_blackout(show, "yes")
    slides = [None, None, "delegates", None, None, "donations", None, None]
    with pytest.raises(ShowError, match="no_slide"):
        sm.set_slide(running(1), True, slides)
    assert sm.set_slide(running(2), True, slides).slide


def test_screens_are_named_and_switched_and_forgotten():
    show = sm.set_screen(Show(), "screen-abc123", name=" Máy chiếu  hội trường ", view="projector")
    show = sm.set_screen(show, "screen-abc123", view="lobby")
    assert show.screens == {"screen-abc123": {"name": "Máy chiếu hội trường", "view": "lobby"}}
    assert show.rev == 2
    assert sm.set_screen(show, "screen-abc123", view="lobby") is show
    assert sm.set_screen(show, "screen-abc123", forget=True).screens == {}
    for bad_id in ("x", "../../etc", 7, None):
        with pytest.raises(ShowError, match="bad_screen"):
            sm.set_screen(Show(), bad_id, view="lobby")
    with pytest.raises(ShowError, match="bad_view"):
        sm.set_screen(Show(), "screen-abc123", view="karaoke")
    with pytest.raises(ShowError, match="too_long"):
        sm.set_screen(Show(), "screen-abc123", name="x" * 61)


def test_reconcile_keeps_the_current_item_current_by_identity():
    show = running(2)                               # item id 13 is on, at index 2
    reordered = [13, 11, 12, 14, 15, 16, 17, 18]
    after = sm.reconcile(show, reordered, at(5))
    assert after.current_index == 0 and after.current_item_id == 13 and after.started_at == show.started_at
    assert after.rev == show.rev + 1
    removed = sm.reconcile(show, [13, 14, 15], at(5))
    assert set(removed.runs) == {13}


def test_record_round_trip_keeps_everything():
    show = sm.hold(running(3, started=2), at(9))
    show = sm.announce(sm.set_screen(show, "screen-abc123", name="Sảnh", view="lobby"), "Nghỉ giải lao")
    show = sm.accept_warning(sm.set_slide(show, False, [None] * 8), "gap:14:15:08h25-08h35")
    record = sm.to_record(show)
    assert record["started_at"] == show.started_at and record["current_index"] == 3
    assert sm.from_record(record, IDS) == show


def test_a_record_without_extra_still_shows_the_right_item():
    # A row written before the extra JSON existed (or with a damaged one): the columns are enough.
    record = {"rev": 9, "current_index": 2, "started_at": at(3), "holding": False, "announcement": None,
              "blackout": False, "extra": {}}
    show = sm.from_record(record, IDS)
    assert show.current_item_id == 13 and show.started_at == at(3) and show.rev == 9
    assert sm.from_record(None) == Show()
