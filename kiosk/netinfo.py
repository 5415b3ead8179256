"""The laptop's LAN addresses and a QR code drawn in the terminal, for the start-up banner."""
from __future__ import annotations

import io
import ipaddress
import socket


def lan_addresses() -> list[str]:
    """IPv4 addresses other devices on the LAN can reach this laptop at (best first)."""
    found: list[str] = []
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.append(info[4][0])
    except OSError:
        pass
    # Connecting a UDP socket sends nothing; it only asks the OS which local address routes outward.
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))
        found.insert(0, probe.getsockname()[0])
    except OSError:
        pass
    finally:
        probe.close()
    usable = []
    for address in found:
        ip = ipaddress.ip_address(address)
        if not ip.is_loopback and not ip.is_unspecified and address not in usable:
            usable.append(address)
    return usable or ["127.0.0.1"]


def terminal_qr(text: str) -> str:
    """A QR code of `text` drawn with half-block characters, for a phone to scan off the screen."""
    import qrcode

    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(text)
    qr.make(fit=True)
    out = io.StringIO()
    qr.print_ascii(out=out, invert=True)
    return out.getvalue()
