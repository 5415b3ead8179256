"""Timers against the plan (display/timing.py): elapsed, drift and the projected end of the ceremony."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from display import show as sm
from display.show import Show
from display.timing import Slot, drift_label, durations, minutes_label, project, summary

TZ = "Asia/Ho_Chi_Minh"
ZONE = ZoneInfo(TZ)
IDS = [1, 2, 3, 4, 5, 6, 7, 8]


def t(hhmm: str, day: int = 2) -> dt.datetime:
    hour, minute = hhmm.split(":")
    return dt.datetime(2023, 10, day, int(hour), int(minute), tzinfo=ZONE)


# The default event's programme: 8h25-8h35 is a gap in the plan; item 8 has no end.
PLAN = [Slot(t("07:00"), t("07:30")), Slot(t("07:30"), t("08:00")), Slot(t("08:00"), t("08:10")),
        Slot(t("08:10"), t("08:25")), Slot(t("08:35"), t("08:45")), Slot(t("08:45"), t("09:00")),
        Slot(t("09:00"), t("09:30")), Slot(t("09:30"))]


def on_item(index: int, started: dt.datetime) -> Show:
    show = Show()
    for i in range(index):
        show = sm.next_item(show, IDS, started - dt.timedelta(minutes=index - i))
    return sm.next_item(show, IDS, started)


def test_durations_use_the_end_or_the_next_start():
    spans = durations([Slot(t("08:00")), Slot(t("08:10"), t("08:25")), Slot(t("08:30"))])
    assert spans == [dt.timedelta(minutes=10), dt.timedelta(minutes=15), None]


def test_on_time_the_projection_is_the_plan():
    show = on_item(2, t("08:00"))
    p = project(PLAN, show, t("08:04"), TZ)
    assert p.elapsed == dt.timedelta(minutes=4) and p.remaining == dt.timedelta(minutes=6)
    assert p.drift == dt.timedelta(0) and drift_label(p.drift) == "đúng giờ"
    assert p.projected_end == t("09:30") and p.planned_end == t("09:30")
    assert p.expected_starts[3] == t("08:10") and p.expected_starts[4] == t("08:35")


def test_a_late_start_is_drift_and_pushes_the_next_items():
    show = on_item(2, t("08:07"))                  # chào cờ started 7 minutes late
    p = project(PLAN, show, t("08:09"), TZ)
    assert drift_label(p.drift) == "chậm 7 phút"
    assert p.expected_starts[3] == t("08:17")
    # The planned gap 08h25-08h35 absorbs the delay: item 5 still starts on time and so does the end.
    assert p.expected_starts[4] == t("08:35") and p.projected_end == t("09:30")


def test_an_overrun_grows_the_drift_while_the_item_goes_on():
    show = on_item(3, t("08:10"))                  # the opening speech, planned 15 minutes
    assert drift_label(project(PLAN, show, t("08:20"), TZ).drift) == "đúng giờ"
    p = project(PLAN, show, t("08:42"), TZ)        # still speaking 17 minutes past its end
    assert p.remaining == -dt.timedelta(minutes=17)
    assert drift_label(p.drift) == "chậm 17 phút"
    # The gap took 10 of the 17 minutes; the rest is carried to the end of the ceremony.
    assert p.expected_starts[4] == t("08:42") and p.projected_end == t("09:37")


def test_an_early_item_is_early_but_the_timetable_waits():
    show = on_item(4, t("08:32"))                  # item 5 began 3 minutes before 08h35
    p = project(PLAN, show, t("08:33"), TZ)
    assert drift_label(p.drift) == "sớm 3 phút"
    assert p.expected_starts[5] == t("08:45") and p.projected_end == t("09:30")


def test_held_time_does_not_count_as_running():
    show = sm.hold(on_item(2, t("08:00")), t("08:02"))
    p = project(PLAN, show, t("08:12"), TZ)
    assert p.elapsed == dt.timedelta(minutes=2) and p.remaining == dt.timedelta(minutes=8)
    assert drift_label(p.drift) == "chậm 10 phút"
    resumed = sm.start(show, IDS, t("08:12"))
    assert project(PLAN, resumed, t("08:13"), TZ).elapsed == dt.timedelta(minutes=3)


def test_before_the_first_item():
    early = project(PLAN, Show(), t("06:50"), TZ)
    assert early.drift == dt.timedelta(0) and early.elapsed is None and early.projected_end == t("09:30")
    late = project(PLAN, Show(), t("07:20"), TZ)
    # Starting now is 20 minutes late; the 10-minute gap takes half of it.
    assert drift_label(late.drift) == "chậm 20 phút" and late.projected_end == t("09:40")


def test_the_open_ended_last_item_ends_the_timed_programme_when_it_begins():
    show = on_item(7, t("09:41"))
    p = project(PLAN, show, t("10:30"), TZ)
    assert drift_label(p.drift) == "chậm 11 phút" and p.projected_end == t("09:41")
    assert p.remaining is None and p.elapsed == dt.timedelta(minutes=49)


def test_a_rehearsal_on_another_day_reads_the_plan_on_that_day():
    show = on_item(2, t("08:05", day=1))           # the day before, 5 minutes late
    p = project(PLAN, show, t("08:06", day=1), TZ)
    assert p.shift == dt.timedelta(days=-1)
    assert drift_label(p.drift) == "chậm 5 phút" and p.projected_end == t("09:30", day=1)
    assert project(PLAN, Show(), t("06:00", day=5), TZ).projected_end == t("09:30", day=5)


def test_labels():
    assert minutes_label(dt.timedelta(minutes=65)) == "1 giờ 5 phút"
    assert minutes_label(dt.timedelta(hours=2)) == "2 giờ"
    assert drift_label(dt.timedelta(seconds=59)) == "đúng giờ"
    assert drift_label(dt.timedelta(seconds=-61)) == "sớm 1 phút"
    assert drift_label(dt.timedelta(minutes=7, seconds=50)) == "chậm 7 phút"


def test_summary_is_json_ready_with_07h30_labels():
    show = on_item(3, t("08:10"))
    data = summary(project(PLAN, show, t("08:42"), TZ), TZ)
    assert data["drift_label"] == "chậm 17 phút" and data["drift_s"] == 17 * 60
    assert data["projected_end_label"] == "09h37" and data["planned_end_label"] == "09h30"
    assert data["expected_starts"][4] == int(t("08:42").timestamp() * 1000)
    assert data["remaining_s"] == -17 * 60 and data["plan_shift_ms"] == 0


def test_an_empty_programme_projects_nothing():
    p = project([], Show(), t("08:00"), TZ)
    assert p.projected_end is None and p.drift == dt.timedelta(0)
