"""Text in the door list's cells: the bundled fonts, measured widths, wrapping with a cap and a cut mark."""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from kiosk.cleaning import clean_text
from kiosk.typesetting import FONT_DIR

REGULAR, BOLD = "DoorList-DejaVuSans", "DoorList-DejaVuSans-Bold"
FIELD_LIMIT = 400        # characters of a field kept before wrapping: far more than its capped lines show
PAD_X, PAD_Y = 4.0, 4.0  # inside a cell, around its text
# Top of a line's ink above its baseline, as a share of the size: DejaVu's capitals with a stacked Vietnamese
# mark (Ổ, Ẫ) reach about this high, so the first line of a cell starts this far below the cell's top.
INK_ABOVE = 1.02
LEADING = 1.25           # line pitch / size: a stacked mark never meets the descender (g, ạ) of the line above

_font_lock = threading.Lock()


def register_fonts() -> None:
    """Make the bundled DejaVu Sans (every Vietnamese letter) known to reportlab, once per process."""
    with _font_lock:
        if REGULAR not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(REGULAR, str(FONT_DIR / "DejaVuSans.ttf")))
            pdfmetrics.registerFont(TTFont(BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))


@functools.lru_cache(maxsize=8192)
def width_of(text: str, font: str, size: float) -> float:
    """The drawn width of `text` in points."""
    # Cached: a list of thousands repeats the same family names, given names and offices.
    return pdfmetrics.stringWidth(text, font, size)


def _longest_fit(text: str, font: str, size: float, width: float) -> int:
    """How many leading characters of `text` fit in `width` (at least one, so wrapping always advances)."""
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if width_of(text[:middle], font, size) <= width:
            low = middle
        else:
            high = middle - 1
    return low


def _greedy(words: list[str], font: str, size: float, width: float, max_lines: int) -> list[str]:
    """Greedy lines no wider than `width`, breaking inside a word only when it alone is too wide; stops
    once there are more than `max_lines`. Widths add up word by word: reportlab does not kern."""
    space = width_of(" ", font, size)
    lines: list[str] = []
    line: list[str] = []
    used = 0.0
    for word in words:
        wide = width_of(word, font, size)
        if line and used + space + wide <= width:
            line.append(word)
            used += space + wide
            continue
        if line:
            lines.append(" ".join(line))
        while len(lines) <= max_lines and wide > width and len(word) > 1:
            cut = _longest_fit(word, font, size, width)
            lines.append(word[:cut])
            word = word[cut:]
            wide = width_of(word, font, size)
        line, used = [word], wide
        if len(lines) > max_lines:
            return lines
    return lines + [" ".join(line)] if line else lines


def wrap(text: str, font: str, size: float, width: float, max_lines: int, balance: bool = False) -> list[str]:
    """Lines no wider than `width`; a text that needs more than `max_lines` is cut and its last line ends
    with "…". `balance`: as even as the same number of lines allows, so no line is left with one word."""
    words = text.split(" ")
    lines = _greedy(words, font, size, width, max_lines)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        last = last[:_longest_fit(last + "…", font, size, width - width_of("…", font, size))].rstrip(" ,.;:-")
        return lines[:max_lines - 1] + [last + "…"]
    if balance and len(lines) > 1:
        low, high = max(width_of(word, font, size) for word in words), width
        if low < high:
            for _step in range(8):  # to within width / 256: a fraction of a letter
                middle = (low + high) / 2
                if len(_greedy(words, font, size, middle, len(lines))) == len(lines):
                    high = middle
                else:
                    low = middle
            lines = _greedy(words, font, size, high, len(lines))
    return lines


@dataclass(frozen=True)
class Block:
    """Lines set in one font and size, one under another."""

    font: str
    size: float
    lines: tuple[str, ...]

    @property
    def height(self) -> float:
        return self.size * LEADING * len(self.lines)


def block(text: object, font: str, size: float, width: float, max_lines: int, balance: bool = False) -> Block | None:
    """A cleaned text wrapped to a cell, or None when nothing is left of it."""
    cleaned = clean_text(text, FIELD_LIMIT)
    if not cleaned:
        return None
    return Block(font, size, tuple(wrap(cleaned, font, size, width - 2 * PAD_X, max_lines, balance)))


def cell_height(blocks: list[Block | None]) -> float:
    """How tall the blocks stand one under another, from the top of the first line's ink to the last's."""
    shown = [b for b in blocks if b]
    if not shown:
        return 0.0
    # The first line needs INK_ABOVE over its baseline rather than a full leading; the last its descender.
    return sum(b.height for b in shown) - shown[0].size * (LEADING - INK_ABOVE) + shown[-1].size * 0.3
