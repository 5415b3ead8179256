"""An invitee's fields, cleaned and checked the same way for the Excel import and the admin form."""
from __future__ import annotations

import re
from dataclasses import dataclass

from kiosk.cleaning import clean_text
from kiosk.vietnamese import fold, nfc

HONORIFICS = ("Đồng chí", "Ông", "Bà", "Ông/Bà", "Thầy", "Cô", "Anh", "Chị", "Em")
# Longest text each field takes (characters), and the column title its error names.
LIMITS = {"full_name": (200, "Họ và tên"), "honorific": (40, "Danh xưng"), "title": (300, "Chức vụ"),
          "organisation": (300, "Đơn vị"), "seat": (100, "Khu vực/ghế"), "note": (500, "Ghi chú")}
MAX_RANK = 1_000_000
_PHONE_JUNK = re.compile(r"[\s.\-()/–]")
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


class PersonError(ValueError):
    """A field cannot be accepted; `column` and the Vietnamese message say which and why. `problems` holds
    every field's error of the same person (this one first), so a report can list them all."""

    def __init__(self, column: str, message: str, problems: list["PersonError"] | None = None):
        super().__init__(f"{column}: {message}")
        self.column = column
        self.message = message
        self.problems = problems or [self]

    def __str__(self) -> str:
        return "; ".join(f"{p.column}: {p.message}" for p in self.problems)


# The 11-digit mobile prefixes Vietnam retired in 2018 and what they became: office lists are older than that.
OLD_MOBILE_PREFIXES = {
    "162": "32", "163": "33", "164": "34", "165": "35", "166": "36", "167": "37", "168": "38", "169": "39",
    "120": "70", "121": "79", "122": "77", "126": "76", "128": "78",
    "123": "83", "124": "84", "125": "85", "127": "81", "129": "82",
    "186": "56", "188": "58", "199": "59"}
PHONE_RULE = "di động 10 chữ số như 0912 345 678, máy bàn 11 chữ số như 0204 3870 123"


def normalise_phone(value: object) -> str | None:
    """A Vietnamese phone number, digits only with its leading 0: a mobile 0xxxxxxxxx (10 digits) or a
    landline 02xxxxxxxxx (11 digits), from +84/0084/84 forms, spaces, dots, brackets, the zero Excel
    dropped, or a pre-2018 01xx mobile number."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _PHONE_JUNK.sub("", nfc(str(value)))
    if not text:
        return None
    national = _national_number(text)
    if national is None:
        shown = clean_text(value, 40)
        raise PersonError("Điện thoại", f"số điện thoại “{shown}” không hợp lệ ({PHONE_RULE}).")
    return "0" + national


def _national_number(text: str) -> str | None:
    """The number after the trunk 0 (9 digits for a mobile, 10 for a landline), or None if it is neither."""
    if not (text.lstrip("+").isascii() and text.lstrip("+").isdigit()):
        return None
    for prefix in ("+84", "0084"):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    else:
        if text.startswith("84") and len(text) in (11, 12):
            text = text[2:]
    if text.startswith("0"):
        text = text[1:]          # otherwise Excel stored the number as a number and dropped the zero
    if len(text) == 10 and text[:3] in OLD_MOBILE_PREFIXES:
        text = OLD_MOBILE_PREFIXES[text[:3]] + text[3:]
    if len(text) == 9 and text[0] in "35789":
        return text              # mobile: 03x, 05x, 07x, 08x, 09x
    if len(text) == 10 and text[0] == "2":
        return text              # landline: 02 + area code + subscriber, 11 digits in all
    return None


@dataclass
class PersonFields:
    """Cleaned fields of one person; `group` is a group key, or None for the event's default group."""

    full_name: str
    honorific: str | None = None
    title: str | None = None
    organisation: str | None = None
    group: str | None = None
    protocol_rank: int | None = None
    seat: str | None = None
    phone: str | None = None
    note: str | None = None

    def identity(self) -> tuple[str, str]:
        """What makes two rows the same person: folded name and organisation."""
        return fold(self.full_name), fold(self.organisation)


def _optional_text(values: dict, key: str) -> str | None:
    """A cleaned optional field, refused when longer than its limit."""
    value = values.get(key)
    text = nfc(None if value is None else str(value))
    limit, column = LIMITS[key]
    if len(text) > limit:
        raise PersonError(column, f"quá dài (tối đa {limit} ký tự).")
    return text or None


def parse_rank(value: object) -> int | None:
    """Protocol rank (Thứ tự): a positive whole number, or empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = nfc(str(value))
    # ASCII digits only (int() would also take "١٢", "1_000" or " 5", and a million digits slowly).
    if not _WHOLE_NUMBER.fullmatch(text):
        raise PersonError("Thứ tự", f"“{text[:40]}” không phải số nguyên.")
    if len(text) > len(str(MAX_RANK)) or not 1 <= int(text) <= MAX_RANK:
        raise PersonError("Thứ tự", f"phải là số nguyên từ 1 đến {MAX_RANK:,}.".replace(",", "."))
    return int(text)


def clean_person(values: dict, group_keys_by_name: dict[str, str]) -> PersonFields:
    """Validate raw values (keys as in PersonFields; group by name or key) into PersonFields; a PersonError
    carries every field's problem, not only the first."""
    problems: list[PersonError] = []

    def checked(parse, *args):
        try:
            return parse(*args)
        except PersonError as exc:
            problems.append(exc)
            return None

    name = checked(_optional_text, values, "full_name")
    if not name and not problems:
        problems.append(PersonError("Họ và tên", "không được để trống."))
    fields = {key: checked(_optional_text, values, key) for key in ("honorific", "title", "organisation", "seat", "note")}
    group_key = checked(_group_key, values.get("group"), group_keys_by_name)
    rank = checked(parse_rank, values.get("protocol_rank"))
    phone = checked(normalise_phone, values.get("phone"))
    if problems:
        raise PersonError(problems[0].column, problems[0].message, problems)
    return PersonFields(full_name=name, group=group_key, protocol_rank=rank, phone=phone, **fields)


def _group_key(value: object, group_keys_by_name: dict[str, str]) -> str | None:
    """The key of the group a cell names (by name or key, accents and case ignored); None when empty."""
    text = nfc(None if value is None else str(value))
    if not text:
        return None
    key = group_keys_by_name.get(fold(text))
    if key is None:
        raise PersonError("Nhóm", f"không có nhóm “{text[:100]}” trong sự kiện.")
    return key


def group_lookup(groups: list[tuple[str, str]]) -> dict[str, str]:
    """Map folded group names and keys to keys, so "Khách mời" and "khach-moi" both match."""
    lookup: dict[str, str] = {}
    for key, name in groups:
        lookup[fold(name)] = key
        lookup[fold(key)] = key
    return lookup
