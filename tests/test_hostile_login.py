"""PIN guessing: a throttle per device and role, a ceiling per role from anywhere, right PINs never counted."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select

from kiosk import create_app
from kiosk.config import ConfigError, load_config
from kiosk.login_throttle import LoginThrottle
from kiosk.storage.schema import AuditLog

from .conftest import PINS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _login(app, role, pin, address="10.0.0.1"):
    return app.test_client().post("/api/login", json={"role": role, "pin": pin}, environ_base={"REMOTE_ADDR": address})


@pytest.fixture
def clock(app):
    """A throttle on a clock the test moves."""
    now = [1000.0]
    app.extensions["kiosk.throttle"] = LoginThrottle(clock=lambda: now[0])
    return now


def test_ten_stations_logging_in_at_once_from_one_address_all_get_in(live_server):
    """Behind one Wi-Fi router every phone has the same address: ten right PINs at once are ten logins."""
    barrier = threading.Barrier(10)

    def login(_):
        barrier.wait()
        return requests.post(live_server.url + "/api/login", json={"role": "gate", "pin": PINS["gate"]}, timeout=30)

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(login, range(10)))
    assert [a.status_code for a in answers] == [200] * 10


def test_parallel_guesses_get_exactly_the_allowed_number_of_checks(app):
    checked = []
    throttle = LoginThrottle(clock=lambda: 100.0)
    barrier = threading.Barrier(40)

    def guess(_):
        barrier.wait()
        if throttle.begin("10.0.0.9", "admin") is None:
            checked.append(1)
            threading.Event().wait(0.01)  # the scrypt check takes a moment
            throttle.failed("10.0.0.9", "admin")

    with ThreadPoolExecutor(40) as pool:
        list(pool.map(guess, range(40)))
    assert len(checked) == 5
    assert throttle.wait_seconds("10.0.0.9", "admin") == 30


def test_right_pins_in_flight_make_wrong_ones_wait_not_fail():
    """Four wrong PINs, then a right one and a wrong one in parallel: the right one is never refused."""
    throttle = LoginThrottle(clock=lambda: 100.0)
    for _ in range(4):
        assert throttle.begin("c", "gate") is None
        throttle.failed("c", "gate")
    assert throttle.begin("c", "gate") is None             # the right PIN's check is in flight
    waiting = []
    worker = threading.Thread(target=lambda: waiting.append(throttle.begin("c", "gate")))
    worker.start()
    worker.join(0.2)
    assert worker.is_alive()                               # the fifth slot depends on the answer: it waits
    throttle.succeeded("c", "gate")                        # right: the count is cleared, the waiter goes on
    worker.join(2)
    assert waiting == [None]


def test_a_right_pin_clears_only_its_own_role(app, clock):
    for _ in range(4):
        assert _login(app, "admin", "999999").status_code == 401
    assert _login(app, "gate", PINS["gate"]).status_code == 200      # logging in as the gate buys nothing
    locked = _login(app, "admin", "999999")
    assert locked.status_code == 429 and locked.get_json()["error"] == "throttled"
    assert _login(app, "admin", PINS["admin"]).status_code == 429
    assert _login(app, "admin", PINS["admin"], address="10.0.0.2").status_code == 200   # another device
    clock[0] += 31
    assert _login(app, "admin", PINS["admin"]).status_code == 200


def test_a_role_ceiling_holds_against_many_addresses_and_the_admin_is_told(app, clock, client_as):
    admin = client_as("admin")
    for n in range(10):                           # ten devices, three wrong PINs each: none is throttled alone
        for _ in range(3):
            answer = _login(app, "cashier", "000000", address=f"10.0.1.{n}")
        assert answer.status_code in (401, 429)
    refused = _login(app, "cashier", PINS["cashier"], address="10.0.2.1")
    assert refused.status_code == 429 and refused.get_json()["error"] == "role_locked"
    assert _login(app, "cashier", "000000", address="10.0.2.1").status_code == 429     # tries again
    assert "nhiều máy" in refused.get_json()["message"] and refused.headers["Retry-After"] == "300"
    assert _login(app, "gate", PINS["gate"], address="10.0.2.1").status_code == 200     # other roles log in
    security = admin.get("/api/dashboard").get_json()["security"]
    assert security["locked_roles"] == [{"role": "cashier", "label": "Bàn ủng hộ", "seconds": 300}]
    assert security["failed_logins_10_min"] == 30
    assert security["recent_failed_logins"][0]["address"].startswith("10.0.1.")
    with app.extensions["kiosk.db"].read() as session:
        actions = [a.action for a in session.scalars(select(AuditLog).where(AuditLog.actor == "cashier"))]
    assert actions.count("login_failed") == 30 and actions.count("login_locked_role") == 1
    assert actions.count("login_refused_role") == 1          # the device that kept trying: once per lock
    clock[0] += 301
    assert _login(app, "cashier", PINS["cashier"], address="10.0.2.1").status_code == 200


def test_a_brute_force_across_roles_and_addresses_is_bounded_and_right_pins_still_pass(app, clock):
    """Ten minutes of guessing, one PIN a second, alternating the admin and cashier roles from three
    addresses, while the gate and the MC log in as usual: the ceiling bounds the guesses, they get in."""
    for second in range(600):
        role = ("admin", "cashier")[second % 2]
        _login(app, role, f"{second:06d}", address=f"10.9.0.{second % 3}")
        if second % 60 == 0:
            for station in ("gate", "mc"):
                assert _login(app, station, PINS[station], address="10.8.0.1").status_code == 200
        clock[0] += 1
    with app.extensions["kiosk.db"].read() as session:
        audit = session.scalars(select(AuditLog)).all()
    for role in ("admin", "cashier"):
        checked = [a for a in audit if a.actor == role and a.action == "login_failed"]
        # 30 checks, then five minutes closed, then at most 30 more: 60 in ten minutes, not 300.
        assert 30 <= len(checked) <= 60
        assert any(a.actor == role and a.action == "login_locked_role" for a in audit)
    clock[0] += 301
    assert _login(app, "admin", PINS["admin"], address="10.8.0.1").status_code == 200


def test_a_pin_that_cannot_be_one_is_wrong_without_hashing(app, clock, monkeypatch):
    import kiosk.storage.staff as staff
    hashed = []
    monkeypatch.setattr(staff, "verify_pin", lambda pin, stored: hashed.append(pin) or False)
    for pin in ("", "12", "1" * 17, "12ab56", "١٢٣٤٥٦", "x" * 1000):
        answer = _login(app, "mc", pin)
        assert answer.status_code in (401, 429)
    assert hashed == []


def test_a_login_never_reads_a_large_body(live_server):
    import socket
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=5) as sock:
        sock.sendall(b"POST /api/login HTTP/1.1\r\nHost: kiosk\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 5000\r\n\r\n")          # the body is never sent: the answer comes anyway
        answer = b""
        while chunk := sock.recv(65536):                        # and then the server closes
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413")
    assert "Yêu cầu đăng nhập quá lớn" in answer.split(b"\r\n\r\n", 1)[1].decode()


def test_the_admin_pin_may_be_longer_and_pins_reset_offers_it(data_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env.update({"KIOSK_DATA_DIR": str(data_dir), "PYTHONPATH": ROOT})

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "kiosk", *args], capture_output=True, text=True, env=env,
                              cwd=ROOT, timeout=120)

    first = cli("init")
    gate_pin = next(line.split()[-1] for line in first.stdout.splitlines() if "Cổng đón tiếp" in line)
    reset = cli("pins", "--reset", "--role", "admin", "--admin-digits", "12")
    assert reset.returncode == 0, reset.stderr
    admin_pin = next(line.split()[-1] for line in reset.stdout.splitlines() if "Quản trị" in line)
    assert len(admin_pin) == 12 and admin_pin.isdigit()
    assert "Cổng đón tiếp" in reset.stdout and gate_pin not in reset.stdout      # the gate's PIN is untouched
    app = create_app({"KIOSK_DATA_DIR": str(data_dir)})
    try:
        assert _login(app, "admin", admin_pin).status_code == 200
        assert _login(app, "gate", gate_pin).status_code == 200
    finally:
        app.extensions["kiosk.db"].dispose()
    page = create_app({"KIOSK_DATA_DIR": str(data_dir)}).test_client().get("/login").get_data(as_text=True)
    assert 'maxlength="16"' in page


@pytest.mark.parametrize("pin", ["12ab56", "123", "1" * 17, "１２３４５６"])
def test_a_pin_in_the_environment_that_nobody_could_type_is_refused_at_start(pin, tmp_path):
    with pytest.raises(ConfigError, match="KIOSK_PIN_GATE phải gồm 4 đến 16 chữ số"):
        load_config({"KIOSK_DATA_DIR": str(tmp_path), "KIOSK_PIN_GATE": pin}, environ={})
