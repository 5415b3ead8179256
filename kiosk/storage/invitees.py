"""Queries for invitees and their invitation codes: list, search, edit, import, reissue."""
from __future__ import annotations

import datetime as dt
from typing import Callable

from sqlalchemy import and_, case, func, literal, nulls_last, select, update
from sqlalchemy.orm import Session, joinedload

from ..vietnamese import fold
from .events import invitee_search_text, search_words
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
    for word in search_words(query):
        stmt = stmt.where(Invitee.search_text.contains(word, autoescape=True))
    stmt = stmt.order_by(*protocol_order())
    if limit:
        stmt = stmt.limit(limit)
    return [(person, code) for person, code in session.execute(stmt)]


# The gate ranks at most this many matches exactly (checkin/search_rank.py); the database has already put
# whole words before prefixes before substrings, so no whole-word match is ever left out for a partial one.
SEARCH_CANDIDATES = 3000


def search_candidates(session: Session, event_id: int, query: str):
    """Everyone (walk-ins too, not withdrawn) whose folded text holds every word typed, as light rows, whole
    words first, then prefixes, then substrings, each in protocol order: (id, full_name, title,
    organisation, search_text)."""
    spaced = literal(" ") + Invitee.search_text + literal(" ")
    stmt = (select(Invitee.id, Invitee.full_name, Invitee.title, Invitee.organisation, Invitee.search_text)
            .join(Invitee.group).where(Invitee.event_id == event_id, Invitee.removed_at.is_(None)))
    tiers = []
    for word in search_words(query):
        stmt = stmt.where(Invitee.search_text.contains(word, autoescape=True))
        tiers.append(case((spaced.contains(f" {word} ", autoescape=True), 1),
                          (spaced.contains(f" {word}", autoescape=True), 2), else_=3))
    order = [sum(tiers[1:], tiers[0])] if tiers else []
    return session.execute(stmt.order_by(*order, *protocol_order()).limit(SEARCH_CANDIDATES)).all()


def invitees_by_id(session: Session, ids: list[int]) -> dict[int, tuple[Invitee, str | None]]:
    """Invitees (group loaded) with their active code, by id."""
    codes = _active_code_subquery()
    rows = session.execute(select(Invitee, codes.c.code).options(joinedload(Invitee.group))
                           .outerjoin(codes, codes.c.invitee_id == Invitee.id).where(Invitee.id.in_(ids)))
    return {person.id: (person, code) for person, code in rows}


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
    return issue_codes(session, [invitee], now, make_code)[0]


def issue_codes(session: Session, people: list[Invitee], now: dt.datetime, make_code: CodeFactory) -> list[str]:
    """Give each (flushed) invitee a new code, checking collisions in one query; the codes in order."""
    if not people:
        return []
    codes = [make_code() for _ in people]
    while True:
        taken = set(session.scalars(select(InvitationCode.code).where(InvitationCode.code.in_(codes))))
        if not taken and len(set(codes)) == len(codes):
            break
        seen: set[str] = set()
        for index, code in enumerate(codes):
            if code in taken or code in seen:
                codes[index] = make_code()
            seen.add(codes[index])
    session.add_all([InvitationCode(code=code, invitee_id=person.id, issued_at=now)
                     for code, person in zip(codes, people)])
    return codes


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


def _group_for(session: Session, event: Event, key: str | None,
               groups: dict[str, InviteeGroup] | None = None) -> InviteeGroup:
    """The group a key names, else the event's default group, else its last group."""
    groups = groups if groups is not None else {g.key: g for g in session.scalars(
        select(InviteeGroup).where(InviteeGroup.event_id == event.id).order_by(InviteeGroup.protocol_rank))}
    return (groups.get(key or "") or groups.get(event.default_group_key or "")
            or list(groups.values())[-1])


def create_invitee(session: Session, event: Event, fields, now: dt.datetime, make_code: CodeFactory,
                   actor: str) -> Invitee:
    """Add one invitation (with its code)."""
    person = Invitee(event_id=event.id, created_at=now)
    _apply_fields(person, fields, _group_for(session, event, fields.group), now)
    session.add(person)
    session.flush()
    issue_codes(session, [person], now, make_code)
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


def identities(session: Session, event_id: int) -> dict[tuple[str, str], int]:
    """Every invitation's identity (folded name and organisation) → its id, for matching re-imports."""
    rows = session.execute(select(Invitee.id, Invitee.full_name, Invitee.organisation).where(
        Invitee.event_id == event_id, Invitee.is_walk_in.is_(False)))
    return {(fold(name), fold(organisation)): invitee_id for invitee_id, name, organisation in rows}


def import_rows(session: Session, event: Event, rows: list, known: dict[tuple[str, str], int],
                now: dt.datetime, make_code: CodeFactory) -> dict[str, int]:
    """Create or update each imported person (a handful of statements for the whole batch; the import's
    one audit line is log_import's). `known` (from identities) is kept up to date, so a person is
    matched, never duplicated, across batches."""
    groups = {g.key: g for g in session.scalars(
        select(InviteeGroup).where(InviteeGroup.event_id == event.id).order_by(InviteeGroup.protocol_rank))}
    wanted = [known.get(fields.identity()) for _row, fields in rows]
    existing = {p.id: p for p in session.scalars(select(Invitee).where(Invitee.id.in_([i for i in wanted if i])))}
    created: list[tuple[object, Invitee]] = []
    needs_code: list[Invitee] = []
    for (_row, fields), person_id in zip(rows, wanted):
        person = existing.get(person_id)
        if person is None:
            person = Invitee(event_id=event.id, created_at=now)
            session.add(person)
            created.append((fields, person))
            needs_code.append(person)
        elif person.removed_at is not None:
            person.removed_at = None  # invited again: a fresh code (the old one stays revoked)
            needs_code.append(person)
        _apply_fields(person, fields, _group_for(session, event, fields.group, groups), now)
    session.flush()
    for fields, person in created:
        known[fields.identity()] = person.id
    issue_codes(session, needs_code, now, make_code)
    return {"created": len(created), "updated": len(rows) - len(created)}


def unused_invitations_named(session: Session, event_id: int, folded_prefix: str) -> list[Invitee]:
    """Live invitations not yet used whose folded name starts with `folded_prefix` ("dai dien ": an
    office's invitation), in protocol order."""
    return list(session.scalars(
        select(Invitee).join(Invitee.group).where(
            Invitee.event_id == event_id, Invitee.removed_at.is_(None), Invitee.is_walk_in.is_(False),
            Invitee.checked_in_at.is_(None), Invitee.search_text.startswith(folded_prefix, autoescape=True))
        .order_by(*protocol_order())))


def log_import(session: Session, filename: str, counts: dict[str, int], actor: str, now: dt.datetime) -> None:
    """One audit line for a whole import."""
    session.add(AuditLog(at=now, actor=actor, action="invitees_imported",
                         detail=f"{filename}: created={counts['created']} updated={counts['updated']}"))


def count_invitations(session: Session, event_id: int) -> int:
    """Invitations not removed (walk-ins excluded)."""
    return session.scalar(select(func.count()).select_from(Invitee).where(and_(
        Invitee.event_id == event_id, Invitee.removed_at.is_(None), Invitee.is_walk_in.is_(False)))) or 0
