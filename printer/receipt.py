"""The receipt and the calibration ruler as one 1-bit Pillow image, exactly as wide as the paper."""
from __future__ import annotations

import datetime as dt
import functools
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from kiosk.vietnamese import format_date_long, format_time, format_vnd

from .amount_words import amount_in_words

FONT_DIR = Path(__file__).resolve().parent.parent / "static" / "vendor" / "fonts"
WIDTHS = (384, 512, 576)
# Grey levels darker than this print black: a little darker than mid-grey keeps thin strokes whole.
THRESHOLD = 150
BLACK, WHITE = 0, 255
NBSP = "\u00a0"
# kiosk/rehearsal.py's BAND (not imported: this module knows nothing of the kiosk around it).
REHEARSAL_BAND = "TỔNG DUYỆT — KHÔNG CÓ GIÁ TRỊ"


@dataclass(frozen=True)
class ReceiptData:
    """Everything printed on one receipt (plain values: the layout never reads the database)."""

    receipt_no: str
    association: str
    fund_name: str
    donor_name: str
    organisation: str | None
    amount_vnd: int
    method_label: str
    created_local: dt.datetime
    cashier_name: str | None
    verify_url: str
    copy_no: int | None = None
    voided: bool = False
    rehearsal: bool = False       # printed at a dress rehearsal: a band at the top and the bottom says so


@functools.lru_cache(maxsize=64)
def font(weight: str, size: int) -> ImageFont.FreeTypeFont:
    """Be Vietnam Pro at a weight and pixel size (every Vietnamese letter; loaded once)."""
    return ImageFont.truetype(str(FONT_DIR / f"BeVietnamPro-{weight}.ttf"), size)


