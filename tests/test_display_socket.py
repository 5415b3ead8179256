"""The Socket.IO side through Flask-SocketIO's test client: snapshots on connect, pushes on change,
a read-only /display, screen presence, and the MC's authenticated /mc namespace."""
from __future__ import annotations

from sqlalchemy import select

from display.screens import screen_id_for
from kiosk.storage.schema import ShowState

from .display_helpers import install_fake_parts, remove_parts

SCREEN_KEY = "0123456789abcdef0123456789abcdef0123456789abcdef"
SCREEN_ID = screen_id_for(SCREEN_KEY)


def states(client, namespace="/display") -> list[dict]:
    return [m["args"][0] for m in client.get_received(namespace) if m["name"] == "state"]


def events(client, name, namespace="/display") -> list:
    return [m["args"][0] for m in client.get_received(namespace) if m["name"] == name]


def socket(app, namespace="/display", flask_client=None):
    return app.extensions["kiosk.socketio"].test_client(app, namespace=namespace, flask_test_client=flask_client)


def test_a_late_screen_gets_the_current_state_at_once(app, client_as):
    mc = client_as("mc")
    mc.post("/api/agenda/goto", json={"index": 3, "expected_index": -1})
    mc.post("/api/agenda/announce", json={"text": "Kính mời quý vị ổn định chỗ ngồi"})
    late = socket(app)
    received = states(late)
    assert len(received) == 1
    state = received[0]
    assert state["current_index"] == 3 and state["rev"] == 2 and state["started_at"]
    assert state["announcement"] == "Kính mời quý vị ổn định chỗ ngồi"
    assert state["items"][3]["actual_start"] == state["started_at"]


def test_every_change_is_pushed_to_every_screen_with_a_rising_rev(app, client_as):
    screens = [socket(app) for _ in range(3)]
    for s in screens:
        s.get_received("/display")
    mc = client_as("mc")
    mc.post("/api/agenda/next", json={"expected_index": -1})
    mc.post("/api/agenda/next", json={"expected_index": 0})
    mc.post("/api/agenda/blackout", json={"on": True})
    for s in screens:
        got = states(s)
        assert [x["rev"] for x in got] == [1, 2, 3]
        assert [x["current_index"] for x in got] == [0, 1, 1] and got[-1]["blackout"] is True


def test_a_refused_action_pushes_nothing(app, client_as):
    screen = socket(app)
    screen.get_received("/display")
    client_as("mc").post("/api/agenda/prev", json={"expected_index": -1})
    assert states(screen) == []


def test_display_cannot_change_anything(app, client_as):
    """Every event name the kiosk handles anywhere, sent by an anonymous screen, changes no state."""
    mc = client_as("mc")
    mc.post("/api/agenda/next", json={"expected_index": -1})
    with app.extensions["kiosk.db"].read() as session:
        before_row = session.scalars(select(ShowState)).one().extra
    before = mc.get("/api/agenda").get_json()
    intruder = socket(app)
    intruder.get_received("/display")
    intruder.emit("hello", {"key": SCREEN_KEY, "view": "projector"}, namespace="/display")
    payload = {"index": 5, "expected_index": 0, "text": "Bị hack", "on": True, "screen_id": SCREEN_ID,
               "name": "Hack", "view": "lobby", "key": "gap:4:5:08h25-08h35", "id": SCREEN_ID}
    names = ["next", "prev", "goto", "start", "hold", "announce", "blackout", "slide", "screen", "state", "greet",
             "hello", "rename", "view", "accept", "connect", "disconnect", "stats", "screens", "reorder", "edit"]
    for name in names:
        intruder.emit(name, payload, namespace="/display")
        intruder.emit(name, namespace="/display")
    after = mc.get("/api/agenda").get_json()
    for key in ("rev", "current_index", "started_at", "announcement", "blackout", "slide", "screens", "holding",
                "items"):
        assert after[key] == before[key], key
    with app.extensions["kiosk.db"].read() as session:
        assert session.scalars(select(ShowState)).one().extra == before_row
    # A client-sent "disconnect" is not a disconnect: the screen stays listed and is still served.
    assert intruder.is_connected("/display")
    assert [p.screen_id for p in app.extensions["display.screens"].connected()] == [SCREEN_ID]
    mc.post("/api/agenda/next", json={"expected_index": 0})
    assert states(intruder)[-1]["rev"] == before["rev"] + 1


