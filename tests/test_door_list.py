"""The printed door list (GET /admin/door-list.pdf): name order, VIPs, code tails, pages, hostile text.

The PDF is read back with PDFium as a person's viewer would: its text (so the text must be real, embedded
text), which font each letter is set in, where each line lies, and the rules drawn between rows."""
from __future__ import annotations

import ctypes
import re
import unicodedata

import pypdfium2 as pdfium
import pypdfium2.raw as raw
import pytest
from sqlalchemy import select, update
from werkzeug.http import parse_options_header

from checkin import door_list, door_list_text, invitations
from kiosk.storage import invitees as invitee_queries
from kiosk.storage.schema import Invitee

from .conftest import ARTIFACTS, storable
from .invitee_files import csv_bytes, many_people

A4 = (595.3, 841.9)
HEADER = "DANH SÁCH KHÁCH MỜI TẠI CỔNG (dự phòng khi mất mạng)"
# Name, honorific, title, organisation, group, rank (Thứ tự), seat.
PEOPLE = [
    ["Nguyễn Thị Hường", "Bà", "Phó Chủ tịch", "Ủy ban nhân dân xã Cẩm Giàng", "Khách mời", "", "Khu A, ghế 12"],
    ["Trần Văn An", "Ông", "Chủ tịch", "Ủy ban MTTQ Việt Nam huyện", "Khách mời", 2, "Hàng 1, ghế 3"],
    ["Đặng Văn An", "Ông", "Trưởng thôn", "Thôn Nà Hái", "Khách mời", 50, ""],
    ["Lê Thị Bình", "Bà", "Giáo viên", "Trường Tiểu học Phủ Thông", "", "", ""],
    ["Phạm Thị Lan", "Bà", "", "", "", "", ""],
    ["Hoàng Thị Lân", "Bà", "", "", "", "", ""],
    ["Nguyễn Văn Lân", "Ông", "", "Thôn Bản Cáu", "", "", ""],
    ["Nguyễn Văn Lan", "Ông", "", "Thôn Nà Pết", "", "", ""],
    ["Vũ Minh Withdrawn", "Ông", "", "", "", "", ""],
]
# Vietnamese order: the folded given name first (Đ folds to D), then family and middle names; "Lan" before
# "Lân" when all else is equal. Offices' invitations go by their office ("Đại diện Lãnh đạo Công an huyện": C).
EXPECTED_ORDER = ["Đặng Văn An", "Trần Văn An", "Lê Thị Bình", "Đại diện Bưu điện huyện",
                  "Đại diện Lãnh đạo Công an huyện", "Nguyễn Thị Hường", "Hoàng Thị Lân", "Nguyễn Văn Lan",
                  "Nguyễn Văn Lân", "Phạm Thị Lan"]


def _seed(app) -> object:
    db = app.extensions["kiosk.db"]
    rows = [person + ["", ""] for person in PEOPLE]
    report = invitations.check_import(db, "moi.csv", csv_bytes(rows))
    assert report.ok, report.errors
    invitations.apply_import(db, report, False, "test")
    return db


def _invitee(db, name: str):
    with db.read() as session:
        return session.scalar(select(Invitee).where(Invitee.full_name == name))


def _get_pdf(client) -> pdfium.PdfDocument:
    response = client.get("/admin/door-list.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    disposition, options = parse_options_header(response.headers["Content-Disposition"])
    assert (disposition, options) == ("inline", {"filename": "danh-sach-cong.pdf"})
    assert response.headers["Cache-Control"] == "no-store"  # names and codes: not kept by the browser
    return pdfium.PdfDocument(response.data)


def _texts(pdf) -> list[str]:
    return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]


def _font_of(textpage, index: int) -> str:
    name = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    raw.FPDFText_GetFontInfo(textpage.raw, index, name, len(name), ctypes.byref(flags))
    return name.value.decode()


def _find(pdf, text: str):
    """(page number, text page, first char index) of `text`'s first occurrence in the list."""
    for number in range(len(pdf)):
        textpage = pdf[number].get_textpage()
        found = textpage.search(text, match_case=True).get_next()
        if found:
            return number, textpage, found[0]
    raise AssertionError(f"{text!r} is not in the PDF")


def _line_of(pdf, text: str) -> str:
    """Everything printed across the page on the line where `text` first appears (its row's first line)."""
    _number, textpage, index = _find(pdf, text)
    _left, bottom, _right, top = textpage.get_charbox(index)
    return textpage.get_text_bounded(0, bottom - 1, A4[0], top + 1)


