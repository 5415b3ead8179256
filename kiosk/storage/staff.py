"""Queries for station roles (PIN hashes) and logged-in staff sessions."""
from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..config import ROLES
from ..pins import default_length, generate_pin, hash_pin, verify_pin
from .schema import AuditLog, StaffRole, StaffSession


def sync_pins(session: Session, env_pins: dict[str, str | None], now: dt.datetime, reset: bool = False,
              roles=ROLES, lengths: dict[str, int] | None = None) -> dict[str, str]:
    """Give every role a PIN: from the environment when set, else generated; return new plain PINs.

    `reset` generates new PINs for `roles` (those not set in the environment); `lengths` sets the number
    of digits per role (default: pins.default_length)."""
    new_pins: dict[str, str] = {}
    lengths = lengths or {}
    for role in ROLES:
        row = session.get(StaffRole, role)
        env_pin = env_pins.get(role)
        if env_pin:
            if row is None:
                session.add(StaffRole(role=role, pin_hash=hash_pin(env_pin), from_env=True, updated_at=now))
            elif not (row.from_env and verify_pin(env_pin, row.pin_hash)):
                row.pin_hash, row.from_env, row.updated_at = hash_pin(env_pin), True, now
                revoke_role_sessions(session, role, now)
            continue
        if row is not None and not row.from_env and not (reset and role in roles):
            continue
        pin = generate_pin(lengths.get(role) or default_length(role))
        new_pins[role] = pin
        if row is None:
            session.add(StaffRole(role=role, pin_hash=hash_pin(pin), from_env=False, updated_at=now))
        else:
            row.pin_hash, row.from_env, row.updated_at = hash_pin(pin), False, now
            revoke_role_sessions(session, role, now)
    if new_pins:
        session.add(AuditLog(at=now, actor="system", action="pins_generated", detail=",".join(sorted(new_pins))))
    return new_pins


def check_pin(session: Session, role: str, pin: str) -> bool:
    """True when `pin` is the current PIN of `role`."""
    row = session.get(StaffRole, role)
    return row is not None and verify_pin(pin, row.pin_hash)


def record_failed_login(session: Session, role: str, client_addr: str, locked: str | None,
                        now: dt.datetime) -> None:
    """Audit a wrong PIN (and the lock it caused: "client" or "role")."""
    session.add(AuditLog(at=now, actor=role, action="login_failed", detail=client_addr))
    if locked:
        session.add(AuditLog(at=now, actor=role, action=f"login_locked_{locked}", detail=client_addr))


def record_refused_login(session: Session, role: str, client_addr: str, scope: str, now: dt.datetime) -> None:
    """Audit a device trying while its PIN login is locked (the first try of each lock)."""
    session.add(AuditLog(at=now, actor=role, action=f"login_refused_{scope}", detail=client_addr))


def failed_logins(session: Session, since: dt.datetime, limit: int = 8) -> tuple[int, list[AuditLog]]:
    """How many wrong PINs since `since`, and the newest few (for the dashboard)."""
    recent = select(AuditLog).where(AuditLog.action == "login_failed", AuditLog.at >= since)
    count = session.scalar(select(func.count()).select_from(recent.subquery())) or 0
    return count, list(session.scalars(recent.order_by(AuditLog.id.desc()).limit(limit)))


def pins_from_env(session: Session) -> dict[str, bool]:
    """For each role, whether its PIN comes from the environment."""
    return {row.role: row.from_env for row in session.scalars(select(StaffRole))}


def open_session(session: Session, role: str, client_addr: str | None, now: dt.datetime) -> str:
    """Record a login and return its random token."""
    token = secrets.token_urlsafe(32)
    session.add(StaffSession(token=token, role=role, client_addr=client_addr, created_at=now))
    session.add(AuditLog(at=now, actor=role, action="login", detail=client_addr))
    return token


def session_role(session: Session, token: str | None) -> str | None:
    """The role of a live login token, or None when unknown or revoked."""
    if not token:
        return None
    return session.scalar(select(StaffSession.role).where(StaffSession.token == token,
                                                          StaffSession.revoked_at.is_(None)))


def close_session(session: Session, token: str, now: dt.datetime) -> None:
    """Log out one device."""
    session.execute(update(StaffSession).where(StaffSession.token == token, StaffSession.revoked_at.is_(None))
                    .values(revoked_at=now))


def revoke_role_sessions(session: Session, role: str, now: dt.datetime) -> None:
    """Log out every device of a role (after its PIN changed)."""
    session.execute(update(StaffSession).where(StaffSession.role == role, StaffSession.revoked_at.is_(None))
                    .values(revoked_at=now))
