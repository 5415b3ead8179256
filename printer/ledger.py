"""Donation rules: what a valid gift is, receipt numbers, verification codes, voids, totals (no Flask, no DB)."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from kiosk.vietnamese import fold, format_date_short, format_time, format_vnd, nfc

from .amount_words import amount_in_words
from .money import MAX_AMOUNT

METHODS = {"cash": "Tiền mặt", "transfer": "Chuyển khoản"}
MAX_NAME = 200
MAX_NOTE = 500
MAX_COLLECTOR = 80
MIN_VOID_REASON = 3
RECENT_DONORS_ON_SCREEN = 12
# Screens (which anyone can watch) show the fund in steps: the total and the names change only after three
# more changes to the ledger (a gift or a void), so subtracting two totals never isolates what one named
# donor gave (or what a voided gift was). The desk and the MC page see the exact figures.
PUBLISH_EVERY = 3

MESSAGES = {
    "bad_request": "Yêu cầu không hợp lệ.",
    "donor_required": "Chưa nhập tên người (hoặc đơn vị) ủng hộ.",
    "collector_required": "Chưa có tên người thu tiền: hãy nhập tên người thu trước khi in biên nhận.",
    "too_long": "Nội dung nhập quá dài.",
    "amount_required": "Chưa nhập số tiền.",
    "amount_not_integer": "Số tiền phải là một số nguyên đồng.",
    "amount_not_positive": "Số tiền phải lớn hơn 0.",
    "amount_too_large": "Số tiền quá lớn (tối đa 999.999.999.999 đ).",
    "method_invalid": "Hình thức nộp phải là tiền mặt hoặc chuyển khoản.",
    "not_found": "Không tìm thấy biên nhận này.",
    "already_voided": "Biên nhận này đã bị hủy trước đó.",
    "voided": "Biên nhận đã bị hủy: không in lại được.",
    "reason_required": "Hãy ghi lý do hủy (ít nhất 3 ký tự).",
    "job_not_found": "Không tìm thấy lệnh in này.",
    "job_not_failed": "Chỉ in lại được lệnh in đã lỗi (lệnh này đang chờ, đang in hoặc đã in xong).",
    "bad_width": "Khổ in phải là 384, 512 hoặc 576 điểm.",
    "calibration_busy": "Bản in thử trước còn đang chờ in. Hãy đợi nó in xong.",
    "calibration_limit": "Đã in thử nhiều lần trong 10 phút qua. Hãy kiểm tra máy in rồi thử lại sau ít phút.",
    "reprint_pending": "Bản in lại trước của biên nhận này còn đang chờ in. Hãy đợi nó in xong.",
}


class LedgerError(ValueError):
    """A donation action the rules refuse; `code` is short and stable, `message` is Vietnamese."""

    def __init__(self, code: str):
        self.code = code
        self.message = MESSAGES[code]
        super().__init__(code)


@dataclass(frozen=True)
class DonationInput:
    """A validated gift, ready to be recorded."""

    donor_name: str
    organisation: str | None
    amount_vnd: int
    method: str
    note: str | None
    show_on_screen: bool
    cashier_name: str | None
    request_id: str | None


def _text(value, limit: int, required: bool = False, code: str = "bad_request") -> str | None:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise LedgerError("bad_request")
    text = nfc(value)
    if required and not text:
        raise LedgerError(code)
    if len(text) > limit:
        raise LedgerError("too_long")
    return text or None


def collector_name(value) -> str:
    """The person collecting at the desk ("Người thu"), as printed under the signature; required."""
    return _text(value, MAX_COLLECTOR, required=True, code="collector_required")


def validate_donation(body: dict, collector: str | None = None) -> DonationInput:
    """Check a `POST /api/donations` body; raise LedgerError with the first problem found. The collector
    is the body's `cashier_name`, else the desk session's (`collector`): a receipt never prints without."""
    if not isinstance(body, dict):
        raise LedgerError("bad_request")
    donor = _text(body.get("donor_name"), MAX_NAME, required=True, code="donor_required")
    amount = body.get("amount_vnd")
    if amount is None or amount == "":
        raise LedgerError("amount_required")
    # bool is an int in Python, and a float would hide rounding: money is an exact integer of đồng.
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise LedgerError("amount_not_integer")
    if amount <= 0:
        raise LedgerError("amount_not_positive")
    if amount > MAX_AMOUNT:
        raise LedgerError("amount_too_large")
    method = body.get("method") or "cash"
    if method not in METHODS:
        raise LedgerError("method_invalid")
    show = body.get("show_on_screen", False)
    if not isinstance(show, bool):
        raise LedgerError("bad_request")
    request_id = body.get("request_id")
    if request_id is not None and (not isinstance(request_id, str) or not 8 <= len(request_id) <= 64):
        raise LedgerError("bad_request")
    cashier = body.get("cashier_name")
    cashier = collector_name(cashier if isinstance(cashier, str) and nfc(cashier) else collector)
    return DonationInput(
        donor_name=donor,
        organisation=_text(body.get("organisation"), MAX_NAME),
        amount_vnd=amount,
        method=method,
        note=_text(body.get("note"), MAX_NOTE),
        show_on_screen=show,
        cashier_name=cashier,
        request_id=request_id,
    )


def check_void(voided_at, reason) -> str:
    """The cleaned void reason, if this donation may be voided now."""
    if voided_at is not None:
        raise LedgerError("already_voided")
    text = nfc(reason) if isinstance(reason, str) else ""
    if len(text) < MIN_VOID_REASON:
        raise LedgerError("reason_required")
    if len(text) > MAX_NOTE:
        raise LedgerError("too_long")
    return text


def check_reprint(voided_at) -> None:
    """A voided receipt is never printed again (it would look valid)."""
    if voided_at is not None:
        raise LedgerError("voided")


def receipt_number(prefix: str, seq: int) -> str:
    """KH-2023-0001: the event's prefix and a continuous sequence, at least four digits."""
    return f"{prefix}-{seq:04d}"


