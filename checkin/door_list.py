"""The printed door list: every invitation on A4 paper, for the gate to carry on when the network is down.

The sheet is read at a gate in daylight and written on with a pen: black on white, 10 pt and larger, thick
row rules, a tick box and a "Giờ đến" column per line, and blank walk-in rows at the end. Every page is laid
out before the first is drawn, so each page's header can say "Trang X/Y". Every text from the database goes
through the cleaning boundary and is wrapped to its cell with a cap on its lines, so no row can outgrow a
page; text is drawn as strings (never parsed as markup), in an embedded subset of the bundled DejaVu Sans.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import threading
import unicodedata
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from kiosk.cleaning import clean_text
from kiosk.storage import Database
from kiosk.storage import checkins as checkin_queries
from kiosk.storage import events as event_queries
from kiosk.storage import invitees as invitee_queries
from kiosk.vietnamese import fold, format_date_short, format_time

from . import naming
from .door_list_text import (BOLD, FIELD_LIMIT, INK_ABOVE, LEADING, PAD_X, PAD_Y, REGULAR, Block, block,
                             cell_height, register_fonts, width_of, wrap)
from .gate import is_vip

TITLE = "DANH SÁCH KHÁCH MỜI TẠI CỔNG"
SUBTITLE = "(dự phòng khi mất mạng)"
WALK_IN_TITLE = "KHÁCH VÃNG LAI"
CODE_TAIL = 4            # symbols of the code printed: the last group of the card's TM-xxxx-…-xxxx
INSTRUCTION = "Khách đến: đánh dấu ✓ vào ô “Đã đến” và ghi giờ đến (ví dụ 07h25)."
LEGEND = ("★ chữ đậm: đại biểu, đón và đưa vào chỗ ngồi. Mã thẻ: 4 ký tự cuối của mã in trên thư mời. "
          "Khách không có tên trong danh sách: ghi vào trang KHÁCH VÃNG LAI ở cuối.")

PAGE_W, PAGE_H = A4
MARGIN = 34.0            # 12 mm: inside what office laser printers can reach
LEFT, RIGHT, TOP, BOTTOM = MARGIN, PAGE_W - MARGIN, PAGE_H - MARGIN, MARGIN
WIDTH = RIGHT - LEFT
RULE, HEAVY_RULE, COLUMN_RULE = 0.9, 1.8, 0.5
SHADE = 0.92             # alternate rows: light enough that black text stays crisp on a greyscale copy
HEADING_SHADE = 0.82

# (heading, width in points) of the invitation columns; "Khách mời" takes what the others leave.
COLUMNS = [("STT", 36.0), ("Khách mời", 0.0), ("Khu vực/ghế", 84.0), ("Mã thẻ (4 cuối)", 54.0),
           ("Đã đến", 34.0), ("Giờ đến", 46.0)]
COLUMNS[1] = ("Khách mời", WIDTH - sum(width for _h, width in COLUMNS))
WALK_IN_COLUMNS = [("STT", 36.0), ("Họ và tên", 150.0), ("Nhóm", 66.0), ("Đơn vị/địa chỉ", 0.0),
                   ("Điện thoại", 82.0), ("Giờ đến", 52.0)]
WALK_IN_COLUMNS[3] = ("Đơn vị/địa chỉ", WIDTH - sum(width for _h, width in WALK_IN_COLUMNS))
WALK_IN_ROW_HEIGHT = 27.0  # about 9.5 mm: room for handwriting


@dataclass(frozen=True)
class DoorLine:
    """One invitation as the door list prints it."""

    full_name: str
    honorific: str | None = None
    title: str | None = None
    organisation: str | None = None
    group: str = ""
    seat: str | None = None
    code: str | None = None
    vip: bool = False
    substitute: str | None = None


@dataclass(frozen=True)
class DoorListEvent:
    """What every page says about the event, and the groups a walk-in may be written into."""

    title: str
    starts_at: dt.datetime
    timezone: str
    venue: str = ""
    walk_in_groups: tuple[str, ...] = ()


# ---- Order ---------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")
# After the folded letters, Vietnamese orders a < ă < â, d < đ, e < ê, o < ô < ơ, u < ư, then the tones
# ngang < huyền < hỏi < ngã < sắc < nặng: "Lan" before "Lân", "Hà" before "Hạ".
_LETTER_MARK = {"\u0306": 1, "\u0302": 2, "\u031b": 3}
_TONE = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


def _marks(text: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Per letter of the text: its letter mark (ă â ơ ư đ), then per letter its tone, as sort ranks."""
    letters: list[int] = []
    tones: list[int] = []
    for ch in unicodedata.normalize("NFD", text.lower()):
        if unicodedata.category(ch) == "Mn":
            if ch in _TONE and tones:
                tones[-1] = _TONE[ch]
            elif ch in _LETTER_MARK and letters:
                letters[-1] = _LETTER_MARK[ch]
        elif ch.isalnum():
            letters.append(1 if ch == "đ" else 0)
            tones.append(0)
    return tuple(letters), tuple(tones)


