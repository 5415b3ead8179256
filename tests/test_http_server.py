"""The kiosk's HTTP server: keep-alive connections where safe, Werkzeug's behaviour everywhere else."""
from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time

import pytest
import socketio as socketio_client
from flask import Flask, request

from kiosk import http_server
from kiosk.http_server import make_kiosk_server

from .conftest import PINS
from .display_helpers import wait_until
from .live import free_port


def _request(conn: http.client.HTTPConnection, method: str, path: str, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response, response.read()


def _read_answer(sock: socket.socket) -> bytes:
    """One whole response with a Content-Length from a raw socket (headers and body may come apart)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += sock.recv(4096)
    return data[:len(head) + 4] + body


def _local_port(conn: http.client.HTTPConnection) -> int:
    return conn.sock.getsockname()[1]


@pytest.fixture
def small_app_server():
    """The server running a tiny app with the awkward cases: an ignored body, a crash, a body echo."""
    app = Flask(__name__)

    @app.post("/ignore")
    def ignore():
        return "ignored"

    @app.post("/echo")
    def echo():
        return request.get_data()

    @app.get("/crash")
    def crash():
        raise RuntimeError("boom")

    @app.get("/hello")
    def hello():
        return "xin chào"

    flask_app = app.wsgi_app

    def wsgi(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/server-crash":  # an application that raises out of WSGI itself
            raise RuntimeError("boom")
        if path in ("/short", "/long"):  # applications whose body does not match their Content-Length
            start_response("200 OK", [("Content-Length", "5")])
            return [b"abc" if path == "/short" else b"abcdefgh"]
        return flask_app(environ, start_response)
    app.wsgi_app = wsgi

    port = free_port()
    server = make_kiosk_server("127.0.0.1", port, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, port
    server.shutdown()
    server.server_close()


def test_gate_scans_share_one_connection(live_server):
    conn = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=5)
    login, body = _request(conn, "POST", "/api/login", json.dumps({"role": "gate", "pin": PINS["gate"]}),
                           {"Content-Type": "application/json"})
    assert login.status == 200
    port = _local_port(conn)
    headers = {"Content-Type": "application/json", "X-CSRFToken": json.loads(body)["csrf_token"],
               "Cookie": login.getheader("Set-Cookie").split(";")[0]}
    for _ in range(5):
        scan, answer = _request(conn, "POST", "/api/checkin", json.dumps({"code": "TM-KHONG-CO"}), headers)
        assert scan.status == 200 and json.loads(answer)["result"] in ("invalid", "unknown")
        assert scan.getheader("Connection") is None  # HTTP/1.1: the connection stays open
    assert _local_port(conn) == port  # the same TCP connection all along
    assert len(live_server._server._connections) == 1
    conn.close()


def test_a_refused_request_whose_body_was_not_read_leaves_the_connection_usable(live_server):
    conn = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=5)
    refused, _ = _request(conn, "POST", "/api/checkin", json.dumps({"code": "x" * 2000}),
                          {"Content-Type": "application/json"})
    assert refused.status == 401 and refused.getheader("Connection") is None
    port = _local_port(conn)
    ok, body = _request(conn, "GET", "/healthz")
    assert ok.status == 200 and json.loads(body) == {"ok": True} and _local_port(conn) == port


def test_a_large_unread_body_closes_the_connection_after_the_answer(small_app_server):
    _server, port = small_app_server
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    response, body = _request(conn, "POST", "/ignore", b"x" * (http_server.DRAIN_LIMIT + 1))
    assert response.status == 200 and body == b"ignored" and response.getheader("Connection") == "close"


def test_chunked_bodies_are_read_and_then_the_connection_closes(small_app_server):
    _server, port = small_app_server
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("POST", "/echo", body=iter([b"xin ", "chào".encode()]), encode_chunked=True)
    response = conn.getresponse()
    assert response.read() == "xin chào".encode() and response.getheader("Connection") == "close"


def test_http_1_0_and_connection_close_end_the_connection(small_app_server):
    _server, port = small_app_server
    for request_bytes in (b"GET /hello HTTP/1.0\r\n\r\n",
                          b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
                          b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(request_bytes)
            received = b""
            while chunk := sock.recv(4096):  # the server closes: recv returns b"" at the end
                received += chunk
        assert received.endswith("xin chào".encode()) and b"Connection: close" in received


def test_a_crash_answers_500_and_a_crash_outside_flask_also_closes(small_app_server):
    _server, port = small_app_server
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    handled, _ = _request(conn, "GET", "/crash")  # Flask answers its own 500: the connection is fine
    assert handled.status == 500 and handled.getheader("Connection") is None
    assert _request(conn, "GET", "/hello")[1] == "xin chào".encode()
    unhandled, _ = _request(conn, "GET", "/server-crash")
    assert unhandled.status == 500 and unhandled.getheader("Connection") == "close"


def test_an_idle_connection_is_closed_quietly_after_the_timeout(small_app_server, monkeypatch, caplog):
    monkeypatch.setattr(http_server.KeepAliveRequestHandler, "timeout", 0.3)
    server, port = small_app_server
    with caplog.at_level(logging.INFO), socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        first = _read_answer(sock)
        assert first.startswith(b"HTTP/1.1 200") and b"Connection: close" not in first
        assert sock.recv(4096) == b""  # after the idle timeout the server ends it
    wait_until(lambda: not server._connections, message="the handler thread to finish")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_stopping_the_server_ends_kept_alive_connections(small_app_server):
    server, port = small_app_server
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert _read_answer(sock).startswith(b"HTTP/1.1 200")
    started = time.monotonic()
    server.shutdown()
    server.server_close()
    assert sock.recv(4096) == b"" and time.monotonic() - started < 2
    sock.close()


def test_a_websocket_outlives_the_idle_timeout(live_server, monkeypatch):
    """Screens sit quietly for minutes: the idle timeout is for HTTP connections, not WebSockets."""
    monkeypatch.setattr(http_server.KeepAliveRequestHandler, "timeout", 0.3)
    received = []
    sio = socketio_client.Client(reconnection=False)
    sio.on("announce", lambda data: received.append(data), namespace="/display")
    sio.connect(live_server.url, namespaces=["/display"], transports=["websocket"], wait_timeout=5)
    try:
        time.sleep(1.0)
        assert sio.connected
        live_server.app.extensions["kiosk.socketio"].emit("announce", {"text": "Xin chào"}, namespace="/display")
        wait_until(lambda: received, message="the message over the idle WebSocket")
        assert received[0] == {"text": "Xin chào"}
    finally:
        sio.disconnect()


def _read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


def test_a_body_after_head_never_reaches_the_next_answer(live_server):
    """Engine.IO answers HEAD with a body and no length; on a kept connection that body must not leak."""
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=5) as sock:
        sock.sendall(b"HEAD /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(4096)
        time.sleep(0.3)  # anything sent after the headers has arrived by now
        sock.setblocking(False)
        try:
            answer += sock.recv(4096)
        except BlockingIOError:
            pass
        sock.setblocking(True)
        assert answer.startswith(b"HTTP/1.1 405") and answer.endswith(b"\r\n\r\n")
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_answer(sock).startswith(b"HTTP/1.1 200")


def test_a_body_longer_or_shorter_than_declared_ends_the_connection(small_app_server):
    _server, port = small_app_server
    for path, expected in (("/long", b"abcde"), ("/short", b"abc")):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            received = _read_until_closed(sock)  # the server closes: nothing more can be framed
        assert received.split(b"\r\n\r\n", 1)[1] == expected


def test_a_body_in_an_unknown_transfer_coding_is_never_read_as_a_request(small_app_server):
    _server, port = small_app_server
    hidden = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /ignore HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n" + hidden)
        received = _read_until_closed(sock)
    assert received.count(b"HTTP/1.1 ") == 1 and b"Connection: close" in received


def test_an_odd_content_length_is_answered_and_closes(small_app_server, caplog):
    _server, port = small_app_server
    with caplog.at_level(logging.INFO), socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        # b"\xb2" is "²" in the Latin-1 that headers are read in: str.isdigit() says yes, int() says no.
        sock.sendall(b"POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: \xb2\r\n\r\n")
        received = _read_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 ") and b" 500 " not in received.split(b"\r\n")[0]
    assert b"Connection: close" in received
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
