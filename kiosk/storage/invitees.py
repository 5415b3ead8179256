"""Queries for invitees and their invitation codes: list, search, edit, import, reissue."""
from __future__ import annotations

import datetime as dt
from typing import Callable, Iterable

from sqlalchemy import and_, func, nulls_last, select, update
from sqlalchemy.orm import Session, joinedload

from ..vietnamese import fold
from .events import invitee_search_text
from .schema import AuditLog, Event, InvitationCode, Invitee, InviteeGroup

CodeFactory = Callable[[], str]


def group_pairs(session: Session, event_id: int) -> list[tuple[str, str]]:
    """(key, name) of every group, in protocol order."""
    return [(g.key, g.name) for g in session.scalars(
        select(InviteeGroup).where(InviteeGroup.event_id == event_id).order_by(InviteeGroup.protocol_rank))]


def group_by_key(session: Session, event_id: int, key: str) -> InviteeGroup | None:
    """One group of the event by its key."""
    return session.scalar(select(InviteeGroup).where(InviteeGroup.event_id == event_id, InviteeGroup.key == key))


def protocol_order():
    """ORDER BY for protocol order: group rank, then the person's rank, then name."""
    return (InviteeGroup.protocol_rank, nulls_last(Invitee.protocol_rank.asc()), Invitee.full_name)


def _active_code_subquery():
    return (select(InvitationCode.invitee_id, func.max(InvitationCode.code).label("code"))
            .where(InvitationCode.revoked_at.is_(None)).group_by(InvitationCode.invitee_id).subquery())


def list_invitees(session: Session, event_id: int, query: str | None = None,
                  include_walk_ins: bool = False, limit: int | None = None) -> list[tuple[Invitee, str | None]]:
    """Invitees in protocol order with their active code; `query` is matched folded, word by word."""
    codes = _active_code_subquery()
    stmt = (select(Invitee, codes.c.code).join(Invitee.group).options(joinedload(Invitee.group))
            .outerjoin(codes, codes.c.invitee_id == Invitee.id)
            .where(Invitee.event_id == event_id, Invitee.removed_at.is_(None)))
    if not include_walk_ins:
        stmt = stmt.where(Invitee.is_walk_in.is_(False))
    for word in fold(query).split():
        stmt = stmt.where(Invitee.search_text.contains(word, autoescape=True))
    stmt = stmt.order_by(*protocol_order())
    if limit:
        stmt = stmt.limit(limit)
    return [(person, code) for person, code in session.execute(stmt)]


def get_invitee(session: Session, invitee_id: int) -> Invitee | None:
    """One invitee (with group loaded), removed ones included."""
    return session.scalar(select(Invitee).options(joinedload(Invitee.group)).where(Invitee.id == invitee_id))


def active_code(session: Session, invitee_id: int) -> str | None:
    """The invitee's current (not revoked) code."""
    return session.scalar(select(InvitationCode.code).where(InvitationCode.invitee_id == invitee_id,
                                                            InvitationCode.revoked_at.is_(None)))


def code_history(session: Session, invitee_id: int) -> list[InvitationCode]:
    """Every code the invitee ever had, newest first."""
    return list(session.scalars(select(InvitationCode).where(InvitationCode.invitee_id == invitee_id)
                                .order_by(InvitationCode.issued_at.desc())))


def issue_code(session: Session, invitee: Invitee, now: dt.datetime, make_code: CodeFactory) -> str:
    """Give the invitee a new code (collisions of 66 random bits are checked anyway)."""
    code = make_code()
    while session.get(InvitationCode, code) is not None:
        code = make_code()
    session.add(InvitationCode(code=code, invitee_id=invitee.id, issued_at=now))
    return code


def ensure_codes(session: Session, event_id: int, now: dt.datetime, make_code: CodeFactory) -> int:
    """Issue a code to every invitation that has none; return how many were issued."""
    has_code = select(InvitationCode.invitee_id).where(InvitationCode.revoked_at.is_(None))
    missing = session.scalars(select(Invitee).where(
        Invitee.event_id == event_id, Invitee.removed_at.is_(None), Invitee.is_walk_in.is_(False),
        Invitee.id.not_in(has_code))).all()
    for person in missing:
        issue_code(session, person, now, make_code)
    return len(missing)


def _apply_fields(person: Invitee, fields, group: InviteeGroup, now: dt.datetime) -> None:
    person.group_id = group.id
    person.full_name = fields.full_name
    person.honorific = fields.honorific
    person.title = fields.title
    person.organisation = fields.organisation
    person.protocol_rank = fields.protocol_rank
    person.seat = fields.seat
    person.phone = fields.phone
    person.note = fields.note
    person.search_text = invitee_search_text(fields.full_name, fields.title, fields.organisation, fields.phone)
    person.updated_at = now


