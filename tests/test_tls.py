"""KIOSK_TLS: a local CA and a laptop certificate, HTTPS that a client trusting the CA accepts, /setup."""
from __future__ import annotations

import threading

import pytest
import requests
from cryptography import x509

from checkin import naming
from kiosk.http_server import make_kiosk_server
from kiosk.tls import ensure_certificates

from .conftest import app_config, screenshot
from .live import HttpsServer, free_port


def test_certificates_cover_the_lan_addresses_and_chain_to_the_ca(tmp_path):
    cert_file, _key, ca_file = ensure_certificates(tmp_path, ["192.168.1.23", "10.0.0.5"])
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    ca = x509.load_pem_x509_certificate(ca_file.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    assert {"192.168.1.23", "10.0.0.5", "127.0.0.1"} <= ips
    cert.verify_directly_issued_by(ca)
    assert (tmp_path / "tls" / "server.key").stat().st_mode & 0o077 == 0
    # Same addresses: nothing is remade. A new address: a new server cert from the same CA.
    assert ensure_certificates(tmp_path, ["192.168.1.23"])[0].read_bytes() == cert_file.read_bytes()
    ensure_certificates(tmp_path, ["192.168.5.9"])
    renewed = x509.load_pem_x509_certificate(cert_file.read_bytes())
    assert renewed.serial_number != cert.serial_number
    assert x509.load_pem_x509_certificate(ca_file.read_bytes()).serial_number == ca.serial_number


def test_https_server_and_plain_http_setup_page(tmp_path):
    served = HttpsServer(app_config(tmp_path / "data"))
    app, port, ca, https = served.app, served.port, served.ca, served.server
    http_port = free_port()
    plain = make_kiosk_server("127.0.0.1", http_port, app)
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    try:
        phone = requests.Session()
        ok = phone.get(f"https://127.0.0.1:{port}/healthz", verify=str(ca), timeout=5)
        assert ok.json() == {"ok": True}
        # A phone's next request reuses the TLS connection: no handshake per scan.
        assert phone.get(f"https://127.0.0.1:{port}/healthz", verify=str(ca), timeout=5).ok
        assert "close" not in ok.headers.get("Connection", "") and len(https._connections) == 1
        setup = requests.get(f"http://127.0.0.1:{http_port}/setup", timeout=5)
        assert setup.status_code == 200 and "Cài đặt tin cậy chứng nhận" in setup.text
        ca_download = requests.get(f"http://127.0.0.1:{http_port}/setup/ca.crt", timeout=5)
        assert ca_download.headers["Content-Type"] == "application/x-x509-ca-cert"
        assert ca_download.content == ca.read_bytes()
        # Anything else on plain HTTP moves to HTTPS.
        moved = requests.get(f"http://127.0.0.1:{http_port}/gate", allow_redirects=False, timeout=5)
        assert moved.status_code == 302 and moved.headers["Location"] == f"https://127.0.0.1:{port}/gate"
    finally:
        plain.shutdown()
        plain.server_close()
        served.stop()


def test_setup_page_without_tls_says_how_to_turn_it_on(client):
    page = client.get("/setup").get_data(as_text=True)
    assert "KIOSK_TLS=1" in page
    assert client.get("/setup/ca.crt").status_code == 404


def test_a_client_that_never_finishes_its_tls_handshake_stalls_nobody(tmp_path):
    """A phone that opens the HTTPS port and goes quiet must not hold up the other gates."""
    import socket

    served = HttpsServer(app_config(tmp_path / "data"))
    quiet = socket.create_connection(("127.0.0.1", served.port), timeout=5)
    try:
        assert requests.get(served.url + "/healthz", verify=str(served.ca), timeout=3).json() == {"ok": True}
    finally:
        quiet.close()
        served.stop()


@pytest.mark.browser
def test_the_gate_page_works_over_https_with_its_websocket(browser, tmp_path):
    """What a phone with the camera scanner sees: the page, live counts over wss://, a scan admitted."""
    from .conftest import PINS
    from .gate_helpers import first_non_vip

    served = HttpsServer(app_config(tmp_path / "data"))
    app = served.app
    # The phone has installed the kiosk's CA; Chromium here is told to accept it instead.
    context = browser.new_context(locale="vi-VN", viewport={"width": 412, "height": 860}, ignore_https_errors=True)
    try:
        page = context.new_page()
        base = served.url
        page.goto(base + "/login?role=gate&next=/gate")
        page.get_by_label("Mã PIN").fill(PINS["gate"])
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_url(base + "/gate")
        page.wait_for_selector(".link-dot.on")  # the Socket.IO connection is up (over TLS)
        assert page.evaluate("window.isSecureContext") is True  # the camera API is allowed here
        _id, code, name = first_non_vip(app)
        page.keyboard.type(code, delay=5)
        page.keyboard.press("Enter")
        page.wait_for_selector("#result[data-result='ok']")
        # An office invitation is named by its office, as on the plain-HTTP gate.
        assert page.locator("#result-name").inner_text() == naming.addressed("Đồng chí", name)
        page.wait_for_selector("#count-present:text('1')")  # the count came back over the socket
        screenshot(page, "gate-phone-https")
    finally:
        context.close()
        served.stop()
