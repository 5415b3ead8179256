"""The programme editor's rules (display/programme.py): times, fields, order, gaps and overlaps."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from display.programme import ProgrammeError, check_order, describe, item_fields, parse_clock, warnings

TZ = "Asia/Ho_Chi_Minh"
ZONE = ZoneInfo(TZ)
DAY = dt.date(2023, 10, 2)


def row(item_id, start, end=None, content="Mục", performer=None, slide=None):
    clock = lambda text: dt.datetime.combine(DAY, dt.time(*map(int, text.split(":"))), tzinfo=ZONE)  # noqa: E731
    return SimpleNamespace(id=item_id, planned_start=clock(start), planned_end=clock(end) if end else None,
                           content=content, performer=performer, slide=slide)


def test_clock_accepts_the_ways_people_write_times():
    for text in ("08:25", "8:25", "08h25", "8h25", "08.25", " 08H25 "):
        assert parse_clock(text, DAY, ZONE, "start") == dt.datetime(2023, 10, 2, 8, 25, tzinfo=ZONE)
    for bad in ("", "8", "25:00", "08:60", "tám giờ", None, 825):
        with pytest.raises(ProgrammeError) as refused:
            parse_clock(bad, DAY, ZONE, "end")
        assert (refused.value.code, refused.value.field) == ("bad_time", "end")


def test_new_item_fields_are_checked_and_normalised():
    fields = item_fields({"start": "08:25", "end": "08:35", "content": "  Văn nghệ  giao lưu ",
                          "performer": "", "slide": ""}, DAY, TZ)
    assert fields == {"planned_start": dt.datetime(2023, 10, 2, 8, 25, tzinfo=ZONE),
                      "planned_end": dt.datetime(2023, 10, 2, 8, 35, tzinfo=ZONE),
                      "content": "Văn nghệ giao lưu", "performer": None, "slide": None}


@pytest.mark.parametrize("body,code,field", [
    ({"start": "08:25", "content": ""}, "content_required", "content"),
    ({"content": "Giải lao"}, "bad_time", "start"),
    ({"start": "08:35", "end": "08:25", "content": "Giải lao"}, "end_before_start", "end"),
    ({"start": "08:25", "end": "08:25", "content": "Giải lao"}, "end_before_start", "end"),
    ({"start": "08:25", "content": "Giải lao", "slide": "karaoke"}, "bad_slide", "slide"),
    ({"start": "08:25", "content": "x" * 601}, "too_long", "content"),
    ({"start": "08:25", "content": "Giải lao", "performer": ["Ban tổ chức"]}, "bad_request", "performer"),
])
def test_bad_new_items_are_refused_with_a_code_and_a_field(body, code, field):
    with pytest.raises(ProgrammeError) as refused:
        item_fields(body, DAY, TZ)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_an_edit_changes_only_what_it_names_and_is_checked_against_the_rest():
    current = {"planned_start": dt.datetime(2023, 10, 2, 8, 10, tzinfo=ZONE),
               "planned_end": dt.datetime(2023, 10, 2, 8, 25, tzinfo=ZONE),
               "content": "Diễn văn khai mạc", "performer": "Lãnh đạo UBND huyện", "slide": None}
    edited = item_fields({"end": "08:35"}, DAY, TZ, current)
    assert edited["planned_end"].hour == 8 and edited["planned_end"].minute == 35
    assert edited["content"] == "Diễn văn khai mạc" and edited["performer"] == "Lãnh đạo UBND huyện"
    with pytest.raises(ProgrammeError, match="end_before_start"):
        item_fields({"start": "08:30"}, DAY, TZ, current)
    assert item_fields({"end": ""}, DAY, TZ, current)["planned_end"] is None


def test_the_default_plan_gap_is_one_acceptable_warning():
    described = describe([row(4, "08:10", "08:25"), row(5, "08:35", "08:45")], TZ)
    found = warnings(described)
    assert len(found) == 1
    gap = found[0]
    assert gap["kind"] == "gap" and gap["acceptable"] and not gap["accepted"]
    assert gap["message"] == "Khoảng trống 08h25–08h35 giữa mục 1 và mục 2 chưa có nội dung."
    assert warnings(described, {gap["key"]})[0]["accepted"]


def test_an_accepted_gap_asks_again_when_its_times_change():
    before = warnings(describe([row(4, "08:10", "08:25"), row(5, "08:35", "08:45")], TZ))[0]["key"]
    moved = warnings(describe([row(4, "08:10", "08:20"), row(5, "08:35", "08:45")], TZ), {before})
    assert moved[0]["kind"] == "gap" and not moved[0]["accepted"]


def test_overlaps_and_wrong_order_are_flagged_and_cannot_be_accepted():
    described = describe([row(1, "08:00", "08:20"), row(2, "08:10", "08:25"), row(3, "07:50", "08:00")], TZ)
    found = warnings(described)
    assert [w["kind"] for w in found] == ["overlap", "order"]
    assert found[0]["message"] == "Mục 1 (đến 08h20) chồng lên mục 2 (bắt đầu 08h10)."
    assert not any(w["acceptable"] for w in found)
    assert not any(w["accepted"] for w in warnings(described, {w["key"] for w in found}))


def test_back_to_back_items_and_an_open_end_give_no_warning():
    described = describe([row(1, "08:00", "08:10"), row(2, "08:10"), row(3, "08:40")], TZ)
    assert warnings(described) == []


def test_describe_gives_labels_ids_and_actual_starts():
    started = dt.datetime(2023, 10, 2, 1, 3, tzinfo=dt.timezone.utc)
    item = describe([row(7, "08:00", "08:10", performer="Lãnh đạo phòng GD&ĐT")], TZ, {7: started})[0]
    assert item["id"] == 7 and item["time_label"] == "08h00–08h10"
    assert item["actual_start"] == int(started.timestamp() * 1000) and item["actual_start_label"] == "08h03"


def test_a_new_order_names_every_item_once():
    assert check_order([3, 1, 2], [1, 2, 3]) == [3, 1, 2]
    for bad in ([1, 2], [1, 2, 2], [1, 2, 4], "1,2,3", [1, 2, True], None):
        with pytest.raises(ProgrammeError, match="bad_order"):
            check_order(bad, [1, 2, 3])
