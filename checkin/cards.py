"""Invitation cards: one PNG per invitee and an A4 PDF of four cards a page with cut marks.

Cards are grayscale (offices print in black and white) at 300 dpi. The parts every card shares (the
header, the event, time and place) are drawn once per batch and copied; only the name, seat and QR
are drawn per card, which is what makes a thousand cards fast.
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import qrcode
from PIL import Image, ImageDraw

from kiosk.typesetting import draw_lines, fit_block, font
from kiosk.vietnamese import format_date_short, format_time, nfc

from . import naming
from .codes import display_form

DPI = 300
CARD_MM = (95, 135)
A4_MM = (210, 297)
GUTTER_MM = 6
INK, GREY, PAPER = 0, 90, 255
# kiosk/rehearsal.py's BAND: a card printed from a rehearsal copy must never pass for a real invitation.
REHEARSAL_BAND = "TỔNG DUYỆT — KHÔNG CÓ GIÁ TRỊ"


def mm(value: float, dpi: int = DPI) -> int:
    """Millimetres to pixels."""
    return round(value * dpi / 25.4)


@dataclass(frozen=True)
class EventCardInfo:
    """What every card of the event says."""

    organiser: str
    title: str
    starts_at: dt.datetime
    timezone: str
    venue: str
    address: str | None
    rehearsal: bool = False      # printed at a dress rehearsal: the footer becomes REHEARSAL_BAND


@dataclass(frozen=True)
class CardPerson:
    """What one card says about its invitee."""

    code: str
    full_name: str
    honorific: str | None = None
    title: str | None = None
    organisation: str | None = None
    seat: str | None = None


def qr_image(data: str, size_px: int) -> Image.Image:
    """A QR code (error correction M, 4-module quiet zone) scaled by whole pixels per module."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(data)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    modules = len(matrix)
    pixels = bytes(INK if dark else PAPER for row in matrix for dark in row)
    small = Image.frombytes("L", (modules, modules), pixels)
    scale = max(1, size_px // modules)
    return small.resize((modules * scale, modules * scale), Image.Resampling.NEAREST)


class CardRenderer:
    """Draws cards for one event; build once per batch."""

    def __init__(self, event: EventCardInfo, dpi: int = DPI):
        self.dpi = dpi
        self.size = (mm(CARD_MM[0], dpi), mm(CARD_MM[1], dpi))
        self.margin = mm(6, dpi)
        self.inner = self.size[0] - 2 * self.margin
        self.base = self._draw_shared(event)

    def _mm(self, value: float) -> int:
        return mm(value, self.dpi)

    def _draw_shared(self, event: EventCardInfo) -> Image.Image:
        card = Image.new("L", self.size, PAPER)
        draw = ImageDraw.Draw(card)
        w, h, m, px = self.size[0], self.size[1], self.margin, self._mm
        # Double frame, like printed invitations.
        draw.rectangle((px(2.5), px(2.5), w - px(2.5), h - px(2.5)), outline=INK, width=max(2, px(0.5)))
        draw.rectangle((px(3.6), px(3.6), w - px(3.6), h - px(3.6)), outline=GREY, width=max(1, px(0.15)))
        face, lines = fit_block(draw, nfc(event.organiser).upper(), "semibold", px(2.9), self.inner, 1, px(2.2))
        draw_lines(draw, lines, face, m, px(6.5), self.inner, fill=GREY)
        draw_lines(draw, ["THƯ MỜI"], font("extrabold", px(7.5)), m, px(10.5), self.inner)
        draw.line((w / 2 - px(14), px(21.5), w / 2 + px(14), px(21.5)), fill=INK, width=max(2, px(0.35)))
        draw_lines(draw, ["Trân trọng kính mời"], font("regular", px(3.6)), m, px(23.5), self.inner)

        zone = ZoneInfo(event.timezone)
        start = event.starts_at.astimezone(zone)
        y = draw_lines(draw, ["Tới dự"], font("regular", px(3.4)), m, px(52.5), self.inner)
        face, lines = fit_block(draw, event.title, "bold", px(4.4), self.inner, 2, px(3.2), balance=True)
        y = draw_lines(draw, lines, face, m, y + px(0.6), self.inner, spacing=1.22)
        when = f"Thời gian: {format_time(start)}, ngày {format_date_short(start)}"
        y = draw_lines(draw, [when], font("semibold", px(3.6)), m, y + px(1.0), self.inner)
        place = f"Địa điểm: {event.venue}" + (f", {event.address}" if event.address else "")
        face, lines = fit_block(draw, place, "regular", px(3.3), self.inner, 2, px(2.6), balance=True)
        self.shared_bottom = draw_lines(draw, lines, face, m, y + px(0.2), self.inner)
        if event.rehearsal:
            # White on black across the frame, where the footer line would be.
            draw.rectangle((px(3.6), h - px(9.4), w - px(3.6), h - px(4.0)), fill=INK)
            draw_lines(draw, [REHEARSAL_BAND], font("extrabold", px(3.4)), m, h - px(8.55), self.inner, fill=PAPER)
        else:
            footer = font("regular", px(2.5))
            draw_lines(draw, ["Xin vui lòng xuất trình mã này tại cổng đón tiếp"], footer, m, h - px(7.6),
                       self.inner, fill=GREY)
        return card

    def render(self, person: CardPerson) -> Image.Image:
        """One card as a grayscale image."""
        return self.render_with_lines(person)[0]

    def render_with_lines(self, person: CardPerson) -> tuple[Image.Image, list[tuple]]:
        """One card, and the (font, lines) blocks drawn for the person (name, then details), as laid out."""
        card = self.base.copy()
        draw = ImageDraw.Draw(card)
        m, px, w = self.margin, self._mm, self.size[0]

        name = naming.card_name(person.honorific, person.full_name)
        face, lines = fit_block(draw, name, "bold", px(5.6), self.inner, 2, px(3.8), balance=True)
        y = draw_lines(draw, lines, face, m, px(29), self.inner, spacing=1.2)
        blocks = [(face, lines)]
        details = naming.details(person.full_name, person.title, person.organisation)
        if details:
            room = max(1, int((px(51.5) - y) // (px(3.4) * 1.25)))
            face, lines = fit_block(draw, details, "regular", px(3.4), self.inner, min(3, room), px(2.6),
                                    balance=True)
            draw_lines(draw, lines, face, m, y + px(0.3), self.inner, fill=GREY)
            blocks.append((face, lines))

        y = self.shared_bottom + px(1.2)
        if person.seat:
            face, lines = fit_block(draw, f"Khu vực/ghế: {person.seat}", "bold", px(3.6), self.inner - px(14), 1,
                                    px(2.6))
            band = (m + px(6), y, w - m - px(6), y + px(6.2))
            draw.rounded_rectangle(band, radius=px(1.5), outline=INK, width=max(2, px(0.35)))
            draw_lines(draw, lines, face, band[0], y + px(0.9), band[2] - band[0])
            y = band[3] + px(0.3)
        qr = qr_image(person.code, px(30))
        card.paste(qr, ((w - qr.width) // 2, y))
        code_face = font("code", px(3.4))
        draw_lines(draw, [display_form(person.code)], code_face, m, y + qr.height - px(1.6), self.inner)
        return card, blocks

    def png(self, person: CardPerson) -> bytes:
        """One card as PNG bytes (300 dpi recorded in the file)."""
        out = io.BytesIO()
        self.render(person).save(out, "PNG", dpi=(self.dpi, self.dpi), compress_level=1)
        return out.getvalue()


def _cut_marks(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], length: int, gap: int) -> None:
    """Short lines just outside each corner of a card, to cut along."""
    left, top, right, bottom = box
    for x in (left, right):
        for y, direction in ((top, -1), (bottom, 1)):
            draw.line((x, y + direction * gap, x, y + direction * (gap + length)), fill=INK, width=2)
    for y in (top, bottom):
        for x, direction in ((left, -1), (right, 1)):
            draw.line((x + direction * gap, y, x + direction * (gap + length), y), fill=INK, width=2)


def a4_pages(renderer: CardRenderer, people):
    """Yield A4 pages (1-bit, 300 dpi) with four cards each and cut marks."""
    page_w, page_h = mm(A4_MM[0], renderer.dpi), mm(A4_MM[1], renderer.dpi)
    card_w, card_h = renderer.size
    gutter = mm(GUTTER_MM, renderer.dpi)
    left = (page_w - 2 * card_w - gutter) // 2
    top = (page_h - 2 * card_h - gutter) // 2
    slots = [(left + col * (card_w + gutter), top + row * (card_h + gutter)) for row in (0, 1) for col in (0, 1)]
    page = None
    for index, person in enumerate(people):
        if index % 4 == 0:
            if page is not None:
                yield page.point(lambda v: 255 if v > 160 else 0, mode="1")
            page = Image.new("L", (page_w, page_h), PAPER)
        x, y = slots[index % 4]
        page.paste(renderer.render(person), (x, y))
        _cut_marks(ImageDraw.Draw(page), (x, y, x + card_w, y + card_h), mm(4, renderer.dpi), mm(1, renderer.dpi))
    if page is not None:
        yield page.point(lambda v: 255 if v > 160 else 0, mode="1")


def write_pdf(pages, path, dpi: int = DPI, pages_per_batch: int = 20) -> int:
    """Write A4 pages to a print-ready PDF (black and white, CCITT-compressed); return the page count.

    Pages are appended in batches so a thousand cards never sit in memory at once.
    """
    batch, written = [], 0

    def flush():
        nonlocal batch, written
        if batch:
            batch[0].save(path, "PDF", save_all=True, append_images=batch[1:], resolution=dpi,
                          append=written > 0, title="Thư mời", creator="Kiosk sự kiện")
            written += len(batch)
            batch = []

    for page in pages:
        batch.append(page)
        if len(batch) == pages_per_batch:
            flush()
    flush()
    if not written:
        raise ValueError("no cards to print")
    return written