def sort_key(full_name: str) -> tuple:
    """Where a name goes in a Vietnamese list: by the folded given name (the last word), then family and
    middle names; an office's invitation ("Đại diện Công an huyện") by its office."""
    office = naming.office_of(full_name)
    if office:
        words = naming.office_key(office).split()
    else:
        words = _WORD.findall(fold(full_name))
        named = [index for index, word in enumerate(words) if not word.isdigit()]
        if named:
            given = named[-1]
            words = [words[given], *words[:given], *words[given + 1:]]
    ordered = " ".join(words)
    return (tuple(words), _marks(ordered), fold(full_name), clean_text(full_name))


# ---- Layout --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """One laid-out invitation: its cells' blocks (by column) and its height."""

    number: int
    cells: tuple[tuple[Block, ...], ...]
    height: float


NAME_SIZE, TEXT_SIZE, CODE_SIZE = 12.0, 10.0, 12.0
BOX = 15.0  # the tick box's side: a pen tick fits, and it is seen at arm's length


def layout_row(number: int, line: DoorLine) -> Row:
    """An invitation's cells, wrapped to their columns; a row is at most about 150 pt tall."""
    widths = [width for _h, width in COLUMNS]
    honorific = naming.listed_honorific(clean_text(line.honorific, FIELD_LIMIT) or None, line.full_name)
    name = " ".join(part for part in (honorific, clean_text(line.full_name, FIELD_LIMIT)) if part) or "—"
    name_font = BOLD if line.vip else REGULAR
    guest = [block(("★ " if line.vip else "") + name, name_font, NAME_SIZE, widths[1], 3, balance=True),
             block(naming.details(line.full_name, line.title, line.organisation), REGULAR, TEXT_SIZE, widths[1], 3,
                   balance=True),
             block(f"Nhóm: {clean_text(line.group, FIELD_LIMIT)}" if clean_text(line.group) else None,
                   REGULAR, TEXT_SIZE, widths[1], 2),
             block(f"Người đi thay: {clean_text(line.substitute, FIELD_LIMIT)}" if clean_text(line.substitute)
                   else None, REGULAR, TEXT_SIZE, widths[1], 2)]
    tail = clean_text(line.code)[-CODE_TAIL:] or "—"
    # The number is never wrapped or cut: its column holds five digits (centred, 2 pt either side).
    cells = ([Block(REGULAR, TEXT_SIZE, (str(number),))], guest,
             [block(line.seat, REGULAR, TEXT_SIZE, widths[2], 4)], [block(tail, BOLD, CODE_SIZE, widths[3], 1)])
    height = max(max(cell_height(cell) for cell in cells) + 2 * PAD_Y, BOX + 2 * PAD_Y + 4)
    return Row(number, tuple(tuple(b for b in cell if b) for cell in cells), height)


def paginate(heights: list[float], room: float) -> list[list[int]]:
    """Indexes of the rows on each page: as many whole rows as fit in `room` points (no row is split)."""
    pages: list[list[int]] = [[]]
    left = room
    for index, height in enumerate(heights):
        if height > left and pages[-1]:
            pages.append([])
            left = room
        pages[-1].append(index)
        left -= height
    return pages


# ---- Drawing -------------------------------------------------------------------------------------

def _draw_block_lines(c: canvas.Canvas, blocks, x: float, top: float, align: str = "left",
                      width: float = 0.0) -> None:
    y = top
    for index, b in enumerate(blocks):
        c.setFont(b.font, b.size)
        for number, text in enumerate(b.lines):
            y -= b.size * (INK_ABOVE if index == 0 and number == 0 else LEADING)
            if align == "center":
                c.drawCentredString(x + width / 2, y, text)
            else:
                c.drawString(x + PAD_X, y, text)


