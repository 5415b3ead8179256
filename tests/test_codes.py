"""Invitation codes: alphabet safe from Vietnamese input methods, check symbol, reading scans."""
from __future__ import annotations

import random
import unicodedata

import pytest

from checkin import codes
from checkin.codes import ALPHABET, CODE_LENGTH, PREFIX, CodeError, check_symbol, is_valid, new_code, parse_scan

VOWELS = "aăâeêioôơuưy"
TONES_TELEX = {"s": "\u0301", "f": "\u0300", "r": "\u0309", "x": "\u0303", "j": "\u0323"}
TONES_VNI = {"1": "\u0301", "2": "\u0300", "3": "\u0309", "4": "\u0303", "5": "\u0323", "6": "\u0302",
             "7": "\u031b", "8": "\u0306"}


def type_through_ime(keys: str, mode: str) -> str:
    """A simplified Unikey: what the screen shows when `keys` are typed in Telex or VNI mode."""
    out: list[str] = []
    for key in keys:
        low = key.lower()
        prev = out[-1] if out else ""
        base = unicodedata.normalize("NFD", prev)[:1].lower()
        if mode == "telex":
            if low in TONES_TELEX and base in "aeiouy":
                out[-1] = unicodedata.normalize("NFC", prev + TONES_TELEX[low])
                continue
            if low in "aeo" and base == low:
                out[-1] = unicodedata.normalize("NFC", prev + "\u0302")
                continue
            if low == "d" and prev.lower() == "d":
                out[-1] = "đ" if prev == "d" else "Đ"
                continue
            if low == "w":
                if base in "ou":
                    out[-1] = unicodedata.normalize("NFC", prev + "\u031b")
                elif base == "a":
                    out[-1] = unicodedata.normalize("NFC", prev + "\u0306")
                else:
                    out.append("ư" if key == "w" else "Ư")
                continue
        if mode == "vni" and key in TONES_VNI and base in "aeiouyd":
            if key == "9" or base == "d":
                out[-1] = "đ" if prev == "d" else ("Đ" if prev == "D" else prev + key)
            else:
                out[-1] = unicodedata.normalize("NFC", prev + TONES_VNI[key])
            continue
        out.append(key)
    return "".join(out)


def test_alphabet_has_no_vowel_no_telex_key_and_no_lookalike():
    assert len(ALPHABET) == 21 and len(set(ALPHABET)) == 21
    for ch in "AEIOUYDFJRSWXZL":
        assert ch not in ALPHABET
    assert ALPHABET.isupper() or ALPHABET.isdigit() or all(c.isdigit() or c.isupper() for c in ALPHABET)


def test_codes_have_prefix_length_and_enough_randomness():
    made = {new_code() for _ in range(2000)}
    assert len(made) == 2000
    for code in made:
        assert code.startswith(PREFIX) and len(code) == CODE_LENGTH
        assert all(ch in ALPHABET for ch in code[len(PREFIX):])
        assert is_valid(code)
    # 15 random symbols from 21 give at least 64 bits.
    import math
    assert codes.RANDOM_LENGTH * math.log2(len(ALPHABET)) >= 64


@pytest.mark.parametrize("mode", ["telex", "vni"])
def test_codes_survive_unikey_typing(mode):
    for _ in range(500):
        code = new_code()
        assert type_through_ime(code, mode) == code
        assert type_through_ime(code.lower(), mode).upper() == code
    # The simulator does mangle what a naive alphabet would contain.
    assert type_through_ime("TMAA5DDS", "telex") != "TMAA5DDS"
    assert type_through_ime("TMA1E2", "vni") != "TMA1E2"


def test_check_symbol_catches_every_single_substitution_and_adjacent_swap():
    rng = random.Random(7)
    for _ in range(60):
        code = new_code()
        for i in range(len(PREFIX), len(code)):
            for ch in ALPHABET:
                if ch != code[i]:
                    assert not is_valid(code[:i] + ch + code[i + 1:]), (code, i, ch)
        for i in range(len(code) - 1):
            a, b = code[i], code[i + 1]
            if a != b:
                swapped = code[:i] + b + a + code[i + 2:]
                assert not is_valid(swapped), (code, i)
        assert rng  # deterministic loop count


def test_check_symbol_is_the_unique_completion():
    body = "B7K29QH4T3NC88V"
    valid = [ch for ch in ALPHABET if is_valid(PREFIX + body + ch)]
    assert valid == [check_symbol(body)]


@pytest.mark.parametrize("decorate", [
    lambda c: c, lambda c: c.lower(), lambda c: f"  {c}\r\n", lambda c: f"\x1d{c}\t",
    lambda c: codes.display_form(c), lambda c: codes.display_form(c).replace("-", " "),
    lambda c: f"http://192.168.1.10:5000/c/{c}", lambda c: f"https://kiosk.local/checkin/{c}/?src=qr"])
def test_parse_scan_accepts_what_scanners_and_people_type(decorate):
    code = new_code()
    assert parse_scan(decorate(code)).code == code


@pytest.mark.parametrize("raw,reason", [
    ("", "empty"), ("   \r\n", "empty"),
    ("000201010211385400106A000007270124000697042201", "not_ours"),  # VietQR bank transfer
    ("https://zalo.me/g/abcdef", "not_ours"),
    ("TMB7K29QH4T3NC88V", "invalid"),        # one symbol short
    ("TMB7K29QH4T3NC88VQQ", "invalid"),      # too long
])
def test_parse_scan_reasons(raw, reason):
    with pytest.raises(CodeError) as info:
        parse_scan(raw)
    assert info.value.code == reason
    assert codes.REASONS[reason]


def test_a_typo_is_invalid_and_mangled_input_asks_to_turn_off_the_ime():
    code = new_code()
    typo = code[:5] + ("0" if code[5] != "0" else "1") + code[6:]
    with pytest.raises(CodeError, match="invalid"):
        parse_scan(typo)
    mangled = type_through_ime("TMAA" + code[4:], "telex")  # what a card with vowels would become
    with pytest.raises(CodeError) as info:
        parse_scan(mangled)
    assert info.value.code == "ime_mangled"
    assert "Unikey/EVKey" in codes.REASONS["ime_mangled"]
    with pytest.raises(CodeError, match="ime_mangled"):
        parse_scan("TMđB7K29QH4T3NC88V5")
