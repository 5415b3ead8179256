"""Small helpers for gate tests: pick invitations and their codes from the default event."""
from __future__ import annotations

from kiosk.storage import invitees as invitee_queries


def invitations(app, count: int | None = None) -> list[tuple[int, str, str]]:
    """(invitee id, code, full name) of the default event's invitations, in protocol order."""
    with app.extensions["kiosk.db"].read() as session:
        rows = [(p.id, code, p.full_name) for p, code in invitee_queries.list_invitees(session, 1)]
    return rows[:count] if count else rows


def first_non_vip(app) -> tuple[int, str, str]:
    """An invitation outside every VIP group (the agencies based in the district)."""
    with app.extensions["kiosk.db"].read() as session:
        for person, code in invitee_queries.list_invitees(session, 1):
            if person.group.key == "co-quan-tren-dia-ban":
                return person.id, code, person.full_name
    raise AssertionError("default event changed")