def _assert_laid_out_cleanly(pdf) -> None:
    """Every line of text inside the 12 mm margins, no two lines sharing ink, none crossing a row's rule."""
    for number in range(len(pdf)):
        page = pdf[number]
        width, height = page.get_size()
        assert abs(width - A4[0]) < 1 and abs(height - A4[1]) < 1
        rules = []
        for obj in page.get_objects(max_depth=3):
            if obj.type == raw.FPDF_PAGEOBJ_PATH:
                left, bottom, right, top = obj.get_bounds()
                if top - bottom < 2.5 and right - left > 100:
                    rules.append((top + bottom) / 2)
        textpage = page.get_textpage()
        boxes = [textpage.get_rect(i) for i in range(textpage.count_rects())]
        for left, bottom, right, top in boxes:
            words = textpage.get_text_bounded(left, bottom, right, top)
            assert 33 < left and right < A4[0] - 33 and 33 < bottom and top < A4[1] - 33, (number, words)
            crossing = [y for y in rules if bottom + 0.6 < y < top - 0.6]
            assert not crossing, f"page {number + 1}: “{words}” crosses a rule at {crossing}"
        for i, (l1, b1, r1, t1) in enumerate(boxes):
            for l2, b2, r2, t2 in boxes[i + 1:]:
                assert min(r1, r2) - max(l1, l2) <= 0.6 or min(t1, t2) - max(b1, b2) <= 0.6, (
                    f"page {number + 1}: two lines overlap: {textpage.get_text_bounded(l1, b1, r1, t1)!r} and "
                    f"{textpage.get_text_bounded(l2, b2, r2, t2)!r}")