def _header_blocks(event: DoorListEvent, printed: str) -> tuple[Block, list[Block]]:
    """The header's title and its lines under the list's name, wrapped once for every page."""
    # Room for the widest page number there could be, so the title wraps alike on every page.
    title = Block(BOLD, 11, tuple(wrap(clean_text(event.title, FIELD_LIMIT) or "—", BOLD, 11,
                                       WIDTH - width_of("Trang 8888/8888", BOLD, 12) - 12, 2)))
    start = event.starts_at.astimezone(ZoneInfo(event.timezone))
    facts = [f"{format_time(start)} ngày {format_date_short(start)}", clean_text(event.venue, 120), printed]
    return title, [Block(REGULAR, 10, tuple(wrap(" · ".join(part for part in facts if part), REGULAR, 10, WIDTH, 2))),
                   Block(BOLD, 11, tuple(wrap(INSTRUCTION, BOLD, 11, WIDTH, 2))),
                   Block(REGULAR, 10, tuple(wrap(LEGEND, REGULAR, 10, WIDTH, 3)))]


def _header(c: canvas.Canvas, header: tuple[Block, list[Block]], page: int, pages: int) -> float:
    """The header every page carries; returns the y under it (the same on every page)."""
    title, lines = header
    y = TOP
    c.setFillGray(0)
    c.setFont(BOLD, 12)
    c.drawRightString(RIGHT, y - 12 * INK_ABOVE, f"Trang {page}/{pages}")
    _draw_block_lines(c, [title], LEFT - PAD_X, y)
    y -= cell_height([title]) + 6
    c.setFont(BOLD, 15)
    c.drawString(LEFT, y - 15 * INK_ABOVE, TITLE)
    c.setFont(REGULAR, 12)
    c.drawString(LEFT + width_of(TITLE + " ", BOLD, 15), y - 15 * INK_ABOVE, SUBTITLE)
    y -= 15 * INK_ABOVE + 8
    _draw_block_lines(c, lines, LEFT - PAD_X, y)
    y -= cell_height(lines) + 6
    c.setLineWidth(HEAVY_RULE)
    c.line(LEFT, y, RIGHT, y)
    return y - 6


def _column_heading(c: canvas.Canvas, columns, top: float) -> float:
    """The shaded row of column names; returns its bottom."""
    blocks = [block(heading, BOLD, 10, width, 2) for heading, width in columns]
    height = max(cell_height([b]) for b in blocks) + 2 * PAD_Y
    c.setFillGray(HEADING_SHADE)
    c.rect(LEFT, top - height, WIDTH, height, stroke=0, fill=1)
    c.setFillGray(0)
    x = LEFT
    for b, (_heading, width) in zip(blocks, columns):
        inner = height - 2 * PAD_Y
        _draw_block_lines(c, [b], x, top - PAD_Y - (inner - cell_height([b])) / 2, "center", width)
        x += width
    _grid(c, columns, top, top - height)
    c.setLineWidth(HEAVY_RULE)
    c.line(LEFT, top, RIGHT, top)
    c.line(LEFT, top - height, RIGHT, top - height)
    return top - height


def _grid(c: canvas.Canvas, columns, top: float, bottom: float) -> None:
    c.setLineWidth(COLUMN_RULE)
    x = LEFT
    for _heading, width in columns[:-1]:
        x += width
        c.line(x, top, x, bottom)
    c.line(LEFT, top, LEFT, bottom)
    c.line(RIGHT, top, RIGHT, bottom)


def _table_body(c: canvas.Canvas, columns, top: float, heights: list[float], first_shaded: bool) -> None:
    """Every other row shaded, then a rule under each row and the column lines, for rows of `heights`."""
    y = top
    c.setFillGray(SHADE)
    for index, height in enumerate(heights):
        if (index % 2 == 0) == first_shaded:
            c.rect(LEFT, y - height, WIDTH, height, stroke=0, fill=1)
        y -= height
    c.setFillGray(0)
    # Rules after all the shading, so no shaded row paints over half of its neighbour's rule.
    c.setLineWidth(RULE)
    y = top
    for height in heights:
        y -= height
        c.line(LEFT, y, RIGHT, y)
    _grid(c, columns, top, y)


def _draw_rows(c: canvas.Canvas, rows: list[Row], top: float) -> None:
    """One page's invitations under the column heading at `top`."""
    _table_body(c, COLUMNS, top, [row.height for row in rows], bool(rows) and rows[0].number % 2 == 0)
    box_x = LEFT + sum(width for _h, width in COLUMNS[:4]) + (COLUMNS[4][1] - BOX) / 2
    c.setLineWidth(1.4)
    for row in rows:
        x = LEFT
        # No clipping needed: lines are wrapped to their cells, and no single glyph is wider than a cell.
        for index, (blocks, (_heading, width)) in enumerate(zip(row.cells, COLUMNS)):
            _draw_block_lines(c, blocks, x, top - PAD_Y, "center" if index in (0, 3) else "left", width)
            x += width
        c.setFillGray(1)  # a white box on a shaded row too: a pen tick shows best on white
        c.rect(box_x, top - PAD_Y - 2 - BOX, BOX, BOX, stroke=1, fill=1)
        c.setFillGray(0)
        top -= row.height


