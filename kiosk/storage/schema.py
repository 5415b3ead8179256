"""Every table the kiosk keeps, as SQLAlchemy 2 declarative models."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text,
                        TypeDecorator, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as naive UTC and gives them back aware (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=dt.timezone.utc)


class Base(DeclarativeBase):
    """Declarative base for the kiosk's tables."""


class Meta(Base):
    """Key-value facts about the database itself, such as the schema version."""

    __tablename__ = "kiosk_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Event(Base):
    """The ceremony: title, time, place and the organisations behind it."""

    __tablename__ = "event"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(Text)
    theme: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64))
    venue: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    organiser: Mapped[str | None] = mapped_column(Text)
    host_unit: Mapped[str | None] = mapped_column(Text)
    association: Mapped[str | None] = mapped_column(Text)
    fund_name: Mapped[str | None] = mapped_column(Text)
    receipt_prefix: Mapped[str] = mapped_column(String(32))
    vip_max_rank: Mapped[int] = mapped_column(Integer, default=0)
    default_group_key: Mapped[str | None] = mapped_column(String(80))
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    agenda: Mapped[list["AgendaItem"]] = relationship(order_by="AgendaItem.position")
    groups: Mapped[list["InviteeGroup"]] = relationship(order_by="InviteeGroup.protocol_rank")


class AgendaItem(Base):
    """One row of the programme (CHƯƠNG TRÌNH)."""

    __tablename__ = "agenda_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    planned_start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    planned_end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    content: Mapped[str] = mapped_column(Text)
    performer: Mapped[str | None] = mapped_column(Text)
    # Which special slide the item can show: "delegates" (roster) or "donations" (fund total).
    slide: Mapped[str | None] = mapped_column(String(32))


class InviteeGroup(Base):
    """A protocol group of guests (section II.4.4 of the plan), in protocol order."""

    __tablename__ = "invitee_group"
    __table_args__ = (UniqueConstraint("event_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    key: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(Text)
    protocol_rank: Mapped[int] = mapped_column(Integer)
    is_vip: Mapped[bool] = mapped_column(Boolean, default=False)
    # Walk-ins (people without an invitation) may be registered into this group at the gate.
    walk_in: Mapped[bool] = mapped_column(Boolean, default=False)
    # Who the group is (event_file.GROUP_KINDS): the report counts the school's staff and students apart.
    kind: Mapped[str] = mapped_column(String(20), default="delegates", server_default="delegates")
    expected_count: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)


class Invitee(Base):
    """A person (or office) invited or registered at the gate."""

    __tablename__ = "invitee"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("invitee_group.id"), index=True)
    full_name: Mapped[str] = mapped_column(Text)
    honorific: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str | None] = mapped_column(Text)
    organisation: Mapped[str | None] = mapped_column(Text)
    protocol_rank: Mapped[int | None] = mapped_column(Integer)
    seat: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    # Diacritic-folded name, title, organisation and phone, so search needs no per-row Python.
    search_text: Mapped[str] = mapped_column(Text, default="")
    is_walk_in: Mapped[bool] = mapped_column(Boolean, default=False)
    substitute_name: Mapped[str | None] = mapped_column(Text)
    substitute_title: Mapped[str | None] = mapped_column(Text)
    # Set once by a conditional UPDATE, so two gates can never admit the same person twice.
    checked_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    checked_in_gate: Mapped[str | None] = mapped_column(String(80))
    # How the admission reached the server: None from a gate online, "offline" synced later from a gate's
    # local copy, "paper" entered from the printed door list.
    checked_in_source: Mapped[str | None] = mapped_column(String(20))
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    group: Mapped[InviteeGroup] = relationship()


class InvitationCode(Base):
    """A code printed on an invitation card; reissuing revokes the old one instead of deleting it."""

    __tablename__ = "invitation_code"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    invitee_id: Mapped[int] = mapped_column(ForeignKey("invitee.id"), index=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str | None] = mapped_column(Text)


class ScanLog(Base):
    """Append-only record of every gate action, failures and undos included."""

    __tablename__ = "scan_log"
    __table_args__ = (Index("ix_scan_log_invitee", "invitee_id"), Index("ix_scan_log_at", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    client_at: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))  # scan | search | walk_in | undo
    raw: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(40))
    invitee_id: Mapped[int | None] = mapped_column(ForeignKey("invitee.id"))
    gate: Mapped[str | None] = mapped_column(String(80))
    operator: Mapped[str | None] = mapped_column(String(40))
    client_addr: Mapped[str | None] = mapped_column(String(64))
    # A retried request with the same nonce gets the first answer back instead of a second admission.
    nonce: Mapped[str | None] = mapped_column(String(80), unique=True)
    reason: Mapped[str | None] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(Text)
    # "offline" or "paper" (see Invitee.checked_in_source), with the time the scan or tick happened,
    # which is the admission's time; `at` stays the time the server heard of it.
    source: Mapped[str | None] = mapped_column(String(20))
    scanned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class GateChange(Base):
    """One row per change to what a gate's local copy holds about an invitee; the highest id is the copy's
    version. Written by database triggers (migrations.GATE_CHANGE_TRIGGERS), so no write path can forget."""

    __tablename__ = "gate_change"
    id: Mapped[int] = mapped_column(primary_key=True)
    invitee_id: Mapped[int] = mapped_column(Integer, index=True)


