"""Amounts typed at the desk: "1.500.000", "500k", "1,5tr", "2 triệu", "1tr5" -> integer đồng."""
from __future__ import annotations

import re
import unicodedata

from kiosk.vietnamese import format_vnd

from .amount_words import amount_in_words

MAX_AMOUNT = 999_999_999_999  # below "một nghìn tỷ": anything larger is a typing slip
UNITS = {
    "tỷ": 10**9, "tỉ": 10**9, "ty": 10**9, "ti": 10**9,
    "triệu": 10**6, "trieu": 10**6, "tr": 10**6, "củ": 10**6,
    "nghìn": 10**3, "nghin": 10**3, "ngàn": 10**3, "ngan": 10**3, "k": 10**3,
}
_UNIT_PATTERN = "|".join(sorted(map(re.escape, UNITS), key=len, reverse=True))
# A number is either digits grouped by threes with one consistent separator (1.500.000, 1,500,000,
# 1 500 000) or plain digits with an optional decimal part (1500000, 1,5, 1.5).
_NUMBER = r"\d{1,3}(?P<sep>[.,  ])\d{3}(?:(?P=sep)\d{3})*(?!\d)|\d+(?:[.,]\d+)?"
_SEGMENT = re.compile(rf"\s*(?P<num>{_NUMBER})\s*(?P<unit>{_UNIT_PATTERN})?(?![^\W\d_])", re.UNICODE)
_CURRENCY = re.compile(r"\s*(?:đồng|dong|vnđ|vnd|đ|₫)\.?\s*$")

MESSAGES = {
    "empty": "Chưa nhập số tiền.",
    "invalid": "Không hiểu số tiền “{text}”. Ví dụ cách gõ: 1.500.000 · 500k · 1,5tr · 2 triệu.",
    "negative": "Số tiền phải lớn hơn 0.",
    "zero": "Số tiền phải lớn hơn 0.",
    "fraction": "“{text}” không phải số nguyên đồng. Dấu chấm/phẩy ngăn cách hàng nghìn (1.500.000) "
                "hoặc đi kèm đơn vị (1,5tr).",
    "unit_order": "Đơn vị trong “{text}” phải theo thứ tự tỷ, triệu, nghìn (ví dụ 1tr500k).",
    "too_large": "Số tiền quá lớn (tối đa 999.999.999.999 đ). Kiểm tra lại số chữ số.",
}


class MoneyError(ValueError):
    """An amount that cannot be read; `code` for tests, `message` in Vietnamese for the desk."""

    def __init__(self, code: str, text: str = ""):
        self.code = code
        self.message = MESSAGES[code].format(text=text)
        super().__init__(self.message)


def _number_value(num: str, sep: str | None) -> tuple[int, int]:
    """A matched number as an exact fraction (numerator, denominator)."""
    if sep is not None:
        return int(re.sub(r"\D", "", num)), 1
    whole, _, frac = num.replace(",", ".").partition(".")
    if not frac:
        return int(whole), 1
    return int(whole + frac), 10 ** len(frac)


def parse_amount(text: str | None) -> int:
    """Read a typed amount as an integer number of đồng, or raise MoneyError with a Vietnamese message."""
    raw = unicodedata.normalize("NFC", str(text or "")).strip()
    cleaned = _CURRENCY.sub("", raw.lower()).strip()
    if not cleaned:
        raise MoneyError("empty")
    if cleaned.startswith("-"):
        raise MoneyError("negative", raw)
    cleaned = cleaned.lstrip("+").strip()

    segments = []
    pos = 0
    while pos < len(cleaned):
        match = _SEGMENT.match(cleaned, pos)
        if not match or match.end() == pos:
            raise MoneyError("invalid", raw)
        segments.append(match)
        pos = match.end()
    if cleaned[pos:].strip():
        raise MoneyError("invalid", raw)

    total = 0
    previous_unit = None
    for index, match in enumerate(segments):
        num, unit_word, sep = match.group("num"), match.group("unit"), match.group("sep")
        numerator, denominator = _number_value(num, sep)
        if unit_word is None:
            if previous_unit is None:
                if len(segments) > 1:
                    raise MoneyError("invalid", raw)
                unit = 1
            else:
                # "1tr5" / "2 triệu 500": digits after a unit count the next unit down, as spoken:
                # one digit is hundreds of it ("1tr5" = 1.500.000), more digits are exact ("1tr50").
                if index != len(segments) - 1 or denominator != 1 or len(num) > 3:
                    raise MoneyError("invalid", raw)
                unit = previous_unit // 1000
                if len(num) == 1:
                    numerator *= 100
        else:
            unit = UNITS[unit_word]
            if previous_unit is not None and unit >= previous_unit:
                raise MoneyError("unit_order", raw)
            previous_unit = unit
        value, remainder = divmod(numerator * unit, denominator)
        if remainder:
            raise MoneyError("fraction", raw)
        total += value
    if total == 0:
        raise MoneyError("zero", raw)
    if total > MAX_AMOUNT:
        raise MoneyError("too_large", raw)
    return total


def describe_amount(amount_vnd: int) -> dict:
    """What the desk shows back before saving: figures, words, and a hint when it looks like a slip."""
    hint = None
    if amount_vnd < 1000:
        hint = f"Chỉ {format_vnd(amount_vnd)}? Nếu là nghìn đồng, hãy gõ {amount_vnd}k."
    return {"amount_vnd": amount_vnd, "label": format_vnd(amount_vnd),
            "words": amount_in_words(amount_vnd), "hint": hint}
