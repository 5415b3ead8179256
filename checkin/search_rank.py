"""How well a person matches what the gate clerk typed (plain Python): the best matches first.

For each word typed, the best match among the person's words decides its tier: the same word with the
accents typed (any case) 0, the same word without accents 1, a word that starts with it 2, a word that
contains it 3. A person's rank is the sum over the words typed, a match in the name before one in the
title or organisation, then protocol order. So "Hà" puts Nguyễn Thị Hà before Lê Văn Hạ, Hải and Thảo, and
a one-syllable given name ("A", "Ú") finds its owner among thousands however short the list shown.
"""
from __future__ import annotations

from kiosk.vietnamese import fold, nfc

NO_MATCH = 4


class Ranker:
    """The words typed, prepared once; called for each candidate."""

    def __init__(self, query: str):
        typed = nfc(query).lower().split()
        self.typed = [(word, fold(word)) for word in typed]

    def __call__(self, name: str, title: str | None, organisation: str | None, search_text: str) -> tuple[int, int]:
        """(sum of the typed words' tiers, how many matched outside the name): smaller is better.

        `search_text` is the person's folded text (name, title, organisation, phone tail, in that order),
        so nothing is folded again per person."""
        name_words = nfc(name).lower().split()
        folded = search_text.split()
        folded_name, folded_other = folded[:len(name_words)], folded[len(name_words):]
        other_words = nfc(" ".join(part for part in (title, organisation) if part)).lower().split()
        total = elsewhere = 0
        for word, word_folded in self.typed:
            in_name = _tier(word, word_folded, name_words, folded_name)
            in_other = _tier(word, word_folded, other_words, folded_other)
            if in_name <= in_other:
                total += in_name
            else:
                total += in_other
                elsewhere += 1
        return total, elsewhere


def _tier(word: str, word_folded: str, words: list[str], folded: list[str]) -> int:
    if word in words:
        return 0
    if word_folded in folded:
        return 1
    if any(candidate.startswith(word_folded) for candidate in folded):
        return 2
    return 3 if any(word_folded in candidate for candidate in folded) else NO_MATCH


def rank(query: str, name: str, title: str | None, organisation: str | None,
         phone_tail: str | None = None) -> tuple[int, int]:
    """Ranker(query) for one person whose folded text is worked out here (for tests and one-offs)."""
    search_text = " ".join(fold(part) for part in (name, title, organisation) if part)
    return Ranker(query)(name, title, organisation, f"{search_text} {phone_tail}" if phone_tail else search_text)