class ShowState(Base):
    """The server-owned state of the programme, one row per event, rewritten on every change."""

    __tablename__ = "show_state"
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), primary_key=True)
    rev: Mapped[int] = mapped_column(Integer, default=0)
    current_index: Mapped[int] = mapped_column(Integer, default=-1)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    holding: Mapped[bool] = mapped_column(Boolean, default=False)
    announcement: Mapped[str | None] = mapped_column(Text)
    blackout: Mapped[bool] = mapped_column(Boolean, default=False)
    # JSON object (display/show.py reads and writes it): the current item's id (so it stays current when
    # the programme is edited), each item's actual start and held time, the hold start, whether the
    # item's slide is up, the name and view the MC gave each screen, and accepted programme warnings.
    extra: Mapped[str] = mapped_column(Text, default="{}")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AuditLog(Base):
    """Who did what and when: programme control, invitee edits, PIN resets."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(60))
    detail: Mapped[str | None] = mapped_column(Text)


class Donation(Base):
    """A gift to the fund; rows are never deleted, a void keeps its number."""

    __tablename__ = "donation"
    __table_args__ = (UniqueConstraint("event_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    # Taken from the event's receipt_counter row inside the inserting transaction: continuous, never reused.
    seq: Mapped[int] = mapped_column(Integer)
    receipt_no: Mapped[str] = mapped_column(String(40), unique=True)
    donor_name: Mapped[str] = mapped_column(Text)
    organisation: Mapped[str | None] = mapped_column(Text)
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(20), default="cash")
    note: Mapped[str | None] = mapped_column(Text)
    show_on_screen: Mapped[bool] = mapped_column(Boolean, default=False)
    cashier: Mapped[str | None] = mapped_column(String(40))  # the role that recorded it
    cashier_name: Mapped[str | None] = mapped_column(Text)  # the person, as typed at the desk
    # Diacritic-folded number, names, note and amount, so ledger search needs no per-row Python.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Sent by the desk with each new gift: a retried or double-clicked save returns the first record.
    request_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[str | None] = mapped_column(Text)
    voided_by: Mapped[str | None] = mapped_column(String(40))
    reprint_count: Mapped[int] = mapped_column(Integer, default=0)


class ReceiptCounter(Base):
    """The last receipt number given out per event: the one row donations lock, so gate scans never wait."""

    __tablename__ = "receipt_counter"
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class PrintJob(Base):
    """A receipt (or test page) waiting for, being sent to, or done on the printer."""

    __tablename__ = "print_job"
    id: Mapped[int] = mapped_column(primary_key=True)
    donation_id: Mapped[int | None] = mapped_column(ForeignKey("donation.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # receipt | copy | calibration
    # queued | printing | done | failed | cancelled; only a conditional UPDATE moves queued -> printing,
    # and nothing moves printing back to queued, so no job is ever sent twice by itself.
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    copy_no: Mapped[int | None] = mapped_column(Integer)  # 1, 2, ... for "BẢN SAO" reprints
    paper_dots: Mapped[int] = mapped_column(Integer, default=576)
    error_code: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)
    warning: Mapped[str | None] = mapped_column(Text)
    printer: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The process printing it and until when: a job whose lease ran out was cut off by a dead process.
    owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class BackgroundJob(Base):
    """A card export or a spreadsheet import run in the background by one process; any process reads its
    state here (checkin/background.py). Files it makes are in the exports folder."""

    __tablename__ = "background_job"
    # One running job of a kind at a time, whichever process starts it: running_slot is 1 while running
    # (NULL after), and NULLs never meet in a unique key.
    __table_args__ = (UniqueConstraint("kind", "running_slot", name="uq_background_job_running"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))      # cards | import
    status: Mapped[str] = mapped_column(String(16))    # cards: running | done | failed; import: reading |
    running_slot: Mapped[int | None] = mapped_column(Integer)  # checked | writing | done | failed
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    # What the kind keeps (JSON): the format and file of an export; the file name, report, counts of an import.
    detail: Mapped[str] = mapped_column(Text, default="{}")
    error: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ScreenPresence(Base):
    """A screen's socket on one of several processes (display/presence.py); rows not refreshed are stale."""

    __tablename__ = "screen_presence"
    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    process: Mapped[str] = mapped_column(String(80), index=True)
    screen_id: Mapped[str] = mapped_column(String(32))
    own_name: Mapped[str | None] = mapped_column(Text)
    view: Mapped[str] = mapped_column(String(20))
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    address: Mapped[str | None] = mapped_column(String(64))
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class LoginFailure(Base):
    """A wrong PIN, kept when several processes share the database: each counts every process's."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_role_at", "role", "at"), Index("ix_login_failure_client", "client", "role"))
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    client: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    # Still in the client's count (until its right PIN or its lock) and in the role's (until the role's lock).
    for_client: Mapped[bool] = mapped_column(Boolean, default=True)
    for_role: Mapped[bool] = mapped_column(Boolean, default=True)


class LoginLock(Base):
    """A closed PIN login ("client <address> <role>" or "role <role>") until a moment, for every process."""

    __tablename__ = "login_lock"
    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    until: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class StaffRole(Base):
    """A station role and the hash of its PIN (the PIN itself is never stored)."""

    __tablename__ = "staff_role"
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    pin_hash: Mapped[str] = mapped_column(Text)
    from_env: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class StaffSession(Base):
    """A logged-in device; checked on every request and socket event, so logout and PIN resets bite."""

    __tablename__ = "staff_session"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    client_addr: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
