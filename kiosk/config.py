"""Kiosk configuration: environment first, then `config.toml` in the data folder, then defaults."""
from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path

from .pins import MAX_PIN_LENGTH, MIN_PIN_LENGTH, is_well_formed

ROLES = ("admin", "gate", "mc", "cashier")

# Every setting the public contract documents (README "Configuration"), with its default.
DEFAULTS: dict[str, object] = {
    "KIOSK_DATA_DIR": "./instance",
    "PORT": 5000,
    "KIOSK_HOST": "0.0.0.0",
    "KIOSK_PRINTER": "preview",
    "KIOSK_PAPER_DOTS": 576,
    "KIOSK_PRINTER_CUTTER": True,
    "KIOSK_TLS": False,
    "DATABASE_URL": None,
    # redis://HOST:PORT/N: Socket.IO pushes reach the screens of every kiosk process on the same database.
    "KIOSK_MESSAGE_QUEUE": None,
    # The session secret shared by several processes (each with its own data folder); default: a file there.
    "KIOSK_SECRET_KEY": None,
    # Card exports (PDF, ZIP): several processes name one folder here, so any of them serves a download.
    "KIOSK_EXPORT_DIR": None,
    # 1 behind a reverse proxy on this machine (deploy/nginx-kiosk.conf): the device's address is taken from
    # the proxy's X-Forwarded-For (logs, login throttle). Only with KIOSK_HOST=127.0.0.1, or anyone could forge it.
    "KIOSK_BEHIND_PROXY": False,
    # The address printed in receipt QR codes; default: the laptop's LAN address and PORT.
    "KIOSK_PUBLIC_URL": None,
    "KIOSK_BACKUP_MINUTES": 5,
    "KIOSK_BACKUP_KEEP": 24,
    **{f"KIOSK_PIN_{role.upper()}": None for role in ROLES},
}

_INTS = {"PORT", "KIOSK_PAPER_DOTS", "KIOSK_BACKUP_MINUTES", "KIOSK_BACKUP_KEEP"}
_BOOLS = {"KIOSK_TLS", "KIOSK_PRINTER_CUTTER", "KIOSK_BEHIND_PROXY"}
CONFIG_FILE_NAME = "config.toml"
SECRET_KEY_FILE_NAME = "secret_key"


class ConfigError(ValueError):
    """A setting has a value the kiosk cannot use."""


def _coerce(key: str, value: object) -> object:
    """Turn a string from the environment or file into the setting's type."""
    if value is None:
        return None
    if key in _INTS:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} phải là số nguyên (đang là {value!r}).") from None
    if key in _BOOLS:
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in {"1", "true", "yes", "on", "có"}
    return str(value)


def load_config(overrides: dict | None = None, environ: dict | None = None) -> dict:
    """Resolve every setting; `overrides` (tests, CLI flags) beat the environment, which beats the file."""
    overrides = dict(overrides or {})
    environ = os.environ if environ is None else environ
    data_dir_raw = overrides.get("KIOSK_DATA_DIR") or environ.get("KIOSK_DATA_DIR") or DEFAULTS["KIOSK_DATA_DIR"]
    data_dir = Path(str(data_dir_raw)).expanduser().resolve()

    from_file: dict = {}
    config_file = data_dir / CONFIG_FILE_NAME
    if config_file.is_file():
        try:
            from_file = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"Tệp cấu hình {config_file} bị lỗi: {exc}") from None

    config: dict = {}
    for key, default in DEFAULTS.items():
        if key in overrides:
            value = overrides[key]
        elif environ.get(key) not in (None, ""):
            value = environ[key]
        elif key in from_file:
            value = from_file[key]
        else:
            value = default
        config[key] = _coerce(key, value)
    # Extra keys (Flask's own, test switches) pass through untouched.
    for key, value in overrides.items():
        config.setdefault(key, value)
    config["KIOSK_DATA_DIR"] = str(data_dir)
    config["KIOSK_EXPORT_DIR"] = str(Path(str(config["KIOSK_EXPORT_DIR"] or data_dir / "exports")).expanduser().resolve())
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{data_dir / 'kiosk.sqlite3'}"
    queue_url = config.get("KIOSK_MESSAGE_QUEUE")
    if queue_url and not str(queue_url).startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("KIOSK_MESSAGE_QUEUE phải là địa chỉ Redis (redis://máy:6379/0).")
    if config.get("KIOSK_SECRET_KEY") is not None and len(str(config["KIOSK_SECRET_KEY"])) < 32:
        raise ConfigError("KIOSK_SECRET_KEY phải dài ít nhất 32 ký tự (ví dụ: python3 -c "
                          "'import secrets; print(secrets.token_hex(32))').")
    if config["KIOSK_PAPER_DOTS"] % 8:
        raise ConfigError("KIOSK_PAPER_DOTS phải chia hết cho 8 (384, 512 hoặc 576).")
    for role in ROLES:
        pin = config[f"KIOSK_PIN_{role.upper()}"]
        # The login form takes digits only: a PIN nobody can type would lock the station out.
        if pin is not None and not is_well_formed(pin):
            raise ConfigError(f"KIOSK_PIN_{role.upper()} phải gồm {MIN_PIN_LENGTH} đến {MAX_PIN_LENGTH} chữ số.")
    return config


def ensure_data_dir(data_dir: str | Path, export_dir: str | Path | None = None) -> Path:
    """Create the data folder and its sub-folders (and the exports folder, wherever it is), owner-only
    (phone numbers, gifts, keys); return its path."""
    path = Path(data_dir)
    for folder in [path / sub for sub in ("", "logs", "receipts", "exports", "backups")] + \
            ([Path(export_dir)] if export_dir else []):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        _owner_only(folder, 0o700)
    return path


def private_file(path: str | Path) -> Path:
    """Make sure `path` exists and only its owner may read it (0600), before anything is written to it."""
    path = Path(path)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    _owner_only(path, 0o600)
    return path


def _owner_only(path: Path, mode: int) -> None:
    try:
        os.chmod(path, mode)
    except PermissionError:  # a folder someone else owns (a shared mount): leave it as it is
        pass


def load_or_create_secret_key(data_dir: str | Path) -> str:
    """Read the session-signing key, generating it on first run (never committed, owner-only)."""
    key_file = Path(data_dir) / SECRET_KEY_FILE_NAME
    if key_file.is_file():
        key = key_file.read_text(encoding="ascii").strip()
        if len(key) >= 32:
            return key
    key = secrets.token_hex(32)
    # Write then rename so a power cut never leaves a half-written key.
    tmp = key_file.with_suffix(".tmp")
    tmp.write_text(key, encoding="ascii")
    os.chmod(tmp, 0o600)
    os.replace(tmp, key_file)
    return key
