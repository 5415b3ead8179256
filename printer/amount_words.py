"""Vietnamese numbers in words, as receipts and "phiếu thu" forms write them."""
from __future__ import annotations

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
# Group names below a billion; above it the reading repeats with "tỷ" (1.000 tỷ = "một nghìn tỷ").
GROUPS = ("", "nghìn", "triệu")
BILLION = 1_000_000_000


def _three_digits(n: int, full: bool) -> list[str]:
    """Words for 0 < n < 1000; `full` reads an inner group's hundreds even when zero ("không trăm")."""
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    words: list[str] = []
    if hundreds or full:
        words += [DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units:
            # A zero tens digit after hundreds is read "linh": 105 = "một trăm linh năm".
            if words:
                words.append("linh")
            words.append(DIGITS[units])
    elif tens == 1:
        words.append("mười")
        if units == 5:
            words.append("lăm")
        elif units:
            words.append(DIGITS[units])
    else:
        words += [DIGITS[tens], "mươi"]
        if units == 1:
            words.append("mốt")
        elif units == 5:
            words.append("lăm")
        elif units:
            words.append(DIGITS[units])
    return words


def _below_billion(n: int, full: bool) -> list[str]:
    """Words for 0 <= n < 10^9; `full` when a higher group was already read (all groups are inner)."""
    groups = [n // 1_000_000, n // 1000 % 1000, n % 1000]
    words: list[str] = []
    for value, name in zip(groups, reversed(GROUPS)):
        if value == 0:
            continue  # empty groups are skipped: 1.000.100 = "một triệu một trăm"
        words += _three_digits(value, full or bool(words))
        if name:
            words.append(name)
    return words


def _words(n: int, full: bool = False) -> list[str]:
    if n >= BILLION:
        high, low = divmod(n, BILLION)
        return _words(high, full) + ["tỷ"] + (_below_billion(low, True) if low else [])
    return _below_billion(n, full)


def number_in_words(n: int) -> str:
    """A non-negative integer in lower-case Vietnamese words: 1005000 -> "một triệu không trăm linh năm nghìn"."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("an integer is required")
    if n < 0:
        return "âm " + number_in_words(-n)
    if n == 0:
        return DIGITS[0]
    return " ".join(_words(n))


def amount_in_words(amount_vnd: int) -> str:
    """An amount of đồng as written on a receipt: "Một triệu năm trăm nghìn đồng"."""
    text = number_in_words(amount_vnd) + " đồng"
    return text[0].upper() + text[1:]
