"""Roles on the server: protected pages and APIs, wrong roles, the PIN throttle, CSRF, logout."""
from __future__ import annotations

import pytest
from werkzeug.routing import Rule

from kiosk.login_throttle import LoginThrottle
from kiosk.pins import hash_pin, verify_pin

from .conftest import PINS, login


def protected_rules(app) -> list[tuple[Rule, tuple[str, ...]]]:
    """Every URL rule whose view declares roles (found by walking the app, so new views are covered)."""
    found = []
    for rule in app.url_map.iter_rules():
        roles = getattr(app.view_functions[rule.endpoint], "kiosk_roles", None)
        if roles is not None:
            found.append((rule, roles))
    return found


def _url(rule: Rule) -> str:
    values = {arg: "1" for arg in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def _methods(rule: Rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def test_station_pages_exist_and_are_protected(app):
    paths = {rule.rule for rule, _ in protected_rules(app)}
    assert {"/admin", "/gate", "/mc", "/donations"} <= paths


def test_every_protected_route_refuses_without_login(app, client):
    for rule, _roles in protected_rules(app):
        for method in _methods(rule):
            response = client.open(_url(rule), method=method)
            if rule.rule.startswith("/api/"):
                assert response.status_code == 401, (method, rule.rule)
                assert response.get_json()["error"] == "login_required"
                assert "đăng nhập" in response.get_json()["message"]
            elif method == "GET":
                assert response.status_code == 302, (method, rule.rule)
                assert response.headers["Location"].startswith("/login")
            else:
                assert response.status_code in (302, 401), (method, rule.rule)


def test_every_protected_route_refuses_the_wrong_role(app, client_as):
    clients = {role: client_as(role) for role in ("gate", "mc", "cashier")}
    checked = 0
    for rule, roles in protected_rules(app):
        for role, c in clients.items():
            if role in roles:
                continue
            for method in _methods(rule):
                response = c.open(_url(rule), method=method)
                assert response.status_code == 403, (role, method, rule.rule)
                if rule.rule.startswith("/api/"):
                    assert response.get_json()["error"] == "forbidden"
                else:
                    assert "Không có quyền" in response.get_data(as_text=True)
                checked += 1
    assert checked >= 9


def test_each_station_opens_for_its_role_and_for_admin(client_as):
    for role, path in (("gate", "/gate"), ("mc", "/mc"), ("cashier", "/donations"), ("admin", "/admin")):
        assert client_as(role).get(path).status_code == 200
        assert client_as("admin").get(path).status_code == 200


def test_screens_need_no_login(client):
    for path in ("/display", "/display/lobby", "/api/agenda", "/"):
        assert client.get(path).status_code == 200, path


def test_login_answers_role_and_csrf_token(client):
    response = client.post("/api/login", json={"role": "mc", "pin": PINS["mc"]})
    assert response.status_code == 200
    body = response.get_json()
    assert body["role"] == "mc" and len(body["csrf_token"]) >= 32
    assert "kiosk_session" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]


@pytest.mark.parametrize("body", [None, {"role": "admin"}, {"role": "admin", "pin": 111111}, ["x"]])
def test_login_rejects_malformed_bodies(client, body):
    response = client.post("/api/login", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"


def test_wrong_pin_is_401_with_vietnamese_message(client):
    response = client.post("/api/login", json={"role": "admin", "pin": "000000"})
    assert response.status_code == 401
    assert response.get_json() == {"error": "wrong_pin", "message": "Mã PIN không đúng."}
    # A PIN of another role does not open this one.
    response = client.post("/api/login", json={"role": "admin", "pin": PINS["gate"]})
    assert response.status_code == 401


def test_five_wrong_pins_lock_the_client_for_thirty_seconds(app, client):
    now = [1000.0]
    app.extensions["kiosk.throttle"] = LoginThrottle(clock=lambda: now[0])
    for _ in range(4):
        assert client.post("/api/login", json={"role": "admin", "pin": "999999"}).status_code == 401
    fifth = client.post("/api/login", json={"role": "admin", "pin": "999999"})
    assert fifth.status_code == 429
    assert fifth.headers["Retry-After"] == "30"
    assert fifth.get_json()["error"] == "throttled"
    assert "đợi 30 giây" in fifth.get_json()["message"]
    # Even the right PIN waits while the client is locked.
    locked = client.post("/api/login", json={"role": "admin", "pin": PINS["admin"]})
    assert locked.status_code == 429
    now[0] += 31
    assert client.post("/api/login", json={"role": "admin", "pin": PINS["admin"]}).status_code == 200


def test_throttle_is_per_client(app):
    now = [0.0]
    app.extensions["kiosk.throttle"] = LoginThrottle(clock=lambda: now[0])
    attacker = app.test_client()
    for _ in range(5):
        attacker.post("/api/login", json={"role": "admin", "pin": "1"},
                      environ_base={"REMOTE_ADDR": "10.0.0.9"})
    other = app.test_client()
    ok = other.post("/api/login", json={"role": "gate", "pin": PINS["gate"]},
                    environ_base={"REMOTE_ADDR": "10.0.0.10"})
    assert ok.status_code == 200


def test_login_form_page_shows_wrong_pin_and_redirects_on_success(client):
    page = client.post("/login", data={"role": "gate", "pin": "123", "next": "/gate"})
    assert page.status_code == 401 and "Mã PIN không đúng." in page.get_data(as_text=True)
    ok = client.post("/login", data={"role": "gate", "pin": PINS["gate"], "next": "/gate"})
    assert ok.status_code == 302 and ok.headers["Location"] == "/gate"
    # An off-site "next" is ignored: the role's own station is used instead.
    client.post("/logout", headers={"X-CSRFToken": _csrf(client)})
    evil = client.post("/login", data={"role": "gate", "pin": PINS["gate"], "next": "//evil.example/x"})
    assert evil.headers["Location"] == "/gate"


def _csrf(client) -> str:
    return client.get("/api/me").get_json()["csrf_token"]


def test_state_changing_requests_need_the_csrf_token(app):
    c = app.test_client()
    token = login(c, "admin")
    del c.environ_base["HTTP_X_CSRFTOKEN"]
    refused = c.post("/logout", headers={"Accept": "application/json"})
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "csrf"
    assert c.get("/admin").status_code == 200  # still logged in: the forged logout did nothing
    wrong = c.post("/logout", headers={"X-CSRFToken": token[:-1] + "x", "Accept": "application/json"})
    assert wrong.status_code == 400
    form = c.post("/logout", data={"csrf_token": token})
    assert form.status_code == 302
    assert c.get("/admin").status_code == 302


def test_logout_ends_the_session_on_the_server(app):
    c = app.test_client()
    login(c, "admin")
    stolen_cookie = c.get_cookie("kiosk_session").value
    assert c.post("/logout").status_code == 302
    replay = app.test_client()
    replay.set_cookie("kiosk_session", stolen_cookie)
    assert replay.get("/admin").status_code == 302


def test_pin_hashes_are_salted_and_verify():
    first, second = hash_pin("123456"), hash_pin("123456")
    assert first != second and "123456" not in first
    assert verify_pin("123456", first) and not verify_pin("123457", first)
    assert not verify_pin("123456", "garbage")


def test_pins_are_stored_hashed(app):
    from sqlalchemy import select
    from kiosk.storage.schema import StaffRole
    with app.extensions["kiosk.db"].read() as session:
        rows = session.scalars(select(StaffRole)).all()
    assert {r.role for r in rows} == set(PINS)
    for row in rows:
        assert PINS[row.role] not in row.pin_hash and row.pin_hash.startswith("scrypt$")


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/evil.example", "/\\evil.example",
                                    "//evil.example", "https://evil.example/", "/ /evil.example"])
def test_login_never_redirects_off_site(client, target):
    response = client.post("/login", data={"role": "gate", "pin": PINS["gate"], "next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/gate"
