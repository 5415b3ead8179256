"""Queries for the gates' local copies: the change feed's version, and the rows a copy is built from."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .schema import GateChange, InvitationCode, Invitee, InviteeGroup, Meta

_PEOPLE_COLUMNS = (Invitee.id, Invitee.honorific, Invitee.full_name, Invitee.title, Invitee.organisation,
                   Invitee.seat, Invitee.protocol_rank, Invitee.checked_in_at, Invitee.checked_in_gate,
                   Invitee.checked_in_source, Invitee.removed_at, InviteeGroup.name.label("group_name"),
                   InviteeGroup.is_vip.label("group_vip"))


def version(session: Session) -> int:
    """The newest change noted (0 before any): a copy at this version knows everything committed."""
    return session.scalar(select(func.max(GateChange.id))) or 0


def instance(session: Session) -> str:
    """The database's own random id (kiosk_meta "instance")."""
    return session.scalar(select(Meta.value).where(Meta.key == "instance")) or ""


def _changed_since(since: int):
    return select(GateChange.invitee_id).where(GateChange.id > since).distinct()


def people(session: Session, event_id: int, since: int | None = None):
    """Invitations (walk-ins carry no code) with their group: all of them, or those changed after `since`."""
    query = (select(*_PEOPLE_COLUMNS).join(InviteeGroup, InviteeGroup.id == Invitee.group_id)
             .where(Invitee.event_id == event_id, Invitee.is_walk_in.is_(False)))
    if since is not None:
        query = query.where(Invitee.id.in_(_changed_since(since)))
    return session.execute(query.order_by(Invitee.id)).all()


def codes(session: Session, event_id: int, since: int | None = None):
    """(code, invitee id, revoked at, reason) of every code of those invitations, revoked ones included."""
    query = (select(InvitationCode.code, InvitationCode.invitee_id, InvitationCode.revoked_at,
                    InvitationCode.revoke_reason)
             .join(Invitee, Invitee.id == InvitationCode.invitee_id)
             .where(Invitee.event_id == event_id, Invitee.is_walk_in.is_(False)))
    if since is not None:
        query = query.where(InvitationCode.invitee_id.in_(_changed_since(since)))
    return session.execute(query).all()


def changed_count(session: Session, since: int) -> int:
    """How many invitees changed after `since` (to choose between a delta and a whole copy)."""
    return session.scalar(select(func.count()).select_from(_changed_since(since).subquery())) or 0
