"""Invitation cards: every QR in the PNGs and the PDF decodes to its invitee's code."""
from __future__ import annotations

import io
import zipfile

import pypdfium2
import zxingcpp
from PIL import Image

from checkin import invitations
from checkin.cards import CardRenderer, mm
from kiosk.storage import invitees as invitee_queries

from .conftest import ARTIFACTS


def _decode(image: Image.Image) -> list[str]:
    return sorted(result.text for result in zxingcpp.read_barcodes(image.convert("L"))
                  if result.format == zxingcpp.BarcodeFormat.QRCode)


def _codes(db) -> list[str]:
    with db.read() as session:
        return [code for _p, code in invitee_queries.list_invitees(session, 1)]


def test_every_png_card_decodes_to_its_invitees_code(app, tmp_path):
    db = app.extensions["kiosk.db"]
    out = invitations.write_cards(db, tmp_path / "cards.zip", "png")
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert len(names) == 36
        for name in names:
            image = Image.open(io.BytesIO(archive.read(name)))
            assert round(image.info["dpi"][0]) == 300
            code = name.split("-", 1)[1].removesuffix(".png")
            assert _decode(image) == [code]
    assert sorted(n.split("-", 1)[1][:-4] for n in names) == sorted(_codes(db))


def test_every_pdf_card_decodes_and_pages_are_a4_with_four_cards(app, tmp_path):
    db = app.extensions["kiosk.db"]
    out = invitations.write_cards(db, tmp_path / "cards.pdf", "pdf")
    pdf = pypdfium2.PdfDocument(str(out))
    assert len(pdf) == 9  # 36 cards, 4 a page
    width_pt, height_pt = pdf[0].get_size()
    assert abs(width_pt - 595.3) < 2 and abs(height_pt - 841.9) < 2  # A4
    found = []
    for index in range(len(pdf)):
        page = pdf[index].render(scale=300 / 72).to_pil()
        if index == 0:
            ARTIFACTS.mkdir(exist_ok=True)
            page.convert("L").resize((page.width // 3, page.height // 3)).save(ARTIFACTS / "cards-pdf-page1.png")
        decoded = _decode(page)
        assert len(decoded) == 4
        found += decoded
    assert sorted(found) == sorted(_codes(db))


def _assert_margins_empty(image: Image.Image, renderer: CardRenderer) -> None:
    """No ink between the inner frame and the text's 6 mm margin, on either side."""
    width, height = renderer.size
    frame = mm(3.6) + max(1, mm(0.15)) + 1      # just inside the grey inner frame line
    m = renderer.margin
    # Up to the margin itself, not a few pixels short: a tone mark or the horn of ư may not overhang it.
    for strip in (image.crop((frame, frame, m, height - frame)),
                  image.crop((width - m, frame, width - frame, height - frame))):
        assert strip.getextrema()[0] > 200


def test_long_names_and_titles_wrap_inside_the_card(app):
    db = app.extensions["kiosk.db"]
    info, people = invitations.card_people(db)
    renderer = CardRenderer(info)
    from checkin.cards import CardPerson
    long_person = CardPerson(code=people[0].code, honorific="Đồng chí",
                             full_name="Nguyễn Hoàng Phương Thảo Nguyên Khánh Linh Ngọc Diệp Bảo Châu",
                             title="Phó Bí thư Thường trực Huyện ủy, Chủ tịch Hội đồng nhân dân huyện, "
                                   "Trưởng Ban Chỉ đạo xây dựng xã hội học tập huyện",
                             organisation="Huyện ủy Bạch Thông, tỉnh Bắc Kạn", seat="Hàng ghế đầu, Khu đại biểu A, ghế số 12")
    image = renderer.render(long_person)
    image.save(ARTIFACTS / "card-long-name.png")
    assert image.size == renderer.size
    # The margins stay empty: nothing was drawn past the inner frame.
    _assert_margins_empty(image, renderer)
    assert _decode(image) == [people[0].code]


def test_card_download_from_the_admin_page_decodes(client_as, app):
    admin = client_as("admin")
    code = _codes(app.extensions["kiosk.db"])[0]
    with app.extensions["kiosk.db"].read() as session:
        invitee_id = invitee_queries.list_invitees(session, 1)[0][0].id
    response = admin.get(f"/admin/invitees/{invitee_id}/card.png?download=1")
    assert "attachment" in response.headers["Content-Disposition"]
    assert _decode(Image.open(io.BytesIO(response.data))) == [code]


TITLES = [
    "Phó Bí thư Thường trực Huyện ủy, Chủ tịch Hội đồng nhân dân huyện Bạch Thông",
    "Phó Trưởng phòng Giáo dục và Đào tạo huyện Bạch Thông kiêm Phó Chủ tịch Thường trực Hội Khuyến học huyện",
    "Giám đốc Trung tâm Giáo dục nghề nghiệp - Giáo dục thường xuyên huyện Bạch Thông",
    "Chủ tịch Ủy ban Mặt trận Tổ quốc Việt Nam huyện Bạch Thông",
    "Bí thư Đảng ủy, Chủ tịch Hội đồng nhân dân thị trấn Phủ Thông",
    "Hiệu trưởng Trường THCS Phủ Thông",
    "Trưởng Công an huyện Bạch Thông",
]


def test_card_text_never_ends_on_a_word_left_alone():
    """Balanced wrapping: every line fits, the words keep their order, and no block of several lines ends
    on one word by itself (greedy wrapping leaves 'Thông' alone under 'Bạch' on several of these)."""
    from PIL import ImageDraw

    from kiosk.typesetting import balanced_wrap, font, wrap
    draw = ImageDraw.Draw(Image.new("L", (10, 10)))
    widths = [mm(w) for w in (60, 70, 83)]
    lone_greedy = 0
    for style, size in (("regular", mm(3.4)), ("bold", mm(5.6)), ("bold", mm(4.4))):
        face = font(style, size)
        for text in TITLES:
            for width in widths:
                lines = balanced_wrap(draw, text, face, width)
                assert " ".join(lines) == text
                assert all(draw.textlength(line, font=face) <= width for line in lines)
                greedy = wrap(draw, text, face, width)
                assert len(lines) == len(greedy)          # as few lines as greedy wrapping needs
                if len(lines) > 1:
                    assert len(lines[-1].split()) > 1, (text, lines)
                    lone_greedy += len(greedy[-1].split()) == 1
    assert lone_greedy > 0   # the titles do exercise the case greedy wrapping gets wrong


def test_the_longest_title_is_drawn_balanced_inside_its_margin(app):
    db = app.extensions["kiosk.db"]
    info, people = invitations.card_people(db)
    renderer = CardRenderer(info)
    from checkin.cards import CardPerson
    from PIL import ImageDraw
    person = CardPerson(code=people[0].code, honorific="Bà", full_name="Hoàng Thị Phương Thảo Nguyên",
                        title=max(TITLES, key=len), organisation="Phòng Giáo dục và Đào tạo huyện Bạch Thông")
    image, blocks = renderer.render_with_lines(person)
    image.save(ARTIFACTS / "card-long-title.png")
    (_name_face, name), (face, details) = blocks
    # Greedy wrapping leaves "Nguyên" alone under "Bà Hoàng Thị Phương Thảo".
    assert len(name) == 2 and all(len(line.split()) > 1 for line in name), name
    assert len(details) >= 2 and all(len(line.split()) > 1 for line in details)
    # Every line of the block stays within the card's inner width, with its 6 mm margin either side.
    draw = ImageDraw.Draw(image)
    assert all(draw.textlength(line, font=face) <= renderer.inner for line in details)
    _assert_margins_empty(image, renderer)
    assert _decode(image) == [people[0].code]
