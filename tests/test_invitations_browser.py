"""Real Chromium: the organiser uploads the list, previews and downloads a card, exports all cards."""
from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from .conftest import browser_login, screenshot
from .invitee_files import xlsx_bytes

pytestmark = pytest.mark.browser


def _login_admin(page, live_server):
    browser_login(page, live_server, "admin", "/admin/invitees")


def test_upload_a_list_then_download_a_card(page, live_server, tmp_path):
    _login_admin(page, live_server)
    upload = tmp_path / "danh-sach.xlsx"
    upload.write_bytes(xlsx_bytes([["Hoàng Thị Thu Hà", "Bà", "Phó Trưởng phòng", "Phòng Văn hóa và Thông tin",
                                    "", 5, "Khu B, ghế 2", "0911222333", ""]]))
    page.set_input_files("#import-file", str(upload))
    page.get_by_role("button", name="Nhập", exact=True).click()
    page.wait_for_selector("text=Đã nhập “danh-sach.xlsx”: thêm 1, cập nhật 0.")
    screenshot(page, "admin-invitees")
    page.get_by_role("link", name="Bà Hoàng Thị Thu Hà").click()
    page.wait_for_selector("img.card-image")
    # decode() waits for the image to load, however busy the machine is.
    width = page.locator("img.card-image").evaluate("img => img.decode().then(() => img.naturalWidth)")
    assert width > 1000
    screenshot(page, "admin-invitee-edit")
    with page.expect_download() as info:
        page.get_by_role("link", name="Tải thẻ (PNG)").click()
    path = info.value.path()
    image = Image.open(io.BytesIO(open(path, "rb").read()))
    decoded = [r.text for r in zxingcpp.read_barcodes(image.convert("L"))]
    code = page.locator("ul.codes .code").first.inner_text().replace("-", "")
    assert decoded == [code]


def test_export_all_cards_shows_progress_and_downloads_a_pdf(page, live_server):
    _login_admin(page, live_server)
    with page.expect_download(timeout=60000) as info:
        page.get_by_role("button", name="Tải PDF (A4, 4 thẻ/trang)").click()
    assert page.locator("#export-progress").is_visible()
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"
    assert "36 thẻ" in page.locator("#export-text").inner_text()


def test_an_import_naming_an_offices_people_offers_one_click_withdrawal(page, live_server, tmp_path):
    _login_admin(page, live_server)
    upload = tmp_path / "Danh sách bổ sung.xlsx"
    upload.write_bytes(xlsx_bytes([
        ["Hoàng Văn Sáng", "Đồng chí", "Trưởng Công an huyện", "Công an huyện Bạch Thông", "", "", "", "", ""],
        ["Ma Thị Hiền", "Bà", "Giám đốc", "Trung tâm Văn hóa, Thể thao và Truyền thông huyện Bạch Thông",
         "", "", "", "", ""]]))
    page.set_input_files("#import-file", str(upload))
    page.get_by_role("button", name="Nhập", exact=True).click()
    page.wait_for_selector("text=Thu hồi thư mời “Đại diện …” của các đơn vị")
    boxes = page.locator("table.offices input[type=checkbox]")
    assert boxes.count() == 2 and all(boxes.nth(i).is_checked() for i in range(2))
    screenshot(page, "admin-import-offices")
    page.get_by_role("button", name="Thu hồi các thư mời đại diện đã chọn").click()
    page.wait_for_selector("text=Đã thu hồi 2 thư mời đại diện đơn vị")
    listing = page.locator("table.invitees").inner_text()
    assert "Đại diện Lãnh đạo Công an huyện" not in listing and "Đồng chí Hoàng Văn Sáng" in listing
    # Office invitations still standing are listed as written, never "Đồng chí Đại diện …".
    assert "Đại diện Thường trực Huyện ủy" in listing and "Đồng chí Đại diện" not in listing
