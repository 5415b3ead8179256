"""Versioned schema: create what is missing, then apply numbered upgrade steps in order."""
from __future__ import annotations

from typing import Callable

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .engine import Database
from .schema import Base, Meta

# The version a fresh database is created at. To change the schema: edit schema.py, bump this
# number, and add UPGRADES[old_version] that brings a database of the old version up by one.
SCHEMA_VERSION = 3

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


UPGRADES: dict[int, Callable[[Session], None]] = {1: _add_group_kind, 2: _phone_tails_only}


class SchemaTooNew(RuntimeError):
    """The database was written by a newer kiosk than this one."""


def ensure_schema(db: Database) -> int:
    """Create missing tables and upgrade an older database; safe to call on every start."""
    Base.metadata.create_all(db.engine)
    with db.write() as session:
        row = session.get(Meta, "schema_version")
        if row is None:
            session.add(Meta(key="schema_version", value=str(SCHEMA_VERSION)))
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
        return version


def write_probe(db: Database, now) -> None:
    """Write (and commit) one small row: proof that the database can be written right now."""
    with db.write() as session:
        session.merge(Meta(key="health_check", value=now.isoformat()))


def schema_version(db: Database) -> int | None:
    """The version recorded in the database, or None before the first start."""
    with db.read() as session:
        value = session.scalar(select(Meta.value).where(Meta.key == "schema_version"))
    return None if value is None else int(value)
