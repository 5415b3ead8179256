"""Versioned schema: create what is missing, then apply numbered upgrade steps in order."""
from __future__ import annotations

import secrets
from typing import Callable

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from .engine import Database
from .schema import Base, Meta
from .upsert import upsert

# The version a fresh database is created at. To change the schema: edit schema.py, bump this
# number, and add UPGRADES[old_version] that brings a database of the old version up by one.
SCHEMA_VERSION = 6

# Version 1 databases ran the default event, whose group keys say who each group is.
_DEFAULT_EVENT_KINDS = {"dai-dien-nhan-dan": "residents", "giao-vien-thcs-phu-thong": "staff",
                        "hoc-sinh-thcs-phu-thong": "students", "nha-hao-tam": "donors", "khach-khac": "other"}


def _add_group_kind(session: Session) -> None:
    """1 → 2: invitee_group.kind, filled in for the default event's groups."""
    session.execute(text("ALTER TABLE invitee_group ADD COLUMN kind VARCHAR(20) NOT NULL DEFAULT 'delegates'"))
    for key, kind in _DEFAULT_EVENT_KINDS.items():
        session.execute(text("UPDATE invitee_group SET kind = :kind WHERE key = :key"), {"kind": kind, "key": key})


def _phone_tails_only(session: Session) -> None:
    """2 → 3: invitee search text keeps a phone's last digits only (the whole number could be probed)."""
    from .events import invitee_search_text
    rows = session.execute(text("SELECT id, full_name, title, organisation, phone FROM invitee")).all()
    for invitee_id, name, title, organisation, phone in rows:
        session.execute(text("UPDATE invitee SET search_text = :search WHERE id = :id"),
                        {"search": invitee_search_text(name, title, organisation, phone), "id": invitee_id})


def _add_column(session: Session, table: str, column: str, sql_type: str) -> None:
    """ALTER TABLE ADD COLUMN unless it is there (a database marked older than it is must still open)."""
    if column not in {c["name"] for c in inspect(session.connection()).get_columns(table)}:
        session.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))


def _admission_sources(session: Session) -> None:
    """3 → 4: where an admission came from (offline gate, paper list) and when the scan happened."""
    moment = "DATETIME" if session.bind.dialect.name == "sqlite" else "TIMESTAMP WITHOUT TIME ZONE"
    _add_column(session, "invitee", "checked_in_source", "VARCHAR(20)")
    _add_column(session, "scan_log", "source", "VARCHAR(20)")
    _add_column(session, "scan_log", "scanned_at", moment)


def _print_leases(session: Session) -> None:
    """4 → 5: which process prints a job, and until when (several processes on one database). The
    receipt_counter table is new too; create_all made it, and the first gift fills it in."""
    moment = "DATETIME" if session.bind.dialect.name == "sqlite" else "TIMESTAMP WITHOUT TIME ZONE"
    _add_column(session, "print_job", "owner", "VARCHAR(80)")
    _add_column(session, "print_job", "lease_until", moment)


def _background_jobs(session: Session) -> None:
    """5 → 6: card exports and imports kept in the database (any process shows them). create_all made the
    background_job table; jobs running before the upgrade were in memory and ended with their process."""


UPGRADES: dict[int, Callable[[Session], None]] = {1: _add_group_kind, 2: _phone_tails_only,
                                                   3: _admission_sources, 4: _print_leases, 5: _background_jobs}

# What a gate's local copy shows about an invitee (checkin/gate_copy.py). A change to any of these, by any
# path (a scan, an undo, an import, an edit, a reissued card, the CLI in another process), must reach the
# copies; triggers make the database itself note it, in the same transaction as the change.
_COPIED_COLUMNS = ("full_name", "honorific", "title", "organisation", "protocol_rank", "seat", "group_id",
                   "substitute_name", "checked_in_at", "checked_in_gate", "checked_in_source", "removed_at",
                   "is_walk_in")

_SQLITE_TRIGGERS = [
    "CREATE TRIGGER gate_change_invitee_new AFTER INSERT ON invitee "
    "BEGIN INSERT INTO gate_change (invitee_id) VALUES (NEW.id); END",
    f"CREATE TRIGGER gate_change_invitee AFTER UPDATE OF {', '.join(_COPIED_COLUMNS)} ON invitee "
    "BEGIN INSERT INTO gate_change (invitee_id) VALUES (NEW.id); END",
    "CREATE TRIGGER gate_change_code_new AFTER INSERT ON invitation_code "
    "BEGIN INSERT INTO gate_change (invitee_id) VALUES (NEW.invitee_id); END",
    "CREATE TRIGGER gate_change_code AFTER UPDATE ON invitation_code "
    "BEGIN INSERT INTO gate_change (invitee_id) VALUES (NEW.invitee_id); END",
    "CREATE TRIGGER gate_change_group AFTER UPDATE OF is_vip, name ON invitee_group "
    "BEGIN INSERT INTO gate_change (invitee_id) SELECT id FROM invitee WHERE group_id = NEW.id; END",
    "CREATE TRIGGER gate_change_event AFTER UPDATE OF vip_max_rank ON event "
    "BEGIN INSERT INTO gate_change (invitee_id) SELECT id FROM invitee WHERE event_id = NEW.id; END",
]