def _group_for(session: Session, event: Event, key: str | None) -> InviteeGroup:
    group = group_by_key(session, event.id, key or event.default_group_key or "")
    if group is None:
        group = session.scalar(select(InviteeGroup).where(InviteeGroup.event_id == event.id)
                               .order_by(InviteeGroup.protocol_rank.desc()).limit(1))
    return group


def create_invitee(session: Session, event: Event, fields, now: dt.datetime, make_code: CodeFactory,
                   actor: str) -> Invitee:
    """Add one invitation (with its code)."""
    person = Invitee(event_id=event.id, created_at=now)
    _apply_fields(person, fields, _group_for(session, event, fields.group), now)
    session.add(person)
    session.flush()
    issue_code(session, person, now, make_code)
    session.add(AuditLog(at=now, actor=actor, action="invitee_added", detail=f"{person.id}: {person.full_name}"))
    return person


def update_invitee(session: Session, event: Event, person: Invitee, fields, now: dt.datetime, actor: str) -> None:
    """Change an invitation's details (its code stays)."""
    _apply_fields(person, fields, _group_for(session, event, fields.group), now)
    session.add(AuditLog(at=now, actor=actor, action="invitee_updated", detail=f"{person.id}: {person.full_name}"))


def remove_invitee(session: Session, person: Invitee, now: dt.datetime, actor: str) -> None:
    """Withdraw an invitation: the row stays for the record, its code answers "revoked"."""
    person.removed_at = now
    session.execute(update(InvitationCode).where(InvitationCode.invitee_id == person.id,
                                                 InvitationCode.revoked_at.is_(None))
                    .values(revoked_at=now, revoke_reason="Thư mời đã bị huỷ"))
    session.add(AuditLog(at=now, actor=actor, action="invitee_removed", detail=f"{person.id}: {person.full_name}"))


def reissue_code(session: Session, person: Invitee, reason: str, now: dt.datetime, make_code: CodeFactory,
                 actor: str) -> str:
    """Revoke the current code with a reason and issue a new one (lost card, changed person)."""
    session.execute(update(InvitationCode).where(InvitationCode.invitee_id == person.id,
                                                 InvitationCode.revoked_at.is_(None))
                    .values(revoked_at=now, revoke_reason=reason))
    code = issue_code(session, person, now, make_code)
    session.add(AuditLog(at=now, actor=actor, action="code_reissued", detail=f"{person.id}: {reason}"))
    return code


def set_substitute(session: Session, person: Invitee, name: str | None, title: str | None,
                   now: dt.datetime, actor: str) -> None:
    """Record who comes in the invitee's place ("đi thay"), or clear it."""
    person.substitute_name, person.substitute_title, person.updated_at = name, title, now
    session.add(AuditLog(at=now, actor=actor, action="substitute_set", detail=f"{person.id}: {name or '-'}"))


def find_same_person(session: Session, event_id: int, fields) -> Invitee | None:
    """An existing invitation for the same person (folded name and organisation), for re-imports."""
    name, organisation = fields.identity()
    candidates = session.scalars(select(Invitee).where(
        Invitee.event_id == event_id, Invitee.is_walk_in.is_(False),
        Invitee.search_text.contains(name, autoescape=True))).all()
    for person in candidates:
        if (fold(person.full_name), fold(person.organisation)) == (name, organisation):
            return person
    return None


def apply_import(session: Session, event: Event, rows: Iterable, now: dt.datetime, make_code: CodeFactory,
                 actor: str) -> dict[str, int]:
    """Create or update each imported person in one transaction; never duplicates a matched person."""
    created = updated = 0
    for _row_number, fields in rows:
        person = find_same_person(session, event.id, fields)
        if person is None:
            create_invitee(session, event, fields, now, make_code, actor)
            created += 1
        else:
            was_removed = person.removed_at is not None
            update_invitee(session, event, person, fields, now, actor)
            if was_removed:
                person.removed_at = None
                issue_code(session, person, now, make_code)
            updated += 1
    session.add(AuditLog(at=now, actor=actor, action="invitees_imported",
                         detail=f"created={created} updated={updated}"))
    return {"created": created, "updated": updated}


def count_invitations(session: Session, event_id: int) -> int:
    """Invitations not removed (walk-ins excluded)."""
    return session.scalar(select(func.count()).select_from(Invitee).where(and_(
        Invitee.event_id == event_id, Invitee.removed_at.is_(None), Invitee.is_walk_in.is_(False)))) or 0
