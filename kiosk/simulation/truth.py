"""What the simulation knows was acknowledged, and its comparison with what the server reports at the end."""
from __future__ import annotations

import csv
import io
import re
import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Line:
    """One compared figure: what was simulated, what the server reports, and whether they agree."""

    label: str
    simulated: object
    reported: object
    ok: bool


@dataclass
class Truth:
    """Acknowledged outcomes only: a request the server never answered is not in here until it was."""

    admissions: Counter = field(default_factory=Counter)   # invitee id -> "ok" answers (first-time, not replayed)
    undos: Counter = field(default_factory=Counter)
    walk_ins: list[str] = field(default_factory=list)
    verdicts: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    receipts: dict[str, int] = field(default_factory=dict)  # receipt number -> amount
    receipt_keys: dict[str, str] = field(default_factory=dict)  # request_id -> receipt number
    reused: list[str] = field(default_factory=list)
    programme_index: int = -1
    printed: set[str] = field(default_factory=set)
    reprinted: set[str] = field(default_factory=set)   # printed only after "Thử in lại" (the printer was out)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def admitted(self) -> set[int]:
        """Who is in: admitted once more than undone (order does not matter, so threads need not agree on it)."""
        return {pid for pid, n in self.admissions.items() if n - self.undos[pid] > 0}

    def doubles(self) -> list[int]:
        return [pid for pid, n in self.admissions.items() if n - self.undos[pid] > 1]

    def receipt(self, key: str, number: str, amount: int) -> None:
        with self.lock:
            known = self.receipt_keys.get(key)
            if known is None and number in self.receipts:
                self.reused.append(number)   # one number for two different gifts
            self.receipt_keys[key] = number
            self.receipts[number] = amount


def _csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def _number(value: str) -> int:
    digits = re.sub(r"\D", "", value or "")
    return int(digits) if digits else 0


def continuous(numbers: list[str]) -> bool:
    """Receipt numbers PREFIX-0001 … PREFIX-n, each once."""
    seqs = sorted(_number(n.rsplit("-", 1)[-1]) for n in numbers)
    return seqs == list(range(1, len(seqs) + 1))


def compare(truth: Truth, admin, gate, *, invitees: set[int]) -> list[Line]:
    """Read the report, the gate's copy and the agenda, and compare each with the truth."""
    summary = {row[0]: row[1] for row in _csv(admin.call("GET", "/admin/report/tong-hop.csv").text)[1:] if len(row) > 1}
    people = _csv(admin.call("GET", "/admin/report/dai-bieu.csv").text)
    ledger = _csv(admin.call("GET", "/admin/report/ung-ho.csv").text)
    copy = gate.call("GET", "/api/gate/copy").json()
    fields = copy["person_fields"]
    pid, in_at = fields.index("id"), fields.index("in_at")
    present = {row[pid] for row in copy["people"] if row[in_at] and row[pid] in invitees}
    admitted = truth.admitted()

    status, name = people[0].index("Tình trạng"), people[0].index("Họ và tên")
    walk_names = sorted(row[name] for row in people[1:] if len(row) > status and row[status] == "Vãng lai")
    receipt_col, amount_col = ledger[0].index("Số biên nhận"), ledger[0].index("Số tiền (đ)")
    void_col = ledger[0].index("Huỷ")
    gifts = {row[receipt_col]: _number(row[amount_col]) for row in ledger[1:]
             if len(row) > receipt_col and row[receipt_col] and row[void_col] == ""}
    numbers = [row[receipt_col] for row in ledger[1:] if len(row) > receipt_col and row[receipt_col]]
    index = admin.call("GET", "/api/agenda").json()["current_index"]
    total = sum(truth.receipts.values())
    return [
        Line("Khách mời có mặt (báo cáo)", len(admitted), _number(summary.get("Khách mời có mặt", "")),
             len(admitted) == _number(summary.get("Khách mời có mặt", ""))),
        Line("Đúng từng người có mặt (theo mã khách)", len(admitted), len(present), admitted == present),
        Line("Không ai được tính hai lần", len(truth.doubles()), 0, not truth.doubles()),
        Line("Khách vãng lai", len(truth.walk_ins), _number(summary.get("Khách vãng lai", "")),
             sorted(truth.walk_ins) == walk_names and len(walk_names) == _number(summary.get("Khách vãng lai", ""))),
        Line("Số lượt ủng hộ", len(truth.receipts), _number(summary.get("Số lượt ủng hộ (không tính biên nhận đã huỷ)", "")),
             gifts == truth.receipts),
        Line("Tổng tiền ủng hộ (đ)", total, _number(summary.get("Tổng tiền ủng hộ", "")),
             total == _number(summary.get("Tổng tiền ủng hộ", "")) == sum(gifts.values())),
        Line("Số biên nhận liên tục, không trùng", len(truth.receipts), len(numbers),
             continuous(numbers) and len(set(numbers)) == len(numbers) and not truth.reused),
        Line("Biên nhận đã in", len(truth.receipts), len(truth.printed), truth.printed == set(truth.receipts)),
        Line("Vị trí chương trình (mục)", truth.programme_index + 1, index + 1, index == truth.programme_index),
    ]
