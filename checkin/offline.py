"""The rules for scans a gate judged on its own copy while offline, and for ticks on the paper list.

When such a scan reaches the server its time is the admission's time: the earlier of two admissions
stays, the later becomes "already checked in". Whenever a gate let someone in (its verdict was green or
purple) who was already in, or whose card the server had revoked, that is a conflict: it is recorded and
shown to every gate and the organiser, never counted as a second person.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from kiosk.vietnamese import format_time

from .gate import ALREADY, OK, REVOKED

SOURCES = ("offline", "paper")
SOURCE_LABELS = {"offline": "ngoại tuyến", "paper": "từ danh sách giấy", None: "trực tuyến"}
# Verdicts after which the gate let the person in.
LET_IN = ("ok", "vip")
# How far a device's corrected clock is believed: a scan "from the future" happened now, and one from
# more than a day ago is not from this morning's outage.
MAX_AHEAD = dt.timedelta(minutes=2)
MAX_BEHIND = dt.timedelta(hours=24)
DOUBLE, REVOKED_CARD = "double", "revoked"


def scan_time(claimed: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """The admission time for an offline scan: the device's (corrected) time, or now when it is ahead."""
    if claimed is None or claimed > now + MAX_AHEAD:
        return now
    return min(claimed, now)


def is_stale(claimed: dt.datetime, now: dt.datetime) -> bool:
    """A scan kept on a device for more than a day is not from this outage (yesterday's rehearsal, a phone
    left in a drawer): logged, never admitted."""
    return claimed < now - MAX_BEHIND


@dataclass(frozen=True)
class Entry:
    """One admission of a person: when, at which gate, how it reached the server."""

    at: dt.datetime
    gate: str | None
    source: str | None

    def describe(self, zone: ZoneInfo) -> str:
        """'07h05 tại Cổng phụ (ngoại tuyến)'."""
        where = f" tại {self.gate}" if self.gate else ""
        return f"{format_time(self.at.astimezone(zone))}{where} ({SOURCE_LABELS.get(self.source, self.source)})"

    def as_json(self, zone: ZoneInfo) -> dict:
        """For the gates and the dashboard."""
        return {"at": self.at.isoformat(), "label": format_time(self.at.astimezone(zone)), "gate": self.gate,
                "source": self.source, "source_label": SOURCE_LABELS.get(self.source, self.source)}


NOT_ADMITTED = "not_admitted"


STALE = "stale"   # the verdict a scan older than MAX_BEHIND is given on arrival


def let_in(source: str | None, local_verdict: str | None) -> bool:
    """Whether a scan may admit: a live one always, an offline one only if the gate let the guest in then."""
    return source != "offline" or local_verdict in LET_IN


def not_admitted_message(who: str, local_verdict: str | None) -> str:
    """For a synced scan that admits nobody: the offline gate turned the guest away, or it is too old."""
    if local_verdict == STALE:
        return f"Lượt quét {who} đã nằm trên máy cổng hơn một ngày, nên không được tính cho buổi lễ này."
    return (f"Khi mất mạng, cổng đã không cho {who} vào. "
            "Nếu khách đã vào bằng lối khác, hãy ghi nhận ở bàn lễ tân.")


def conflict_kind(local_verdict: str | None, source: str | None, outcome: str, displaced: Entry | None) -> str | None:
    """DOUBLE or REVOKED_CARD when an offline gate let in someone it should not have; None otherwise.

    A paper tick is no conflict: staff write on paper whoever came, and many also scanned once the network
    came back."""
    if source != "offline" or local_verdict not in LET_IN:
        return None
    if outcome == REVOKED:
        return REVOKED_CARD
    if outcome == ALREADY or (outcome == OK and displaced is not None):
        return DOUBLE
    return None


def conflict_message(kind: str, who: str, first: Entry | None, second: Entry, zone: ZoneInfo) -> str:
    """The sentence the gates and the dashboard show for a conflict."""
    if kind == REVOKED_CARD:
        return (f"{who} được cho vào lúc {second.describe(zone)} bằng thư mời đã bị thu hồi. "
                "Hãy báo ban tổ chức.")
    assert first is not None
    return (f"{who} được cho vào hai lần: lúc {first.describe(zone)} và lúc {second.describe(zone)}. "
            f"Chỉ tính một lần (lần đầu); hãy kiểm tra lại thư mời.")
