"""The HTTP server: Werkzeug's threaded server (Flask-SocketIO's WebSocket works on it), with keep-alive.

Werkzeug's own request handler ends every response with `Connection: close`. A gate phone then opens a
new TCP connection for every scan (with KIOSK_TLS, a new TLS handshake too), and the server starts a new
thread for it; measured on the gate's benchmark that was a quarter of the server's time. This handler
keeps an HTTP/1.1 connection open when it is safe to read the next request from it: the request body was
read to its declared end (or the rest is small and is read and dropped), no Transfer-Encoding, no
WebSocket; and it never sends bytes the response's headers do not frame (a body after HEAD, 204 or 304,
or past its Content-Length). With TLS, each handshake runs on its connection's thread under a timeout,
not in the accept loop where one stalled phone would hold up everyone. Everything else is Werkzeug's
behaviour, adapted from `werkzeug.serving.WSGIRequestHandler.run_wsgi`
(Werkzeug 3.1, BSD-3-Clause); requirements.txt pins Werkzeug for that reason.
"""
from __future__ import annotations

import selectors
import socket
import ssl
import threading

from werkzeug.exceptions import InternalServerError
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

# An idle kept-alive connection gives its thread back after this long (browsers reopen one when needed).
IDLE_SECONDS = 30
# Left-over request body up to this size is read and dropped to keep the connection; more closes it.
DRAIN_LIMIT = 64 * 1024


class _BodyReader:
    """wsgi.input that counts what the application reads of a body with a Content-Length."""

    def __init__(self, stream, length: int):
        self._stream = stream
        self.remaining = length

    def read(self, size: int = -1) -> bytes:
        return self._take(self._stream.read, size)

    def readline(self, size: int = -1) -> bytes:
        return self._take(self._stream.readline, size)

    def _take(self, read, size: int | None) -> bytes:
        """Read with `read`, never past the body's end."""
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

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)
        self.tls_failed = False
        if isinstance(self.connection, ssl.SSLSocket):
            # The TLS handshake runs here, on this connection's thread and under its timeout: in the
            # server's accept loop one phone that never finishes it would stall every other client.
            try:
                self.connection.do_handshake()
            except (OSError, ValueError):  # ssl.SSLError is an OSError; a phone that rejects our CA
                self.tls_failed = True

    def handle(self) -> None:
        if not self.tls_failed:
            super().handle()

    def finish(self) -> None:
        self.server.untrack(self.connection)
        super().finish()

    def log_error(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        # An idle kept-alive connection timing out is the normal end of it, not an error.
        if format.startswith("Request timed out"):
            return
        super().log_error(format, *args)

    def _body_reader(self, environ) -> _BodyReader | None:
        """Decide, before the application runs, whether this connection can serve another request."""
        if environ.get("HTTP_UPGRADE"):
            # A WebSocket owns the socket until it ends; it must not time out while screens idle.
            self.connection.settimeout(None)
            self.close_connection = True
            return None
        if self.request_version != "HTTP/1.1":
            # HTTP/1.0 keep-alive needs a header dance that no browser still relies on: close.
            self.close_connection = True
        if environ.get("HTTP_TRANSFER_ENCODING"):
            # A chunked body's end is found by Werkzeug's reader, not ours; any other coding has no end
            # we can find at all. Either way the connection ends with this request.
            self.close_connection = True
            return None
        length = _content_length(environ.get("CONTENT_LENGTH"))
        if length is None:
            self.close_connection = True
            return None
        reader = _BodyReader(environ["wsgi.input"], length)
        environ["wsgi.input"] = reader
        return reader

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")

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
                if body is not None and body.remaining > DRAIN_LIMIT:
                    self.close_connection = True  # a large unread body (a refused upload): don't read it
                if "content-length" in header_keys and declared is None:
                    self.close_connection = True  # a length the client cannot use: the close ends the body
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
                if body is not None and body.remaining > DRAIN_LIMIT:
                    self.close_connection = True
                if not self.close_connection and body is not None:
                    # The next request starts where this body ends: read what the application left.
                    while body.read(DRAIN_LIMIT):
                        pass
                elif not environ.get("HTTP_UPGRADE"):
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


class KioskServer(ThreadedWSGIServer):
    """Threaded Werkzeug server that knows its open connections, so stopping it can close them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if isinstance(self.socket, ssl.SSLSocket):
            self.socket.do_handshake_on_connect = False  # each handler does it (KeepAliveRequestHandler)
        self._connections: set = set()
        self._connections_lock = threading.Lock()

    def track(self, connection) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """End every open connection (kept-alive ones would otherwise wait for their idle timeout)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def server_close(self) -> None:
        self.close_connections()
        super().server_close()


def make_kiosk_server(host: str, port: int, app, ssl_context=None) -> KioskServer:
    """The server `serve` and the live tests run: threaded, keep-alive, optionally TLS."""
    return KioskServer(host, port, app, handler=KeepAliveRequestHandler, ssl_context=ssl_context)
