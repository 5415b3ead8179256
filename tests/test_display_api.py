"""The control API and the programme editor API over HTTP: roles, CSRF, stale clicks, persistence,
the audit trail, and what the state object carries."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from kiosk import create_app
from kiosk.storage.schema import AuditLog, ShowState

from .conftest import app_config
from .display_helpers import install_fake_parts, remove_parts

ACTIONS = {"next": {}, "prev": {}, "goto": {"index": 2}, "start": {}, "hold": {}, "announce": {"text": "Xin chào"},
           "blackout": {"on": True}, "slide": {"on": False}, "screen": {"screen_id": "screen-abc123", "view": "lobby"}}


def audit(app, prefix="show.") -> list[AuditLog]:
    with app.extensions["kiosk.db"].read() as session:
        return list(session.scalars(select(AuditLog).where(AuditLog.action.startswith(prefix)).order_by(AuditLog.id)))


def stored_row(app) -> ShowState:
    with app.extensions["kiosk.db"].read() as session:
        return session.scalars(select(ShowState)).one()


def test_control_needs_a_login_and_the_mc_or_admin_role(client, client_as):
    for action, body in ACTIONS.items():
        response = client.post(f"/api/agenda/{action}", json=body)
        assert response.status_code == 401, action
        assert response.get_json()["error"] == "login_required"
    for role in ("gate", "cashier"):
        staff = client_as(role)
        for action, body in ACTIONS.items():
            response = staff.post(f"/api/agenda/{action}", json=body)
            assert response.status_code == 403, (role, action)
            assert response.get_json()["error"] == "forbidden"
    assert client.get("/api/agenda").get_json()["rev"] == 0
    assert client_as("admin").post("/api/agenda/next", json={"expected_index": -1}).status_code == 200


def test_control_needs_the_csrf_token(client_as):
    mc = client_as("mc")
    del mc.environ_base["HTTP_X_CSRFTOKEN"]
    response = mc.post("/api/agenda/next", json={"expected_index": -1})
    assert response.status_code == 400 and response.get_json()["error"] == "csrf"
    assert mc.get("/api/agenda").get_json()["current_index"] == -1


def test_a_logged_out_mc_can_no_longer_control(client_as):
    mc = client_as("mc")
    assert mc.post("/logout", headers={"Accept": "application/json"}).status_code == 200
    assert mc.post("/api/agenda/next", json={}).status_code == 401


def test_next_answers_the_new_state_and_a_stale_click_gets_409_in_vietnamese(client_as):
    mc = client_as("mc")
    first = mc.post("/api/agenda/next", json={"expected_index": -1})
    assert first.status_code == 200
    state = first.get_json()
    assert state["current_index"] == 0 and state["rev"] == 1 and state["started_at"]
    again = mc.post("/api/agenda/next", json={"expected_index": -1})
    assert again.status_code == 409
    body = again.get_json()
    assert body["error"] == "stale_index" and "mục khác" in body["message"]
    # The answer carries the true state, so the MC's page corrects itself.
    assert body["state"]["current_index"] == 0 and body["state"]["rev"] == 1


@pytest.mark.parametrize("action,body,status,code", [
    ("prev", {"expected_index": -1}, 409, "at_start"),
    ("goto", {"index": 8}, 400, "out_of_range"),
    ("goto", {}, 400, "bad_request"),
    ("goto", {"index": "2"}, 400, "bad_request"),
    ("next", {"expected_index": "-1"}, 400, "bad_request"),
    ("hold", {}, 409, "not_started"),
    ("slide", {"on": True}, 409, "no_slide"),
    ("announce", {"text": "x" * 281}, 400, "too_long"),
    ("screen", {"screen_id": "a"}, 400, "bad_screen"),
    ("screen", {"screen_id": "screen-abc123", "view": "tivi"}, 400, "bad_view"),
])
def test_refusals_have_codes_and_messages(client_as, action, body, status, code):
    mc = client_as("mc")
    response = mc.post(f"/api/agenda/{action}", json=body)
    assert response.status_code == status
    assert response.get_json()["error"] == code and response.get_json()["message"]
    assert mc.get("/api/agenda").get_json()["rev"] == 0


def test_a_non_object_body_is_a_bad_request(client_as):
    mc = client_as("mc")
    response = mc.post("/api/agenda/next", data="[1]", content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"] == "bad_request"


def test_every_change_is_persisted_and_audited_with_who(app, client_as):
    mc, admin = client_as("mc"), client_as("admin")
    revs = []
    for client, action, body in [(mc, "start", {"expected_index": -1}), (mc, "next", {"expected_index": 0}),
                                 (admin, "hold", {}), (mc, "start", {}), (mc, "announce", {"text": "Nghỉ 5 phút"}),
                                 (mc, "blackout", {"on": True}), (mc, "prev", {"expected_index": 1})]:
        response = client.post(f"/api/agenda/{action}", json=body)
        assert response.status_code == 200, (action, response.get_json())
        revs.append(response.get_json()["rev"])
        row = stored_row(app)
        assert row.rev == revs[-1]                 # on disk before the answer
    assert revs == list(range(1, 8))
    entries = audit(app)
    assert [e.action for e in entries] == ["show.start", "show.next", "show.hold", "show.start", "show.announce",
                                           "show.blackout", "show.prev"]
    assert [e.actor for e in entries] == ["mc", "mc", "admin", "mc", "mc", "mc", "mc"]
    last = json.loads(entries[-1].detail)
    assert last["from"] == 1 and last["to"] == 0 and last["rev"] == 7 and last["addr"]
    assert all(e.at is not None for e in entries)


def test_refusals_are_audited_too(app, client_as):
    mc = client_as("mc")
    mc.post("/api/agenda/next", json={"expected_index": -1})
    mc.post("/api/agenda/next", json={"expected_index": -1})
    refused = [e for e in audit(app) if e.action == "show.next.refused"]
    assert len(refused) == 1 and json.loads(refused[0].detail)["error"] == "stale_index"


def test_an_unchanged_setting_is_not_a_change(app, client_as):
    mc = client_as("mc")
    assert mc.post("/api/agenda/blackout", json={"on": False}).get_json()["rev"] == 0
    assert audit(app) == []


def test_the_state_survives_a_restart_of_the_app(data_dir, app, client_as):
    mc = client_as("mc")
    mc.post("/api/agenda/goto", json={"index": 2, "expected_index": -1})
    mc.post("/api/agenda/screen", json={"screen_id": "screen-abc123", "name": "Sảnh", "view": "lobby"})
    before = mc.get("/api/agenda").get_json()
    again = create_app(app_config(data_dir))
    try:
        after = again.test_client().get("/api/agenda").get_json()
    finally:
        again.extensions["kiosk.db"].dispose()
    for key in ("rev", "current_index", "current_item_id", "started_at", "screens", "items"):
        assert after[key] == before[key], key


def test_the_state_object_carries_the_contract_fields(app, client):
    remove_parts(app)
    state = client.get("/api/agenda").get_json()
    for key in ("rev", "server_time", "current_index", "started_at", "announcement", "blackout", "items", "event",
                "holding", "held_since", "paused_ms", "slide", "screens", "current_item_id"):
        assert key in state, key
    assert state["items"][2]["slide"] == "delegates" and state["items"][5]["slide"] == "donations"
    assert "roster" not in state and "donations" not in state


def test_registered_parts_join_the_state_and_a_failing_part_is_left_out(app, client):
    install_fake_parts(app)

    def broken(session, event):
        raise RuntimeError("gate database busy")
    from display.push import register_state_part
    register_state_part(app, "broken", broken)
    state = client.get("/api/agenda").get_json()
    assert state["roster"][1]["late"] is True and state["donations"]["total_label"] == "12.500.000 đ"
    assert "broken" not in state and state["current_index"] == -1


def test_timing_endpoint(client_as):
    mc = client_as("mc")
    mc.post("/api/agenda/next", json={"expected_index": -1})
    timing = mc.get("/api/agenda/timing").get_json()
    assert timing["rev"] == 1 and timing["elapsed_s"] is not None and 0 <= timing["elapsed_s"] < 60
    assert timing["drift_label"] and timing["planned_end_label"] == "09h30"


def test_screens_list_is_for_the_mc(client, client_as):
    assert client.get("/api/screens").status_code == 401
    assert client_as("gate").get("/api/screens").status_code == 403
    mc = client_as("mc")
    mc.post("/api/agenda/screen", json={"screen_id": "screen-abc123", "name": "Máy chiếu", "view": "projector"})
    listed = mc.get("/api/screens").get_json()
    assert listed == [{"id": "screen-abc123", "own_name": None, "view": "projector", "connected": False,
                       "connections": 0, "since": None, "address": None, "assigned_view": "projector",
                       "assigned_name": "Máy chiếu", "name": "Máy chiếu", "view_label": "Máy chiếu"}]


# ---- the programme editor --------------------------------------------------------------------

def test_editor_is_for_the_admin(client, client_as):
    assert client.get("/api/programme").status_code == 401
    for role in ("mc", "gate", "cashier"):
        staff = client_as(role)
        assert staff.get("/api/programme").status_code == 403
        assert staff.post("/api/programme/items", json={"start": "08:25", "content": "x"}).status_code == 403
    assert client_as("admin").get("/admin/programme").status_code == 200


def test_editor_flags_the_default_gap_and_the_organiser_accepts_it(client_as):
    admin = client_as("admin")
    programme = admin.get("/api/programme").get_json()
    assert [w["kind"] for w in programme["warnings"]] == ["gap"]
    gap = programme["warnings"][0]
    assert "08h25–08h35" in gap["message"] and not gap["accepted"]
    accepted = admin.post("/api/programme/warnings", json={"key": gap["key"]}).get_json()
    assert accepted["warnings"][0]["accepted"] is True
    assert admin.get("/api/programme").get_json()["warnings"][0]["accepted"] is True
    withdrawn = admin.post("/api/programme/warnings", json={"key": gap["key"], "accepted": False}).get_json()
    assert withdrawn["warnings"][0]["accepted"] is False


def test_editor_adds_an_item_in_time_order_and_screens_see_it(app, client_as):
    admin = client_as("admin")
    screen = app.extensions["kiosk.socketio"].test_client(app, namespace="/display")
    screen.get_received("/display")
    response = admin.post("/api/programme/items", json={"start": "08:25", "end": "08:35",
                                                         "content": "Văn nghệ: hát về mái trường"})
    assert response.status_code == 201
    programme = response.get_json()
    assert [i["start_label"] for i in programme["items"]][3:6] == ["08h10", "08h25", "08h35"]
    assert programme["warnings"] == []              # the gap is filled
    pushed = [m["args"][0] for m in screen.get_received("/display") if m["name"] == "state"]
    assert pushed and len(pushed[-1]["items"]) == 9 and pushed[-1]["items"][4]["content"].startswith("Văn nghệ")


def test_editor_flags_an_overlap_made_by_an_edit(client_as):
    admin = client_as("admin")
    items = admin.get("/api/programme").get_json()["items"]
    response = admin.patch(f"/api/programme/items/{items[3]['id']}", json={"end": "08:40"})
    assert response.status_code == 200
    kinds = [w["kind"] for w in response.get_json()["warnings"]]
    assert kinds == ["overlap"]
    assert "chồng lên" in response.get_json()["warnings"][0]["message"]


def test_editor_refuses_bad_input_and_names_the_field(client_as):
    admin = client_as("admin")
    items = admin.get("/api/programme").get_json()["items"]
    bad = admin.patch(f"/api/programme/items/{items[0]['id']}", json={"start": "07:45"})
    assert bad.status_code == 400 and bad.get_json()["error"] == "end_before_start"
    assert bad.get_json()["field"] == "end" and bad.get_json()["message"]
    missing = admin.post("/api/programme/items", json={"start": "10:00", "content": "  "})
    assert missing.status_code == 400 and missing.get_json()["field"] == "content"
    assert admin.patch("/api/programme/items/99999", json={"content": "x"}).status_code == 404
    assert len(admin.get("/api/programme").get_json()["items"]) == 8


def test_editor_removes_and_reorders_but_never_drops_the_current_item(app, client_as):
    admin, mc = client_as("admin"), client_as("mc")
    mc.post("/api/agenda/goto", json={"index": 2, "expected_index": -1})
    items = admin.get("/api/programme").get_json()["items"]
    current = items[2]
    refused = admin.delete(f"/api/programme/items/{current['id']}")
    assert refused.status_code == 409 and refused.get_json()["error"] == "item_is_current"
    removed = admin.delete(f"/api/programme/items/{items[0]['id']}").get_json()
    assert len(removed["items"]) == 7
    state = mc.get("/api/agenda").get_json()
    assert state["current_index"] == 1 and state["items"][1]["id"] == current["id"]
    ids = [i["id"] for i in removed["items"]]
    reordered = admin.post("/api/programme/order", json={"ids": [ids[1]] + ids[:1] + ids[2:]})
    assert reordered.status_code == 200
    state = mc.get("/api/agenda").get_json()
    assert state["current_index"] == 0 and state["current_item_id"] == current["id"]
    assert state["started_at"] == mc.get("/api/agenda").get_json()["started_at"]
    bad = admin.post("/api/programme/order", json={"ids": ids[:-1]})
    assert bad.status_code == 400 and bad.get_json()["error"] == "bad_order"
    assert [e.action for e in audit(app, "programme.")] == ["programme.remove", "programme.reorder"]


def test_an_edit_that_changes_nothing_is_not_a_change(client_as):
    admin = client_as("admin")
    items = admin.get("/api/programme").get_json()["items"]
    before = admin.get("/api/agenda").get_json()["rev"]
    admin.patch(f"/api/programme/items/{items[1]['id']}", json={"content": items[1]["content"]})
    assert admin.get("/api/agenda").get_json()["rev"] == before


def test_pushes_that_were_slow_to_build_are_spaced_out_together(app, monkeypatch):
    """After a send that took 50 ms the next one waits at least 10x that (BUSY_SHARE = 0.1), at most 5 s;
    a quick one brings the usual delay back. The deferred pushes share one budget: a slow roster spaces the
    counts out too, so together they never take more than that share of the server."""
    import time

    from display import push
    delays = []

    class RunAtOnce:
        def __init__(self, delay, run):
            delays.append(delay)
            self.run = run
            self.daemon = True

        def start(self):
            self.run()

    monkeypatch.setattr(push.threading, "Timer", RunAtOnce)
    app.extensions.setdefault("display.push_costs", {}).clear()   # only this test's sends count
    push.coalesced(app, "test.slow", lambda _app: time.sleep(0.05), 0.25)
    push.coalesced(app, "test.slow", lambda _app: None, 0.25)
    push.coalesced(app, "test.slow", lambda _app: None, 0.25)
    assert delays[0] == 0.25 and delays[1] >= 0.5 and delays[2] == 0.25
    push.coalesced(app, "test.roster", lambda _app: time.sleep(0.05), 0.25)
    push.coalesced(app, "test.counts", lambda _app: None, 0.25)
    assert delays[3] == 0.25 and delays[4] >= 0.5   # the counts wait for the roster's cost as well
    push.coalesced(app, "test.roster", lambda _app: None, 0.25)
    push.coalesced(app, "test.counts", lambda _app: None, 0.25)
    assert delays[6] == 0.25   # both quick again: the usual delay
    costs = app.extensions["display.push_costs"]
    costs["test.slow"] = (2.0, time.perf_counter())  # one very slow build (a pause): 5 s, not 20
    push.coalesced(app, "test.counts", lambda _app: None, 0.25)
    assert delays[7] == push.MAX_SPACING == 5.0
    costs["test.slow"] = (2.0, time.perf_counter() - 11)   # that build was a while ago: it no longer counts
    push.coalesced(app, "test.counts", lambda _app: None, 0.25)
    assert delays[8] == 0.25
