"""The gate API: every outcome, roles, idempotent retries, atomic admission, walk-ins, undo, counts."""
from __future__ import annotations

import datetime as dt
import threading
import unicodedata

import pytest
from sqlalchemy import func, select

from checkin import checkins
from checkin.codes import new_code
from kiosk.storage.schema import Invitee, ScanLog

from .gate_helpers import first_non_vip, invitations


def _log(app):
    with app.extensions["kiosk.db"].read() as session:
        return session.scalars(select(ScanLog).order_by(ScanLog.id)).all()


def test_first_scan_admits_with_name_seat_and_vip_flag(app, client_as):
    gate = client_as("gate")
    invitee_id, code, name = invitations(app, 1)[0]
    body = gate.post("/api/checkin", json={"code": code, "gate": "Cổng A", "nonce": "a1"}).get_json()
    assert body["result"] == "ok"
    assert body["delegate"]["full_name"] == name and body["delegate"]["id"] == invitee_id
    assert body["vip"] is True and "đón" in body["message"]
    assert body["checked_in_at"] == body["first_checked_in_at"]
    assert "phone" not in body["delegate"]


def test_second_scan_is_already_checked_in_with_first_time_and_gate(app, client_as):
    gate = client_as("gate")
    _, code, name = first_non_vip(app)
    first = gate.post("/api/checkin", json={"code": code, "gate": "Cổng A"}).get_json()
    second = gate.post("/api/checkin", json={"code": code.lower(), "gate": "Cổng B"}).get_json()
    assert first["result"] == "ok" and first["vip"] is False
    assert second["result"] == "already_checked_in"
    assert second["first_checked_in_at"] == first["checked_in_at"]
    assert second["first_gate"] == "Cổng A" and "đã vào lúc" in second["message"] and "Cổng A" in second["message"]


@pytest.mark.parametrize("raw,result,text", [
    (None, "unknown", "Không tìm thấy mã"),
    ("000201010211385400106A0000072701240006970422", "invalid", "không phải mã thư mời"),
    ("TMđB7K29QH4T3NC88V5", "invalid", "Unikey/EVKey"),
    ("TMB7K2", "invalid", "không hợp lệ"),
])
def test_unknown_and_invalid_codes(client_as, raw, result, text):
    raw = raw or new_code()  # well-formed, but nobody holds it
    body = client_as("gate").post("/api/checkin", json={"code": raw}).get_json()
    assert body["result"] == result and text in body["message"]
    assert body["delegate"] is None


def test_revoked_code_says_why(app, client_as):
    from checkin import invitations as cases
    invitee_id, old, _ = invitations(app, 1)[0]
    cases.reissue(app.extensions["kiosk.db"], invitee_id, "Mất thẻ", "admin")
    body = client_as("gate").post("/api/checkin", json={"code": old}).get_json()
    assert body["result"] == "revoked" and "Mất thẻ" in body["message"]


def test_every_outcome_is_logged_failures_included(app, client_as):
    gate = client_as("gate")
    _, code, _ = invitations(app, 1)[0]
    for raw in (code, code, "garbage-text-xyz", new_code()):
        gate.post("/api/checkin", json={"code": raw, "gate": "G1", "client_time": "2023-10-02T07:01:00"})
    rows = _log(app)
    assert [r.outcome for r in rows] == ["ok", "already_checked_in", "invalid", "unknown"]
    assert rows[2].raw == "garbage-text-xyz" and rows[2].reason == "not_ours"
    assert all(r.gate == "G1" and r.operator == "gate" and r.client_addr for r in rows)
    assert rows[0].client_at == "2023-10-02T07:01:00"


def test_retry_with_the_same_nonce_gets_the_first_answer(app, client_as):
    gate = client_as("gate")
    _, code, _ = invitations(app, 1)[0]
    first = gate.post("/api/checkin", json={"code": code, "nonce": "retry-1"}).get_json()
    again = gate.post("/api/checkin", json={"code": code, "nonce": "retry-1"}).get_json()
    assert first["result"] == "ok"
    assert again.pop("replayed") is True and again == first
    assert len(_log(app)) == 1


