"""Read-only queries for the after-event report: every delegate, every scan, every gift."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from .invitees import protocol_order
from .schema import Donation, Invitee, InviteeGroup, ScanLog


def people(session: Session, event_id: int):
    """Invitees and walk-ins (removed ones too, marked) with their group, in protocol order."""
    return session.execute(
        select(Invitee, InviteeGroup).join(InviteeGroup, InviteeGroup.id == Invitee.group_id)
        .where(Invitee.event_id == event_id).order_by(Invitee.is_walk_in, *protocol_order())).all()


def scan_log(session: Session, event_id: int):
    """The whole scan log in order, with the name of the person each row concerns."""
    person = aliased(Invitee)
    return session.execute(
        select(ScanLog, person.full_name).outerjoin(person, person.id == ScanLog.invitee_id)
        .where(ScanLog.event_id == event_id).order_by(ScanLog.id)).all()


def donations(session: Session, event_id: int) -> list[Donation]:
    """Every donation in receipt order, voided ones included."""
    return list(session.scalars(select(Donation).where(Donation.event_id == event_id).order_by(Donation.seq)))


def donation_total(session: Session, event_id: int) -> tuple[int, int]:
    """(count, total đồng) of donations that are not voided, straight from the ledger."""
    row = session.execute(select(func.count(), func.coalesce(func.sum(Donation.amount_vnd), 0))
                          .where(Donation.event_id == event_id, Donation.voided_at.is_(None))).first()
    return int(row[0]), int(row[1])