def _walk_in_sheet(c: canvas.Canvas, event: DoorListEvent, top: float) -> None:
    c.setFont(BOLD, 14)
    c.drawString(LEFT, top - 14 * INK_ABOVE, WALK_IN_TITLE + " (khách không có tên trong danh sách)")
    top -= 14 * INK_ABOVE + 6
    groups = [clean_text(name, 120) for name in event.walk_in_groups]
    groups = [name for name in groups if name]
    caption = ("Cột “Nhóm”: ghi số của nhóm — " + "; ".join(f"{i}. {name}" for i, name in enumerate(groups, 1))
               + "." if groups else "Cột “Nhóm”: ghi rõ khách thuộc nhóm nào.")
    caption += (" Sau đó, ban tổ chức nhập các khách này ở trang Quản trị → Danh sách giấy,"
                " kèm giờ đến ghi trên giấy.")
    lines = Block(REGULAR, 10, tuple(wrap(caption, REGULAR, 10, WIDTH, 6)))
    _draw_block_lines(c, [lines], LEFT - PAD_X, top)
    top = _column_heading(c, WALK_IN_COLUMNS, top - cell_height([lines]) - 6)
    count = int((top - BOTTOM) // WALK_IN_ROW_HEIGHT)
    _table_body(c, WALK_IN_COLUMNS, top, [WALK_IN_ROW_HEIGHT] * count, False)
    c.setFont(REGULAR, 10)
    for number in range(1, count + 1):
        c.drawCentredString(LEFT + WALK_IN_COLUMNS[0][1] / 2,
                            top - number * WALK_IN_ROW_HEIGHT + (WALK_IN_ROW_HEIGHT - 10 * 0.73) / 2, str(number))


# One document at a time: reportlab keeps each font's subset state in a dictionary shared by all documents.
_render_lock = threading.Lock()


def door_list_pdf(event: DoorListEvent, lines: list[DoorLine], now: dt.datetime) -> bytes:
    """The door list as A4 PDF bytes: the invitations in name order, then the blank walk-in sheet."""
    register_fonts()
    rows = [layout_row(number, line) for number, line in
            enumerate(sorted(lines, key=lambda line: sort_key(line.full_name)), start=1)]
    local = now.astimezone(ZoneInfo(event.timezone))
    header = _header_blocks(event, f"in lúc {format_time(local)} ngày {format_date_short(local)}")
    out = io.BytesIO()
    with _render_lock:
        c = canvas.Canvas(out, pagesize=A4, pageCompression=1, lang="vi", initialFontName=REGULAR, initialFontSize=10)
        c.setTitle(f"{TITLE} {SUBTITLE}")
        c.setSubject(clean_text(event.title, FIELD_LIMIT))
        c.setCreator("Kiosk sự kiện")
        # Laid out once on a throwaway page to learn how tall the header and headings are.
        probe = canvas.Canvas(io.BytesIO(), pagesize=A4)
        body_top = _column_heading(probe, COLUMNS, _header(probe, header, 1, 1))
        pages = paginate([row.height for row in rows], body_top - BOTTOM) if rows else [[]]
        total = len(pages) + 1
        for page_no, indexes in enumerate(pages, start=1):
            top = _column_heading(c, COLUMNS, _header(c, header, page_no, total))
            if not rows:
                c.setFont(REGULAR, 12)
                c.drawString(LEFT + PAD_X, top - 24, "Chưa có thư mời nào.")
            _draw_rows(c, [rows[index] for index in indexes], top)
            c.showPage()
        _walk_in_sheet(c, event, _header(c, header, total, total))
        c.showPage()
        c.save()
    return out.getvalue()


def collect(db: Database) -> tuple[DoorListEvent, list[DoorLine]]:
    """The event's facts and every live invitation (walk-ins and withdrawn ones left out) with its code."""
    with db.read() as session:
        event = event_queries.current_event(session)
        facts = DoorListEvent(title=event.title, starts_at=event.starts_at, timezone=event.timezone,
                              venue=event.venue or "", walk_in_groups=tuple(
                                  name for _key, name in checkin_queries.walk_in_groups(session, event.id)))
        # The same list, with the same active codes, as the admin page and the printed cards.
        lines = [DoorLine(full_name=p.full_name, honorific=p.honorific, title=p.title, organisation=p.organisation,
                          group=p.group.name, seat=p.seat, code=code, substitute=p.substitute_name,
                          vip=is_vip(p.group.is_vip, p.protocol_rank, event.vip_max_rank))
                 for p, code in invitee_queries.list_invitees(session, event.id)]
    return facts, lines
