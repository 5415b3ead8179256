"""The after-event report as plain tables: what the office owes the district and the province."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from checkin.naming import listed_honorific
from checkin.offline import SOURCE_LABELS

from . import official
from .storage import Database
from .storage import events as event_queries
from .storage import report as queries
from .vietnamese import format_date_long, format_date_short, format_time

TITLE = "Báo cáo kết quả tổ chức Lễ khai mạc Tuần lễ hưởng ứng học tập suốt đời năm 2023"
METHODS = {"cash": "Tiền mặt", "transfer": "Chuyển khoản"}
OUTCOMES = {"ok": "Cho vào", "already_checked_in": "Đã vào trước đó", "unknown": "Không có trong danh sách",
            "revoked": "Thư mời đã thu hồi", "invalid": "Mã không hợp lệ", "undone": "Huỷ lượt vào",
            "double": "Cho vào hai lần", "not_admitted": "Cổng không cho vào (mất mạng)"}
KINDS = {"scan": "Quét mã", "search": "Tìm tên", "walk_in": "Khách vãng lai", "undo": "Huỷ lượt vào",
         "conflict": "Xung đột (mất mạng)"}


class Money(int):
    """An amount in đồng: written with the money format wherever it lands in a sheet."""


@dataclass
class Table:
    """A sheet: Vietnamese title, headers, rows, and which columns hold money, times or numbers."""

    key: str
    title: str
    headers: list[str]
    rows: list[list] = field(default_factory=list)
    money_columns: tuple[int, ...] = ()
    datetime_columns: tuple[int, ...] = ()
    widths: tuple[int, ...] = ()
    totals: list | None = None


@dataclass
class Report:
    """Everything the report says: summary figures and the detailed tables."""

    title: str
    organiser: str
    host_unit: str
    event_title: str
    event_when: str
    venue: str
    generated: str
    summary: list[tuple[str, object]]
    groups: list[dict]
    programme: list[dict]
    donations_count: int
    donations_total: int
    donations_by_method: dict[str, int]
    tables: list[Table]
    # The official document's frame: "Số: …/BC-PGDĐT", "Bạch Thông, ngày …", who signs, who receives it.
    superior_lines: list[str] = field(default_factory=list)
    unit_lines: list[str] = field(default_factory=list)
    number_line: str = ""
    place_date: str = ""
    signer: str = ""
    attendance: dict = field(default_factory=dict)


def programme_runs(db: Database) -> dict[int, dt.datetime]:
    """When each programme item actually started, from the show state the MC drove."""
    from display.push import load
    with db.read() as session:
        _event, _agenda, show = load(session)
    return {item_id: run.started_at for item_id, run in show.runs.items()}


def _local(moment: dt.datetime | None, zone: ZoneInfo) -> dt.datetime | None:
    """Local naive time for spreadsheets (Excel has no time zones)."""
    return moment.astimezone(zone).replace(tzinfo=None) if moment else None


def build(db: Database, now: dt.datetime) -> Report:
    """Read the database and lay out every table of the report."""
    runs = programme_runs(db)
    with db.read() as session:
        event = event_queries.current_event(session)
        zone = ZoneInfo(event.timezone)
        people = queries.people(session, event.id)
        log = queries.scan_log(session, event.id)
        gifts = queries.donations(session, event.id)
        count, total = queries.donation_total(session, event.id)
        agenda = event_queries.agenda_items(session, event.id)

    group_rows: dict[str, dict] = {}
    # STT counts the rows; the protocol rank is the office's own order (and may be empty or repeated).
    delegates = Table("dai-bieu", "Đại biểu",
                      ["STT", "Thứ tự nghi thức", "Danh xưng", "Họ và tên", "Chức vụ", "Đơn vị", "Nhóm", "Khu vực/ghế",
                       "Điện thoại", "Tình trạng", "Giờ đến", "Cổng", "Ghi nhận", "Người đi thay", "Ghi chú"],
                      datetime_columns=(10,), widths=(6, 10, 11, 28, 28, 34, 34, 14, 13, 14, 18, 12, 16, 22, 20))
    for person, group in people:
        stats = group_rows.setdefault(group.key, {"name": group.name, "invited": 0, "present": 0, "walk_ins": 0,
                                                  "rank": group.protocol_rank, "kind": group.kind})
        if person.removed_at is None:
            if person.is_walk_in:
                stats["walk_ins"] += 1 if person.checked_in_at else 0
            else:
                stats["invited"] += 1
                stats["present"] += 1 if person.checked_in_at else 0
        status = ("Đã huỷ thư mời" if person.removed_at else "Vãng lai" if person.is_walk_in
                  else "Có mặt" if person.checked_in_at else "Vắng")
        delegates.rows.append([len(delegates.rows) + 1, person.protocol_rank,
                               listed_honorific(person.honorific, person.full_name), person.full_name, person.title,
                               person.organisation, group.name, person.seat, person.phone, status,
                               _local(person.checked_in_at, zone), person.checked_in_gate,
                               SOURCE_LABELS.get(person.checked_in_source) if person.checked_in_at else None,
                               person.substitute_name, person.note])

    scans = Table("nhat-ky-quet", "Nhật ký quét",
                  ["STT", "Thời gian", "Loại", "Kết quả", "Khách", "Mã", "Dữ liệu quét", "Cổng", "Vai trò",
                   "Máy", "Lý do", "Ghi nhận", "Giờ quét thực tế"], datetime_columns=(1, 12),
                  widths=(7, 19, 16, 22, 30, 20, 26, 12, 10, 15, 30, 16, 19))
    for number, (row, name) in enumerate(log, start=1):
        # An offline scan or a paper tick reached the server later: "Thời gian" is when it did, the last
        # column when it happened (the admission's time).
        scans.rows.append([number, _local(row.at, zone), KINDS.get(row.kind, row.kind),
                           OUTCOMES.get(row.outcome, row.outcome), name, row.code, row.raw, row.gate, row.operator,
                           row.client_addr, row.reason, SOURCE_LABELS.get(row.source) if row.source else None,
                           _local(row.scanned_at, zone)])

    by_method: dict[str, int] = {}
    ledger = Table("ung-ho", "Ủng hộ",
                   ["STT", "Số biên nhận", "Thời gian", "Người ủng hộ", "Đơn vị/địa chỉ", "Số tiền (đ)", "Hình thức",
                    "Ghi chú", "Người thu", "Huỷ", "Lý do huỷ", "Số lần in lại"],
                   money_columns=(5,), datetime_columns=(2,), widths=(6, 15, 18, 28, 30, 17, 14, 24, 18, 9, 24, 10))
    for gift in gifts:
        if gift.voided_at is None:
            by_method[METHODS.get(gift.method, gift.method)] = \
                by_method.get(METHODS.get(gift.method, gift.method), 0) + gift.amount_vnd
        ledger.rows.append([len(ledger.rows) + 1, gift.receipt_no, _local(gift.created_at, zone), gift.donor_name,
                            gift.organisation,
                            gift.amount_vnd, METHODS.get(gift.method, gift.method), gift.note,
                            gift.cashier_name,   # the person; never the role key
                            "Đã huỷ" if gift.voided_at else "", gift.void_reason, gift.reprint_count])
    ledger.totals = [None, None, None, "Tổng cộng (không tính biên nhận đã huỷ)", None, Money(total), None, None,
                     None, None, None, None]

    programme_rows, plan = [], []
    for index, item in enumerate(agenda):
        actual = runs.get(item.id)
        following = [runs.get(later.id) for later in agenda[index + 1:] if runs.get(later.id)]
        plan.append({"no": index + 1, "planned": f"{format_time(item.planned_start.astimezone(zone))}"
                     + (f"–{format_time(item.planned_end.astimezone(zone))}" if item.planned_end else ""),
                     "actual": format_time(actual.astimezone(zone)) if actual else "",
                     "content": item.content, "performer": item.performer or ""})
        programme_rows.append([index + 1, _local(item.planned_start, zone), _local(item.planned_end, zone),
                               _local(actual, zone), _local(min(following) if following and actual else None, zone),
                               item.content, item.performer])
    programme = Table("chuong-trinh", "Chương trình",
                      ["STT", "Bắt đầu (kế hoạch)", "Kết thúc (kế hoạch)", "Bắt đầu (thực tế)",
                       "Kết thúc (thực tế)", "Nội dung", "Thực hiện"],
                      datetime_columns=(1, 2, 3, 4), widths=(6, 18, 18, 18, 18, 60, 34), rows=programme_rows)

    groups = sorted(group_rows.values(), key=lambda g: g["rank"])
    invited = sum(g["invited"] for g in groups)
    present = sum(g["present"] for g in groups)
    walk_ins = sum(g["walk_ins"] for g in groups)
    # The office reports the school's own people apart (the event file's `kind` says which groups).
    staff = sum(g["walk_ins"] + g["present"] for g in groups if g["kind"] == "staff")
    students = sum(g["walk_ins"] + g["present"] for g in groups if g["kind"] == "students")
    start = event.starts_at.astimezone(zone)
    sources = Counter(p.checked_in_source for p, _g in people
                      if p.checked_in_at and p.removed_at is None and p.checked_in_source)
    conflicts = sum(1 for row, _name in log if row.kind == "conflict")
    summary_pairs = [
        ("Sự kiện", event.title), ("Thời gian", f"{format_time(start)}, {format_date_long(start)}"),
        ("Địa điểm", event.venue + (f" ({event.address})" if event.address else "")),
        ("Khách mời được mời", invited), ("Khách mời có mặt", present), ("Khách vãng lai", walk_ins),
        ("Cán bộ, giáo viên, nhân viên nhà trường", staff), ("Học sinh", students),
        ("Tổng số người đã đến", present + walk_ins),
        # Only on a day the Wi-Fi dropped: how many admissions came from offline gates or the paper list.
        *[(label, n) for label, n in (
            ("Trong đó ghi nhận khi mất mạng (ngoại tuyến)", sources.get("offline", 0)),
            ("Trong đó ghi nhận từ danh sách giấy", sources.get("paper", 0)),
            ("Xung đột khi mất mạng (cho vào hai lần, thư mời đã thu hồi)", conflicts)) if n],
        ("Số lượt ủng hộ (không tính biên nhận đã huỷ)", count), ("Tổng tiền ủng hộ", Money(total)),
        *[(f"Ủng hộ bằng {method.lower()}", Money(amount)) for method, amount in sorted(by_method.items())],
        ("Lập lúc", f"{format_time(now.astimezone(zone))} ngày {format_date_short(now.astimezone(zone))}"),
    ]
    summary = Table("tong-hop", "Tổng hợp", ["Nội dung", "Số liệu"], widths=(48, 70),
                    rows=[[label, value] for label, value in summary_pairs])
    # Each count in its own numeric column, so the office can sum and chart them.
    by_group = Table("theo-nhom", "Theo nhóm",
                     ["STT", "Nhóm (thứ tự nghi thức)", "Được mời", "Có mặt", "Vãng lai", "Tổng có mặt"],
                     widths=(6, 60, 12, 12, 12, 13),
                     rows=[[number, g["name"], g["invited"], g["present"], g["walk_ins"], g["present"] + g["walk_ins"]]
                           for number, g in enumerate(groups, start=1)],
                     totals=[None, "Cộng", invited, present, walk_ins, present + walk_ins])
    return Report(title=TITLE, organiser=event.organiser or "", host_unit=event.host_unit or "",
                  event_title=event.title, event_when=f"{format_time(start)}, {format_date_long(start)}",
                  venue=event.venue, generated=format_date_long(now.astimezone(zone)), summary=summary_pairs, groups=groups,
                  programme=plan, donations_count=count, donations_total=total,
                  donations_by_method=by_method,
                  tables=[summary, by_group, delegates, scans, ledger, programme],
                  **_document_frame(event, now.astimezone(zone).date()),
                  attendance={"total": present + walk_ins, "present": present, "walk_ins": walk_ins,
                              "staff": staff, "students": students})


def _document_frame(event, today: dt.date) -> dict:
    """The number, place-and-date and signature lines of the report the host unit sends up."""
    issuer = event.host_unit or event.organiser or ""
    symbol = official.unit_symbol(issuer)
    place = official.place_name(event.host_unit, event.organiser, event.address)
    # The number is left blank: the office's clerk writes it in from the register of outgoing documents.
    return {"superior_lines": official.letterhead_lines(event.organiser),
            "unit_lines": official.letterhead_lines(event.host_unit),
            "number_line": "Số:        /BC" + (f"-{symbol}" if symbol else ""),
            "place_date": f"{place}, {format_date_long(today)}" if place else format_date_long(today).capitalize(),
            "signer": official.signer_title(issuer)}


