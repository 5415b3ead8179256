"""Vietnamese text: NFC, accent folding, times, dates, money; the programme's gap check."""
from __future__ import annotations

import datetime as dt
import unicodedata

import pytest

from display.programme import describe, warnings
from kiosk.event_file import read_event_file
from kiosk.vietnamese import fold, format_date_long, format_date_short, format_time, format_vnd, nfc


def test_nfc_turns_phone_input_into_composed_text():
    decomposed = unicodedata.normalize("NFD", "  Nguyễn   Thị Lan ")
    assert decomposed != "Nguyễn Thị Lan"
    assert nfc(decomposed) == "Nguyễn Thị Lan"


@pytest.mark.parametrize("text,folded", [
    ("Nguyễn Thị Lan", "nguyen thi lan"), ("Đặng Văn Đức", "dang van duc"),
    ("ĐẶNG", "dang"), ("Phủ Thông", "phu thong"), ("Hội Khuyến học", "hoi khuyen hoc")])
def test_fold_removes_tones_and_reads_d_bar_as_d(text, folded):
    assert fold(text) == folded
    assert fold(unicodedata.normalize("NFD", text)) == folded


def test_formats():
    assert format_time(dt.time(7, 30)) == "07h30"
    assert format_date_long(dt.date(2023, 10, 2)) == "ngày 02 tháng 10 năm 2023"
    assert format_date_short(dt.date(2023, 10, 2)) == "02/10/2023"
    assert format_vnd(1_500_000) == "1.500.000 đ"
    assert format_vnd(0) == "0 đ"
    with pytest.raises(TypeError):
        format_vnd(1.5)


def test_default_programme_flags_the_plans_own_gap():
    spec = read_event_file()
    found = warnings(describe(spec_items(spec), spec.timezone))
    assert [w["kind"] for w in found] == ["gap"]
    assert "08h25–08h35" in found[0]["message"]


def spec_items(spec):
    class Row:
        def __init__(self, a):
            self.planned_start, self.planned_end = a.start, a.end
            self.content, self.performer, self.slide = a.content, a.performer, a.slide
    return [Row(a) for a in spec.agenda]
