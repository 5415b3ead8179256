"""PINs: generation, what a PIN may look like, salted hashing (plain Python, no Flask)."""
from __future__ import annotations

import hashlib
import hmac
import secrets

PIN_LENGTH = 6
# The admin PIN opens everything (exports with phone numbers, undo, the ledger): longer by default.
ADMIN_PIN_LENGTH = 8
MIN_PIN_LENGTH, MAX_PIN_LENGTH = 4, 16
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def generate_pin(length: int = PIN_LENGTH) -> str:
    """A random PIN of `length` digits, easy to type on a phone keypad."""
    return "".join(secrets.choice("0123456789") for _ in range(length))


def default_length(role: str) -> int:
    """How many digits a generated PIN of this role has."""
    return ADMIN_PIN_LENGTH if role == "admin" else PIN_LENGTH


def is_well_formed(pin: str) -> bool:
    """Whether `pin` can be a PIN at all (4 to 16 digits): anything else is wrong without hashing it."""
    return pin.isascii() and pin.isdigit() and MIN_PIN_LENGTH <= len(pin) <= MAX_PIN_LENGTH


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
