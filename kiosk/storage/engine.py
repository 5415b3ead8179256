"""The database handle: engine, SQLite pragmas, and the two kinds of transaction."""
from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
import threading
import time
from contextlib import contextmanager, nullcontext
from typing import Callable, Iterator, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, InvalidatePoolError
from sqlalchemy.orm import Session, sessionmaker

from ..config import private_file
from .group_commit import GroupCommitter

T = TypeVar("T")
# pg_advisory_lock key of schema creation and first-run set-up ("kiosk" in ASCII, as a number).
SETUP_LOCK_KEY = 0x6B696F736B
# Set in session.info on write_or_replay's first run (see there).
FIRST_TRY = "kiosk.first_try"
# A pooled PostgreSQL connection unused this long is checked (SELECT 1) before it is handed out (see _ping_idle).
IDLE_PING_SECONDS = 2.0
# First half of the two-number advisory locks of Database.try_hold (the second: a hash of the name).
OWNER_LOCK_NAMESPACE = 0x6B696F


def utcnow() -> dt.datetime:
    """Aware current time in UTC; every stored timestamp is UTC."""
    return dt.datetime.now(dt.timezone.utc)


def process_name() -> str:
    """A name for this process that no other process on any machine shares: host, pid, a random tail."""
    # The random tail: a pid is reused after a restart, and rows the old process left must not look ours.
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def _tune_sqlite(engine: Engine) -> None:
    """Make SQLite durable and safe for many threads."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy's "begin" hook issue BEGIN itself (pysqlite's own is deferred and late).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: an acknowledged check-in or donation survives a power cut.
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the write lock up front: a deferred transaction that reads and then writes
        # can fail with SQLITE_BUSY instead of waiting when another writer got in between.
        if conn.get_execution_options().get("kiosk_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def _ping_idle(engine: Engine) -> None:
    """Check a pooled PostgreSQL connection before use only when it sat idle: a server restarted meanwhile
    then costs no request. pool_pre_ping would check every one, a round trip on every scan in a rush."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn, record):
        record.info["kiosk.idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn, record, _proxy):
        idle_since = record.info.get("kiosk.idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return   # new, or in use a moment ago (a link that broke since fails one request, then is replaced)
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # noqa: BLE001 - any failure: the pool connects afresh
            # Every pooled connection older than this one is as dead (a restarted server): all are replaced.
            raise InvalidatePoolError("idle connection lost") from exc


class HeldLock:
    """A lock taken by Database.try_hold: `still_held()` checks its connection, `release()` lets it go."""

    def __init__(self, conn):
        self._conn = conn

    def still_held(self) -> bool:
        if self._conn is None:
            return True
        try:
            self._conn.exec_driver_sql("SELECT 1")
            self._conn.commit()
            return True
        except Exception:  # noqa: BLE001 - the server restarted or the link broke: the lock is gone
            self.release()
            return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                # Invalidated, not returned to the pool: ending the server session frees its advisory lock.
                self._conn.invalidate()
                self._conn.close()
            except Exception:  # noqa: BLE001
                pass
            self._conn = None


class Database:
    """Owns the engine; hands out read sessions and write transactions."""

    def __init__(self, url: str):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
            if ":memory:" in url or url in ("sqlite://", "sqlite:///"):
                raise ValueError("The kiosk needs a database file, not an in-memory SQLite.")
            # Owner-only before SQLite first opens it; its -wal and -shm files take the same mode.
            private_file(url[len("sqlite:///"):])
        else:
            # A request thread per station holds a connection for its transaction; beside them the print
            # worker, the presence refresher and the pushes. SQLAlchemy's default 5 + 10 makes a rush queue.
            kwargs.update(pool_size=20, max_overflow=20, pool_timeout=15)
        self.engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            _tune_sqlite(self.engine)
        else:
            _ping_idle(self.engine)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.engine.execution_options(kiosk_write=True), expire_on_commit=False)
        # SQLite has one writer at a time. Queueing our own writers on a Python lock hands the turn over
        # at once; left to SQLite's busy handler they sleep in growing steps (up to 100 ms) and the gate's
        # p99 goes to a second. Other processes (the CLI) still meet the busy timeout.
        self._write_lock = threading.Lock() if self.is_sqlite else nullcontext()
        self._committer = GroupCommitter(self.write)
        self.closed = False  # set by dispose(): background workers polling the database stop

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries only; closing it ends the transaction, loaded objects stay readable."""
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction committed on success, rolled back on any exception."""
        with self._write_lock, self._write() as session:
            with session.begin():
                yield session

    def batched(self, work: Callable[[Session], T]) -> T:
        """Run `work(session)` in a write transaction shared with concurrent callers (one fsync for all);
        returns once that transaction is committed. For the gate's many small writes."""
        if not self.is_sqlite:
            # PostgreSQL commits concurrent transactions with one WAL flush already, and row locks keep
            # the rules; one batch holding many rows' locks could deadlock with another process's batch.
            return self.write_or_replay(work)
        return self._committer.submit(work)

    def write_or_replay(self, work: Callable[[Session], T]) -> T:
        """Run `work(session)` in a write transaction; if it meets a unique key a twin request committed
        meanwhile (the same nonce or request_id, retried on another process), run it once more: its own
        replay check then finds and returns the first answer, as a retry on one process would.

        On the first run `session.info[FIRST_TRY]` is set: work whose replay is caught by that unique key
        anyway may skip looking for one (a query saved on every new request; retries are rare)."""
        try:
            with self.write() as session:
                session.info[FIRST_TRY] = True
                return work(session)
        except IntegrityError:
            with self.write() as session:
                session.info[FIRST_TRY] = False
                return work(session)

    @contextmanager
    def setup_lock(self) -> Iterator[None]:
        """Hold the database-wide setup lock (PostgreSQL advisory lock): processes starting together on an
        empty database create its schema and load its event one after another, never both at once."""
        if self.is_sqlite:
            yield  # one laptop, one process: nothing to wait for
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({SETUP_LOCK_KEY})")
            conn.commit()
            try:
                yield
            finally:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({SETUP_LOCK_KEY})")
                conn.commit()

    def try_hold(self, name: str) -> "HeldLock | None":
        """Take the named lock for as long as this process lives (PostgreSQL advisory lock on a connection of
        its own; the server frees it when the process dies), or None when another process holds it. On
        SQLite, one process serves: it always gets it."""
        if self.is_sqlite:
            return HeldLock(None)
        conn = self.engine.connect()
        try:
            got = conn.exec_driver_sql("SELECT pg_try_advisory_lock(%(ns)s, hashtext(%(name)s))",
                                       {"ns": OWNER_LOCK_NAMESPACE, "name": name}).scalar()
            conn.commit()
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return None
        return HeldLock(conn)

    def dispose(self) -> None:
        """Close every pooled connection (tests, restore, shutdown)."""
        self.closed = True
        self._committer.stop()
        self.engine.dispose()
