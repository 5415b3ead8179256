"""The login throttle's counts in the database, so several processes share them (kiosk/login_throttle.py)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from .engine import Database, utcnow
from .schema import LoginFailure, LoginLock
from .upsert import upsert


def _client_scope(client: str, role: str) -> str:
    return f"client {client[:60]} {role}"


def _role_scope(role: str) -> str:
    return f"role {role}"


class SharedCounts:
    """What LoginThrottle asks of a shared store: locks in force, failures counted, locks set, counts cleared."""

    def __init__(self, db: Database, clock=utcnow):
        self.db = db
        self.clock = clock

    def lock_in_force(self, client: str, role: str) -> tuple[str, float] | None:
        """("role"|"client", seconds left) of a lock any process set, the role's first; None when open."""
        now = self.clock()
        with self.db.read() as session:
            rows = dict(session.execute(select(LoginLock.scope, LoginLock.until).where(
                LoginLock.scope.in_((_role_scope(role), _client_scope(client, role))), LoginLock.until > now)).all())
        for scope, name in ((_role_scope(role), "role"), (_client_scope(client, role), "client")):
            if scope in rows:
                return name, (rows[scope] - now).total_seconds()
        return None

    def record_failure(self, client: str, role: str, role_window: float) -> tuple[int, int]:
        """Note a wrong PIN; (this client's wrong PINs for the role since its last success or lock, the role's
        wrong PINs from every client within the window)."""
        now = self.clock()
        with self.db.write() as session:
            session.add(LoginFailure(at=now, client=client[:64], role=role, for_client=True, for_role=True))
            session.flush()
            mine = session.scalar(select(func.count()).select_from(LoginFailure).where(
                LoginFailure.client == client[:64], LoginFailure.role == role, LoginFailure.for_client.is_(True)))
            everyone = session.scalar(select(func.count()).select_from(LoginFailure).where(
                LoginFailure.role == role, LoginFailure.for_role.is_(True),
                LoginFailure.at > now - dt.timedelta(seconds=role_window)))
        return int(mine or 0), int(everyone or 0)

    def lock(self, client: str | None, role: str, seconds: float) -> None:
        """Close the login for a client and role (or, with client None, for the role) on every process."""
        until = self.clock() + dt.timedelta(seconds=seconds)
        with self.db.write() as session:
            scope = _role_scope(role) if client is None else _client_scope(client, role)
            upsert(session, LoginLock, {"scope": scope, "until": until})  # two processes may lock it at once
            # The budget that was spent starts again after its lock, as the local counts do.
            if client is None:
                session.execute(update(LoginFailure).where(LoginFailure.role == role).values(for_role=False))
            else:
                session.execute(update(LoginFailure).where(LoginFailure.client == client[:64],
                                                           LoginFailure.role == role).values(for_client=False))

    def clear(self, client: str, role: str) -> None:
        """A right PIN: this client's count for this role starts again (the role's stays)."""
        with self.db.write() as session:
            session.execute(update(LoginFailure).where(
                LoginFailure.client == client[:64], LoginFailure.role == role, LoginFailure.for_client.is_(True))
                .values(for_client=False))

    def locked_roles(self) -> dict[str, float]:
        """Roles closed on every process now, with the seconds left."""
        now = self.clock()
        with self.db.read() as session:
            rows = session.execute(select(LoginLock.scope, LoginLock.until).where(
                LoginLock.scope.startswith("role "), LoginLock.until > now)).all()
        return {scope[len("role "):]: (until - now).total_seconds() for scope, until in rows}
