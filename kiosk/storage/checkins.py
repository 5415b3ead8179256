"""Queries for the gate: the scan log, atomic admission, walk-ins, undo, counts and the roster."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import bindparam, case, extract, func, insert, or_, select, update
from sqlalchemy.orm import Session

from .events import invitee_search_text
from .invitees import protocol_order
from .schema import Event, InvitationCode, Invitee, InviteeGroup, ScanLog


@dataclass(frozen=True)
class ScanMeta:
    """Who scanned, where, and the client's idempotency nonce."""

    gate: str | None
    operator: str | None
    client_addr: str | None
    nonce: str | None
    client_at: str | None = None
    # A scan judged on the gate's own copy while offline, or a tick on the paper list: when it happened,
    # "offline" or "paper", and the verdict the gate showed ("ok", "vip", "already_checked_in", ...).
    scanned_at: dt.datetime | None = None
    source: str | None = None
    local_verdict: str | None = None


def event_facts(session: Session):
    """(id, timezone, starts_at, vip_max_rank) of the event, without loading the whole row."""
    return session.execute(select(Event.id, Event.timezone, Event.starts_at, Event.vip_max_rank)
                           .order_by(Event.id).limit(1)).first()


# The scan path's statements are built once, with bind parameters, and run on the session's connection:
# building a statement and the ORM's execution layer cost more than SQLite's work for these rows.
_REPLAY = select(ScanLog.response).where(ScanLog.nonce == bindparam("nonce"))

_GUEST_COLUMNS = (Invitee.id, Invitee.full_name, Invitee.honorific, Invitee.title, Invitee.organisation,
                  Invitee.seat, Invitee.protocol_rank, Invitee.substitute_name, Invitee.checked_in_at,
                  Invitee.checked_in_gate, Invitee.checked_in_source, Invitee.removed_at, Invitee.is_walk_in,
                  InviteeGroup.name.label("group_name"), InviteeGroup.is_vip.label("group_vip"))

_GUEST_BY_ID = (select(*_GUEST_COLUMNS).join(InviteeGroup, InviteeGroup.id == Invitee.group_id)
                .where(Invitee.id == bindparam("invitee_id")))

_GUEST_BY_CODE = (select(InvitationCode.revoke_reason, InvitationCode.revoked_at, *_GUEST_COLUMNS)
                  .join(Invitee, Invitee.id == InvitationCode.invitee_id)
                  .join(InviteeGroup, InviteeGroup.id == Invitee.group_id)
                  .where(InvitationCode.code == bindparam("code")))

_invitee = Invitee.__table__
_ADMISSION = dict(checked_in_at=bindparam("now"), checked_in_gate=bindparam("gate"),
                  checked_in_source=bindparam("source"))
_ADMIT = (update(_invitee).where(_invitee.c.id == bindparam("invitee_id"), _invitee.c.checked_in_at.is_(None))
          .values(**_ADMISSION))
# An offline gate's or the paper list's scan: also when the recorded arrival is later than it (the earlier
# scan takes the admission). Never for a live scan, whose "now" was read before it waited for its turn.
_ADMIT_EARLIER = (update(_invitee).where(_invitee.c.id == bindparam("invitee_id"), or_(
    _invitee.c.checked_in_at.is_(None), _invitee.c.checked_in_at > bindparam("now"))).values(**_ADMISSION))

_LOG = insert(ScanLog.__table__)

# A live scan of a valid card nobody used yet, admitted in the statement that finds it (PostgreSQL's
# UPDATE ... FROM ... RETURNING): one round trip instead of a look-up and then an update. Its conditions are
# those under which gate.decide says OK for a live scan; any other scan takes the look-up path.
_code = InvitationCode.__table__
_ADMIT_BY_CODE = (update(_invitee).where(
    _code.c.code == bindparam("code"), _invitee.c.id == _code.c.invitee_id, InviteeGroup.id == _invitee.c.group_id,
    _code.c.revoke_reason.is_(None), _code.c.revoked_at.is_(None), _invitee.c.removed_at.is_(None),
    _invitee.c.checked_in_at.is_(None))
    .values(**_ADMISSION).returning(_code.c.revoke_reason, _code.c.revoked_at, *_GUEST_COLUMNS))


def replayed_response(session: Session, nonce: str | None) -> dict | None:
    """The answer already given to a request with this nonce (a retry after a lost reply)."""
    if not nonce:
        return None
    stored = session.connection().execute(_REPLAY, {"nonce": nonce}).scalar()
    return json.loads(stored) if stored else None


def guest_row(session: Session, invitee_id: int):
    """The invitee joined with its group, for the gate's decision and greeting."""
    return session.connection().execute(_GUEST_BY_ID, {"invitee_id": invitee_id}).first()


def guest_by_code(session: Session, code: str):
    """The code's revocation and its invitee with group, in one indexed query (the scan path)."""
    return session.connection().execute(_GUEST_BY_CODE, {"code": code}).first()


