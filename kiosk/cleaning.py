"""The one cleaning function every arriving text passes: scanner bytes, JSON strings, form fields, cells.

What comes in may hold anything: NUL (PostgreSQL refuses it), lone surrogates (no UTF-8 encoder takes
them), control characters (no .xlsx may hold them; a GS1 scanner sends GS between fields), bidi overrides
that make "Nguyễn" display as something else, invisible spaces that defeat search, megabytes. After
`clean_text` a text is NFC, on one line, free of all of that (every invisible format character but the
joiners inside emoji), and no longer than its limit.
"""
from __future__ import annotations

import re
import unicodedata

# A generous ceiling for any single text arriving from a client; fields have their own, smaller limits.
MAX_TEXT = 10_000
# How deeply a JSON body may nest before it is refused (real bodies are one or two levels).
MAX_DEPTH = 20

# Line breaks, tabs and the ASCII information separators (FS, GS, RS, US: a GS1 barcode separates its
# fields with GS) separate words: they become a space, never vanish and glue two fields together.
_TO_SPACE = (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x85, 0x2028, 0x2029)
_DROP = (
    *range(0x00, 0x09), 0x0E, 0x0F, *range(0x10, 0x1C), 0x7F, *range(0x80, 0x85), *range(0x86, 0xA0),
    *range(0xD800, 0xE000),                                   # lone surrogates
    0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A),  # bidi marks and overrides
    0x00AD, 0x180E, 0x200B, 0x2060, 0xFEFF,                   # invisible: soft hyphen, zero widths, BOM
    *range(0xFDD0, 0xFDF0), *(plane * 0x10000 + low for plane in range(17) for low in (0xFFFE, 0xFFFF)),
)
_TABLE = {**{cp: " " for cp in _TO_SPACE}, **{cp: None for cp in _DROP}}
_JOINERS = "\u200c\u200d"
_SPACES = re.compile(r"\s+")


def clean_text(value: object, limit: int | None = MAX_TEXT) -> str:
    """NFC, one line, no control/bidi/invisible characters or lone surrogates, trimmed, at most `limit`."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if limit is not None and len(text) > 4 * limit + 64:
        text = text[:4 * limit + 64]  # what is dropped below cannot shrink it more than this
    # Fast path for the usual case (a scan, a name): nothing to remove and already NFC.
    if not (text.isprintable() and (text.isascii() or unicodedata.is_normalized("NFC", text))):
        text = text.translate(_TABLE)
        # The other invisible format characters (category Cf) go too, but for the joiners inside emoji.
        text = "".join(ch for ch in text if ch in _JOINERS or unicodedata.category(ch) != "Cf")
        text = _SPACES.sub(" ", unicodedata.normalize("NFC", text))
    elif "  " in text:
        text = _SPACES.sub(" ", text)
    text = text.strip()
    if limit is not None and len(text) > limit:
        text = text[:limit].rstrip()
    return text


class TooDeep(ValueError):
    """A JSON body nested deeper than MAX_DEPTH."""


def clean_json(value, depth: int = 0):
    """A parsed JSON value with every string (keys too) passed through clean_text."""
    if depth > MAX_DEPTH:
        raise TooDeep("nested too deeply")
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(key): clean_json(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [clean_json(item, depth + 1) for item in value]
    return value
