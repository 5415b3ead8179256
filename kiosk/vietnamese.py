"""Vietnamese text conventions: NFC, accent folding for search, times, dates and money."""
from __future__ import annotations

import datetime as dt
import unicodedata

from .cleaning import clean_text


def nfc(text: str | None) -> str:
    """Text as the kiosk stores it: NFC (phones may send NFD), cleaned, on one trimmed line."""
    return clean_text(text)


def fold(text: str | None) -> str:
    """Lower-case text without diacritics, đ read as d: 'Nguyễn Đặng' -> 'nguyen dang' (NFC like all text)."""
    decomposed = unicodedata.normalize("NFD", nfc(text).lower().replace("đ", "d"))
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn"))


def format_time(moment: dt.datetime | dt.time) -> str:
    """Clock time the way Vietnamese programmes write it: 07h30."""
    return f"{moment.hour:02d}h{moment.minute:02d}"


def format_date_long(day: dt.date) -> str:
    """Date on documents: 'ngày 02 tháng 10 năm 2023' (leading zero per Nghị định 30/2020)."""
    return f"ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def format_date_short(day: dt.date) -> str:
    """Date in tables: 02/10/2023."""
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def format_vnd(amount: int) -> str:
    """Money with dot thousands separators: 1.500.000 đ."""
    if not isinstance(amount, int):
        raise TypeError("money is an integer number of đồng")
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,}".replace(",", ".") + " đ"