def search_text(receipt_no: str, donor_name: str, organisation: str | None, note: str | None,
                amount_vnd: int) -> str:
    """Folded text the ledger search matches: names, number, and the amount written both ways."""
    parts = [receipt_no, donor_name, organisation or "", note or "", str(amount_vnd),
             format_vnd(amount_vnd)]
    return " ".join(fold(p) for p in parts if p)


def _mac_key(secret_key: str, rehearsal: bool = False) -> bytes:
    # A key of its own, so a receipt code can never double as a session signature; and one for rehearsals:
    # the copy carries the real secret key, but a practice receipt's code must never verify as real.
    label = b"kiosk rehearsal receipt verification v1" if rehearsal else b"kiosk receipt verification v1"
    return hmac.new(secret_key.encode(), label, hashlib.sha256).digest()


def receipt_mac(secret_key: str, receipt_no: str, amount_vnd: int, rehearsal: bool = False) -> str:
    """The code on a receipt's QR: 80 bits of HMAC-SHA256 over its number and amount, base32."""
    message = f"{receipt_no}|{amount_vnd}".encode()
    digest = hmac.new(_mac_key(secret_key, rehearsal), message, hashlib.sha256).digest()[:10]
    return base64.b32encode(digest).decode("ascii")


def mac_matches(secret_key: str, receipt_no: str, amount_vnd: int, given: str | None,
                rehearsal: bool = False) -> bool:
    """True when `given` is the receipt's code (constant-time)."""
    if not given:
        return False
    # As bytes: compare_digest refuses str with non-ASCII characters (anyone can type the address).
    return hmac.compare_digest(receipt_mac(secret_key, receipt_no, amount_vnd, rehearsal).encode(),
                               given.strip().upper().encode("utf-8", "replace"))


