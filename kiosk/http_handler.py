"""The request handler: Werkzeug's, with HTTP/1.1 keep-alive where safe and time limits for slow clients.

Werkzeug's own request handler ends every response with `Connection: close`. A gate phone then opens a
new TCP connection for every scan (with KIOSK_TLS, a new TLS handshake too), and the server starts a new
thread for it; measured on the gate's benchmark that was a quarter of the server's time. This handler
keeps an HTTP/1.1 connection open when it is safe to read the next request from it: the request body was
read to its declared end (or the rest is small and is read and dropped), no Transfer-Encoding, no
WebSocket; and it never sends bytes the response's headers do not frame (a body after HEAD, 204 or 304,
or past its Content-Length). With TLS, each handshake runs on its connection's thread, not in the accept
loop where one stalled phone would hold up everyone.

Slow or hostile clients (a guest's phone on the school Wi-Fi) get limits, each tested on a real port:
- time: a request's line and headers must arrive within HEADER_SECONDS of its first byte (and a TLS
  handshake within as long), its body within BODY_SECONDS plus a second per BODY_MIN_RATE bytes; a client
  sending a byte every few seconds is cut off. Only a real WebSocket (a GET upgrade with no body) leaves
  these limits, for a long idle timeout (Engine.IO pings it every 10 s).
- framing: a second Content-Length, Content-Length with Transfer-Encoding, or a length that is not a
  number is refused (400) before the application runs; "100 Continue" is sent once, and only when the
  application starts reading the body (never before a refusal such as 401 or 413).

Everything else is Werkzeug's behaviour, adapted from `werkzeug.serving.WSGIRequestHandler.run_wsgi`
(Werkzeug 3.1, BSD-3-Clause); requirements.txt pins Werkzeug for that reason.
"""
from __future__ import annotations

import io
import selectors
import socket
import ssl
import time

from werkzeug.exceptions import InternalServerError
from werkzeug.serving import WSGIRequestHandler

# An idle kept-alive connection gives its thread back after this long (browsers reopen one when needed).
IDLE_SECONDS = 30
# From a request's first byte to the end of its headers; also the whole TLS handshake.
HEADER_SECONDS = 10
# A body gets this long, plus one second per BODY_MIN_RATE bytes it declares (a 5 MB list over weak Wi-Fi).
BODY_SECONDS = 30
BODY_MIN_RATE = 32 * 1024
# A WebSocket with no traffic at all for this long is gone (Engine.IO pings every 10 s).
WEBSOCKET_IDLE_SECONDS = 60
# Left-over request body up to this size is read and dropped to keep the connection; more closes it.
DRAIN_LIMIT = 64 * 1024

# Short answers for requests refused before the application runs (the server's own, not Flask's).
REFUSALS = {
    400: "Yêu cầu không hợp lệ.",
    408: "Gửi yêu cầu quá chậm; kết nối đã đóng.",
    414: "Địa chỉ quá dài.",
    431: "Phần đầu yêu cầu quá lớn.",
    501: "Máy chủ không hỗ trợ thao tác này.",
    503: "Máy chủ đang phục vụ quá nhiều kết nối. Vui lòng thử lại sau giây lát.",
}


def plain_answer(status: int, reason: str) -> bytes:
    """A whole HTTP/1.1 answer with a Vietnamese text body that closes the connection."""
    body = REFUSALS.get(status, REFUSALS[400]).encode()
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n"
            + ("Retry-After: 5\r\n" if status == 503 else "") + "\r\n").encode() + body


class _DeadlineReader(io.RawIOBase):
    """The connection's bytes, with a time limit on the whole request rather than on each read."""

    def __init__(self, sock: socket.socket, handler: "KeepAliveRequestHandler"):
        super().__init__()
        self._sock = sock
        self._handler = handler

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        remaining = self._handler.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request did not arrive in time")
        self._sock.settimeout(remaining)
        received = self._sock.recv_into(buffer)
        # Writing the answer is limited per send by the idle timeout, not by what is left of this one.
        self._sock.settimeout(self._handler.timeout)
        if received:
            self._handler.bytes_arrived()
        return received


