"""Invitation codes that survive a Vietnamese keyboard, and reading whatever a scanner typed.

A USB scanner "types" its code, and on a Vietnamese laptop Unikey/EVKey rewrites what it types:
Telex turns aa/ee/oo/dd/w into â/ê/ô/đ/ư and s f r x j after a vowel into tones; VNI turns digits
after a vowel into marks. So codes hold no vowels (no digit can follow one) and no Telex key letter
(D F J R S W X Z): digits 0-9 and the consonants B C G H K M N P Q T V, 21 symbols. L is left out
because it reads like 1.

Layout: the prefix "TM" (thư mời, so a stray bank or Zalo QR is told apart), 15 random symbols
(21**15 ≈ 2**65.9, from `secrets`), one check symbol. The check is Damm's scheme over the totally
anti-symmetric quasigroup x∘y = (2x + y) mod 21: it catches every single wrong symbol and every swap of
two neighbours (Luhn misses some swaps).
"""
from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass

ALPHABET = "0123456789BCGHKMNPQTV"
PREFIX = "TM"
RANDOM_LENGTH = 15
CODE_LENGTH = len(PREFIX) + RANDOM_LENGTH + 1
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
assert all(ch in _VALUE for ch in PREFIX), "the check covers the prefix, so it must use the alphabet"
_BASE = len(ALPHABET)
# Scanner noise: control characters (Enter, Tab, GS from GS1 scanners), separators people type.
_NOISE = re.compile(r"[\s\x00-\x1f\x7f\-_.]+")


class CodeError(ValueError):
    """Input that is not a valid invitation code; `code` says why (see REASONS)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


REASONS = {
    "empty": "Chưa nhận được mã.",
    "ime_mangled": "Mã bị bộ gõ tiếng Việt làm sai. Hãy tắt bộ gõ tiếng Việt (Unikey/EVKey) trên máy này.",
    "not_ours": "Đây không phải mã thư mời của buổi lễ (có thể là mã QR khác).",
    "invalid": "Mã thư mời không hợp lệ (sai ký tự hoặc thiếu ký tự).",
}


def _check_value(symbols: str) -> int:
    """Run Damm's quasigroup x∘y = 2x + y (mod 21) over the symbols; 0 means the check holds."""
    interim = 0
    for ch in symbols:
        interim = (2 * interim + _VALUE[ch]) % _BASE
    return interim


def check_symbol(body: str) -> str:
    """The symbol that makes prefix + body + symbol check to 0."""
    interim = _check_value(PREFIX + body)
    return ALPHABET[(-2 * interim) % _BASE]


def new_code() -> str:
    """A fresh random invitation code (no personal data in it)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return PREFIX + body + check_symbol(body)


def is_valid(code: str) -> bool:
    """True when `code` is canonical (upper case, no separators) and its check symbol holds."""
    if len(code) != CODE_LENGTH or not code.startswith(PREFIX):
        return False
    body = code[len(PREFIX):]
    if any(ch not in _VALUE for ch in body):
        return False
    return _check_value(PREFIX + body) == 0


def display_form(code: str) -> str:
    """The code in groups for typing by hand: TM-B7K2-9QH4-T3NC-88V5."""
    body = code[len(PREFIX):]
    return "-".join([PREFIX] + [body[i:i + 4] for i in range(0, len(body), 4)])


@dataclass(frozen=True)
class Scan:
    """What a scan or typed input turned out to be."""

    code: str
    raw: str


def _looks_mangled(text: str) -> bool:
    """Letters an input method produced (â, đ, ư, tones) where a code has only ASCII."""
    return any(ord(ch) > 127 and unicodedata.category(ch)[0] in "LM" for ch in text)


def _payload(raw: str) -> str:
    """Input without scanner noise; for a URL (http://laptop:5000/c/TM...), its last path segment."""
    text = _NOISE.sub("", raw or "")
    if "/" in text:
        text = text.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return text


def parse_scan(raw: str) -> Scan:
    """Read scanner or keyboard input into a canonical code, or raise CodeError with the reason.

    Input with several fields (a GS1 code's fields arrive separated by GS, which the cleaning boundary
    turns into spaces) is accepted when one whole field is a valid code."""
    fields = (raw or "").split()
    if len(fields) > 1:
        for field_text in fields:
            candidate = _payload(field_text).upper()
            if is_valid(candidate):
                return Scan(code=candidate, raw=raw)
    text = _payload(raw)
    if not text:
        raise CodeError("empty")
    if _looks_mangled(text):
        raise CodeError("ime_mangled")
    text = text.upper()
    if not text.startswith(PREFIX):
        raise CodeError("not_ours")
    if not is_valid(text):
        raise CodeError("invalid")
    return Scan(code=text, raw=raw)