def admit_first_scan(session: Session, code: str, now: dt.datetime, gate: str | None):
    """Admit the holder of `code` if it is valid and they have not arrived; their guest row (as guest_by_code
    gives it, seen after the admission), or None when the scan needs the full look-up. PostgreSQL only."""
    return session.connection().execute(_ADMIT_BY_CODE, {"code": code, "now": now, "gate": gate,
                                                         "source": None}).first()


def admit(session: Session, invitee_id: int, now: dt.datetime, gate: str | None, source: str | None = None,
          earlier_wins: bool = False) -> bool:
    """Mark arrival only if not yet arrived (or, with `earlier_wins`, arrived after `now`); True when this
    call admitted (two gates: one wins)."""
    result = session.connection().execute(_ADMIT_EARLIER if earlier_wins else _ADMIT, {
        "invitee_id": invitee_id, "now": now, "gate": gate, "source": source})
    return result.rowcount == 1


def log_scan(session: Session, *, event_id: int, kind: str, raw: str | None, code: str | None, outcome: str,
             invitee_id: int | None, meta: ScanMeta, reason: str | None, response: dict | None,
             now: dt.datetime) -> None:
    """Append one row to the scan log (failures and undos included)."""
    session.connection().execute(_LOG, {
        "event_id": event_id, "at": now, "client_at": meta.client_at, "kind": kind, "raw": raw, "code": code,
        "outcome": outcome, "invitee_id": invitee_id, "gate": meta.gate, "operator": meta.operator,
        "client_addr": meta.client_addr, "nonce": meta.nonce, "reason": reason,
        "response": json.dumps(response, ensure_ascii=False) if response is not None else None,
        "source": meta.source, "scanned_at": meta.scanned_at})


def conflicts(session: Session, event_id: int) -> list[dict]:
    """The conflicts the log holds (kind "conflict"), newest first."""
    rows = session.execute(select(ScanLog.response).where(ScanLog.event_id == event_id, ScanLog.kind == "conflict")
                           .order_by(ScanLog.id.desc()))
    return [json.loads(response) for response, in rows if response]


def add_walk_in(session: Session, event_id: int, group_id: int, fields: dict, now: dt.datetime,
                gate: str | None, arrived_at: dt.datetime | None = None, source: str | None = None) -> Invitee:
    """Register someone without an invitation; they are admitted at once."""
    person = Invitee(event_id=event_id, group_id=group_id, full_name=fields["full_name"],
                     organisation=fields.get("organisation"), phone=fields.get("phone"),
                     honorific=fields.get("honorific"), title=fields.get("title"),
                     search_text=invitee_search_text(fields["full_name"], fields.get("title"),
                                                     fields.get("organisation"), fields.get("phone")),
                     is_walk_in=True, checked_in_at=arrived_at or now, checked_in_gate=gate,
                     checked_in_source=source, created_at=now, updated_at=now)
    session.add(person)
    session.flush()
    return person


def undo_admission(session: Session, invitee_id: int) -> dt.datetime | None:
    """Clear an arrival (the log keeps both entries); return the arrival time that was undone, or None when
    there was none, or another undo (on any process) cleared it first."""
    was = session.scalar(select(Invitee.checked_in_at).where(Invitee.id == invitee_id))
    if was is None:
        return None
    # Conditional on the arrival read above: of two simultaneous undos the second matches no row.
    cleared = session.execute(update(Invitee).where(Invitee.id == invitee_id, Invitee.checked_in_at == was)
                              .values(checked_in_at=None, checked_in_gate=None, checked_in_source=None)
                              .execution_options(synchronize_session=False))
    return was if cleared.rowcount == 1 else None


def walk_in_groups(session: Session, event_id: int) -> list[tuple[str, str]]:
    """(key, name) of the groups walk-ins can be registered into."""
    return [(g.key, g.name) for g in session.scalars(
        select(InviteeGroup).where(InviteeGroup.event_id == event_id, InviteeGroup.walk_in.is_(True))
        .order_by(InviteeGroup.protocol_rank))]


def group_counts(session: Session, event_id: int) -> list[dict]:
    """Per group, in protocol order: invitations, invited people present, walk-ins present (each person once)."""
    arrived = Invitee.checked_in_at.is_not(None)
    invited = func.sum(case((Invitee.is_walk_in.is_(False), 1), else_=0))
    invited_present = func.sum(case((arrived & Invitee.is_walk_in.is_(False), 1), else_=0))
    walk_ins = func.sum(case((arrived & Invitee.is_walk_in.is_(True), 1), else_=0))
    rows = session.execute(
        select(InviteeGroup.key, InviteeGroup.name, InviteeGroup.is_vip, InviteeGroup.expected_count,
               func.coalesce(invited, 0), func.coalesce(invited_present, 0), func.coalesce(walk_ins, 0))
        .outerjoin(Invitee, (Invitee.group_id == InviteeGroup.id) & Invitee.removed_at.is_(None))
        .where(InviteeGroup.event_id == event_id)
        .group_by(InviteeGroup.id).order_by(InviteeGroup.protocol_rank))
    return [{"key": key, "name": name, "vip": bool(vip), "invited": int(n_inv),
             "expected": max(int(n_inv), expected or 0), "invited_present": int(n_present),
             "walk_ins": int(n_walk), "present": int(n_present) + int(n_walk)}
            for key, name, vip, expected, n_inv, n_present, n_walk in rows]