class _BodyReader:
    """wsgi.input that counts what the application reads of a body with a Content-Length (or, with
    length None, of a chunked body), and says "100 Continue" when it first reads, if asked to."""

    def __init__(self, stream, length: int | None, before_first_read=None):
        self._stream = stream
        self.remaining = length
        self._before_first_read = before_first_read

    def read(self, size: int = -1) -> bytes:
        return self._take(self._stream.read, size)

    def readline(self, size: int = -1) -> bytes:
        return self._take(self._stream.readline, size)

    def _take(self, read, size: int | None) -> bytes:
        """Read with `read`, never past the body's end."""
        if self._before_first_read is not None:
            self._before_first_read()
            self._before_first_read = None
        if self.remaining is None:
            return read(size if size is not None else -1)
        if self.remaining <= 0:
            return b""
        data = read(self.remaining if size is None or size < 0 else min(size, self.remaining))
        self.remaining -= len(data)
        return data

    def __iter__(self):
        while line := self.readline():
            yield line


def _content_length(value: str | None) -> int | None:
    """The declared body length, or None when absent or not a plain non-negative number."""
    if value is None:
        return 0
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() else None


class KeepAliveRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler, keeping HTTP/1.1 connections open between requests when safe."""

    protocol_version = "HTTP/1.1"
    # Small JSON answers go out at once instead of waiting for the client's delayed ACK (40 ms).
    disable_nagle_algorithm = True
    timeout = IDLE_SECONDS
    header_seconds = HEADER_SECONDS
    body_seconds = BODY_SECONDS
    websocket_timeout = WEBSOCKET_IDLE_SECONDS

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)
        self.deadline = time.monotonic() + self.header_seconds
        self._waiting = False
        self._continue_pending = False
        self.tls_failed = False
        if isinstance(self.connection, ssl.SSLSocket):
            # The TLS handshake runs here, on this connection's thread, within its deadline: in the
            # server's accept loop one phone that never finishes it would stall every other client.
            try:
                self._tls_handshake()
            except (OSError, ValueError):  # ssl.SSLError is an OSError; a phone that rejects our CA
                self.tls_failed = True
        self.rfile = io.BufferedReader(_DeadlineReader(self.connection, self))

    def _tls_handshake(self) -> None:
        """The handshake, step by step without blocking, so a client trickling bytes cannot stretch it."""
        connection = self.connection
        connection.setblocking(False)
        with selectors.DefaultSelector() as selector:  # not select(): descriptors past 1024 under load
            selector.register(connection, selectors.EVENT_READ)
            while True:
                try:
                    connection.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    selector.modify(connection, selectors.EVENT_READ)
                except ssl.SSLWantWriteError:
                    selector.modify(connection, selectors.EVENT_WRITE)
                remaining = self.deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    raise TimeoutError("TLS handshake did not finish in time")
        connection.settimeout(self.timeout)

    def handle(self) -> None:
        if not self.tls_failed:
            super().handle()

    def handle_one_request(self) -> None:
        # Until its first byte a request may take the idle timeout; from then on, the header deadline.
        self._waiting = True
        self.deadline = time.monotonic() + self.timeout
        super().handle_one_request()

    def bytes_arrived(self) -> None:
        """The reader got bytes: the first of a request starts its header deadline."""
        if self._waiting:
            self._waiting = False
            self.deadline = time.monotonic() + self.header_seconds

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        lengths = self.headers.get_all("Content-Length") or []
        # Two lengths, or a length beside a transfer coding, is how one request is smuggled inside
        # another through a proxy; a length that is no number has no end we can find.
        if len(lengths) > 1 or (lengths and self.headers.get("Transfer-Encoding")) or \
                (lengths and _content_length(lengths[0]) is None):
            self.send_error(400, "Bad Content-Length")
            return False
        return True

    def handle_expect_100(self) -> bool:
        # Not now: "100 Continue" is sent when the application first reads the body (see _BodyReader), so a
        # refused request (a wrong login, a body too large) never invites the client to send it.
        self._continue_pending = True
        return True

    def _send_continue(self) -> None:
        if self._continue_pending:
            self._continue_pending = False
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Werkzeug's English HTML error page, as a short Vietnamese text that closes the connection."""
        # A client's malformed request is not the server's error: info, not the error log.
        self.log("info", "refused %d: %s", code, message)
        self.close_connection = True
        try:
            self.wfile.write(plain_answer(code, message or "Error"))
        except OSError:
            pass

    def finish(self) -> None:
        self.server.untrack(self.connection)
        super().finish()

    def log_error(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        # An idle kept-alive connection timing out is the normal end of it, not an error.
        if format.startswith("Request timed out"):
            return
        super().log_error(format, *args)

    def _is_websocket(self, environ) -> bool:
        """A WebSocket handshake: a GET asking to upgrade, with no body to trickle."""
        return (environ.get("HTTP_UPGRADE", "").strip().lower() == "websocket"
                and environ["REQUEST_METHOD"] == "GET" and not environ.get("HTTP_TRANSFER_ENCODING")
                and _content_length(environ.get("CONTENT_LENGTH")) == 0)

    def _body_reader(self, environ) -> _BodyReader | None:
        """Decide, before the application runs, whether this connection can serve another request, and
        how long its body may take."""
        if self._is_websocket(environ):
            # A WebSocket owns the socket until it ends: no request deadline, only a long idle timeout.
            self.deadline = float("inf")
            self.connection.settimeout(self.websocket_timeout)
            self.close_connection = True
            return None
        if environ.get("HTTP_UPGRADE"):
            self.close_connection = True  # an upgrade that is not a WebSocket handshake: served, then closed
        if self.request_version != "HTTP/1.1":
            # HTTP/1.0 keep-alive needs a header dance that no browser still relies on: close.
            self.close_connection = True
        length = _content_length(environ.get("CONTENT_LENGTH"))
        self.deadline = time.monotonic() + self.body_seconds + (length or 0) / BODY_MIN_RATE
        if environ.get("HTTP_TRANSFER_ENCODING"):
            # A chunked body's end is found by Werkzeug's reader, not ours; any other coding has no end
            # we can find at all. Either way the connection ends with this request.
            self.close_connection = True
            environ["wsgi.input"] = _BodyReader(environ["wsgi.input"], None, self._send_continue)
            return None
        reader = _BodyReader(environ["wsgi.input"], length, self._send_continue)
        environ["wsgi.input"] = reader
        return reader

    def run_wsgi(self) -> None:
        self.environ = environ = self.make_environ()
        body = self._body_reader(environ)
        status_set: str | None = None
        headers_set: list[tuple[str, str]] | None = None
        status_sent: str | None = None
        headers_sent: list[tuple[str, str]] | None = None
        chunk_response: bool = False
        # What the response's headers promise: no body at all, or exactly `declared` bytes.
        bodyless: bool = False
        declared: int | None = None
        sent: int = 0

        def write(data: bytes) -> None:
            nonlocal status_sent, headers_sent, chunk_response, bodyless, declared, sent
            assert status_set is not None, "write() before start_response"
            assert headers_set is not None, "write() before start_response"
            if status_sent is None:
                status_sent = status_set
                headers_sent = headers_set
                try:
                    code_str, msg = status_sent.split(None, 1)
                except ValueError:
                    code_str, msg = status_sent, ""
                code = int(code_str)
                self.send_response(code, msg)
                header_keys = set()
                for key, value in headers_sent:
                    self.send_header(key, value)
                    header_keys.add(key.lower())
                    if key.lower() == "content-length":
                        declared = _content_length(value)
                bodyless = environ["REQUEST_METHOD"] == "HEAD" or (100 <= code < 200) or code in {204, 304}
                if (not ("content-length" in header_keys or bodyless)
                        and self.protocol_version >= "HTTP/1.1"):
                    chunk_response = True
                    self.send_header("Transfer-Encoding", "chunked")
                if body is not None and body.remaining > DRAIN_LIMIT or code == 413:
                    self.close_connection = True  # a large unread body (a refused upload): don't read it
                if "content-length" in header_keys and declared is None:
                    self.close_connection = True  # a length the client cannot use: the close ends the body
                if self._continue_pending:
                    # Answered without reading a body the client still holds back: it may or may not send
                    # it now, so no next request can be told apart from it. Close.
                    self.close_connection = True
                if self.close_connection:
                    self.send_header("Connection", "close")
                self.end_headers()

            assert isinstance(data, bytes), "applications must write bytes"
            if bodyless:
                data = b""  # a body after HEAD, 204 or 304 would be read as the start of the next answer
            elif declared is not None and len(data) > declared - sent:
                data = data[:declared - sent]  # more than the application declared: never send it
                self.close_connection = True
            if data:
                sent += len(data)
                if chunk_response:
                    self.wfile.write(hex(len(data))[2:].encode())
                    self.wfile.write(b"\r\n")
                self.wfile.write(data)
                if chunk_response:
                    self.wfile.write(b"\r\n")
            self.wfile.flush()

        def start_response(status, headers, exc_info=None):
            nonlocal status_set, headers_set
            if exc_info:
                try:
                    if headers_sent:
                        raise exc_info[1].with_traceback(exc_info[2])
                finally:
                    exc_info = None
            elif headers_set:
                raise AssertionError("Headers already set")
            status_set = status
            headers_set = headers
            return write

        def execute(app) -> None:
            application_iter = app(environ, start_response)
            try:
                for data in application_iter:
                    write(data)
                if not headers_sent:
                    write(b"")
                if chunk_response:
                    self.wfile.write(b"0\r\n\r\n")
                if declared is not None and sent < declared and not bodyless:
                    self.close_connection = True  # fewer bytes than declared: only a close ends the answer
            finally:
                if body is not None and body.remaining > DRAIN_LIMIT or self._continue_pending:
                    self.close_connection = True
                if not self.close_connection and body is not None:
                    # The next request starts where this body ends: read what the application left.
                    while body.read(DRAIN_LIMIT):
                        pass
                elif self.deadline != float("inf"):  # not a WebSocket (its library owns the socket)
                    self._discard_unread()
                if hasattr(application_iter, "close"):
                    application_iter.close()

        try:
            execute(self.server.app)
        except (ConnectionError, socket.timeout) as e:
            self.close_connection = True
            self.connection_dropped(e, environ)
        except Exception as e:
            self.close_connection = True
            if self.server.passthrough_errors:
                raise
            try:
                if status_sent is None:
                    status_set = None
                    headers_set = None
                execute(InternalServerError())
            except Exception:
                pass
            from werkzeug.debug.tbtools import DebugTraceback

            msg = DebugTraceback(e).render_traceback_text()
            self.server.log("error", f"Error on request:\n{msg}")

    def _discard_unread(self) -> None:
        """Werkzeug's drain before closing: lets a client that is still sending see our answer."""
        selector = selectors.DefaultSelector()
        selector.register(self.connection, selectors.EVENT_READ)
        total_size = total_reads = 0
        try:
            while selector.select(timeout=0.01):
                data = self.connection.recv(1_000_000)
                total_size += len(data)
                total_reads += 1
                if not data or total_size >= 10_000_000 or total_reads > 1000:
                    break
        except OSError:
            pass
        finally:
            selector.close()