def verify_url(base_url: str, receipt_no: str, mac: str) -> str:
    """The address printed in the receipt's QR code."""
    return f"{base_url.rstrip('/')}/r/{receipt_no}?k={mac}"


def local_time(moment: dt.datetime, timezone: str) -> dt.datetime:
    """A stored UTC time in the event's time zone."""
    return moment.astimezone(ZoneInfo(timezone))


def describe(donation, timezone: str) -> dict:
    """A donation as JSON for the desk and the ledger."""
    created = local_time(donation.created_at, timezone)
    voided = local_time(donation.voided_at, timezone) if donation.voided_at else None
    return {
        "receipt_no": donation.receipt_no,
        "donor_name": donation.donor_name,
        "organisation": donation.organisation,
        "amount_vnd": donation.amount_vnd,
        "amount_label": format_vnd(donation.amount_vnd),
        "amount_words": amount_in_words(donation.amount_vnd),
        "method": donation.method,
        "method_label": METHODS.get(donation.method, donation.method),
        "note": donation.note,
        "show_on_screen": donation.show_on_screen,
        "cashier_name": donation.cashier_name,
        "created_at": donation.created_at.isoformat(),
        "created_label": f"{format_time(created)} {format_date_short(created)}",
        "voided": donation.voided_at is not None,
        "voided_at": donation.voided_at.isoformat() if donation.voided_at else None,
        "voided_label": f"{format_time(voided)} {format_date_short(voided)}" if voided else None,
        "void_reason": donation.void_reason,
        "reprint_count": donation.reprint_count,
    }


def totals(rows: list[tuple[str, bool, int, int]]) -> dict:
    """Ledger totals from (method, voided, count, sum) rows: by method, overall, and voids apart."""
    by_method = {method: {"count": 0, "total_vnd": 0} for method in METHODS}
    voided = {"count": 0, "total_vnd": 0}
    for method, is_voided, count, amount in rows:
        bucket = voided if is_voided else by_method.setdefault(method, {"count": 0, "total_vnd": 0})
        bucket["count"] += int(count)
        bucket["total_vnd"] += int(amount or 0)
    count = sum(b["count"] for b in by_method.values())
    total = sum(b["total_vnd"] for b in by_method.values())
    for method, bucket in by_method.items():
        bucket["label"] = METHODS.get(method, method)
        bucket["total_label"] = format_vnd(bucket["total_vnd"])
    voided["total_label"] = format_vnd(voided["total_vnd"])
    return {"count": count, "total_vnd": total, "total_label": format_vnd(total),
            "by_method": by_method, "voided": voided}


def published_gifts(history) -> list:
    """The gifts the screens count now: every change to the ledger (a gift, a void) in the order it happened,
    cut at the last multiple of PUBLISH_EVERY; gifts given within the cut and not voided within it.
    `history` rows have seq, created_at and voided_at."""
    changes = sorted([(gift.created_at, 0, gift.seq) for gift in history] +
                     [(gift.voided_at, 1, gift.seq) for gift in history if gift.voided_at is not None])
    published = changes[:len(changes) - len(changes) % PUBLISH_EVERY]
    given = {seq for _at, kind, seq in published if kind == 0}
    voided = {seq for _at, kind, seq in published if kind == 1}
    return [gift for gift in history if gift.seq in given and gift.seq not in voided]


def screen_part(summary: dict, recent: list, fund_name: str | None) -> dict:
    """The `donations` part of the screens' state: the running total and consenting donors, newest first."""
    return {
        "fund_name": fund_name or "Quỹ Khuyến học",
        "count": summary["count"],
        "total_vnd": summary["total_vnd"],
        "total_label": summary["total_label"],
        "total_words": amount_in_words(summary["total_vnd"]) if summary["total_vnd"] else None,
        # Public (any screen can read it): names of donors who agreed, never what each one gave.
        "recent_donors": [{"name": d.donor_name, "organisation": d.organisation} for d in recent],
    }
