"""Slow and hostile clients against the real server on a port: deadlines, connection caps, framing."""
from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
import time

import pytest
import requests

from kiosk import http_server
from kiosk.http_server import make_kiosk_server

from .conftest import PINS, app_config
from .live import HttpsServer, LiveServer


@pytest.fixture
def quick_deadlines(monkeypatch):
    """Deadlines a test can wait out: headers 1 s, bodies 1 s (+ size), idle 5 s."""
    monkeypatch.setattr(http_server.KeepAliveRequestHandler, "header_seconds", 1.0)
    monkeypatch.setattr(http_server.KeepAliveRequestHandler, "body_seconds", 1.0)
    monkeypatch.setattr(http_server.KeepAliveRequestHandler, "timeout", 5.0)


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def _trickle_until_closed(sock: socket.socket, data: bytes, every: float, limit: float) -> float:
    """Send `data` a byte at a time; return the seconds until the server closed the connection."""
    started = time.monotonic()
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
        except OSError:  # reset: the server is gone
            return time.monotonic() - started
        time.sleep(every)
        sock.setblocking(False)
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - started
        except BlockingIOError:
            pass
        except OSError:
            return time.monotonic() - started
        finally:
            sock.setblocking(True)
        if time.monotonic() - started > limit:
            break
    return float("inf")