def test_the_mc_namespace_refuses_anonymous_and_wrong_roles(app, client, client_as):
    assert not socket(app, "/mc", client).is_connected("/mc")
    assert not socket(app, "/mc", client_as("gate")).is_connected("/mc")
    assert not socket(app, "/mc", client_as("cashier")).is_connected("/mc")
    assert socket(app, "/mc", client_as("admin")).is_connected("/mc")


def test_a_screen_says_hello_and_the_mc_sees_it_and_names_it(app, client_as):
    mc_http = client_as("mc")
    mc = socket(app, "/mc", mc_http)
    assert events(mc, "screens", "/mc") == [[]]
    screen = socket(app)
    screen.get_received("/display")
    ack = screen.emit("hello", {"key": SCREEN_KEY, "view": "projector", "name": "Máy chiếu"}, namespace="/display",
                      callback=True)
    assert ack == {"ok": True, "id": SCREEN_ID}
    listed = app.extensions["display.screens"].connected()
    assert [(p.screen_id, p.own_name, p.view) for p in listed] == [(SCREEN_ID, "Máy chiếu", "projector")]
    assert mc_http.get("/api/agenda").get_json()["rev"] == 0      # a hello is not a change
    assert mc_http.get("/api/screens").get_json()[0]["connected"] is True

    response = mc_http.post("/api/agenda/screen", json={"screen_id": SCREEN_ID, "name": "Sảnh chính", "view": "lobby"})
    assert response.status_code == 200
    pushed = states(screen)[-1]
    assert pushed["screens"][SCREEN_ID] == {"name": "Sảnh chính", "view": "lobby"}
    listed = mc_http.get("/api/screens").get_json()
    assert listed[0]["name"] == "Sảnh chính" and listed[0]["view"] == "lobby" and listed[0]["own_name"] == "Máy chiếu"

    screen.disconnect(namespace="/display")
    assert app.extensions["display.screens"].connected() == []
    assert mc_http.get("/api/screens").get_json()[0]["connected"] is False   # named, so still listed


def test_a_bad_hello_is_ignored(app):
    screen = socket(app)
    for bad in (None, "hi", {"id": SCREEN_ID}, {"key": "short"}, {"key": "../../" + "a" * 40}, {"key": 123456789}):
        assert screen.emit("hello", bad, namespace="/display", callback=True) == {"ok": False}
    assert app.extensions["display.screens"].connected() == []


def test_parts_of_other_features_reach_the_screens_when_present(app, client_as):
    data = install_fake_parts(app)
    screen = socket(app)
    state = states(screen)[0]
    assert state["roster"][0]["name"] == "Hoàng Văn Bình" and state["roster"][1]["late"] is True
    assert state["donations"]["total_label"] == "12.500.000 đ"
    data["roster"].append({"honorific": "Ông", "name": "Triệu Văn Lâm", "title": None, "organisation": None,
                           "late": True, "substitute_for": None})
    from display.push import broadcast_state
    broadcast_state(app)
    assert [p["name"] for p in states(screen)[-1]["roster"]][-1] == "Triệu Văn Lâm"


def test_without_other_features_the_state_has_no_parts(app):
    remove_parts(app)
    state = states(socket(app))[0]
    assert "roster" not in state and "donations" not in state and state["current_index"] == -1


def test_a_greeting_emitted_by_the_gate_reaches_the_screens(app):
    screen = socket(app)
    screen.get_received("/display")
    greeting = {"greeting": "Kính chào đồng chí Nguyễn Văn A", "title": "Phó Chủ tịch UBND huyện",
                "organisation": "UBND huyện Bạch Thông", "seat": "Khu A, ghế 3"}
    app.extensions["kiosk.socketio"].emit("greet", greeting, namespace="/display")
    assert events(screen, "greet") == [greeting]
