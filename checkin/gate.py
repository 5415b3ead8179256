"""The gate's decisions and words (plain Python): what a scan means and what the screen says."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from kiosk.vietnamese import format_time

from . import naming
from .codes import REASONS as CODE_REASONS

# The contract's outcomes (DESIGN.md, POST /api/checkin).
OK, ALREADY, UNKNOWN, REVOKED, INVALID = "ok", "already_checked_in", "unknown", "revoked", "invalid"


class CheckInError(ValueError):
    """A gate action refused; `code` is short and stable, tests assert on it."""

    def __init__(self, code: str, message: str | None = None):
        super().__init__(code)
        self.code = code
        self.message = message or MESSAGES.get(code, code)


MESSAGES = {
    "not_found": "Không tìm thấy khách này.",
    "not_checked_in": "Khách này chưa được ghi nhận đã đến, không có gì để huỷ.",
    "reason_required": "Hãy ghi lý do huỷ lượt vào.",
    "name_required": "Hãy nhập họ và tên khách.",
    "group_not_walk_in": "Nhóm này không nhận khách vãng lai.",
}


@dataclass(frozen=True)
class Guest:
    """What the gate needs to know about an invitee to decide and to greet."""

    id: int
    full_name: str
    honorific: str | None
    title: str | None
    organisation: str | None
    group_name: str
    seat: str | None
    vip: bool
    substitute_name: str | None
    checked_in_at: dt.datetime | None
    checked_in_gate: str | None
    removed: bool
    checked_in_source: str | None = None


def is_vip(group_is_vip: bool, protocol_rank: int | None, vip_max_rank: int) -> bool:
    """VIP: in a VIP group, or ranked at or above the event's threshold (rank 1 is highest)."""
    return bool(group_is_vip or (protocol_rank is not None and vip_max_rank and protocol_rank <= vip_max_rank))


def addressed(guest: Guest) -> str:
    """'Đồng chí Nguyễn Văn A' (or 'Đại biểu <office>') — as the MC and the welcome screen say it."""
    return naming.addressed(guest.honorific, guest.full_name)


def decide(found: bool, revoked_reason: str | None, guest: Guest | None, at: dt.datetime | None = None) -> str:
    """The outcome of a well-formed code scanned at `at` (default: now), before the atomic admission
    (which may still say ALREADY). A scan made offline before the recorded admission is the earlier
    arrival: it is OK, and takes the admission's place."""
    if not found or guest is None:
        return UNKNOWN
    if revoked_reason is not None or guest.removed:
        return REVOKED
    if guest.checked_in_at is not None and (at is None or guest.checked_in_at <= at):
        return ALREADY
    return OK


def message(outcome: str, guest: Guest | None, zone: ZoneInfo, *, reason: str | None = None,
            first_at: dt.datetime | None = None, first_gate: str | None = None) -> str:
    """The Vietnamese sentence the gate shows (and reads out) for an outcome."""
    if outcome == OK and guest is not None:
        text = f"Mời {addressed(guest)} vào."
        if guest.vip:
            text += " Đại biểu: hãy đón và đưa vào chỗ ngồi."
        return text
    if outcome == ALREADY and guest is not None:
        when = format_time(first_at.astimezone(zone)) if first_at else "trước đó"
        where = f" tại {first_gate}" if first_gate else ""
        return f"{addressed(guest)} đã vào lúc {when}{where}."
    if outcome == REVOKED:
        return f"Thư mời đã bị thu hồi: {reason or 'thư mời đã bị huỷ'}. Mời khách đến bàn lễ tân."
    if outcome == UNKNOWN:
        return "Không tìm thấy mã này trong danh sách khách mời. Mời khách đến bàn lễ tân."
    return CODE_REASONS.get(reason or "invalid", CODE_REASONS["invalid"])


def is_late(arrived_at: dt.datetime | None, event_start: dt.datetime) -> bool:
    """Arrived after the ceremony began (the MC marks them in the roster)."""
    return arrived_at is not None and arrived_at > event_start