def _answer(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_a_client_trickling_its_request_line_and_headers_is_cut_off(live_server, quick_deadlines):
    with _connect(live_server.port) as sock:
        closed_after = _trickle_until_closed(sock, b"GET /healthz HTTP/1.1\r\nHost: kiosk\r\nX-Slow: " + b"a" * 200,
                                             every=0.2, limit=6)
    # One byte every 0.2 s never trips a per-read timeout; the header deadline (1 s) cuts it anyway.
    assert closed_after < 2.5


def test_a_client_trickling_its_body_is_cut_off_without_a_traceback(live_server, quick_deadlines, caplog):
    head = (b"POST /api/login HTTP/1.1\r\nHost: kiosk\r\nContent-Type: application/json\r\n"
            b"Content-Length: 400\r\n\r\n")
    with caplog.at_level(logging.INFO), _connect(live_server.port) as sock:
        sock.sendall(head)
        closed_after = _trickle_until_closed(sock, b'{"role": "gate", "pin": "' + b"1" * 370, every=0.2, limit=6)
    assert closed_after < 3
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_claiming_a_websocket_upgrade_does_not_escape_the_deadlines(live_server, quick_deadlines):
    # A body behind an upgrade header: not a WebSocket handshake, so the body deadline holds.
    head = (b"POST /api/login HTTP/1.1\r\nHost: kiosk\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Content-Type: application/json\r\nContent-Length: 300\r\n\r\n")
    with _connect(live_server.port) as sock:
        sock.sendall(head)
        assert _trickle_until_closed(sock, b"{" + b" " * 290, every=0.2, limit=6) < 3
    # An upgrade the application does not take is answered (Werkzeug: 400), and then the connection ends.
    with _connect(live_server.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: kiosk\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        started = time.monotonic()
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 400") and time.monotonic() - started < 2


def test_a_real_websocket_stays_open_past_the_deadlines(live_server, quick_deadlines):
    import socketio as socketio_client
    screen = socketio_client.Client(reconnection=False)
    screen.connect(live_server.url, namespaces=["/display"], transports=["websocket"], wait_timeout=5)
    try:
        time.sleep(2.5)
        assert screen.connected
    finally:
        screen.disconnect()


def test_a_tls_handshake_trickled_a_byte_at_a_time_is_cut_off(tmp_path, quick_deadlines):
    served = HttpsServer(app_config(tmp_path / "data"))
    try:
        # A real ClientHello, sent a byte every 0.2 s.
        client = ssl.create_default_context().wrap_bio(ssl.MemoryBIO(), outgoing := ssl.MemoryBIO(),
                                                        server_hostname="kiosk")
        try:
            client.do_handshake()
        except ssl.SSLWantReadError:
            hello = outgoing.read()
        with _connect(served.port) as sock:
            assert _trickle_until_closed(sock, hello, every=0.2, limit=6) < 2.5
    finally:
        served.stop()


def _capped_server(data_dir, **limits):
    server = LiveServer(app_config(data_dir))
    server._server.server_close()
    server._server = make_kiosk_server("127.0.0.1", server.port, server.app, **limits)
    server._thread = threading.Thread(target=server._server.serve_forever, daemon=True)
    return server.start()


def test_connections_past_the_cap_get_a_vietnamese_refusal(data_dir):
    server = _capped_server(data_dir, max_connections=3)
    held = [_connect(server.port) for _ in range(3)]
    try:
        time.sleep(0.3)
        with _connect(server.port) as extra:
            refusal = _answer(extra)
        assert refusal.startswith(b"HTTP/1.1 503") and b"Retry-After: 5" in refusal
        assert "quá nhiều kết nối" in refusal.split(b"\r\n\r\n", 1)[1].decode()
        held.pop().close()
        time.sleep(0.3)
        with _connect(server.port) as again:
            again.sendall(b"GET /healthz HTTP/1.1\r\nHost: kiosk\r\nConnection: close\r\n\r\n")
            assert _answer(again).startswith(b"HTTP/1.1 200")
    finally:
        for sock in held:
            sock.close()
        server.stop()


def test_one_device_cannot_take_every_connection(data_dir, monkeypatch):
    # The test's sockets come from loopback, which the per-device cap spares (a proxy, the laptop itself).
    monkeypatch.setattr(http_server, "_is_loopback", lambda address: False)
    server = _capped_server(data_dir, max_connections=50, max_per_client=2)
    held = [_connect(server.port) for _ in range(2)]
    try:
        time.sleep(0.3)
        with _connect(server.port) as third:
            assert _answer(third).startswith(b"HTTP/1.1 503")
    finally:
        for sock in held:
            sock.close()
        server.stop()


def _read_head(sock: socket.socket) -> bytes:
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(1)
        if not chunk:
            break
        received += chunk
    return received


def test_100_continue_comes_once_and_only_when_the_body_is_wanted(live_server):
    body = json.dumps({"role": "gate", "pin": PINS["gate"]}).encode()
    with _connect(live_server.port) as sock:
        sock.sendall(b"POST /api/login HTTP/1.1\r\nHost: kiosk\r\nContent-Type: application/json\r\n"
                     b"Expect: 100-continue\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        assert _read_head(sock) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        final = _read_head(sock)
        assert final.startswith(b"HTTP/1.1 200")
        assert b"100 Continue" not in final
    # Refused before the body is read (no login): no "100 Continue", and the connection closes.
    with _connect(live_server.port) as sock:
        sock.sendall(b"POST /api/checkin HTTP/1.1\r\nHost: kiosk\r\nContent-Type: application/json\r\n"
                     b"Expect: 100-continue\r\nContent-Length: 20\r\n\r\n")
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 401") and b"100 Continue" not in answer and b"Connection: close" in answer
    # A station whose role may not send it (the gate, to the organiser's import): refused unread, no
    # "100 Continue", although the form's CSRF check would otherwise have parsed the upload.
    gate = requests.post(live_server.url + "/api/login", json={"role": "gate", "pin": PINS["gate"]}, timeout=5)
    with _connect(live_server.port) as sock:
        sock.sendall(b"POST /admin/invitees/import HTTP/1.1\r\nHost: kiosk\r\nCookie: kiosk_session=" +
                     gate.cookies["kiosk_session"].encode() + b"\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                     b"Expect: 100-continue\r\nContent-Length: 4000000\r\n\r\n")
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 403") and b"100 Continue" not in answer
    # Too large, refused from its declared length alone: no "100 Continue" either.
    with _connect(live_server.port) as sock:
        sock.sendall(b"POST /api/checkin HTTP/1.1\r\nHost: kiosk\r\nContent-Type: application/json\r\n"
                     b"Expect: 100-continue\r\nContent-Length: 90000000\r\n\r\n")
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 413") and b"100 Continue" not in answer


LOGIN = json.dumps({"role": "gate", "pin": PINS["gate"]}).encode()


@pytest.mark.parametrize("headers", [b"Content-Length: %d\r\nContent-Length: %d\r\n" % (len(LOGIN), len(LOGIN)),
                                     b"Content-Length: %d\r\nContent-Length: 4\r\n" % len(LOGIN),
                                     b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n" % len(LOGIN),
                                     b"Content-Length: -5\r\n", b"Content-Length: 0x10\r\n"])
def test_ambiguous_body_lengths_are_refused_before_the_application(live_server, headers):
    # A right login inside: had the application run, it would have answered 200 and set a cookie.
    with _connect(live_server.port) as sock:
        sock.sendall(b"POST /api/login HTTP/1.1\r\nHost: kiosk\r\nContent-Type: application/json\r\n" + headers +
                     b"\r\n" + LOGIN + b"GET /healthz HTTP/1.1\r\nHost: kiosk\r\n\r\n")
        answer = _answer(sock)
    head, body = answer.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 400") and b"Content-Type: text/plain" in head and b"Set-Cookie" not in head
    assert answer.count(b"HTTP/1.1 ") == 1                           # the request hidden behind it is never served
    assert body.decode() == "Yêu cầu không hợp lệ."