class Canvas:
    """A tall white page we draw down, cropped to the used height at the end."""

    def __init__(self, width: int, max_height: int = 4000):
        self.width = width
        self.image = Image.new("L", (width, max_height), WHITE)
        self.draw = ImageDraw.Draw(self.image)
        self.y = 0
        self.margin = max(4, width // 72)
        self.inner = width - 2 * self.margin

    def space(self, dots: int) -> None:
        self.y += dots

    def _lines(self, words: list[tuple[str, ImageFont.FreeTypeFont]], width: int) -> list[list]:
        """Greedy word wrap by measured width; a word wider than the line is cut by characters."""
        lines: list[list] = [[]]
        used = 0.0
        for word, fnt in words:
            space = self.draw.textlength(" ", font=fnt) if lines[-1] else 0
            size = self.draw.textlength(word, font=fnt)
            if lines[-1] and used + space + size > width:
                lines.append([])
                used, space = 0.0, 0
            while size > width:
                cut = len(word)
                while cut > 1 and self.draw.textlength(word[:cut], font=fnt) > width - used:
                    cut -= 1
                lines[-1].append((word[:cut], fnt))
                lines.append([])
                word, used, space = word[cut:], 0.0, 0
                size = self.draw.textlength(word, font=fnt)
            lines[-1].append((word, fnt))
            used += space + size
        return [line for line in lines if line]

    def fitted(self, text: str, weight: str, size: int, smallest: float = 0.7) -> ImageFont.FreeTypeFont:
        """The font at `size`, shrunk (not below `smallest` of it) until `text` fits on one line."""
        least = round(size * smallest)
        while size > least and self.draw.textlength(text, font=font(weight, size)) > self.inner:
            size -= 1
        return font(weight, size)

    def text(self, runs: list[tuple[str, ImageFont.FreeTypeFont]], align: str = "left",
             gap: float = 0.25, fill: int = BLACK) -> None:
        """Draw runs of (text, font) wrapped to the inner width, mixed fonts on one line allowed."""
        # Only ordinary spaces break lines: a no-break space keeps "ngày 02 tháng 10 năm 2023" whole.
        words = [(w.replace(NBSP, " "), fnt) for text, fnt in runs for w in unicodedata.normalize("NFC", text).split(" ") if w]
        for line in self._lines(words, self.inner):
            height = max(fnt.size for _, fnt in line)
            width = sum(self.draw.textlength(w, font=f) for w, f in line)
            width += sum(self.draw.textlength(" ", font=f) for _, f in line[1:])
            x = self.margin + {"left": 0, "center": (self.inner - width) / 2, "right": self.inner - width}[align]
            baseline = self.y + round(height * 1.0)
            for i, (word, fnt) in enumerate(line):
                if i:
                    x += self.draw.textlength(" ", font=fnt)
                self.draw.text((x, baseline), word, font=fnt, fill=fill, anchor="ls")
                x += self.draw.textlength(word, font=fnt)
            self.y += round(height * (1 + gap)) + round(height * 0.12)

    def rule(self, thickness: int = 2, length: float = 1.0) -> None:
        span = round(self.inner * length)
        x0 = self.margin + (self.inner - span) // 2
        self.draw.rectangle((x0, self.y, x0 + span - 1, self.y + thickness - 1), fill=BLACK)
        self.y += thickness

    def banner(self, label: str, fnt: ImageFont.FreeTypeFont) -> None:
        """White text on a black band: BẢN SAO, ĐÃ HỦY."""
        pad = fnt.size // 3
        top = self.y
        self.draw.rectangle((0, top, self.width - 1, top + fnt.size + 2 * pad + fnt.size // 4), fill=BLACK)
        self.y += pad
        self.text([(label, fnt)], align="center", gap=0, fill=WHITE)
        self.y = top + fnt.size + 2 * pad + fnt.size // 4 + 1

    def paste(self, image: Image.Image) -> None:
        self.image.paste(image, ((self.width - image.width) // 2, self.y))
        self.y += image.height

    def finish(self, bottom: int) -> Image.Image:
        """Crop to the used height and threshold to pure black and white (no dithering)."""
        cropped = self.image.crop((0, 0, self.width, self.y + bottom))
        return cropped.point(lambda v: WHITE if v >= THRESHOLD else BLACK).convert("1", dither=Image.Dither.NONE)


def qr_image(text: str, module: int) -> Image.Image:
    """A QR code with crisp square modules of `module` dots and the standard 4-module quiet zone."""
    qr = qrcode.QRCode(border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(text)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    size = len(matrix)
    small = Image.new("L", (size, size), WHITE)
    small.putdata([BLACK if cell else WHITE for row in matrix for cell in row])
    return small.resize((size * module, size * module), Image.Resampling.NEAREST)


def sizes(width: int) -> dict[str, int]:
    """Type sizes in dots: about 3 mm body text on 58 mm paper, a little larger on 80 mm."""
    body = round(20 + width / 96)
    return {"body": body, "small": round(body * 0.8), "head": round(body * 0.95),
            "title": round(body * 1.55), "amount": round(body * 1.6), "banner": round(body * 1.2)}


def render_receipt(data: ReceiptData, width: int = 576) -> Image.Image:
    """The whole receipt as one 1-bit image `width` dots wide (GIẤY BIÊN NHẬN)."""
    if width % 8 or width < 256:
        raise ValueError("paper width must be a multiple of 8 dots, at least 256")
    s = sizes(width)
    bold, regular, semi = font("Bold", s["body"]), font("Regular", s["body"]), font("SemiBold", s["body"])
    c = Canvas(width)
    c.space(s["body"] // 3)
    if data.rehearsal:
        c.banner(REHEARSAL_BAND, c.fitted(REHEARSAL_BAND, "ExtraBold", s["banner"], smallest=0.6))
        c.space(s["body"] // 2)
    if data.voided:
        c.banner("ĐÃ HỦY — KHÔNG CÓ GIÁ TRỊ", font("ExtraBold", s["banner"]))
        c.space(s["body"] // 2)
    if data.copy_no:
        c.banner(f"BẢN SAO (in lại lần {data.copy_no})", font("ExtraBold", s["banner"]))
        c.space(s["body"] // 2)

    for line in (data.association.upper(), data.fund_name.upper()):
        c.text([(line, c.fitted(line, "Bold", s["head"]))], align="center", gap=0.1)
    c.space(s["body"] // 4)
    c.rule(2, 0.35)
    c.space(s["body"] // 2)
    c.text([("GIẤY BIÊN NHẬN", font("ExtraBold", s["title"]))], align="center", gap=0.1)
    c.text([("Số: ", semi), (data.receipt_no, font("Bold", s["body"]))], align="center")
    c.space(s["body"] // 3)

    c.text([("Người ủng hộ:", bold), (data.donor_name, regular)])
    if data.organisation:
        c.text([("Đơn vị/Địa chỉ:", bold), (data.organisation, regular)])
    c.text([("Nội dung:", bold), (f"Ủng hộ {data.fund_name}", regular)])
    c.text([("Số tiền:", bold)], gap=0.05)
    c.text([(format_vnd(data.amount_vnd), font("ExtraBold", s["amount"]))], align="center", gap=0.15)
    c.text([("Bằng chữ:", bold), (amount_in_words(data.amount_vnd) + ".", regular)])
    c.text([("Hình thức:", bold), (data.method_label, regular)])
    when = data.created_local
    date = format_date_long(when).replace(" ", NBSP)
    c.text([("Thời gian:", bold), (f"{format_time(when)}, {date}", regular)])
    if data.cashier_name:
        c.text([("Người thu:", bold), (data.cashier_name, regular)])
    c.space(s["body"] // 3)

    _signatures(c, s, data.cashier_name)
    c.space(s["body"] // 2)
    c.rule(1)
    c.space(s["body"] // 2)
    module = 5 if width < 500 else 6
    c.paste(qr_image(data.verify_url, module))
    small = font("Regular", s["small"])
    c.text([("Quét mã để kiểm tra biên nhận với sổ ủng hộ", small)], align="center", gap=0.1)
    c.space(s["body"] // 3)
    c.text([("Trân trọng cảm ơn tấm lòng của quý vị đối với sự nghiệp khuyến học!",
             font("SemiBold", s["body"]))], align="center", gap=0.15)
    if data.rehearsal:
        c.space(s["body"] // 2)
        c.banner(REHEARSAL_BAND, c.fitted(REHEARSAL_BAND, "ExtraBold", s["banner"], smallest=0.6))
    return c.finish(bottom=s["body"])


def _signatures(c: Canvas, s: dict, cashier_name: str | None) -> None:
    """Two columns, as on a phiếu thu: the donor's and the receiver's signatures."""
    half = c.inner // 2
    label, hint = font("Bold", s["small"]), font("Regular", round(s["small"] * 0.9))
    top = c.y
    for column, title in enumerate(("NGƯỜI ỦNG HỘ", "NGƯỜI THU TIỀN")):
        x = c.margin + column * half + half / 2
        c.draw.text((x, top + label.size), title, font=label, fill=BLACK, anchor="ms")
        c.draw.text((x, top + label.size + hint.size * 1.4), "(Ký, ghi rõ họ tên)", font=hint, fill=BLACK,
                    anchor="ms")
    c.y = top + label.size + round(hint.size * 1.4) + s["body"] * 3
    if cashier_name:
        name = font("SemiBold", s["small"])
        x = c.margin + half + half / 2
        text = cashier_name
        while c.draw.textlength(text, font=name) > half - 4 and len(text) > 1:
            text = text[:-2] + "…"
        c.draw.text((x, c.y + name.size), text, font=name, fill=BLACK, anchor="ms")
    c.y += s["small"] + s["small"] // 2


def render_calibration(width: int) -> Image.Image:
    """A ruler across the whole width: a tick every 8 dots, longer every 32, numbered every 64."""
    if width % 8 or width < 64:
        raise ValueError("paper width must be a multiple of 8 dots")
    s = sizes(min(width, 576))
    c = Canvas(width, max_height=1200)
    c.space(8)
    c.text([("IN THỬ KHỔ GIẤY", font("ExtraBold", s["title"]))], align="center", gap=0.1)
    c.text([(f"Khổ in thử: {width} điểm", font("SemiBold", s["body"]))], align="center")
    c.space(8)
    number = font("Bold", max(14, s["small"] - 4))
    for row in range(2):  # the ruler twice, so one smudged line still reads
        top = c.y
        c.draw.rectangle((0, top, width - 1, top + 1), fill=BLACK)
        for x in range(0, width, 8):
            length = 40 if x % 64 == 0 else 26 if x % 32 == 0 else 14
            c.draw.rectangle((x, top, x + 1, top + length), fill=BLACK)
            if x % 64 == 0 and row == 0 and width - x > 48:
                anchor = "ls" if x == 0 else "ms"
                c.draw.text((x + 1, top + 40 + number.size + 4), str(x), font=number, fill=BLACK, anchor=anchor)
        c.draw.rectangle((width - 2, top, width - 1, top + 40), fill=BLACK)  # the last dot column
        if row == 0:
            c.draw.text((width - 3, top + 40 + number.size + 4), str(width), font=number, fill=BLACK, anchor="rs")
        c.y = top + 40 + (number.size + 14 if row == 0 else 10)
    small = font("Regular", s["small"])
    c.space(6)
    for line in ("Mỗi vạch nhỏ cách nhau 8 điểm; số ghi vị trí điểm tính từ mép trái.",
                 "Vạch đậm ở mép phải là điểm cuối cùng. Nếu không thấy vạch này, "
                 "giấy hẹp hơn: đặt KIOSK_PAPER_DOTS bằng số lớn nhất còn thấy.",
                 "Khổ 58 mm: 384 · khổ 80 mm: 576 (Epson 180 dpi: 512)."):
        c.text([(line, small)], align="left", gap=0.15)
    c.draw.rectangle((0, 0, width - 1, c.y + 8), outline=BLACK, width=2)
    return c.finish(bottom=10)
