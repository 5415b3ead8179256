"""Limits on guessing PINs (plain Python, no Flask): per device and role, and per role from anywhere.

- A device (client address) gets MAX_FAILURES wrong PINs per role, then waits LOCKOUT_SECONDS. A right PIN
  clears only that device's count for that role: logging in as the gate does not buy more admin guesses.
- A role gets ROLE_MAX_FAILURES wrong PINs within ROLE_WINDOW_SECONDS from all devices together; then its
  PIN login is closed for ROLE_LOCKOUT_SECONDS, so the PIN space cannot be searched from many addresses.
- Only wrong PINs count. A check in flight holds a place in both budgets until its answer is known, so a
  burst of parallel guesses gets exactly the allowed number of checks; a request that finds the budget
  full only because of checks in flight waits for them instead of being refused, so ten stations logging
  in at once from one address with the right PIN all get in.
- With several processes on one database, a `shared` store (kiosk/storage/throttle.py) counts every
  process's wrong PINs and holds the locks for all of them; in-flight places stay per process.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

MAX_FAILURES = 5
LOCKOUT_SECONDS = 30
ROLE_MAX_FAILURES = 30
ROLE_WINDOW_SECONDS = 600
ROLE_LOCKOUT_SECONDS = 300
# The longest a login waits for other checks in flight (a PIN check takes a few tens of milliseconds).
MAX_WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class Refusal:
    """Why a PIN may not be checked now: `scope` is "client" or "role"; wait `seconds`. `first` is True for
    the first refusal of this client and role during this lock (worth an audit line; the rest are not)."""

    scope: str
    seconds: int
    first: bool = False


class LoginThrottle:
    """Counts wrong PINs per (client, role) and per role; see the module's rules."""

    def __init__(self, max_failures: int = MAX_FAILURES, lockout_seconds: float = LOCKOUT_SECONDS,
                 role_max_failures: int = ROLE_MAX_FAILURES, role_window_seconds: float = ROLE_WINDOW_SECONDS,
                 role_lockout_seconds: float = ROLE_LOCKOUT_SECONDS, clock=time.monotonic,
                 max_wait_seconds: float = MAX_WAIT_SECONDS, shared=None):
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds
        self.role_max_failures = role_max_failures
        self.role_window_seconds = role_window_seconds
        self.role_lockout_seconds = role_lockout_seconds
        self.max_wait_seconds = max_wait_seconds
        self._clock = clock
        self._changed = threading.Condition()
        self._failures: dict[tuple[str, str], int] = {}
        self._pending: dict[tuple[str, str], int] = {}
        self._locked: dict[tuple[str, str], float] = {}
        self._role_failures: dict[str, deque] = {}
        self._role_pending: dict[str, int] = {}
        self._role_locked: dict[str, float] = {}
        self._noted: set[tuple] = set()
        self.shared = shared

    # ---- the three steps of a login: begin, then exactly one of failed / succeeded / abandoned

    def begin(self, client: str, role: str) -> Refusal | None:
        """Take a place for one PIN check, or say why not (and for how long)."""
        key = (client, role)
        deadline = time.monotonic() + self.max_wait_seconds
        with self._changed:
            while True:
                refusal = self._refusal(key, role) or self._shared_refusal(key, role)
                if refusal is not None:
                    return refusal
                failures, pending = self._failures.get(key, 0), self._pending.get(key, 0)
                role_failures, role_pending = self._role_count(role), self._role_pending.get(role, 0)
                if failures + pending < self.max_failures and role_failures + role_pending < self.role_max_failures:
                    self._pending[key] = pending + 1
                    self._role_pending[role] = role_pending + 1
                    return None
                refusal = self._lock_if_spent(key, role)
                if refusal is not None:
                    return refusal
                # Full only because of checks in flight: their answers decide whether there is room.
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return Refusal("client", 1)
                self._changed.wait(remaining)

    def failed(self, client: str, role: str) -> Refusal | None:
        """A wrong PIN (after begin): count it; return the lock it imposed, if any."""
        key = (client, role)
        with self._changed:
            self._release(key, role)
            self._failures[key] = self._failures.get(key, 0) + 1
            self._role_failures.setdefault(role, deque()).append(self._clock())
            self._changed.notify_all()
            found = [r for r in (self._lock_if_spent(key, role), self._shared_failure(key, role)) if r]
            # The widest lock wins the answer: a closed role says so rather than this client's wait.
            return next((r for r in found if r.scope == "role"), found[0] if found else None)

    def succeeded(self, client: str, role: str) -> None:
        """A right PIN (after begin): clear this client's count for this role only."""
        key = (client, role)
        with self._changed:
            self._release(key, role)
            self._failures.pop(key, None)
            self._changed.notify_all()
        if self.shared is not None:
            self.shared.clear(client, role)

    def abandoned(self, client: str, role: str) -> None:
        """The check did not happen (an error): give the place back without counting anything."""
        with self._changed:
            self._release((client, role), role)
            self._changed.notify_all()

    # ---- what the dashboard shows

    def locked_roles(self) -> dict[str, int]:
        """Roles whose PIN login is closed now, with the seconds left."""
        with self._changed:
            locked = {role: self._remaining(self._role_locked, role) for role in list(self._role_locked)
                      if self._remaining(self._role_locked, role)}
        for role, seconds in (self.shared.locked_roles() if self.shared is not None else {}).items():
            locked[role] = max(locked.get(role, 0), max(1, int(seconds + 0.999)))
        return locked

    def wait_seconds(self, client: str, role: str) -> int:
        """Seconds this client must still wait before trying this role (0 when it may try)."""
        with self._changed:
            refusal = self._refusal((client, role), role)
            return refusal.seconds if refusal else 0

    # ---- internals (called with the condition held)

    def _refusal(self, key: tuple[str, str], role: str) -> Refusal | None:
        role_wait = self._remaining(self._role_locked, role)
        if role_wait:
            return Refusal("role", role_wait, self._first((*key, self._role_locked[role])))
        client_wait = self._remaining(self._locked, key)
        return Refusal("client", client_wait, self._first((*key, self._locked[key]))) if client_wait else None

    def _shared_refusal(self, key: tuple[str, str], role: str) -> Refusal | None:
        """A lock another process (or this one) set in the shared store."""
        if self.shared is None:
            return None
        found = self.shared.lock_in_force(*key)
        if found is None:
            return None
        scope, seconds = found
        # Keyed by the lock's end to the second: one audit line per lock, as for the local ones.
        return Refusal(scope, max(1, int(seconds + 0.999)), self._first((*key, scope, int(time.time() + seconds))))

    def _shared_failure(self, key: tuple[str, str], role: str) -> Refusal | None:
        """Count a wrong PIN in the shared store; lock for every process what all of them together spent."""
        if self.shared is None:
            return None
        mine, everyone = self.shared.record_failure(*key, self.role_window_seconds)
        refusal = None
        if mine >= self.max_failures:
            self.shared.lock(key[0], role, self.lockout_seconds)
            refusal = Refusal("client", int(self.lockout_seconds))
        if everyone >= self.role_max_failures:
            self.shared.lock(None, role, self.role_lockout_seconds)
            refusal = Refusal("role", int(self.role_lockout_seconds))
        return refusal

    def _first(self, noted: tuple) -> bool:
        """Whether this client and role meet this lock for the first time (one audit line per lock each)."""
        if noted in self._noted:
            return False
        if len(self._noted) > 10_000:  # locks long over: forget them
            now = self._clock()
            self._noted = {entry for entry in self._noted if entry[-1] > now}
        self._noted.add(noted)
        return True

    def _lock_if_spent(self, key: tuple[str, str], role: str) -> Refusal | None:
        """Lock what wrong PINs alone have used up (the role, the client, or both); the refusal, or None."""
        refusal = None
        if self._failures.get(key, 0) >= self.max_failures:
            self._failures.pop(key, None)
            self._locked[key] = self._clock() + self.lockout_seconds
            refusal = Refusal("client", int(self.lockout_seconds))
        if self._role_count(role) >= self.role_max_failures:
            self._role_failures.pop(role, None)
            self._role_locked[role] = self._clock() + self.role_lockout_seconds
            refusal = Refusal("role", int(self.role_lockout_seconds))
        return refusal

    def _release(self, key: tuple[str, str], role: str) -> None:
        self._pending[key] = max(0, self._pending.get(key, 0) - 1)
        if not self._pending[key]:
            del self._pending[key]
        self._role_pending[role] = max(0, self._role_pending.get(role, 0) - 1)

    def _role_count(self, role: str) -> int:
        recent = self._role_failures.get(role)
        if not recent:
            return 0
        horizon = self._clock() - self.role_window_seconds
        while recent and recent[0] <= horizon:
            recent.popleft()
        return len(recent)

    def _remaining(self, table: dict, key) -> int:
        until = table.get(key)
        if until is None:
            return 0
        remaining = until - self._clock()
        if remaining <= 0:
            del table[key]
            return 0
        return max(1, int(remaining + 0.999))
