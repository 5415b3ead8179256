"""The database handle: engine, SQLite pragmas, and the two kinds of transaction."""
from __future__ import annotations

import datetime as dt
import threading
from contextlib import contextmanager, nullcontext
from typing import Callable, Iterator, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from ..config import private_file
from .group_commit import GroupCommitter

T = TypeVar("T")


def utcnow() -> dt.datetime:
    """Aware current time in UTC; every stored timestamp is UTC."""
    return dt.datetime.now(dt.timezone.utc)


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
            kwargs["pool_pre_ping"] = True
        self.engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            _tune_sqlite(self.engine)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.engine.execution_options(kiosk_write=True), expire_on_commit=False)
        # SQLite has one writer at a time. Queueing our own writers on a Python lock hands the turn over
        # at once; left to SQLite's busy handler they sleep in growing steps (up to 100 ms) and the gate's
        # p99 goes to a second. Other processes (the CLI) still meet the busy timeout.
        self._write_lock = threading.Lock() if self.is_sqlite else nullcontext()
        self._committer = GroupCommitter(self.write)

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
        return self._committer.submit(work)

    def dispose(self) -> None:
        """Close every pooled connection (tests, restore, shutdown)."""
        self._committer.stop()
        self.engine.dispose()
