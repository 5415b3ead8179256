"""The parts of an administrative document (Nghị định 30/2020/NĐ-CP): the issuing unit's symbol for the
number line, the place of the place-and-date line, and who signs, read from the event's own names."""
from __future__ import annotations

import re

from .vietnamese import fold

# Where a unit's own name ends and its locality begins ("Phòng Giáo dục và Đào tạo | huyện Bạch Thông").
LOCALITY = re.compile(r"\s+(?:huyện|thị xã|thành phố|quận|tỉnh|xã|phường|thị trấn)\s+(.+)$", re.IGNORECASE)
DISTRICT = re.compile(r"\b(?:huyện|thị xã|thành phố|quận)\s+([^,;()]+)", re.IGNORECASE)
JOINING_WORDS = {"và", "&", "-", "–"}
SIGNERS = (("phòng", "TRƯỞNG PHÒNG"), ("ủy ban", "CHỦ TỊCH"), ("uỷ ban", "CHỦ TỊCH"),
           ("trường", "HIỆU TRƯỞNG"), ("hội", "CHỦ TỊCH"), ("trung tâm", "GIÁM ĐỐC"))


def unit_symbol(unit: str) -> str:
    """The unit's abbreviation as offices write it after 'BC-': 'Phòng Giáo dục và Đào tạo huyện Bạch
    Thông' -> 'PGDĐT', 'Ủy ban nhân dân huyện Bạch Thông' -> 'UBND'."""
    name = LOCALITY.split(unit.strip(), maxsplit=1)[0] if unit else ""
    letters = []
    for word in name.split():
        if word.lower() in JOINING_WORDS:
            continue
        if len(word) > 1 and word.isupper():           # an acronym already (THCS, MTTQ) stays whole
            letters.append(word)
            continue
        first = word[0].upper()
        # Đ is its own letter in Vietnamese abbreviations (ĐT, not DT); other letters lose their marks.
        letters.append(first if first == "Đ" else fold(first).upper())
    return "".join(ch for ch in "".join(letters) if ch.isalnum())


def letterhead_lines(unit: str | None) -> list[str]:
    """A unit's name as a letterhead sets it, the locality on its own line: ['ỦY BAN NHÂN DÂN',
    'HUYỆN BẠCH THÔNG'] (a break inside 'Đào tạo' or before a lone 'THÔNG' reads badly)."""
    name = (unit or "").strip()
    found = LOCALITY.search(name)
    lines = [name[:found.start()], name[found.start():].strip()] if found and found.start() > 0 else [name]
    return [line.upper() for line in lines if line]


def place_name(*names: str | None) -> str:
    """The place of the date line ('Bạch Thông, ngày …'): the first district or city named, else ''."""
    for name in names:
        found = DISTRICT.search(name or "")
        if found:
            return found.group(1).strip()
    return ""


def signer_title(unit: str) -> str:
    """Who signs for the unit: the head of a Phòng, the chairman of an Ủy ban, the principal of a school."""
    lowered = (unit or "").strip().lower()
    for start, title in SIGNERS:
        if lowered.startswith(start):
            return title
    return "THỦ TRƯỞNG ĐƠN VỊ"
