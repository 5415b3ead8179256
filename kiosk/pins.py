"""PINs: generation, salted hashing, and the wrong-PIN throttle (plain Python, no Flask)."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

PIN_LENGTH = 6
MAX_FAILURES = 5
LOCKOUT_SECONDS = 30
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def generate_pin() -> str:
    """A random 6-digit PIN, easy to type on a phone keypad."""
    return "".join(secrets.choice("0123456789") for _ in range(PIN_LENGTH))


def hash_pin(pin: str) -> str:
    """Salted scrypt hash of a PIN, self-describing so parameters can change later."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """True when `pin` matches the stored hash; constant-time comparison."""
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt_hex), dklen=32, n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(digest.hex(), digest_hex)


class LoginThrottle:
    """Counts wrong PINs per client; after five, the client waits thirty seconds."""

    def __init__(self, max_failures: int = MAX_FAILURES, lockout_seconds: float = LOCKOUT_SECONDS,
                 clock=time.monotonic):
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds
        self._clock = clock
        self._failures: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, client: str) -> int:
        """Seconds the client must still wait before trying again (0 when it may try)."""
        with self._lock:
            return self._remaining(client)

    def begin(self, client: str) -> int:
        """Count an attempt before its PIN is checked; return the wait if the client must not try now.

        Counting first means a burst of parallel attempts gets at most `max_failures` PIN checks."""
        with self._lock:
            remaining = self._remaining(client)
            if remaining:
                return remaining
            count = self._failures.get(client, 0)
            if count >= self.max_failures:
                return self._lock_out(client)
            self._failures[client] = count + 1
            return 0

    def failed(self, client: str) -> int:
        """After a wrong PIN (counted by begin): return the wait now imposed (0 while under the limit)."""
        with self._lock:
            if self._failures.get(client, 0) >= self.max_failures:
                return self._lock_out(client)
            return 0

    def _lock_out(self, client: str) -> int:
        self._failures.pop(client, None)
        self._locked_until[client] = self._clock() + self.lockout_seconds
        return int(self.lockout_seconds)

    def _remaining(self, client: str) -> int:
        until = self._locked_until.get(client)
        if until is None:
            return 0
        remaining = until - self._clock()
        if remaining <= 0:
            del self._locked_until[client]
            return 0
        return max(1, int(remaining + 0.999))

    def succeeded(self, client: str) -> None:
        """A right PIN clears the client's count."""
        with self._lock:
            self._failures.pop(client, None)
