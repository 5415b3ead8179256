"""What a gate phone or a watcher of the screens must not learn: phone numbers, what one donor gave."""
from __future__ import annotations

import itertools
import sqlite3
import time

import pytest

from kiosk import create_app
from kiosk.storage.migrations import SCHEMA_VERSION, schema_version

from .conftest import app_config


def _add(admin, name: str, phone: str):
    answer = admin.post("/admin/invitees/new", data={"full_name": name, "organisation": "UBND xã Phủ Thông",
                                                     "phone": phone})
    assert answer.status_code == 302


def _names(gate, query: str) -> list[str]:
    return [r["full_name"] for r in gate.get("/api/delegates", query_string={"q": query}).get_json()["results"]]


def test_search_finds_a_phone_by_its_last_four_digits_only(client_as):
    admin, gate = client_as("admin"), client_as("gate")
    _add(admin, "Hoàng Văn Khánh", "0912 345 678")
    assert _names(gate, "5678") == ["Hoàng Văn Khánh"]                 # the clerk's way: the tail
    assert _names(gate, "0912345678") == ["Hoàng Văn Khánh"]           # a whole number: looked up by its tail
    for probe in ("0912", "091234", "2345", "34567", "912345678"[:-4]):
        assert _names(gate, probe) == [], probe                         # no other substring matches
    result = gate.get("/api/delegates", query_string={"q": "Khánh"}).get_json()["results"][0]
    assert result["phone_tail"] == "5678" and "0912345678" not in str(result)


def test_the_number_cannot_be_recovered_digit_by_digit(client_as):
    admin, gate = client_as("admin"), client_as("gate")
    _add(admin, "Đinh Thị Nga", "0987654321")
    # The attack that worked before: extend a prefix one digit at a time while it still matches.
    found = ""
    for _ in range(10):
        for digit in "0123456789":
            if "Đinh Thị Nga" in _names(gate, found + digit):
                found += digit
                break
        else:
            break
    assert found and found in "4321"          # never more than the tail the gate shows with every result


@pytest.mark.sqlite_only
def test_an_older_database_forgets_whole_numbers_in_its_search_text(data_dir):
    first = create_app(app_config(data_dir))
    admin = first.test_client()
    from .conftest import login
    login(admin, "admin")
    _add(admin, "Lục Văn Sơn", "02093876543")
    first.extensions["kiosk.db"].dispose()
    conn = sqlite3.connect(data_dir / "kiosk.sqlite3")                    # as version 2 stored it
    conn.execute("UPDATE invitee SET search_text = 'luc van son ubnd xa phu thong 02093876543' "
                 "WHERE full_name = 'Lục Văn Sơn'")
    conn.execute("UPDATE kiosk_meta SET value = '2' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    again = create_app(app_config(data_dir))
    try:
        assert schema_version(again.extensions["kiosk.db"]) == SCHEMA_VERSION
        gate = again.test_client()
        login(gate, "gate")
        assert _names(gate, "0209") == [] and _names(gate, "6543") == ["Lục Văn Sơn"]
    finally:
        again.extensions["kiosk.db"].dispose()


def test_a_watcher_of_the_screens_cannot_subtract_one_donors_amount(app, client_as):
    """Every total a screen is sent differs from the one before by three changes to the ledger (gifts and
    voids) at once, never by one named gift or one void alone; names appear and go only with such a step."""
    cashier = client_as("cashier")
    watcher = app.extensions["kiosk.socketio"].test_client(app, namespace="/display")
    seen = [[m for m in watcher.get_received("/display") if m["name"] == "state"][-1]["args"][0]["donations"]]

    def watch():
        time.sleep(0.35)                                                      # past the push coalescing
        seen.extend(m["args"][0]["donations"] for m in watcher.get_received("/display") if m["name"] == "state")

    gifts = [("Ông Nông Văn Dũng", 2_000_000, True), ("Bà Triệu Thị Mai", 500_000, True),
             ("Người giấu tên", 300_000, False), ("Ông Hà Văn Bảy", 1_200_000, True),
             ("Bà Lâm Thị Hoa", 700_000, True), ("Ông Mạc Văn Tư", 5_000_000, True),
             ("Bà Sầm Thị Yến", 150_000, True)]
    for donor, amount, shown in gifts:
        assert cashier.post("/api/donations", json={"donor_name": donor, "amount_vnd": amount,
                                                    "show_on_screen": shown}).status_code == 201
        watch()
    assert cashier.post("/api/donations/KH-2023-0002/void", json={"reason": "Ghi nhầm"}).status_code == 200
    watch()
    assert cashier.post("/api/donations", json={"donor_name": "Ông Lý Văn Tám", "amount_vnd": 400_000,
                                                "show_on_screen": True}).status_code == 201
    watch()
    totals = [part["total_vnd"] for part in seen]
    steps = [b - a for a, b in itertools.pairwise(totals) if b != a]
    # Steps: gifts 1–3; gifts 4–6; gift 7, the void of gift 2 and gift 8 together.
    assert steps == [2_000_000 + 500_000 + 300_000, 1_200_000 + 700_000 + 5_000_000, 150_000 - 500_000 + 400_000]
    assert not {abs(step) for step in steps} & {amount for _donor, amount, _shown in gifts}
    names = [[d["name"] for d in part["recent_donors"]] for part in seen]
    first = next(n for n, part in zip(names, seen) if part["count"] == 3)
    assert first == ["Bà Triệu Thị Mai", "Ông Nông Văn Dũng"]
    # The voided donor's name stays until the step that also carries two other changes.
    assert all("Bà Triệu Thị Mai" in n for n, part in zip(names, seen) if 3 <= part["count"] and part["count"] != 7)
    assert "Bà Triệu Thị Mai" not in names[-1] and "Ông Lý Văn Tám" in names[-1]
    exact = client_as("mc").get("/api/donations/total").get_json()
    assert exact["count"] == 7 and exact["total_vnd"] == sum(a for _d, a, _s in gifts) - 500_000 + 400_000
