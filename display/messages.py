"""The HTTP status and Vietnamese sentence for each refusal code of the show and the programme editor."""
from __future__ import annotations

from kiosk import auth

# code: (HTTP status, message shown to the MC or the organiser)
ERRORS: dict[str, tuple[int, str]] = {
    "stale_index": (409, "Chương trình vừa được chuyển sang mục khác (bấm hai lần hoặc từ máy khác). "
                         "Màn hình đã cập nhật, hãy kiểm tra rồi bấm lại nếu cần."),
    "at_end": (409, "Đang ở mục cuối cùng của chương trình."),
    "at_start": (409, "Chương trình chưa bắt đầu, không còn mục nào trước đó."),
    "out_of_range": (400, "Không có mục này trong chương trình."),
    "empty_programme": (409, "Chương trình chưa có mục nào."),
    "already_running": (409, "Chương trình đang diễn ra."),
    "not_started": (409, "Chương trình chưa bắt đầu."),
    "no_slide": (409, "Mục đang diễn ra không có trang chiếu riêng."),
    "too_long": (400, "Nội dung quá dài."),
    "bad_view": (400, "Chế độ hiển thị không hợp lệ (máy chiếu, sảnh hoặc chào đón)."),
    "bad_screen": (400, "Mã màn hình không hợp lệ."),
    "unknown_action": (404, "Không có thao tác này."),
    "bad_time": (400, "Giờ không hợp lệ (viết dạng 07:30 hoặc 07h30)."),
    "end_before_start": (400, "Giờ kết thúc phải sau giờ bắt đầu."),
    "content_required": (400, "Vui lòng nhập nội dung của mục."),
    "bad_slide": (400, "Trang chiếu chỉ có thể là danh sách đại biểu hoặc tổng quyên góp."),
    "bad_order": (400, "Thứ tự mới phải liệt kê mỗi mục đúng một lần."),
    "unknown_item": (404, "Không tìm thấy mục này trong chương trình."),
    "item_is_current": (409, "Không thể xóa mục đang diễn ra. Hãy chuyển sang mục khác trước."),
    "bad_request": (400, auth.MESSAGES["bad_request"]),
}


def error(code: str, **extra):
    """The JSON error response for a refusal code: {"error": code, "message": vi, ...extra}."""
    status, message = ERRORS.get(code, (400, auth.MESSAGES["bad_request"]))
    return auth.api_error(code, status, message, **extra)