_POSTGRES_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION kiosk_gate_change_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO gate_change (invitee_id) VALUES (NEW.id); RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION kiosk_gate_change_code() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO gate_change (invitee_id) VALUES (NEW.invitee_id); RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION kiosk_gate_change_group() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO gate_change (invitee_id) SELECT id FROM invitee WHERE group_id = NEW.id; RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION kiosk_gate_change_event() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO gate_change (invitee_id) SELECT id FROM invitee WHERE event_id = NEW.id; RETURN NULL; END $$",
    "CREATE TRIGGER gate_change_invitee_new AFTER INSERT ON invitee "
    "FOR EACH ROW EXECUTE FUNCTION kiosk_gate_change_row()",
    f"CREATE TRIGGER gate_change_invitee AFTER UPDATE OF {', '.join(_COPIED_COLUMNS)} ON invitee "
    "FOR EACH ROW EXECUTE FUNCTION kiosk_gate_change_row()",
    "CREATE TRIGGER gate_change_code AFTER INSERT OR UPDATE ON invitation_code "
    "FOR EACH ROW EXECUTE FUNCTION kiosk_gate_change_code()",
    "CREATE TRIGGER gate_change_group AFTER UPDATE OF is_vip, name ON invitee_group "
    "FOR EACH ROW EXECUTE FUNCTION kiosk_gate_change_group()",
    "CREATE TRIGGER gate_change_event AFTER UPDATE OF vip_max_rank ON event "
    "FOR EACH ROW EXECUTE FUNCTION kiosk_gate_change_event()",
]


_TRIGGERS = ("gate_change_invitee_new", "gate_change_invitee", "gate_change_code_new", "gate_change_code",
             "gate_change_group", "gate_change_event")
_TRIGGER_TABLES = {"gate_change_invitee_new": "invitee", "gate_change_invitee": "invitee",
                   "gate_change_code_new": "invitation_code", "gate_change_code": "invitation_code",
                   "gate_change_group": "invitee_group", "gate_change_event": "event"}


def _ensure_triggers(session: Session) -> None:
    """(Re)create the gate-copy triggers on every start, after any upgrade: dropped first, so a release that
    changes one replaces it, and without CREATE OR REPLACE TRIGGER (PostgreSQL 14+ only)."""
    sqlite = session.bind.dialect.name == "sqlite"
    for name in _TRIGGERS:
        session.execute(text(f"DROP TRIGGER IF EXISTS {name}" + ("" if sqlite else f" ON {_TRIGGER_TABLES[name]}")))
    for statement in _SQLITE_TRIGGERS if sqlite else _POSTGRES_TRIGGERS:
        session.execute(text(statement))


class SchemaTooNew(RuntimeError):
    """The database was written by a newer kiosk than this one."""


def ensure_schema(db: Database) -> int:
    """Create missing tables and upgrade an older database; safe to call on every start, by several
    processes at once (they take turns on the setup lock)."""
    with db.setup_lock():
        return _create_or_upgrade(db)


def _create_or_upgrade(db: Database) -> int:
    Base.metadata.create_all(db.engine)
    with db.write() as session:
        row = session.get(Meta, "schema_version")
        if session.get(Meta, "instance") is None:
            # Which database this is: a gate holding a copy of another one (a restore, another laptop)
            # starts its copy again instead of merging changes into the wrong list.
            session.add(Meta(key="instance", value=secrets.token_hex(8)))
        if row is None:
            session.add(Meta(key="schema_version", value=str(SCHEMA_VERSION)))
            _ensure_triggers(session)
            return SCHEMA_VERSION
        version = int(row.value)
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"Cơ sở dữ liệu thuộc phiên bản {version}, mới hơn phần mềm ({SCHEMA_VERSION}). "
                "Hãy cập nhật phần mềm.")
        while version < SCHEMA_VERSION:
            UPGRADES[version](session)
            version += 1
        row.value = str(version)
        _ensure_triggers(session)
        return version


def write_probe(db: Database, now) -> None:
    """Write (and commit) one small row: proof that the database can be written right now."""
    with db.write() as session:
        upsert(session, Meta, {"key": "health_check", "value": now.isoformat()})  # processes probe at once


def schema_version(db: Database) -> int | None:
    """The version recorded in the database, or None before the first start."""
    with db.read() as session:
        value = session.scalar(select(Meta.value).where(Meta.key == "schema_version"))
    return None if value is None else int(value)
