"""Queries for the event, its programme and its protocol groups."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..event_file import EventSpec
from ..vietnamese import fold
from .schema import AgendaItem, Event, Invitee, InviteeGroup, Meta


# A phone number is found by its last digits only: the full number must never be recoverable by
# probing search with longer and longer digit strings (the gate sees only these digits anyway).
PHONE_TAIL = 4
# kiosk_meta key a rehearsal copy is marked with (kiosk/rehearsal.py writes it); a real database has none.
REHEARSAL_KEY = "rehearsal"


def invitee_search_text(name: str | None, title: str | None, organisation: str | None,
                        phone: str | None) -> str:
    """The folded text that gate search matches against: name, title, organisation, phone's last digits."""
    parts = [fold(part) for part in (name, title, organisation) if part]
    if phone:
        parts.append(phone[-PHONE_TAIL:])
    return " ".join(parts)


def search_words(query: str | None) -> list[str]:
    """The folded words of a search; a long number (a whole phone number) is looked up by its last digits."""
    return [word[-PHONE_TAIL:] if word.isdigit() and len(word) > PHONE_TAIL else word for word in fold(query).split()]


def event_count(session: Session) -> int:
    """How many events the database holds (0 before `init`)."""
    return session.scalar(select(func.count()).select_from(Event)) or 0


def rehearsal_info(session: Session) -> dict | None:
    """What a rehearsal copy says of its rehearsal (started_at, programme_start), or None for the real event."""
    value = session.scalar(select(Meta.value).where(Meta.key == REHEARSAL_KEY))
    return json.loads(value) if value else None


def current_event(session: Session) -> Event | None:
    """The event this data folder runs (one event per data folder)."""
    return session.scalars(select(Event).order_by(Event.id).limit(1)).first()


def load_event(session: Session, spec: EventSpec, now: dt.datetime, source: str) -> Event:
    """Insert an event with its programme, groups and listed invitations."""
    event = Event(slug=spec.slug, title=spec.title, theme=spec.theme, starts_at=spec.starts_at,
                  timezone=spec.timezone, venue=spec.venue, address=spec.address,
                  organiser=spec.organiser, host_unit=spec.host_unit, association=spec.association,
                  fund_name=spec.fund_name, receipt_prefix=spec.receipt_prefix,
                  vip_max_rank=spec.vip_max_rank, default_group_key=spec.default_group,
                  source=source, created_at=now)
    session.add(event)
    session.flush()
    for position, item in enumerate(spec.agenda):
        session.add(AgendaItem(event_id=event.id, position=position, planned_start=item.start,
                               planned_end=item.end, content=item.content, performer=item.performer,
                               slide=item.slide))
    protocol_rank = 0
    for group_spec in spec.groups:
        group = InviteeGroup(event_id=event.id, key=group_spec.key, name=group_spec.name,
                             protocol_rank=group_spec.rank, is_vip=group_spec.vip,
                             walk_in=group_spec.walk_in, kind=group_spec.kind,
                             expected_count=group_spec.expected,
                             note=group_spec.note)
        session.add(group)
        session.flush()
        for person in group_spec.invitees:
            protocol_rank += 1
            session.add(Invitee(
                event_id=event.id, group_id=group.id, full_name=person.name, honorific=person.honorific,
                title=person.title, organisation=person.organisation, protocol_rank=protocol_rank,
                seat=person.seat, phone=person.phone,
                search_text=invitee_search_text(person.name, person.title, person.organisation, person.phone),
                created_at=now, updated_at=now))
    session.flush()
    return event


def agenda_items(session: Session, event_id: int) -> list[AgendaItem]:
    """The programme in running order."""
    return list(session.scalars(select(AgendaItem).where(AgendaItem.event_id == event_id)
                                .order_by(AgendaItem.position)))


def groups_with_counts(session: Session, event_id: int) -> list[tuple[InviteeGroup, int]]:
    """Protocol groups in order, each with its number of (not removed) invitations."""
    counts = (select(Invitee.group_id, func.count().label("n"))
              .where(Invitee.event_id == event_id, Invitee.removed_at.is_(None), Invitee.is_walk_in.is_(False))
              .group_by(Invitee.group_id).subquery())
    rows = session.execute(
        select(InviteeGroup, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.group_id == InviteeGroup.id)
        .where(InviteeGroup.event_id == event_id).order_by(InviteeGroup.protocol_rank))
    return [(group, count) for group, count in rows]


def agenda_item(session: Session, event_id: int, item_id: int) -> AgendaItem | None:
    """One programme item of the event, or None."""
    item = session.get(AgendaItem, item_id)
    return item if item is not None and item.event_id == event_id else None


def _renumber(items: list[AgendaItem]) -> list[AgendaItem]:
    for position, item in enumerate(items):
        item.position = position
    return items


def add_agenda_item(session: Session, event_id: int, fields: dict, position: int | None = None) -> AgendaItem:
    """Insert a programme item at `position` (default: last) and renumber the running order."""
    items = agenda_items(session, event_id)
    position = len(items) if position is None else max(0, min(position, len(items)))
    item = AgendaItem(event_id=event_id, position=position, **fields)
    session.add(item)
    items.insert(position, item)
    _renumber(items)
    session.flush()
    return item


def update_agenda_item(session: Session, item: AgendaItem, fields: dict) -> AgendaItem:
    """Change a programme item's times, content, performer or slide."""
    for name, value in fields.items():
        setattr(item, name, value)
    session.flush()
    return item


def remove_agenda_item(session: Session, event_id: int, item: AgendaItem) -> None:
    """Delete a programme item and close the hole in the running order."""
    session.delete(item)
    session.flush()
    _renumber(agenda_items(session, event_id))
    session.flush()


def reorder_agenda(session: Session, event_id: int, ids: list[int]) -> list[AgendaItem]:
    """Put the programme in the order of `ids` (every item id of the event, once)."""
    by_id = {item.id: item for item in agenda_items(session, event_id)}
    items = _renumber([by_id[item_id] for item_id in ids])
    session.flush()
    return items
