"""Which gate devices exist and whether they are online, for the organiser's dashboard (plain Python).

A gate page says `hello` on every (re)connect with the random key it keeps in localStorage, its gate's
name and how many scans it holds unsent. A device whose socket closes is "offline since" then, and stays
listed with its last known count: exactly the gate the organiser has to walk over to.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from dataclasses import dataclass, field

from kiosk.vietnamese import nfc

DEVICE_KEY = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
MAX_GATE_NAME = 80
MAX_PENDING = 1_000_000
# Devices silent this long are dropped from the list (a phone that went home).
FORGET_AFTER = dt.timedelta(hours=12)


def device_id_for(key: str) -> str:
    """The public id of the device holding `key` (one-way, like a screen's)."""
    return hashlib.sha256(b"kiosk gate device v1:" + key.encode()).hexdigest()[:16]


def parse_status(data) -> tuple[str | None, int] | None:
    """(gate name, scans waiting) from a `hello` or `status`, or None if malformed."""
    if not isinstance(data, dict):
        return None
    gate, pending = data.get("gate"), data.get("pending", 0)
    if type(pending) is not int or not 0 <= pending <= MAX_PENDING:
        return None
    name = nfc(gate)[:MAX_GATE_NAME].strip() if isinstance(gate, str) else ""
    return name or None, pending


@dataclass
class Device:
    """One gate device as the dashboard shows it."""

    device_id: str
    gate: str | None
    pending: int
    since: dt.datetime            # online since, or offline since
    sids: set[str] = field(default_factory=set)

    @property
    def online(self) -> bool:
        return bool(self.sids)


class Registry:
    """Thread-safe list of gate devices and their sockets."""

    def __init__(self):
        self._lock = threading.Lock()
        self._devices: dict[str, Device] = {}
        self._by_sid: dict[str, str] = {}

    def hello(self, sid: str, key: str, gate: str | None, pending: int, now: dt.datetime) -> str | None:
        """Record a device on a socket; its id, or None for a malformed key."""
        if not isinstance(key, str) or not DEVICE_KEY.match(key):
            return None
        device_id = device_id_for(key)
        with self._lock:
            device = self._devices.get(device_id)
            if device is None:
                device = self._devices[device_id] = Device(device_id, gate, pending, now)
            elif not device.online:
                device.since = now
            device.gate, device.pending = gate, pending
            device.sids.add(sid)
            self._by_sid[sid] = device_id
        return device_id

    def status(self, sid: str, gate: str | None, pending: int) -> bool:
        """A device's new count or name; True when it is known on this socket."""
        with self._lock:
            device = self._devices.get(self._by_sid.get(sid, ""))
            if device is None:
                return False
            device.gate, device.pending = gate, pending
            return True

    def gone(self, sid: str, now: dt.datetime) -> bool:
        """A socket closed; True when it belonged to a device (which may now be offline)."""
        with self._lock:
            device = self._devices.get(self._by_sid.pop(sid, ""))
            if device is None:
                return False
            device.sids.discard(sid)
            if not device.online:
                device.since = now
            return True

    def overview(self, now: dt.datetime) -> list[dict]:
        """Every device: online ones first, then the longest offline; each with its waiting scans."""
        with self._lock:
            for device_id in [d for d, dev in self._devices.items()
                              if not dev.online and now - dev.since > FORGET_AFTER]:
                del self._devices[device_id]
            devices = list(self._devices.values())
        devices.sort(key=lambda d: (not d.online, d.since if not d.online else dt.datetime.min.replace(
            tzinfo=dt.timezone.utc), d.gate or "", d.device_id))
        return [{"id": d.device_id, "gate": d.gate or "Cổng chưa đặt tên", "online": d.online,
                 "since": d.since, "pending": d.pending} for d in devices]