def vip_counts(session: Session, event_id: int, vip_max_rank: int) -> tuple[int, int]:
    """(VIPs present, VIPs expected) among invitations."""
    vip = (InviteeGroup.is_vip.is_(True)) | (Invitee.protocol_rank <= vip_max_rank if vip_max_rank else False)
    row = session.execute(
        select(func.count(), func.sum(case((Invitee.checked_in_at.is_not(None), 1), else_=0)))
        .select_from(Invitee).join(InviteeGroup, InviteeGroup.id == Invitee.group_id)
        .where(Invitee.event_id == event_id, Invitee.removed_at.is_(None), Invitee.is_walk_in.is_(False), vip)).first()
    return int(row[1] or 0), int(row[0] or 0)


def arrivals_by_minute(session: Session, event_id: int) -> list[tuple[int, int, int]]:
    """(UTC hour, minute, people) for everyone present, counted in the database (one row per minute)."""
    hour, minute = extract("hour", Invitee.checked_in_at), extract("minute", Invitee.checked_in_at)
    rows = session.execute(select(hour, minute, func.count()).where(
        Invitee.event_id == event_id, Invitee.checked_in_at.is_not(None), Invitee.removed_at.is_(None))
        .group_by(hour, minute))
    return [(int(h), int(m), int(n)) for h, m, n in rows]


def failures_by_outcome(session: Session, event_id: int) -> dict[str, int]:
    """Failed scans by outcome, from the log."""
    rows = session.execute(select(ScanLog.outcome, func.count()).where(
        ScanLog.event_id == event_id, ScanLog.kind != "conflict", ScanLog.outcome.in_(("unknown", "revoked", "invalid")))
        .group_by(ScanLog.outcome))
    return {outcome: count for outcome, count in rows}


def scans_per_gate(session: Session, event_id: int) -> dict[str, int]:
    """Scans per gate name, from the log."""
    rows = session.execute(select(func.coalesce(ScanLog.gate, "?"), func.count())
                           .where(ScanLog.event_id == event_id, ScanLog.kind.in_(("scan", "search", "walk_in")))
                           .group_by(ScanLog.gate))
    return {gate: count for gate, count in rows}


_ROSTER_COLUMNS = (Invitee.full_name, Invitee.honorific, Invitee.title, Invitee.organisation,
                   Invitee.protocol_rank, Invitee.substitute_name, Invitee.substitute_title,
                   Invitee.checked_in_at, InviteeGroup.is_vip.label("group_vip"))


def _present_delegates_filter(event_id: int):
    return (Invitee.event_id == event_id, Invitee.removed_at.is_(None), Invitee.is_walk_in.is_(False),
            Invitee.checked_in_at.is_not(None),
            # Groups open to walk-ins (residents, teachers, students, donors) are introduced as a whole.
            InviteeGroup.walk_in.is_(False))


def present_delegates(session: Session, event_id: int, limit: int | None = None):
    """Dignitaries present (invitations outside the walk-in groups), in protocol order: the MC's roster."""
    # Plain rows, not ORM objects: the roster is rebuilt while people stream in.
    return session.execute(
        select(*_ROSTER_COLUMNS).join(InviteeGroup, InviteeGroup.id == Invitee.group_id)
        .where(*_present_delegates_filter(event_id)).order_by(*protocol_order()).limit(limit)).all()


def present_delegate_counts(session: Session, event_id: int, starts_at: dt.datetime) -> tuple[int, int]:
    """(dignitaries present, of whom arrived after the start), counted in the database."""
    row = session.execute(
        select(func.count(), func.sum(case((Invitee.checked_in_at > starts_at, 1), else_=0)))
        .select_from(Invitee).join(InviteeGroup, InviteeGroup.id == Invitee.group_id)
        .where(*_present_delegates_filter(event_id))).first()
    return int(row[0] or 0), int(row[1] or 0)


def absent_invitees(session: Session, event_id: int):
    """Invitations not yet arrived, in protocol order, for the organiser (with phones)."""
    return session.scalars(
        select(Invitee).join(InviteeGroup, InviteeGroup.id == Invitee.group_id)
        .where(Invitee.event_id == event_id, Invitee.removed_at.is_(None), Invitee.is_walk_in.is_(False),
               Invitee.checked_in_at.is_(None))
        .order_by(*protocol_order())).all()
