"""The database layer: durable SQLite settings, idempotent versioned schema, PostgreSQL connections that survive a
restart, and the scan path's statements on PostgreSQL."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from kiosk.storage import SCHEMA_VERSION, Database, ensure_schema
from kiosk.storage.migrations import SchemaTooNew, schema_version
from kiosk.storage.schema import Meta
from kiosk.storage.group_commit import GroupCommitter


@pytest.mark.sqlite_only
def test_sqlite_is_durable_and_checks_foreign_keys(app):
    db = app.extensions["kiosk.db"]
    with db.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_schema_creation_is_idempotent_and_versioned(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'k.sqlite3'}")
    assert ensure_schema(db) == SCHEMA_VERSION
    assert ensure_schema(db) == SCHEMA_VERSION
    assert schema_version(db) == SCHEMA_VERSION


def test_a_database_from_a_newer_kiosk_is_refused(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'k.sqlite3'}")
    ensure_schema(db)
    with db.write() as session:
        session.get(Meta, "schema_version").value = str(SCHEMA_VERSION + 1)
    with pytest.raises(SchemaTooNew, match="mới hơn"):
        ensure_schema(db)


def test_a_failed_write_leaves_nothing_behind(app):
    db = app.extensions["kiosk.db"]
    with pytest.raises(RuntimeError):
        with db.write() as session:
            session.add(Meta(key="half-written", value="x"))
            session.flush()
            raise RuntimeError("power cut")
    with db.read() as session:
        assert session.get(Meta, "half-written") is None


def test_in_memory_sqlite_is_refused():
    with pytest.raises(ValueError):
        Database("sqlite://")


@pytest.mark.sqlite_only
def test_a_version_1_database_gains_group_kinds(data_dir):
    """A data folder from before group kinds: the upgrade adds the column and names the default groups."""
    import sqlite3

    from kiosk import create_app

    from .conftest import app_config
    first = create_app(app_config(data_dir))
    first.extensions["kiosk.db"].dispose()
    conn = sqlite3.connect(data_dir / "kiosk.sqlite3")
    conn.execute("ALTER TABLE invitee_group DROP COLUMN kind")  # as version 1 created it
    conn.execute("UPDATE kiosk_meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    again = create_app(app_config(data_dir))
    try:
        db = again.extensions["kiosk.db"]
        assert schema_version(db) == SCHEMA_VERSION == 6
        with db.read() as session:
            kinds = dict(session.execute(text("SELECT key, kind FROM invitee_group")).all())
        assert kinds["giao-vien-thcs-phu-thong"] == "staff" and kinds["hoc-sinh-thcs-phu-thong"] == "students"
        assert kinds["dai-dien-nhan-dan"] == "residents" and kinds["nha-hao-tam"] == "donors"
        assert kinds["lanh-dao-huyen"] == "delegates"
    finally:
        again.extensions["kiosk.db"].dispose()


def test_the_committer_survives_a_failing_write(app):
    committer = GroupCommitter(app.extensions["kiosk.db"].write)

    def boom(session):
        raise RuntimeError("lỗi giả")

    with pytest.raises(RuntimeError):
        committer.submit(boom)
    assert committer.submit(lambda session: 42) == 42
    committer.stop()


@pytest.mark.sqlite_only
def test_a_version_3_database_gains_admission_sources_and_the_gate_copy_triggers(data_dir):
    """A data folder from before offline gates: the upgrade adds the columns, and the triggers start
    noting every change to what the gates' local copies hold."""
    import sqlite3

    from kiosk import create_app

    from .conftest import app_config
    first = create_app(app_config(data_dir))
    first.extensions["kiosk.db"].dispose()
    conn = sqlite3.connect(data_dir / "kiosk.sqlite3")                       # as version 3 created it
    for trigger, in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {trigger}")
    conn.execute("DROP TABLE gate_change")
    conn.execute("ALTER TABLE invitee DROP COLUMN checked_in_source")
    conn.execute("ALTER TABLE scan_log DROP COLUMN source")
    conn.execute("ALTER TABLE scan_log DROP COLUMN scanned_at")
    conn.execute("UPDATE kiosk_meta SET value = '3' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    again = create_app(app_config(data_dir))
    try:
        db = again.extensions["kiosk.db"]
        assert schema_version(db) == SCHEMA_VERSION == 6
        with db.write() as session:
            before = session.execute(text("SELECT count(*) FROM gate_change")).scalar()
            session.execute(text("UPDATE invitee SET checked_in_source = 'paper' WHERE id = "
                                 "(SELECT min(id) FROM invitee)"))
            session.execute(text("SELECT source, scanned_at FROM scan_log")).all()
        with db.read() as session:
            assert session.execute(text("SELECT count(*) FROM gate_change")).scalar() == before + 1
    finally:
        again.extensions["kiosk.db"].dispose()


@pytest.mark.sqlite_only
def test_a_version_4_database_gains_print_leases_background_jobs_and_numbers_on_from_its_last_receipt(data_dir):
    """A data folder from before several processes: print jobs gain owner and lease, and the receipt counter
    starts after the gifts already recorded (no number given twice)."""
    import sqlite3

    from kiosk import create_app

    from .conftest import app_config, login
    first = create_app(app_config(data_dir))
    client = first.test_client()
    login(client, "cashier")
    gift = {"donor_name": "Nguyễn Văn An", "amount_vnd": 500_000, "request_id": "v4-upgrade-gift-1"}
    assert client.post("/api/donations", json=gift).get_json()["receipt_no"].endswith("0001")
    first.extensions["printer.queue"].stop(10)
    first.extensions["kiosk.db"].dispose()
    conn = sqlite3.connect(data_dir / "kiosk.sqlite3")                       # as version 4 created it
    conn.execute("DROP TABLE receipt_counter")
    conn.execute("DROP TABLE background_job")                              # version 6 (background jobs) too
    conn.execute("ALTER TABLE print_job DROP COLUMN owner")
    conn.execute("ALTER TABLE print_job DROP COLUMN lease_until")
    conn.execute("UPDATE kiosk_meta SET value = '4' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    again = create_app(app_config(data_dir))
    try:
        assert schema_version(again.extensions["kiosk.db"]) == SCHEMA_VERSION == 6
        client = again.test_client()
        login(client, "cashier")
        second = client.post("/api/donations", json={**gift, "request_id": "v4-upgrade-gift-2"}).get_json()
        assert second["receipt_no"].endswith("0002")
        with again.extensions["kiosk.db"].read() as session:
            assert session.execute(text("SELECT owner, lease_until FROM print_job")).all()
            assert session.execute(text("SELECT count(*) FROM background_job")).scalar() == 0
    finally:
        again.extensions["printer.queue"].stop(10)
        again.extensions["kiosk.db"].dispose()


@pytest.fixture
def pg_gate(tmp_path, postgres):
    """A gate client of an app on a fresh PostgreSQL database (on either pass), and the app."""
    from kiosk import create_app

    from .conftest import app_config, login
    app = create_app(app_config(tmp_path / "pg", DATABASE_URL=postgres.new_database()))
    gate = app.test_client()
    login(gate, "gate")
    yield app, gate
    app.extensions["kiosk.db"].dispose()


def _scan_ok(app, gate, code: str) -> None:
    answer = gate.post("/api/checkin", json={"code": code, "gate": "Cổng A"})
    assert answer.status_code == 200 and answer.get_json()["result"] == "ok", answer.get_data(as_text=True)


def test_postgresql_connections_dropped_while_idle_are_replaced_before_a_scan_uses_them(pg_gate, monkeypatch):
    from kiosk.storage import engine

    from .gate_helpers import invitations
    app, gate = pg_gate
    codes = [code for _, code, _ in invitations(app, 3)]
    _scan_ok(app, gate, codes[0])
    # The server restarts (or a firewall drops the links) while the gate is quiet: every pooled connection dies.
    db = app.extensions["kiosk.db"]
    with db.engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        admin.commit()
    monkeypatch.setattr(engine, "IDLE_PING_SECONDS", 0.0)
    _scan_ok(app, gate, codes[1])   # not a 500: the dead connection was found out before the scan ran


def _quiet(monkeypatch) -> None:
    """No deferred push and no idle check: only the test's own requests meet the database's connections."""
    from display import push
    from kiosk.storage import engine
    monkeypatch.setattr(push, "coalesced", lambda *args, **kwargs: None)
    monkeypatch.setattr(engine, "IDLE_PING_SECONDS", 3600.0)


def _admitted(db, code: str) -> int:
    with db.read() as session:
        return session.execute(text("SELECT count(*) FROM invitee i JOIN invitation_code c ON c.invitee_id = i.id "
                                    "WHERE c.code = :code AND i.checked_in_at IS NOT NULL"), {"code": code}).scalar()


def _unreachable(answer) -> bool:
    body = answer.get_json()
    return (answer.status_code == 503 and body["error"] == "database_unreachable"
            and "mất kết nối tới cơ sở dữ liệu" in body["message"])


def test_a_postgresql_link_lost_under_a_scan_is_a_503_the_gate_resends_and_the_resend_admits(pg_gate, monkeypatch):
    from .gate_helpers import invitations
    app, gate = pg_gate
    codes = [code for _, code, _ in invitations(app, 2)]
    _scan_ok(app, gate, codes[0])
    _quiet(monkeypatch)
    db = app.extensions["kiosk.db"]
    with db.engine.connect() as admin:   # the server restarts in a rush: connections in use a moment ago die
        admin.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        admin.commit()
    body = {"code": codes[1], "gate": "Cổng A", "nonce": "resent-after-restart"}
    first = gate.post("/api/checkin", json=body)
    assert _unreachable(first)   # a 503 the gate keeps and sends again (gate.js), never a 500 it drops
    # The pool replaced every dead connection at once: the resend lands, once.
    again = [gate.post("/api/checkin", json=body) for _ in range(2)]
    assert [a.status_code for a in again] == [200, 200]
    assert [a.get_json()["result"] for a in again] == ["ok", "ok"] and again[1].get_json()["replayed"] is True
    assert _admitted(db, codes[1]) == 1


def test_a_scan_while_postgresql_cannot_be_reached_is_a_503_and_lands_when_it_is_back(pg_gate, postgres, monkeypatch):
    from .gate_helpers import invitations
    app, gate = pg_gate
    codes = [code for _, code, _ in invitations(app, 2)]
    _scan_ok(app, gate, codes[0])
    _quiet(monkeypatch)
    db = app.extensions["kiosk.db"]
    name = db.url.rsplit("/", 1)[1]
    # The server is down (restarting): no new connection can be opened, the open ones are cut.
    postgres._admin(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
    try:
        postgres._admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        body = {"code": codes[1], "gate": "Cổng A", "nonce": "sent-while-down"}
        answers = [gate.post("/api/checkin", json=body) for _ in range(2)]
        assert all(_unreachable(a) for a in answers), [a.get_data(as_text=True)[:200] for a in answers]
    finally:
        postgres._admin(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
    back = gate.post("/api/checkin", json=body)
    assert back.status_code == 200 and back.get_json()["result"] == "ok"
    assert _admitted(db, codes[1]) == 1


def test_postgresql_connections_in_steady_use_are_not_pinged_before_each_scan(pg_gate, monkeypatch):
    from .gate_helpers import invitations
    app, gate = pg_gate
    codes = [code for _, code, _ in invitations(app, 12)]
    _scan_ok(app, gate, codes[0])
    db = app.extensions["kiosk.db"]
    pings = []   # by the test client's requests, which run on this thread (not the background workers')
    real_ping, here = db.engine.dialect.do_ping, threading.get_ident()

    def counted_ping(conn):
        if threading.get_ident() == here:
            pings.append(conn)
        return real_ping(conn)
    monkeypatch.setattr(db.engine.dialect, "do_ping", counted_ping)
    for code in codes[1:]:
        _scan_ok(app, gate, code)
    assert pings == []   # a round trip per scan saved in a rush


def test_a_first_time_scan_on_postgresql_is_admitted_by_the_statement_that_finds_its_card(pg_gate):
    from sqlalchemy import event

    from .gate_helpers import invitations
    app, gate = pg_gate
    (_, first, _), (_, second, _) = invitations(app, 2)
    _scan_ok(app, gate, first)   # the event's facts are read and kept; the pool has its connection
    db = app.extensions["kiosk.db"]
    statements: list[str] = []
    here = threading.get_ident()

    def seen(_conn, _cursor, statement, *_args):
        # The request's (not a background worker's) statements on the gate's tables (not the login check's).
        if threading.get_ident() == here and ("invitee" in statement or "scan_log" in statement):
            statements.append(statement.split(None, 1)[0].upper())
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        body = gate.post("/api/checkin", json={"code": second, "gate": "Cổng B", "nonce": "n-2"}).get_json()
        again = gate.post("/api/checkin", json={"code": second, "gate": "Cổng B", "nonce": "n-2"}).get_json()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert body["result"] == "ok" and body["delegate"]["full_name"] and not body.get("replayed")
    # The admission, then its log row: no look-up of the nonce or of the card first.
    assert statements[:2] == ["UPDATE", "INSERT"]
    # The retry (same nonce) meets the log's unique nonce and gets the first answer back.
    assert again["replayed"] is True and again["result"] == "ok" and again["checked_in_at"] == body["checked_in_at"]
