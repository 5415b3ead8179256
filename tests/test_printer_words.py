"""Amounts in Vietnamese words (every reading rule) and amounts typed at the desk."""
from __future__ import annotations

import pytest

from printer.amount_words import amount_in_words, number_in_words
from printer.money import MAX_AMOUNT, MoneyError, describe_amount, parse_amount

WORDS = [
    # units, tens: "mười" for 10-19, "mươi" from 20; "mốt" after tens >= 2; "lăm" for 5 after a tens digit
    (0, "không"),
    (1, "một"),
    (5, "năm"),
    (10, "mười"),
    (11, "mười một"),
    (14, "mười bốn"),
    (15, "mười lăm"),
    (20, "hai mươi"),
    (21, "hai mươi mốt"),
    (24, "hai mươi bốn"),
    (25, "hai mươi lăm"),
    (55, "năm mươi lăm"),
    (91, "chín mươi mốt"),
    (99, "chín mươi chín"),
    # hundreds: "linh" for a zero tens digit
    (100, "một trăm"),
    (101, "một trăm linh một"),
    (105, "một trăm linh năm"),
    (110, "một trăm mười"),
    (115, "một trăm mười lăm"),
    (121, "một trăm hai mươi mốt"),
    (999, "chín trăm chín mươi chín"),
    # thousands: inner groups read in full with "không trăm"
    (1000, "một nghìn"),
    (1001, "một nghìn không trăm linh một"),
    (1010, "một nghìn không trăm mười"),
    (1015, "một nghìn không trăm mười lăm"),
    (2021, "hai nghìn không trăm hai mươi mốt"),
    (10_000, "mười nghìn"),
    (15_000, "mười lăm nghìn"),
    (21_000, "hai mươi mốt nghìn"),
    (100_000, "một trăm nghìn"),
    (105_000, "một trăm linh năm nghìn"),
    (500_000, "năm trăm nghìn"),
    # millions: empty groups skipped, inner groups in full
    (1_000_000, "một triệu"),
    (1_000_100, "một triệu một trăm"),
    (1_000_005, "một triệu không trăm linh năm"),
    (1_005_000, "một triệu không trăm linh năm nghìn"),
    (1_050_000, "một triệu không trăm năm mươi nghìn"),
    (1_500_000, "một triệu năm trăm nghìn"),
    (2_021_000, "hai triệu không trăm hai mươi mốt nghìn"),
    (15_250_000, "mười lăm triệu hai trăm năm mươi nghìn"),
    (999_999_999, "chín trăm chín mươi chín triệu chín trăm chín mươi chín nghìn chín trăm chín mươi chín"),
    # "tỷ" above a billion, and the reading repeating above it
    (1_000_000_000, "một tỷ"),
    (1_000_000_005, "một tỷ không trăm linh năm"),
    (1_005_000_000, "một tỷ không trăm linh năm triệu"),
    (2_500_000_000, "hai tỷ năm trăm triệu"),
    (21_000_000_000, "hai mươi mốt tỷ"),
    (1_000_000_000_000, "một nghìn tỷ"),
    (1_000_000_000_000_000, "một triệu tỷ"),
]


@pytest.mark.parametrize("number,words", WORDS, ids=[str(n) for n, _ in WORDS])
def test_number_in_words(number, words):
    assert number_in_words(number) == words


def test_the_table_covers_enough_amounts():
    assert len(WORDS) >= 30


def test_amount_on_a_receipt_is_capitalised_and_ends_in_dong():
    assert amount_in_words(1_500_000) == "Một triệu năm trăm nghìn đồng"
    assert amount_in_words(1_005_000) == "Một triệu không trăm linh năm nghìn đồng"


@pytest.mark.parametrize("bad", [1.5, "10", True, None])
def test_only_integers_have_words(bad):
    with pytest.raises(TypeError):
        number_in_words(bad)


TYPED = [
    ("1.500.000", 1_500_000),
    ("1500000", 1_500_000),
    ("1.500.000 đ", 1_500_000),
    ("1.500.000đ", 1_500_000),
    ("1.500.000 đồng", 1_500_000),
    ("1.500.000 VND", 1_500_000),
    ("1,500,000", 1_500_000),
    ("1 500 000", 1_500_000),
    ("500k", 500_000),
    ("500 K", 500_000),
    ("500 nghìn", 500_000),
    ("500 ngàn", 500_000),
    ("1,5tr", 1_500_000),
    ("1.5tr", 1_500_000),
    ("0,5 triệu", 500_000),
    ("2 triệu", 2_000_000),
    ("2 TRIỆU", 2_000_000),
    ("2 trie\u0302\u0323u", 2_000_000),  # decomposed (NFD) input from a phone
    ("1tr5", 1_500_000),  # spoken shorthand: one digit after the unit is hundreds of the next unit
    ("1tr50", 1_050_000),
    ("2 triệu 500", 2_500_000),
    ("1tr500k", 1_500_000),
    ("2k5", 2_500),
    ("1 tỷ", 1_000_000_000),
    ("1,2 tỷ", 1_200_000_000),
    ("  200k  ", 200_000),
    ("50000", 50_000),
]


@pytest.mark.parametrize("text,amount", TYPED)
def test_typed_amounts(text, amount):
    assert parse_amount(text) == amount


BAD = [
    ("", "empty", "Chưa nhập số tiền."),
    ("   ", "empty", "Chưa nhập số tiền."),
    ("abc", "invalid", "Không hiểu số tiền “abc”"),
    ("1.50.000", "invalid", "Không hiểu số tiền"),
    ("1e6", "invalid", "Không hiểu số tiền"),
    ("1 2", "invalid", "Không hiểu số tiền"),
    ("-500k", "negative", "Số tiền phải lớn hơn 0."),
    ("0", "zero", "Số tiền phải lớn hơn 0."),
    ("1,5", "fraction", "không phải số nguyên đồng"),
    ("1,2345k", "fraction", "không phải số nguyên đồng"),
    ("500k 1tr", "unit_order", "phải theo thứ tự tỷ, triệu, nghìn"),
    ("10000 tỷ", "too_large", "Số tiền quá lớn"),
]


@pytest.mark.parametrize("text,code,message", BAD)
def test_bad_amounts_say_why_in_vietnamese(text, code, message):
    with pytest.raises(MoneyError) as info:
        parse_amount(text)
    assert info.value.code == code
    assert message in info.value.message


def test_the_largest_amount_is_accepted_and_one_more_is_not():
    assert parse_amount("999.999.999.999") == MAX_AMOUNT
    with pytest.raises(MoneyError):
        parse_amount("1.000.000.000.000")


def test_read_back_shows_figures_words_and_a_hint_for_tiny_amounts():
    shown = describe_amount(1_500_000)
    assert shown == {"amount_vnd": 1_500_000, "label": "1.500.000 đ",
                     "words": "Một triệu năm trăm nghìn đồng", "hint": None}
    assert "500k" in describe_amount(500)["hint"]
