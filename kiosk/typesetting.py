"""Drawing Vietnamese text with Pillow: the bundled fonts, NFC, and wrapping by measured width."""
from __future__ import annotations

import functools
from pathlib import Path

from PIL import ImageDraw, ImageFont

from .vietnamese import nfc

FONT_DIR = Path(__file__).resolve().parent.parent / "static" / "vendor" / "fonts"
FONTS = {
    "regular": "BeVietnamPro-Regular.ttf",
    "medium": "BeVietnamPro-Medium.ttf",
    "semibold": "BeVietnamPro-SemiBold.ttf",
    "bold": "BeVietnamPro-Bold.ttf",
    "extrabold": "BeVietnamPro-ExtraBold.ttf",
    # Codes and numbers: DejaVu Sans tells 0 from O and 8 from B at small sizes.
    "code": "DejaVuSans-Bold.ttf",
}


@functools.lru_cache(maxsize=256)
def font(style: str, size_px: int) -> ImageFont.FreeTypeFont:
    """A bundled TrueType font at a pixel size (cached: loading is the slow part)."""
    return ImageFont.truetype(str(FONT_DIR / FONTS[style]), max(4, int(size_px)))


def wrap(draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Break text (cleaned: NFC, one line) into lines no wider than `width`, splitting words only when one
    alone is too wide."""
    lines: list[str] = []
    for paragraph in [nfc(text)] if text else []:
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if draw.textlength(candidate, font=face) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while draw.textlength(word, font=face) > width and len(word) > 1:
                cut = len(word)
                while cut > 1 and draw.textlength(word[:cut], font=face) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


def balanced_wrap(draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Lines as even as they can be: greedy wrapping at the narrowest width that still gives as few lines,
    so a block never ends on one word left alone (the lines are still centred on the full width)."""
    lines = wrap(draw, text, face, width)
    if len(lines) < 2:
        return lines
    words = nfc(text).split(" ")
    low, high = min(width, max(draw.textlength(word, font=face) for word in words)), width
    for _ in range(14):              # 1/16000 of the width: finer than a pixel at any card size
        middle = (low + high) / 2
        if len(wrap(draw, text, face, middle)) <= len(lines):
            high = middle
        else:
            low = middle
    lines = wrap(draw, text, face, high)
    last, before = lines[-1].split(" "), lines[-2].split(" ")
    if len(last) == 1 and len(before) >= 3:
        # A long last word can force a lone one at every width: take one word down when it still fits.
        moved = " ".join([before[-1], *last])
        if draw.textlength(moved, font=face) <= width:
            lines[-2:] = [" ".join(before[:-1]), moved]
    return lines


def line_height(face: ImageFont.FreeTypeFont, spacing: float = 1.25) -> int:
    """Distance between baselines; room for stacked Vietnamese tone marks above capitals."""
    return int(face.size * spacing)


def draw_lines(draw: ImageDraw.ImageDraw, lines: list[str], face: ImageFont.FreeTypeFont, x: float, y: float,
               width: float, fill=0, align: str = "center", spacing: float = 1.25) -> float:
    """Draw lines starting at top `y`; return the y below the last line."""
    step = line_height(face, spacing)
    for line in lines:
        if align == "center":
            left = x + (width - draw.textlength(line, font=face)) / 2
        elif align == "right":
            left = x + width - draw.textlength(line, font=face)
        else:
            left = x
        # Anchor "ls" (left, baseline) keeps rows aligned whatever marks a line carries.
        draw.text((left, y + face.size), line, font=face, fill=fill, anchor="ls")
        y += step
    return y


def fit_block(draw: ImageDraw.ImageDraw, text: str, style: str, size_px: int, width: float, max_lines: int,
              min_px: int, balance: bool = False) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest font size (down to min_px) at which `text` wraps into at most max_lines lines (evenly,
    with `balance`)."""
    size = size_px
    while True:
        face = font(style, size)
        lines = wrap(draw, text, face, width)
        if len(lines) <= max_lines:
            # Balancing keeps the line count, so the greedy count picks the size and balancing only the breaks.
            return face, balanced_wrap(draw, text, face, width) if balance else lines
        if size <= min_px:
            # Still too long at the smallest size: keep what fits and say that text was cut.
            # Greedy lines, not balanced ones: they carry the most text into the lines kept.
            kept = lines[:max_lines]
            # Cut at a word first ("huyện Bạch…", not "huyện Bạch Thông, Ủ…"), inside a word only if it is alone.
            while " " in kept[-1] and draw.textlength(kept[-1] + "…", font=face) > width:
                kept[-1] = kept[-1].rsplit(" ", 1)[0]
            while kept[-1] and draw.textlength(kept[-1] + "…", font=face) > width:
                kept[-1] = kept[-1][:-1]
            kept[-1] = kept[-1].rstrip() + "…"
            return face, kept
        size = max(min_px, int(size * 0.92))