def _save_png(pdf, index: int, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pdf[index].render(scale=2).to_pil().save(ARTIFACTS / f"{name}.png")


def test_the_door_list_sorts_names_marks_vips_and_prints_the_active_codes(app, client_as):
    db = _seed(app)
    invitations.remove_person(db, _invitee(db, "Vũ Minh Withdrawn").id, "test")
    hoa = _invitee(db, "Nguyễn Thị Hường")
    with db.read() as session:
        old_code = invitee_queries.active_code(session, hoa.id)
    new_code = invitations.reissue(db, hoa.id, "Mất thẻ", "test")
    gate = client_as("gate")
    assert gate.post("/api/walkins", json={"full_name": "Khách Vãng Lai Thử", "group": "khach-khac"}).status_code \
        in (200, 201)

    pdf = _get_pdf(client_as("admin"))
    texts = _texts(pdf)
    whole = re.sub(r"\s+", " ", " ".join(texts))  # a wrapped name reads on across its line break
    _save_png(pdf, 0, "door-list-page1")
    _save_png(pdf, len(pdf) - 1, "door-list-walk-ins")

    # Order: each expected name's first appearance comes after the one before it.
    positions = [whole.index(name) for name in EXPECTED_ORDER]
    assert positions == sorted(positions), [EXPECTED_ORDER[i] for i in sorted(range(len(positions)),
                                                                              key=positions.__getitem__)]
    # The withdrawn invitation and the walk-in are not on the list (nor on the blank walk-in sheet).
    assert "Withdrawn" not in whole and "Khách Vãng Lai Thử" not in whole

    # Rank 2 is within the event's vip_max_rank (3): a VIP, starred and bold; rank 50 is not.
    assert "★ Ông Trần Văn An" in whole and "★ Ông Đặng Văn An" not in whole
    _page, textpage, index = _find(pdf, "Trần Văn An")
    assert _font_of(textpage, index).endswith("DejaVuSans-Bold")
    _page, textpage, index = _find(pdf, "Đặng Văn An")
    assert _font_of(textpage, index).endswith("DejaVuSans")
    # A VIP group's office invitation is starred too.
    assert "★ Đại diện Lãnh đạo Hội Khuyến học huyện" in whole
    assert "★ Đại diện Bưu điện huyện" not in whole

    # The last 4 symbols of the active code sit on the person's line; a reissued card's old code does not.
    with db.read() as session:
        for name in ("Trần Văn An", "Đặng Văn An", "Lê Thị Bình", "Đại diện Bưu điện huyện"):
            code = invitee_queries.active_code(session, _invitee(db, name).id)
            assert code[-4:] in _line_of(pdf, name), name
    line = _line_of(pdf, "Nguyễn Thị Hường")
    assert new_code[-4:] in line and (old_code[-4:] == new_code[-4:] or old_code[-4:] not in line)
    # Honorific, seat and the Vietnamese of the details come through exactly, in NFC.
    assert "Bà Nguyễn Thị Hường" in whole and "Phó Chủ tịch, Ủy ban nhân dân xã Cẩm Giàng" in whole
    assert "Khu A, ghế 12" in line
    assert unicodedata.is_normalized("NFC", whole)

    # Every page has the header and its own "Trang X/Y".
    for number, text in enumerate(texts, start=1):
        assert f"Trang {number}/{len(pdf)}" in text
        assert HEADER in text and "Lễ khai mạc Tuần lễ hưởng ứng học tập suốt đời năm 2023" in text
        assert "ghi giờ đến" in text
    heading = re.sub(r"\s+", " ", texts[0].split("Nhóm:", 1)[0])
    assert all(name in heading for name in ("STT", "Khách mời", "Khu vực/ghế", "Mã thẻ", "Đã đến", "Giờ đến"))
    _assert_laid_out_cleanly(pdf)


def test_the_last_page_is_a_blank_walk_in_sheet_with_the_events_walk_in_groups(app, client_as):
    pdf = _get_pdf(client_as("admin"))
    sheet = _texts(pdf)[-1]
    assert "KHÁCH VÃNG LAI" in sheet
    assert "KHÁCH VÃNG LAI" not in "\n".join(_texts(pdf)[:-1]).replace("trang KHÁCH VÃNG LAI ở cuối", "")
    for group in ("Đại diện nhân dân thị trấn Phủ Thông", "Cán bộ, giáo viên, nhân viên trường THCS Phủ Thông",
                  "Học sinh trường THCS Phủ Thông", "Khách khác"):
        assert group in sheet.replace("\r\n", " ")
    headings = ["STT", "Họ và tên", "Nhóm", "Đơn vị/địa chỉ", "Điện thoại", "Giờ đến"]
    heading_line = next(line for line in sheet.splitlines() if line.startswith("STT"))
    assert heading_line.split(" ", 1)[0] == "STT" and all(h in heading_line for h in headings)
    # Under the headings only the row numbers: every row is blank, to be written in.
    below = sheet.split(heading_line, 1)[1].split()
    assert below == [str(n) for n in range(1, len(below) + 1)] and len(below) >= 15
    _assert_laid_out_cleanly(pdf)


def test_only_admin_may_print_it_and_the_admin_page_links_to_it(app, client, client_as):
    response = client.get("/admin/door-list.pdf")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    for role in ("gate", "mc", "cashier"):
        assert client_as(role).get("/admin/door-list.pdf").status_code == 403, role
    admin_page = client_as("admin").get("/admin").get_data(as_text=True)
    assert 'href="/admin/door-list.pdf"' in admin_page and "In danh sách cổng (dự phòng)" in admin_page


def test_hostile_text_from_the_database_is_cleaned_cut_and_never_read_as_markup(app, client_as):
    db = _seed(app)
    admin = client_as("admin")
    pages_before = len(_get_pdf(admin))
    hostile = storable(app, "<b>&amp; Kẻ\x00\x07\u202e xấu " + "X" * 100_000)
    with db.write() as session:
        # Straight into the database, past every cleaning boundary, as a restored or hand-edited file could.
        session.execute(update(Invitee).where(Invitee.full_name == "Lê Thị Bình").values(
            full_name=hostile, title="T" * 100_000, organisation="<i>" * 20_000, seat="S\n" * 5000,
            honorific="\x1b[31m"))
    pdf = _get_pdf(admin)
    whole = "\n".join(_texts(pdf))
    assert "<b>&amp; Kẻ xấu" in whole          # drawn as the characters it is, controls and bidi dropped
    assert "\x00" not in whole and "\x07" not in whole and "\u202e" not in whole and "\x1b" not in whole
    assert whole.count("X") < 300 and whole.count("T" * 30) < 5 and "…" in whole   # cut, with a mark
    assert len(pdf) <= pages_before + 1
    _assert_laid_out_cleanly(pdf)


@pytest.mark.parametrize("name, key_words", [
    ("Nguyễn Văn An", ("an", "nguyen", "van")),
    ("Lò Văn A", ("a", "lo", "van")),
    ("Nguyễn Văn An 0012", ("an", "nguyen", "van", "0012")),
    ("Đại diện Lãnh đạo Công an huyện", ("cong", "an", "huyen")),
])
def test_the_sort_key_puts_the_given_name_first(name, key_words):
    assert door_list.sort_key(name)[0] == key_words


def test_wrapping_cuts_a_text_too_long_for_its_lines_and_balances_the_rest():
    door_list_text.register_fonts()
    lines = door_list_text.wrap("X" * 10_000, door_list_text.REGULAR, 10, 100, 3)
    assert len(lines) == 3 and lines[-1].endswith("…")
    assert all(door_list_text.width_of(line, door_list_text.REGULAR, 10) <= 100 for line in lines)
    words = "Đại diện Lãnh đạo Hội Khuyến học thị trấn Phủ Thông"
    balanced = door_list_text.wrap(words, door_list_text.REGULAR, 12, 250, 3, balance=True)
    assert len(balanced) == 2 and len(balanced[-1].split()) > 1 and " ".join(balanced) == words


def test_a_thousand_invitees_make_a_door_list(app, client_as):
    db = app.extensions["kiosk.db"]
    people = many_people(1000)
    report = invitations.check_import(db, "nghin.csv", csv_bytes(people))
    assert report.ok
    invitations.apply_import(db, report, False, "test")
    pdf = _get_pdf(client_as("admin"))
    texts = _texts(pdf)
    whole = "\n".join(texts)
    assert all(row[0] in whole for row in people)
    assert all(f"Trang {n}/{len(pdf)}" in text for n, text in enumerate(texts, start=1))
    numbers = {int(n) for n in re.findall(r"^(\d+) ", whole, flags=re.M)}
    assert max(numbers) == 1000 + 36  # and the default event's 36 invitations
