"""A deterministic plan of the event morning on a virtual clock, built from the invitation list and the agenda."""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from checkin.codes import new_code

# Virtual time is seconds since local midnight of the event's day: 07h00 is 25_200.
HOUR = 3600
MINUTE = 60
AMOUNTS = (50_000, 100_000, 100_000, 200_000, 200_000, 300_000, 500_000, 500_000, 1_000_000, 2_000_000, 5_000_000)
DONORS = ("Nguyễn Thị Hồng Nhung", "Trần Văn Đức", "Lê Thị Thu Hương", "Phạm Quốc Việt", "Hoàng Minh Tuấn",
          "Đặng Thị Ngọc Ánh", "Bùi Đức Thắng", "Công ty TNHH Phú Thịnh", "Hội Cựu giáo chức huyện",
          "Đỗ Thị Lệ Quyên", "Hồ Sỹ Dũng", "Ngô Thị Yến", "Dương Văn Lực", "Chi hội Phụ nữ thôn Nà Hái")
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Ma")
MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Thu", "Quốc", "Ngọc", "Hữu", "Thanh", "Xuân")
GIVEN = ("An", "Bình", "Cường", "Dung", "Giang", "Hà", "Hải", "Lan", "Long", "Mai", "Nam", "Phương", "Quang",
         "Sơn", "Thảo", "Trang", "Tuấn", "Việt", "Xuân", "Yến", "Hường", "Khánh", "Lộc", "Nhàn")
# Letters a Vietnamese input method types into a scanned code when it is left on (the gate says so).
MANGLED = ("ư", "ơ", "â", "đ", "ê")


@dataclass(frozen=True)
class Invitee:
    """One invitation as the admin's list shows it."""

    id: int
    code: str
    name: str
    vip: bool = False


@dataclass
class Action:
    """One thing a station does at a virtual moment; `key` is its idempotency key (nonce / request_id)."""

    at: float
    station: str        # gate-1.. | mc | cashier | admin
    kind: str           # scan | search | walkin | undo | next | donation
    key: str
    data: dict = field(default_factory=dict)


@dataclass
class Plan:
    """The whole morning, in time order, and where it begins and ends on the virtual clock."""

    start: float
    end: float
    actions: list[Action]
    items: list[tuple[float, float | None]]   # each programme item's planned (start, end)

    def of(self, station: str) -> list[Action]:
        return [a for a in self.actions if a.station == station]

    def stations(self) -> list[str]:
        return sorted({a.station for a in self.actions})


def clock_label(at: float) -> str:
    """07h05 for a virtual time."""
    return f"{int(at // HOUR):02d}h{int(at % HOUR // MINUTE):02d}"


def synthetic_rows(count: int, seed: int, taken: int = 0) -> list[list[str]]:
    """`count` distinct invitees for the import template's columns (name, honorific, title, organisation, …)."""
    rng = random.Random(f"invitees-{seed}")
    rows = []
    for number in range(taken + 1, taken + count + 1):
        name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        # The number keeps every (name, organisation) distinct: a re-import must not merge two people.
        organisation = f"Trường học số {number:04d} huyện Bạch Thông"
        rows.append([name, rng.choice(("Ông", "Bà", "Thầy", "Cô")), "Giáo viên", organisation, "", "", "", "", ""])
    return rows


def _arrival(rng: random.Random, first: float, second: float) -> float:
    """An arrival time on the morning's curve: most between the first item (07h00) and the second (07h30)."""
    roll = rng.random()
    if roll < 0.85:
        return rng.triangular(first, second, first + (second - first) * 0.7)
    if roll < 0.95:
        return rng.uniform(first - 20 * MINUTE, first)
    return rng.uniform(second, second + 20 * MINUTE)


def build(invitees: list[Invitee], items: list[tuple[float, float | None]], *, gates: int, seed: int,
          walk_in_group: str | None) -> Plan:
    """The morning's plan: arrivals, repeats, bad codes, searches, walk-ins, an undo, the MC, the donations."""
    if len(items) < 6:
        raise ValueError("the programme needs at least six items (donations fall in item 6)")
    rng = random.Random(seed)
    first, second = items[0][0], items[1][0]
    actions: list[Action] = []
    serial = iter(range(1, 10**9))

    def add(at: float, station: str, kind: str, **data) -> Action:
        action = Action(at, station, kind, f"sim-{seed}-{next(serial)}", data)
        actions.append(action)
        return action

    def gate() -> str:
        return f"gate-{rng.randrange(gates) + 1}"

    comers = [p for p in invitees if rng.random() < 0.96]   # a few invitations are never used
    regular = [p for p in comers if not p.vip]
    vips = [p for p in comers if p.vip]
    late_vips = set(p.id for p in rng.sample(vips, min(3, len(vips))))
    admitted: list[tuple[float, Invitee]] = []
    for person in regular + vips:
        if person.id in late_vips:
            at = rng.uniform(second + 5 * MINUTE, second + 35 * MINUTE)
        elif person.vip:
            at = rng.uniform(first + 10 * MINUTE, second)
        else:
            at = _arrival(rng, first, second)
        if rng.random() < 0.03:
            # Forgot the card: found by name at the gate and let in from the search result.
            add(at, gate(), "search", query=person.name, invitee_id=person.id)
        else:
            add(at, gate(), "scan", code=person.code, invitee_id=person.id)
            if rng.random() < 0.05:
                add(at + rng.uniform(20, 300), gate(), "scan", code=person.code, invitee_id=person.id, repeat=True)
        admitted.append((at, person))
    bad = max(3, len(invitees) // 100)
    for _ in range(bad):
        add(_arrival(rng, first, second), gate(), "scan", code=new_code(), expect="unknown")
    for _ in range(bad):
        code = rng.choice(invitees).code
        spot = rng.randrange(3, len(code))
        add(_arrival(rng, first, second), gate(), "scan", code=code[:spot] + rng.choice(MANGLED) + code[spot + 1:],
            expect="invalid")
    if walk_in_group:
        for number in range(max(5, len(invitees) // 60)):
            name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)} (khách {seed}-{number + 1})"
            add(_arrival(rng, first, second), gate(), "walkin", full_name=name, group=walk_in_group)
    if admitted:
        # An admission let in by mistake (the wrong namesake): undone by the organiser a few minutes later.
        at, person = sorted(admitted, key=lambda pair: pair[0])[len(admitted) // 3]
        add(at + 4 * MINUTE, "admin", "undo", invitee_id=person.id, reason="Quét nhầm người trùng tên")
    for index, (start, _end) in enumerate(items):
        add(start, "mc", "next", expected_index=index - 1)
    six_start, six_end = items[5][0], items[5][1] or items[6][0] if len(items) > 6 else items[5][0] + 15 * MINUTE
    for _ in range(10 + len(invitees) // 50):
        named = rng.random() < 0.8
        add(rng.uniform(six_start + 10, six_end - 10), "cashier", "donation", amount_vnd=rng.choice(AMOUNTS),
            donor_name=rng.choice(DONORS) if named else "Người hảo tâm", show_on_screen=named,
            method=rng.choice(("cash", "cash", "transfer")))
    actions.sort(key=lambda a: (a.at, a.key))
    last = items[-1][0]
    return Plan(start=min(a.at for a in actions) - 60, end=max(last + 5 * MINUTE, max(a.at for a in actions) + 30),
                actions=actions, items=items)
