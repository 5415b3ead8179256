"""The gate offline, on the server: the local copy and its versions, offline scans synced at the time they
happened, conflicts between offline gates, paper-list entries, the device list."""
from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest

from checkin import gate_copy, offline, paper
from checkin.gate import CheckInError
from kiosk.storage import utcnow

from .gate_helpers import first_non_vip, invitations

UTC = dt.timezone.utc


def _copy(client, since=None) -> dict:
    response = client.get("/api/gate/copy" + ("" if since is None else f"?since={since}"))
    assert response.status_code == 200
    return response.get_json()


def _people(copy: dict) -> dict[int, dict]:
    return {row[0]: dict(zip(copy["person_fields"], row)) for row in copy["people"]}


def _codes(copy: dict) -> dict[str, dict]:
    return {row[0]: dict(zip(copy["code_fields"], row)) for row in copy["codes"]}


def _offline_scan(client, code: str, at: dt.datetime, gate: str, verdict: str = "ok", nonce: str | None = None):
    body = {"code": code, "gate": gate, "nonce": nonce or f"n-{gate}-{code}-{at.timestamp()}",
            "offline": {"scanned_at": at.isoformat(), "verdict": verdict}}
    response = client.post("/api/checkin", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# ---- The copy --------------------------------------------------------------------------------------

def test_the_copy_holds_code_hashes_and_display_fields_never_codes_or_phones(app, client_as):
    gate = client_as("gate")
    copy = _copy(gate)
    assert copy["whole"] is True and copy["version"] > 0
    raw = json.dumps(copy, ensure_ascii=False)
    people = invitations(app)
    assert len(copy["people"]) == len(people)
    for _id, code, _name in people:
        assert code not in raw                                          # never a working code
        assert gate_copy.code_hash(code) in _codes(copy)
    with app.extensions["kiosk.db"].read() as session:
        from kiosk.storage.schema import Invitee
        phones = [p for p, in session.query(Invitee.phone).filter(Invitee.phone.is_not(None))]
    assert all(phone not in raw for phone in phones)
    assert "phone" not in copy["person_fields"]
    person = _people(copy)[people[0][0]]
    assert person["addressed"] and person["vip"] == 1 and person["in_at"] is None


def test_only_gate_and_admin_get_the_copy(client, client_as):
    assert client.get("/api/gate/copy").status_code == 401
    assert client_as("mc").get("/api/gate/copy").status_code == 403
    assert client_as("cashier").get("/api/gate/copy").status_code == 403
    assert client_as("admin").get("/api/gate/copy").status_code == 200


def test_the_copy_is_gzipped_for_a_phone_that_accepts_it(client_as):
    gate = client_as("gate")
    response = gate.get("/api/gate/copy", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(response.data))["whole"] is True


def test_every_change_to_an_admission_moves_the_version_and_the_delta_names_it(app, client_as):
    gate, admin = client_as("gate"), client_as("admin")
    start = _copy(gate)["version"]
    invitee_id, code, _ = first_non_vip(app)
    assert gate.post("/api/checkin", json={"code": code, "gate": "Cổng chính"}).get_json()["result"] == "ok"
    delta = _copy(gate, start)
    assert delta["whole"] is False and delta["version"] > start
    assert list(_people(delta)) == [invitee_id]
    assert _people(delta)[invitee_id]["in_at"] is not None and _people(delta)[invitee_id]["in_gate"] == "Cổng chính"
    # An undo, by the organiser: the person is out again in every copy.
    after_scan = delta["version"]
    assert admin.post("/api/checkin/undo", json={"invitee_id": invitee_id, "reason": "Quét nhầm"}).status_code == 200
    undo = _copy(gate, after_scan)
    assert _people(undo)[invitee_id]["in_at"] is None
    # Nothing changed since: an empty delta at the same version.
    again = _copy(gate, undo["version"])
    assert again["people"] == [] and again["codes"] == [] and again["version"] == undo["version"]


def test_a_reissued_card_revokes_the_old_hash_and_adds_the_new_one(app, client_as):
    gate, admin = client_as("gate"), client_as("admin")
    invitee_id, old_code, _ = first_non_vip(app)
    start = _copy(gate)["version"]
    assert admin.post(f"/admin/invitees/{invitee_id}/reissue", data={"reason": "Mất thư mời"}).status_code in (200, 302)
    delta = _copy(gate, start)
    codes = _codes(delta)
    assert codes[gate_copy.code_hash(old_code)]["revoked"] == "Mất thư mời"
    new = [c for c in codes.values() if c["revoked"] is None]
    assert len(new) == 1 and new[0]["person"] == invitee_id


def test_a_new_and_a_removed_invitation_reach_the_copy(app, client_as):
    gate, admin = client_as("gate"), client_as("admin")
    start = _copy(gate)["version"]
    response = admin.post("/admin/invitees/new", data={"full_name": "Trần Thị Hường", "honorific": "Bà",
                                                       "group": "khach-moi", "organisation": "Hội Cựu giáo chức"})
    assert response.status_code in (200, 302)
    people = _people(_copy(gate, start))
    (new_id, person), = [(i, p) for i, p in people.items() if "Hường" in p["addressed"]]
    assert person["organisation"] == "Hội Cựu giáo chức" and person["removed"] == 0
    middle = _copy(gate)["version"]
    assert admin.post(f"/admin/invitees/{new_id}/remove").status_code in (200, 302)
    delta = _copy(gate, middle)
    assert _people(delta)[new_id]["removed"] == 1
    assert all(c["revoked"] for c in _codes(delta).values() if c["person"] == new_id)


def test_a_copy_from_another_database_starts_again_whole(client_as):
    gate = client_as("gate")
    copy = _copy(gate, 10**9)
    assert copy["whole"] is True and copy["since"] is None and copy["people"]


def test_a_change_is_pushed_to_the_gates_once_with_its_base_version(app, client_as):
    from checkin import checkins, gate_events
    start = app.extensions["checkin.copy_version"]
    assert gate_copy.delta_for_push(app.extensions["kiosk.db"], start) is None   # nothing new since the start
    device = app.extensions["kiosk.socketio"].test_client(app, namespace="/gate", flask_test_client=client_as("gate"))
    _id, code, _ = first_non_vip(app)
    checkins.scan(app.extensions["kiosk.db"], code, checkins.ScanMeta("Cổng chính", "gate", None, "n1"))
    gate_events.push_copy(app)
    gate_events.push_copy(app)                           # the second finds nothing new: no push
    received = [m for m in device.get_received("/gate") if m["name"] == "copy"]
    assert len(received) == 1
    delta = received[0]["args"][0]
    assert delta["since"] == start and delta["version"] > start and len(delta["people"]) == 1


# ---- Offline scans, synced ------------------------------------------------------------------------

def test_an_offline_scan_keeps_its_scan_time_and_is_marked_offline(app, client_as):
    gate = client_as("gate")
    invitee_id, code, _ = first_non_vip(app)
    at = (utcnow() - dt.timedelta(minutes=7)).replace(microsecond=0)
    answer = _offline_scan(gate, code, at, "Cổng phụ")
    assert answer["result"] == "ok" and answer["source"] == "offline" and "conflict" not in answer
    assert dt.datetime.fromisoformat(answer["checked_in_at"]) == at
    with app.extensions["kiosk.db"].read() as session:
        from kiosk.storage.schema import Invitee, ScanLog
        person = session.get(Invitee, invitee_id)
        assert person.checked_in_at == at and person.checked_in_source == "offline"
        log = session.query(ScanLog).filter(ScanLog.invitee_id == invitee_id).one()
        assert log.source == "offline" and log.scanned_at == at and log.at > at


def test_the_same_offline_scan_sent_twice_admits_once(app, client_as):
    gate = client_as("gate")
    _id, code, _ = first_non_vip(app)
    at = utcnow() - dt.timedelta(minutes=3)
    first = _offline_scan(gate, code, at, "Cổng phụ", nonce="same")
    second = _offline_scan(gate, code, at, "Cổng phụ", nonce="same")
    assert second["replayed"] is True and second["result"] == first["result"] == "ok"
    assert gate.get("/api/stats").get_json()["invited_present"] == 1


def test_two_offline_gates_the_earlier_stays_the_later_is_a_conflict(app, client_as):
    gate_a, gate_b, admin = client_as("gate"), client_as("gate"), client_as("admin")
    invitee_id, code, _ = first_non_vip(app)
    now = utcnow()
    early, late = now - dt.timedelta(minutes=10), now - dt.timedelta(minutes=4)
    # Gate B's phone comes back first, with the later scan; then gate A's, with the earlier one.
    b = _offline_scan(gate_b, code, late, "Cổng phụ")
    assert b["result"] == "ok" and "conflict" not in b
    a = _offline_scan(gate_a, code, early, "Cổng chính")
    assert a["result"] == "ok"                                   # the earlier scan takes the admission
    conflict = a["conflict"]
    assert conflict["kind"] == "double" and conflict["invitee_id"] == invitee_id
    assert conflict["first"]["gate"] == "Cổng chính" and conflict["second"]["gate"] == "Cổng phụ"
    assert "hai lần" in conflict["message"] and "Cổng chính" in conflict["message"]
    stats = gate_a.get("/api/stats").get_json()
    assert stats["present"] == 1 and stats["invited_present"] == 1          # never counted twice
    with app.extensions["kiosk.db"].read() as session:
        from kiosk.storage.schema import Invitee
        person = session.get(Invitee, invitee_id)
        assert person.checked_in_at == early and person.checked_in_gate == "Cổng chính"
    listed = admin.get("/api/gate/conflicts").get_json()["conflicts"]
    assert [c["invitee_id"] for c in listed] == [invitee_id]


def test_an_offline_scan_after_an_online_admission_is_already_in_and_a_conflict(app, client_as):
    gate = client_as("gate")
    _id, code, _ = first_non_vip(app)
    online = gate.post("/api/checkin", json={"code": code, "gate": "Cổng chính"}).get_json()
    assert online["result"] == "ok"
    later = utcnow() + dt.timedelta(seconds=1)
    answer = _offline_scan(gate, code, later, "Cổng phụ")
    assert answer["result"] == "already_checked_in" and answer["conflict"]["kind"] == "double"
    assert answer["conflict"]["first"]["gate"] == "Cổng chính"


def test_an_offline_scan_the_gate_already_judged_already_in_is_no_conflict(app, client_as):
    gate = client_as("gate")
    _id, code, _ = first_non_vip(app)
    gate.post("/api/checkin", json={"code": code, "gate": "Cổng chính"})
    answer = _offline_scan(gate, code, utcnow(), "Cổng chính", verdict="already_checked_in")
    assert answer["result"] == "already_checked_in" and "conflict" not in answer
    assert gate.get("/api/gate/conflicts").get_json()["conflicts"] == []


def test_a_card_revoked_while_the_gate_was_offline_is_a_conflict(app, client_as):
    gate, admin = client_as("gate"), client_as("admin")
    invitee_id, code, _ = first_non_vip(app)
    admin.post(f"/admin/invitees/{invitee_id}/reissue", data={"reason": "Thư mời bị mất"})
    answer = _offline_scan(gate, code, utcnow(), "Cổng phụ")
    assert answer["result"] == "revoked" and answer["conflict"]["kind"] == "revoked"
    assert "thu hồi" in answer["conflict"]["message"]
    assert gate.get("/api/stats").get_json()["invited_present"] == 0


def test_a_device_time_ahead_of_the_server_becomes_the_time_it_arrived(app, client_as):
    gate = client_as("gate")
    _id, code, _ = first_non_vip(app)
    before = utcnow()
    answer = _offline_scan(gate, code, before + dt.timedelta(days=3), "Cổng phụ")
    assert before <= dt.datetime.fromisoformat(answer["checked_in_at"]) <= utcnow()
    assert offline.scan_time(before - dt.timedelta(minutes=5), before) == before - dt.timedelta(minutes=5)


def test_a_scan_kept_on_a_device_for_more_than_a_day_admits_nobody(app, client_as):
    gate = client_as("gate")
    _id, code, _ = first_non_vip(app)
    answer = _offline_scan(gate, code, utcnow() - dt.timedelta(days=2), "Cổng phụ")
    assert answer["result"] == "not_admitted" and "hơn một ngày" in answer["message"]
    walk_in = gate.post("/api/walkins", json={"full_name": "Lò Văn Páo", "group": "dai-dien-nhan-dan", "nonce": "old",
                                              "offline": {"scanned_at": (utcnow() - dt.timedelta(days=2)).isoformat()}})
    assert walk_in.status_code == 400 and "hơn một ngày" in walk_in.get_json()["message"]
    assert gate.get("/api/stats").get_json()["present"] == 0


@pytest.mark.parametrize("bad", [{"offline": "yes"}, {"offline": {"scanned_at": "hôm qua"}},
                                 {"offline": {"scanned_at": "2026-01-01T07:00:00"}},          # no zone
                                 {"offline": {"scanned_at": "2026-01-01T07:00:00Z", "verdict": "maybe"}}])
def test_a_malformed_offline_field_is_refused_in_vietnamese(app, client_as, bad):
    _id, code, _ = first_non_vip(app)
    response = client_as("gate").post("/api/checkin", json={"code": code, **bad})
    assert response.status_code == 400 and "không hợp lệ" in response.get_json()["message"]


def test_an_offline_walk_in_keeps_its_time(app, client_as):
    gate = client_as("gate")
    at = (utcnow() - dt.timedelta(minutes=12)).replace(microsecond=0)
    answer = gate.post("/api/walkins", json={"full_name": "Lò Văn Páo", "group": "dai-dien-nhan-dan",
                                             "nonce": "w1", "offline": {"scanned_at": at.isoformat()}}).get_json()
    assert answer["walk_in"] is True and dt.datetime.fromisoformat(answer["checked_in_at"]) == at


# ---- The paper list -------------------------------------------------------------------------------

def test_paper_times_are_read_as_people_write_them():
    import zoneinfo
    zone = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
    day, now = dt.date(2023, 10, 2), dt.datetime(2023, 10, 2, 9, 0, tzinfo=zone)
    for written in ("07:25", "7:25", "7h25", "07h25", " 7.25 "):
        assert paper.paper_time(written, day, zone, now) == dt.datetime(2023, 10, 2, 7, 25, tzinfo=zone)
    for wrong in ("", "25:00", "7:61", "bảy giờ", "0725"):
        with pytest.raises(CheckInError) as caught:
            paper.paper_time(wrong, day, zone, now)
        assert "ví dụ 07:25" in caught.value.message
    with pytest.raises(CheckInError, match="future_time"):
        paper.paper_time("10:00", day, zone, now)


def test_a_paper_tick_admits_at_the_written_time_marked_from_paper(app, client_as):
    admin = client_as("admin")
    invitee_id, _code, _ = first_non_vip(app)
    answer = admin.post("/api/checkin/paper", json={"invitee_id": invitee_id, "time": "7h05", "nonce": "p1"})
    assert answer.status_code == 200, answer.get_json()
    data = answer.get_json()
    assert data["result"] == "ok" and data["source"] == "paper" and data["first_checked_in_label"] == "07h05"
    with app.extensions["kiosk.db"].read() as session:
        from kiosk.storage.schema import Invitee
        person = session.get(Invitee, invitee_id)
        assert person.checked_in_source == "paper" and person.checked_in_gate == paper.PAPER_GATE
    # The same tick entered twice (a double click) records once.
    again = admin.post("/api/checkin/paper", json={"invitee_id": invitee_id, "time": "7h05", "nonce": "p1"})
    assert again.get_json()["replayed"] is True
    # A later tick for someone already in: "already", no conflict (paper duplicates scans all the time).
    later = admin.post("/api/checkin/paper", json={"invitee_id": invitee_id, "time": "7h30", "nonce": "p2"})
    assert later.get_json()["result"] == "already_checked_in" and "conflict" not in later.get_json()


def test_a_paper_walk_in_row_is_registered_at_its_time(client_as):
    admin = client_as("admin")
    answer = admin.post("/api/checkin/paper", json={"walk_in": {"full_name": "Hà Thị Mai", "group": "dai-dien-nhan-dan"},
                                                    "time": "07:40", "nonce": "pw"}).get_json()
    assert answer["walk_in"] is True and answer["source"] == "paper" and answer["first_checked_in_label"] == "07h40"


def test_paper_entry_is_for_the_organiser_only_and_explains_a_bad_time(app, client_as):
    invitee_id, _code, _ = first_non_vip(app)
    assert client_as("gate").post("/api/checkin/paper", json={"invitee_id": invitee_id, "time": "7:00"}).status_code == 403
    bad = client_as("admin").post("/api/checkin/paper", json={"invitee_id": invitee_id, "time": "bảy giờ"})
    assert bad.status_code == 400 and "Giờ đến không hợp lệ" in bad.get_json()["message"]
    page = client_as("admin").get("/admin/paper")
    assert page.status_code == 200 and "Nhập danh sách giấy" in page.get_data(as_text=True)


# ---- Devices --------------------------------------------------------------------------------------

def test_the_device_list_says_online_offline_since_and_waiting_scans():
    from checkin.gate_devices import Registry
    devices = Registry()
    t0 = dt.datetime(2023, 10, 2, 0, 0, tzinfo=UTC)
    key = "k" * 40
    assert devices.hello("sid1", "short", "Cổng chính", 0, t0) is None                # not a key
    device = devices.hello("sid1", key, "Cổng chính", 2, t0)
    assert devices.overview(t0)[0] == {"id": device, "gate": "Cổng chính", "online": True, "since": t0, "pending": 2}
    t1 = t0 + dt.timedelta(minutes=3)
    assert devices.gone("sid1", t1)
    row = devices.overview(t1)[0]
    assert row["online"] is False and row["since"] == t1 and row["pending"] == 2
    devices.hello("sid2", key, "Cổng chính", 5, t1 + dt.timedelta(minutes=1))
    assert devices.overview(t1)[0]["online"] is True and devices.overview(t1)[0]["pending"] == 5
    assert len(devices.overview(t1)) == 1                                               # one device, not two


def test_the_report_marks_offline_and_paper_admissions_and_counts_conflicts(app, client_as):
    from kiosk import report
    gate, admin = client_as("gate"), client_as("admin")
    people = invitations(app)
    (_a, offline_code, offline_name), (paper_id, _c, paper_name) = people[8], people[9]
    at = (utcnow() - dt.timedelta(minutes=20)).replace(microsecond=0)
    _offline_scan(gate, offline_code, at, "Cổng phụ")
    _offline_scan(gate, offline_code, at + dt.timedelta(minutes=1), "Cổng chính")         # a conflict
    admin.post("/api/checkin/paper", json={"invitee_id": paper_id, "time": "07:10", "nonce": "rp"})
    built = report.build(app.extensions["kiosk.db"], utcnow())
    tables = {t.key: t for t in built.tables}
    delegates = tables["dai-bieu"]
    column = delegates.headers.index("Ghi nhận")
    by_name = {row[3]: row for row in delegates.rows}
    assert by_name[offline_name][column] == "ngoại tuyến"
    assert by_name[paper_name][column] == "từ danh sách giấy"
    scans = tables["nhat-ky-quet"]
    kinds = [row[2] for row in scans.rows]
    assert "Xung đột (mất mạng)" in kinds
    first = scans.rows[0]
    assert first[scans.headers.index("Ghi nhận")] == "ngoại tuyến"
    assert first[scans.headers.index("Giờ quét thực tế")] == at.astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Ho_Chi_Minh")).replace(tzinfo=None)
    summary = dict(built.summary)
    assert summary["Trong đó ghi nhận khi mất mạng (ngoại tuyến)"] == 1
    assert summary["Trong đó ghi nhận từ danh sách giấy"] == 1
    assert summary["Xung đột khi mất mạng (cho vào hai lần, thư mời đã thu hồi)"] == 1
    assert summary["Tổng số người đã đến"] == 2


def test_the_whole_copy_is_built_once_per_version_and_rebuilt_after_a_change(app, client_as):
    gate = client_as("gate")
    first = gate.get("/api/gate/copy")
    again = gate.get("/api/gate/copy")
    assert first.data == again.data                                   # served from the one built copy
    assert abs(int(again.headers["X-Kiosk-Server-Time"]) - utcnow().timestamp() * 1000) < 5000
    _id, code, _ = first_non_vip(app)
    gate.post("/api/checkin", json={"code": code})
    # Within seconds of building it, the same copy is served; the gate then asks for the changes since.
    version = first.get_json()["version"]
    assert gate.get("/api/gate/copy").get_json()["version"] == version
    assert _copy(gate, version)["people"]
    app.extensions["checkin.whole_copy"] = (*app.extensions["checkin.whole_copy"][:3], -1e9)   # long ago
    after = gate.get("/api/gate/copy").get_json()
    assert after["version"] > version
    assert any(p[7] is not None for p in after["people"])           # the admission is in the new copy


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_the_change_feed_and_the_earlier_offline_admission_hold_on_either_database(engine, request, tmp_path):
    from kiosk import create_app

    from .conftest import app_config, login
    config = app_config(tmp_path / "data")
    if engine == "postgresql":
        config["DATABASE_URL"] = request.getfixturevalue("postgres").new_database()
    app = create_app(config)
    try:
        gate = app.test_client()
        login(gate, "gate")
        start = _copy(gate)["version"]
        invitee_id, code, _ = first_non_vip(app)
        now = utcnow()
        _offline_scan(gate, code, now - dt.timedelta(minutes=2), "Cổng phụ")
        earlier = _offline_scan(gate, code, now - dt.timedelta(minutes=6), "Cổng chính")
        assert earlier["result"] == "ok" and earlier["conflict"]["kind"] == "double"
        person = _people(_copy(gate, start))[invitee_id]
        assert person["in_gate"] == "Cổng chính" and person["in_source"] == "offline"
        assert gate.get("/api/stats").get_json()["invited_present"] == 1
    finally:
        app.extensions["kiosk.db"].dispose()


def test_only_logged_in_gates_join_the_gate_namespace_and_appear_on_the_dashboard(app, client_as):
    socketio = app.extensions["kiosk.socketio"]
    assert not socketio.test_client(app, namespace="/gate").is_connected("/gate")
    assert not socketio.test_client(app, namespace="/gate", flask_test_client=client_as("mc")).is_connected("/gate")
    device = socketio.test_client(app, namespace="/gate", flask_test_client=client_as("gate"))
    answer = device.emit("hello", {"key": "g" * 40, "gate": "Cổng phụ", "pending": 3}, namespace="/gate", callback=True)
    assert answer["ok"] is True and abs(answer["server_time"] - utcnow().timestamp() * 1000) < 5000
    assert device.emit("hello", {"key": "short", "gate": "x"}, namespace="/gate", callback=True) == {"ok": False}
    listed = client_as("admin").get("/api/dashboard").get_json()["gate_devices"]
    assert [(d["gate"], d["online"], d["pending"]) for d in listed] == [("Cổng phụ", True, 3)]
    device.disconnect(namespace="/gate")
    listed = client_as("admin").get("/api/dashboard").get_json()["gate_devices"]
    assert [(d["gate"], d["online"], d["pending"]) for d in listed] == [("Cổng phụ", False, 3)]
    assert listed[0]["since_label"].count("h") == 1


def test_a_scan_the_offline_gate_turned_away_admits_nobody_when_it_syncs(app, client_as):
    gate = client_as("gate")
    invitee_id, code, _ = first_non_vip(app)
    for verdict in ("not_here", "already_checked_in", "revoked"):
        answer = _offline_scan(gate, code, utcnow() - dt.timedelta(minutes=5), "Cổng phụ", verdict=verdict)
        assert answer["result"] == "not_admitted" and "đã không cho" in answer["message"]
    assert gate.get("/api/stats").get_json()["invited_present"] == 0
    # The desk admits them later: that admission stands, with its own time.
    desk = gate.post("/api/checkin/by-id", json={"invitee_id": invitee_id, "gate": "Lễ tân"}).get_json()
    assert desk["result"] == "ok" and desk["delegate"]["id"] == invitee_id


def test_a_revoked_card_conflict_is_not_counted_as_a_second_failed_scan(app, client_as):
    gate, admin = client_as("gate"), client_as("admin")
    invitee_id, code, _ = first_non_vip(app)
    admin.post(f"/admin/invitees/{invitee_id}/reissue", data={"reason": "Mất"})
    _offline_scan(gate, code, utcnow(), "Cổng phụ")
    assert gate.get("/api/stats").get_json()["failed_scans"]["revoked"] == 1


def test_the_copy_says_which_database_it_is_from_and_who_holds_a_card(app, client_as):
    gate, admin = client_as("gate"), client_as("admin")
    copy = _copy(gate)
    assert len(copy["instance"]) == 16
    invitee_id, _code, _ = first_non_vip(app)
    assert _people(copy)[invitee_id]["card"] == 1
    admin.post(f"/admin/invitees/{invitee_id}/remove")
    assert _people(_copy(gate, copy["version"]))[invitee_id]["card"] == 0


def test_a_gate_socket_is_closed_when_its_login_ends(app, client_as):
    from checkin import gate_events
    gate = client_as("gate")
    device = app.extensions["kiosk.socketio"].test_client(app, namespace="/gate", flask_test_client=gate)
    assert device.is_connected("/gate")
    gate.post("/logout")
    assert not device.is_connected("/gate")
    # A login ended elsewhere (pins --reset in another process): the next push drops the socket unsent.
    other = client_as("gate")
    second = app.extensions["kiosk.socketio"].test_client(app, namespace="/gate", flask_test_client=other)
    assert second.is_connected("/gate")
    with app.extensions["kiosk.db"].write() as session:
        from kiosk.storage.schema import StaffSession
        session.query(StaffSession).delete()
    app.extensions["kiosk.role_cache"] = {}
    gate_events.push_conflict(app, {"message": "x"})
    assert not second.is_connected("/gate")


def test_an_offline_entry_from_another_databases_copy_is_refused_and_admits_nobody(app, client_as):
    gate = client_as("gate")
    invitee_id, code, _ = first_non_vip(app)
    instance = _copy(gate)["instance"]
    body = {"code": code, "nonce": "r1", "offline": {"scanned_at": utcnow().isoformat(), "verdict": "ok",
                                                     "instance": "0123456789abcdef"}}
    refused = gate.post("/api/checkin", json=body)
    assert refused.status_code == 409 and "tổng duyệt" in refused.get_json()["message"]
    walk_in = gate.post("/api/walkins", json={"full_name": "Lò Thị Mỷ", "group": "dai-dien-nhan-dan", "nonce": "r2",
                                              "offline": {"scanned_at": utcnow().isoformat(), "instance": "x" * 16}})
    assert walk_in.status_code == 409
    assert gate.get("/api/stats").get_json()["present"] == 0
    body["offline"]["instance"] = instance
    assert gate.post("/api/checkin", json=body).get_json()["result"] == "ok"
