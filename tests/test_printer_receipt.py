"""The receipt image: exact paper width, pure 1-bit, every field, a QR that decodes; the calibration ruler."""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from printer.receipt import WIDTHS, ReceiptData, qr_image, render_calibration, render_receipt

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

SAMPLE = ReceiptData(
    receipt_no="KH-2023-0007",
    association="Hội Khuyến học huyện Bạch Thông",
    fund_name="Quỹ Khuyến học",
    donor_name="Nguyễn Thị Phương Thảo",
    organisation="Trường Tiểu học Phủ Thông, thị trấn Phủ Thông, huyện Bạch Thông",
    amount_vnd=1_005_000,
    method_label="Chuyển khoản",
    created_local=dt.datetime(2023, 10, 2, 8, 15),
    cashier_name="Hoàng Văn Bình",
    verify_url="http://192.168.1.10:5000/r/KH-2023-0007?k=ABCDEFGHIJKLMNOP",
)


def decode_qr(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image.convert("L"))]


@pytest.mark.parametrize("width", WIDTHS)
def test_receipt_is_one_crisp_image_exactly_as_wide_as_the_paper(width):
    image = render_receipt(SAMPLE, width)
    ARTIFACTS.mkdir(exist_ok=True)
    image.save(ARTIFACTS / f"receipt-{width}.png")
    assert image.mode == "1" and image.width == width
    assert 700 < image.height < 2000
    # Pure black and white: nothing between (thresholded, never dithered).
    assert set(image.convert("L").tobytes()) == {0, 255}
    # Nothing printed in the outermost dot columns (the text is wrapped by measured width).
    gray = image.convert("L")
    edge_black = sum(1 for y in range(gray.height) for x in (0, 1, width - 2, width - 1)
                     if gray.getpixel((x, y)) == 0)
    assert edge_black == 0
    assert decode_qr(image) == [SAMPLE.verify_url]


def test_copy_and_void_marks_add_a_banner_and_change_nothing_else():
    original = render_receipt(SAMPLE, 384)
    copy = render_receipt(dataclasses.replace(SAMPLE, copy_no=2), 384)
    copy.save(ARTIFACTS / "receipt-384-ban-sao.png")
    assert copy.height > original.height
    # The banner is a black band across the full width at the top.
    band_row = copy.convert("L").crop((0, 20, 384, 21))
    assert band_row.tobytes().count(0) > 300
    # Below the banner, the copy is the original receipt pixel for pixel.
    offset = copy.height - original.height
    assert copy.crop((0, offset, 384, copy.height)).tobytes() == original.tobytes()
    assert decode_qr(copy) == [SAMPLE.verify_url]


def test_rendering_is_deterministic():
    assert render_receipt(SAMPLE, 576).tobytes() == render_receipt(SAMPLE, 576).tobytes()


def test_optional_fields_are_left_out_and_long_names_wrap():
    short = render_receipt(dataclasses.replace(SAMPLE, organisation=None, cashier_name=None), 576)
    long_name = render_receipt(dataclasses.replace(
        SAMPLE, donor_name="Công ty Trách nhiệm hữu hạn Thương mại và Dịch vụ Xây dựng Phủ Thông Bắc Kạn"), 384)
    assert short.height < render_receipt(SAMPLE, 576).height
    assert long_name.height > render_receipt(SAMPLE, 384).height
    assert long_name.width == 384


def test_text_is_normalised_before_drawing():
    nfd = dataclasses.replace(SAMPLE, donor_name="Nguye\u0302\u0303n Thi\u0323 Phu\u031bo\u031bng Tha\u0309o")
    assert render_receipt(nfd, 576).tobytes() == render_receipt(SAMPLE, 576).tobytes()


def test_qr_modules_are_square_and_whole_dots():
    image = qr_image("http://x/r/KH-2023-0001?k=AAAA", 5)
    assert image.width == image.height and image.width % 5 == 0
    assert set(image.tobytes()) == {0, 255}


@pytest.mark.parametrize("width", WIDTHS)
def test_calibration_ruler_has_a_tick_every_8_dots(width):
    image = render_calibration(width)
    image.save(ARTIFACTS / f"calibration-{width}.png")
    assert image.width == width and image.mode == "1"
    gray = image.convert("L")
    # Find the ruler's baseline: below the page's frame, the first row black across the width.
    baseline = next(y for y in range(4, gray.height)
                    if sum(1 for x in range(width) if gray.getpixel((x, y)) == 0) > width * 0.95)
    probe = baseline + 8  # below the baseline only the ticks are black
    row = [gray.getpixel((x, probe)) == 0 for x in range(width)]
    starts = [x for x in range(width) if row[x] and (x == 0 or not row[x - 1])]
    assert starts[: width // 8] == list(range(0, width, 8))[: len(starts)]
    assert len([s for s in starts if s < width - 2]) == width // 8
    assert row[width - 1], "the last dot column is marked"


def test_widths_must_be_whole_bytes():
    with pytest.raises(ValueError):
        render_receipt(SAMPLE, 380)
