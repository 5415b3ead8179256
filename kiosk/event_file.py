"""Read and validate an event file (TOML): the event, its programme and its protocol groups."""
from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .vietnamese import nfc

DEFAULT_EVENT_FILE = Path(__file__).parent / "data" / "default_event.toml"


class EventFileError(ValueError):
    """The event file cannot be used; the message says where and why, in Vietnamese."""


@dataclass(frozen=True)
class AgendaSpec:
    """One programme item with aware start and optional end times."""

    start: dt.datetime
    end: dt.datetime | None
    content: str
    performer: str | None
    slide: str | None


@dataclass(frozen=True)
class InviteeSpec:
    """One invitation listed in the event file."""

    name: str
    honorific: str | None = None
    title: str | None = None
    organisation: str | None = None
    seat: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class GroupSpec:
    """A protocol group and the invitations listed under it."""

    key: str
    name: str
    rank: int
    vip: bool = False
    walk_in: bool = False
    kind: str = "delegates"
    expected: int | None = None
    note: str | None = None
    invitees: tuple[InviteeSpec, ...] = ()


@dataclass(frozen=True)
class EventSpec:
    """Everything an event file describes."""

    slug: str
    title: str
    theme: str | None
    starts_at: dt.datetime
    timezone: str
    venue: str
    address: str | None
    organiser: str | None
    host_unit: str | None
    association: str | None
    fund_name: str | None
    receipt_prefix: str
    vip_max_rank: int
    default_group: str | None
    agenda: tuple[AgendaSpec, ...] = field(default=())
    groups: tuple[GroupSpec, ...] = field(default=())


SLIDES = {"delegates", "donations"}
# Who a group is, for the report's lines (staff and students are counted apart): invited delegates,
# local residents, the school's staff, its students, donors, anyone else.
GROUP_KINDS = ("delegates", "residents", "staff", "students", "donors", "other")


def _text(table: dict, key: str, where: str, required: bool = False) -> str | None:
    value = table.get(key)
    if value is None or nfc(str(value)) == "":
        if required:
            raise EventFileError(f"{where}: thiếu trường bắt buộc '{key}'.")
        return None
    if not isinstance(value, str):
        raise EventFileError(f"{where}: trường '{key}' phải là chuỗi văn bản.")
    return nfc(value)


def _clock(day: dt.date, value: str, zone: ZoneInfo, where: str) -> dt.datetime:
    try:
        hour, minute = (int(part) for part in value.replace("h", ":").split(":"))
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)
    except (ValueError, AttributeError):
        raise EventFileError(f"{where}: giờ '{value}' không hợp lệ (viết dạng 07:30).") from None


def parse_event(data: dict) -> EventSpec:
    """Validate a decoded event file and build its spec."""
    event = data.get("event")
    if not isinstance(event, dict):
        raise EventFileError("Thiếu mục [event].")
    where = "[event]"
    day = event.get("date")
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise EventFileError(f"{where}: 'date' phải là ngày dạng 2023-10-02.")
    zone_name = _text(event, "timezone", where) or "Asia/Ho_Chi_Minh"
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise EventFileError(f"{where}: múi giờ '{zone_name}' không tồn tại.") from None

    agenda = []
    for number, item in enumerate(data.get("agenda") or [], start=1):
        here = f"[[agenda]] mục {number}"
        start = _clock(day, _text(item, "start", here, required=True), zone, here)
        end_text = _text(item, "end", here)
        end = _clock(day, end_text, zone, here) if end_text else None
        if end is not None and end <= start:
            raise EventFileError(f"{here}: giờ kết thúc phải sau giờ bắt đầu.")
        slide = _text(item, "slide", here)
        if slide is not None and slide not in SLIDES:
            raise EventFileError(f"{here}: 'slide' chỉ nhận {sorted(SLIDES)}.")
        agenda.append(AgendaSpec(start, end, _text(item, "content", here, required=True),
                                 _text(item, "performer", here), slide))
    if not agenda:
        raise EventFileError("Tệp sự kiện cần ít nhất một mục [[agenda]].")

    groups, keys = [], set()
    for number, group in enumerate(data.get("groups") or [], start=1):
        here = f"[[groups]] nhóm {number}"
        key = _text(group, "key", here, required=True)
        if key in keys:
            raise EventFileError(f"{here}: mã nhóm '{key}' bị trùng.")
        keys.add(key)
        rank = group.get("rank")
        if not isinstance(rank, int):
            raise EventFileError(f"{here}: 'rank' (thứ tự nghi thức) phải là số nguyên.")
        kind = _text(group, "kind", here) or "delegates"
        if kind not in GROUP_KINDS:
            raise EventFileError(f"{here}: 'kind' chỉ nhận {', '.join(GROUP_KINDS)}.")
        invitees = tuple(
            InviteeSpec(name=_text(person, "name", f"{here}, khách {i}", required=True),
                        honorific=_text(person, "honorific", here), title=_text(person, "title", here),
                        organisation=_text(person, "organisation", here), seat=_text(person, "seat", here),
                        phone=_text(person, "phone", here))
            for i, person in enumerate(group.get("invitees") or [], start=1))
        groups.append(GroupSpec(key=key, name=_text(group, "name", here, required=True), rank=rank,
                                vip=bool(group.get("vip", False)), walk_in=bool(group.get("walk_in", False)),
                                kind=kind, expected=group.get("expected"), note=_text(group, "note", here),
                                invitees=invitees))
    groups.sort(key=lambda g: g.rank)
    default_group = _text(event, "default_group", where)
    if default_group is not None and default_group not in keys:
        raise EventFileError(f"{where}: 'default_group' = '{default_group}' không có trong [[groups]].")

    return EventSpec(
        slug=_text(event, "slug", where, required=True), title=_text(event, "title", where, required=True),
        theme=_text(event, "theme", where),
        starts_at=_clock(day, _text(event, "start", where, required=True), zone, where),
        timezone=zone_name, venue=_text(event, "venue", where, required=True),
        address=_text(event, "address", where), organiser=_text(event, "organiser", where),
        host_unit=_text(event, "host_unit", where), association=_text(event, "association", where),
        fund_name=_text(event, "fund_name", where),
        receipt_prefix=_text(event, "receipt_prefix", where) or f"KH-{day.year}",
        vip_max_rank=int(event.get("vip_max_rank", 0)), default_group=default_group,
        agenda=tuple(agenda), groups=tuple(groups))


def read_event_file(path: str | Path = DEFAULT_EVENT_FILE) -> EventSpec:
    """Read an event file from disk and validate it."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise EventFileError(f"Không tìm thấy tệp sự kiện {path}.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EventFileError(f"Tệp sự kiện {path.name} sai định dạng TOML: {exc}") from None
    return parse_event(data)