def test_twenty_threads_scanning_one_code_admit_exactly_once(app, client_as):
    _, code, _ = invitations(app, 1)[0]
    clients = [client_as("gate") for _ in range(20)]
    results, barrier = [], threading.Barrier(20)

    def scan(client):
        barrier.wait()
        results.append(client.post("/api/checkin", json={"code": code}).get_json()["result"])

    threads = [threading.Thread(target=scan, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["already_checked_in"] * 19 + ["ok"]
    assert [r.outcome for r in _log(app)].count("ok") == 1


def test_search_folds_accents_and_admits_from_the_list(app, client_as):
    gate = client_as("gate")
    db = app.extensions["kiosk.db"]
    from checkin import invitations as cases
    cases.add_person(db, cases.person_from_form(db, {"full_name": unicodedata.normalize("NFD", "Nguyễn Thị Lan"),
                                                     "title": "Hiệu trưởng", "organisation": "Trường Mầm non Đôn Phong",
                                                     "phone": "0912345678", "group": "khach-moi"}), "admin")
    for query in ("nguyen thi lan", "Lan", "LAN", "don phong", "5678", "hieu truong"):
        results = gate.get("/api/delegates", query_string={"q": query}).get_json()["results"]
        assert "Nguyễn Thị Lan" in [r["full_name"] for r in results], query
    dang = gate.get("/api/delegates", query_string={"q": "dang"}).get_json()["results"]
    assert any(r["full_name"].startswith("Đại diện") or "Đảng" in r["full_name"] for r in dang)
    lan = next(r for r in gate.get("/api/delegates?q=nguyen thi lan").get_json()["results"])
    assert lan["organisation"] == "Trường Mầm non Đôn Phong" and lan["group"] == "Khách mời"
    assert lan["phone_tail"] == "5678" and "phone" not in lan
    admitted = gate.post("/api/checkin/by-id", json={"invitee_id": lan["id"], "nonce": "s1"}).get_json()
    assert admitted["result"] == "ok"
    again = gate.post("/api/checkin/by-id", json={"invitee_id": lan["id"]}).get_json()
    assert again["result"] == "already_checked_in"
    assert gate.get("/api/delegates?q=nguyen thi lan").get_json()["results"][0]["checked_in_label"]


def test_walk_in_is_admitted_at_once_and_counted(app, client_as):
    gate = client_as("gate")
    before = gate.get("/api/stats").get_json()
    body = gate.post("/api/walkins", json={"full_name": "  Hà Văn Tư ", "group": "nha-hao-tam",
                                           "organisation": "Công ty TNHH Tư Hà", "phone": "0987 654 321"}).get_json()
    assert body["result"] == "ok" and body["walk_in"] is True and body["delegate"]["full_name"] == "Hà Văn Tư"
    after = gate.get("/api/stats").get_json()
    assert after["walk_ins"] == before["walk_ins"] + 1 and after["present"] == before["present"] + 1
    found = gate.get("/api/delegates?q=ha van tu").get_json()["results"]
    assert found[0]["walk_in"] is True and found[0]["checked_in_label"]


@pytest.mark.parametrize("body,code", [({"full_name": "", "group": "nha-hao-tam"}, "name_required"),
                                       ({"full_name": "A", "group": "lanh-dao-huyen"}, "group_not_walk_in"),
                                       ({"full_name": "A", "group": "khach-khac", "phone": "12"}, "bad_phone")])
def test_walk_in_errors_are_vietnamese(client_as, body, code):
    response = client_as("gate").post("/api/walkins", json=body)
    assert response.status_code == 400 and response.get_json()["error"] == code
    assert response.get_json()["message"]


def test_undo_needs_admin_and_a_reason_and_allows_a_new_admission(app, client_as):
    gate, admin = client_as("gate"), client_as("admin")
    invitee_id, code, _ = first_non_vip(app)
    gate.post("/api/checkin", json={"code": code})
    assert gate.post("/api/checkin/undo", json={"invitee_id": invitee_id, "reason": "Quét nhầm"}).status_code == 403
    no_reason = admin.post("/api/checkin/undo", json={"invitee_id": invitee_id, "reason": " "})
    assert no_reason.status_code == 400 and no_reason.get_json()["error"] == "reason_required"
    assert admin.post("/api/checkin/undo", json={"invitee_id": invitee_id, "reason": "Quét nhầm"}).status_code == 200
    assert admin.post("/api/checkin/undo", json={"invitee_id": invitee_id, "reason": "x"}).get_json()["error"] \
        == "not_checked_in"
    assert gate.post("/api/checkin", json={"code": code}).get_json()["result"] == "ok"
    outcomes = [(r.kind, r.outcome, r.reason) for r in _log(app)]
    assert ("undo", "undone", "Quét nhầm") in outcomes  # a compensating entry: nothing was deleted
    assert [o for _k, o, _r in outcomes].count("ok") == 2


def test_arrivals_are_counted_in_local_five_minute_slots(app):
    """Arrivals at 06:58, 07:04:59, 07:05 and 07:09 Hanoi time (UTC+7) fall in 06h55, 07h00 and 07h05."""
    db = app.extensions["kiosk.db"]
    moments = [dt.datetime(2023, 10, 20, 23, 58, tzinfo=dt.timezone.utc),
               dt.datetime(2023, 10, 21, 0, 4, 59, tzinfo=dt.timezone.utc),
               dt.datetime(2023, 10, 21, 0, 5, tzinfo=dt.timezone.utc),
               dt.datetime(2023, 10, 21, 0, 9, tzinfo=dt.timezone.utc)]
    for (_id, code, _name), moment in zip(invitations(app, 4), moments):
        meta = checkins.ScanMeta(gate="A", operator="gate", client_addr=None, nonce=None)
        assert checkins.scan(db, code, meta, now=moment)["result"] == "ok"
    assert checkins.stats(db)["arrivals_per_5_min"] == [
        {"slot": "06h55", "count": 1}, {"slot": "07h00", "count": 1}, {"slot": "07h05", "count": 2}]


def test_counts_never_double_count_one_person(app, client_as):
    gate = client_as("gate")
    rows = invitations(app, 3)
    for _ in range(3):
        for _id, code, _name in rows:
            gate.post("/api/checkin", json={"code": code})
    stats = gate.get("/api/stats").get_json()
    assert stats["invited_present"] == 3 and stats["present"] == 3
    assert stats["vip_present"] == 3 and stats["vip_expected"] >= 3
    first_group = stats["groups"][0]
    assert first_group["key"] == "lanh-dao-huyen" and first_group["present"] == 3 and first_group["expected"] == 3
    assert sum(slot["count"] for slot in stats["arrivals_per_5_min"]) == 3
    gate.post("/api/checkin", json={"code": new_code()})
    assert gate.get("/api/stats").get_json()["failed_scans"]["unknown"] == 1
    with app.extensions["kiosk.db"].read() as session:
        assert session.scalar(select(func.count()).select_from(Invitee)
                              .where(Invitee.checked_in_at.is_not(None))) == 3


def test_roster_in_protocol_order_with_substitutes_and_late_arrivals(app, client_as):
    import datetime as dt
    from checkin import invitations as cases
    db = app.extensions["kiosk.db"]
    rows = invitations(app, 4)
    cases.set_substitute(db, rows[1][0], "Hoàng Văn Tú", "Phó Chủ tịch HĐND huyện", "admin")
    meta = checkins.ScanMeta(gate="A", operator="gate", client_addr="t", nonce=None)
    event_start = dt.datetime(2023, 10, 2, 0, 30, tzinfo=dt.timezone.utc)
    checkins.scan(db, rows[2][1], meta, now=event_start - dt.timedelta(minutes=20))
    checkins.scan(db, rows[0][1], meta, now=event_start + dt.timedelta(minutes=12))
    checkins.scan(db, rows[1][1], meta, now=event_start - dt.timedelta(minutes=5))
    roster = client_as("mc").get("/api/roster").get_json()["roster"]
    assert [r["name"] for r in roster] == [rows[0][2], "Hoàng Văn Tú", rows[2][2]]
    assert [r["late"] for r in roster] == [True, False, False]
    assert roster[1]["substitute_for"] == rows[1][2] and roster[1]["title"] == "Phó Chủ tịch HĐND huyện"
    # The default event invites offices: an office is read by its office, a person sent in its place by name.
    assert roster[0]["script"] == "Đại biểu Thường trực Huyện ủy, Huyện ủy Bạch Thông"
    assert roster[0]["addressed"] == "Đại biểu Thường trực Huyện ủy" and roster[0]["honorific"] is None
    assert roster[1]["script"] == "Đồng chí Hoàng Văn Tú, Phó Chủ tịch HĐND huyện, Hội đồng nhân dân huyện Bạch Thông"
    assert client_as("gate").get("/api/roster").status_code == 403


def test_screens_get_a_long_roster_cut_in_protocol_order_with_the_exact_count(app, client_as, monkeypatch):
    import datetime as dt
    from checkin import live
    from display import push
    monkeypatch.setattr(live, "ROSTER_ON_SCREENS", 2)
    db = app.extensions["kiosk.db"]
    rows = invitations(app, 3)
    meta = checkins.ScanMeta(gate="A", operator="gate", client_addr="t", nonce=None)
    event_start = dt.datetime(2023, 10, 2, 0, 30, tzinfo=dt.timezone.utc)
    for (_id, code, _name), minutes in zip(reversed(rows), (-20, -10, 15)):
        checkins.scan(db, code, meta, now=event_start + dt.timedelta(minutes=minutes))
    state = push.current_state(app)
    assert [r["name"] for r in state["roster"]] == [rows[0][2], rows[1][2]]
    assert state["roster_count"] == {"present": 3, "late": 1, "shown": 2}
    assert len(client_as("mc").get("/api/roster").get_json()["roster"]) == 3


def test_absent_list_has_phones_for_the_organiser_only(app, client_as):
    from checkin import invitations as cases
    db = app.extensions["kiosk.db"]
    cases.add_person(db, cases.person_from_form(db, {"full_name": "Vi Thị Mơ", "phone": "0911000111",
                                                     "group": "khach-moi"}), "admin")
    absent = client_as("admin").get("/api/absent").get_json()["absent"]
    assert {"full_name": "Vi Thị Mơ", "phone": "0911000111"}.items() <= next(
        a for a in absent if a["full_name"] == "Vi Thị Mơ").items()
    assert client_as("gate").get("/api/absent").status_code == 403


@pytest.mark.parametrize("body", [None, {}, {"code": 5}, {"code": "x", "gate": 7},
                                  {"code": "x", "nonce": "n" * 200}])
def test_malformed_checkin_is_400(client_as, body):
    response = client_as("gate").post("/api/checkin", json=body)
    assert response.status_code == 400 and response.get_json()["error"] == "bad_request"


def test_checkin_roles(client, client_as):
    assert client.post("/api/checkin", json={"code": "x"}).status_code == 401
    for role in ("mc", "cashier"):
        assert client_as(role).post("/api/checkin", json={"code": "x"}).status_code == 403
    assert client_as("admin").post("/api/checkin", json={"code": "x"}).status_code == 200


@pytest.mark.parametrize("body", [{"invitee_id": True, "reason": "x"}, {"invitee_id": 2**70, "reason": "x"},
                                  {"invitee_id": 1, "reason": "x", "gate": 5}])
def test_undo_with_bad_fields_is_400_not_500(client_as, body):
    response = client_as("admin").post("/api/checkin/undo", json=body)
    assert response.status_code == 400 and response.get_json()["error"] == "bad_request"


@pytest.mark.parametrize("invitee_id", [True, 2**70, 0, -3])
def test_admit_by_id_refuses_odd_ids(client_as, invitee_id):
    response = client_as("gate").post("/api/checkin/by-id", json={"invitee_id": invitee_id})
    assert response.status_code == 400


def test_an_undo_nonce_never_blocks_a_later_scan(app, client_as):
    gate, admin = client_as("gate"), client_as("admin")
    invitee_id, code, _ = first_non_vip(app)
    gate.post("/api/checkin", json={"code": code})
    assert admin.post("/api/checkin/undo", json={"invitee_id": invitee_id, "reason": "nhầm",
                                                 "nonce": "same"}).status_code == 200
    again = gate.post("/api/checkin", json={"code": code, "nonce": "same"})
    assert again.status_code == 200 and again.get_json()["result"] == "ok"
