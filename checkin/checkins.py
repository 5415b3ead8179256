"""Gate use cases over the database: scan, admit from search, walk-in, undo, counts, roster."""
from __future__ import annotations

import datetime as dt
import functools
import time
from collections import Counter
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from kiosk.storage import Database, utcnow
from kiosk.storage.engine import FIRST_TRY
from kiosk.storage import checkins as queries
from kiosk.storage import invitees as invitee_queries
from kiosk.storage.checkins import ScanMeta
from kiosk.cleaning import clean_text
from kiosk.vietnamese import format_time, nfc

from . import gate, naming, offline, search_rank
from .codes import CodeError, parse_scan
from .gate import ALREADY, INVALID, OK, REVOKED, UNKNOWN, CheckInError, Guest
from .people import PersonError, normalise_phone

MAX_SCAN = 500

__all__ = ["ScanMeta", "scan", "admit_by_id", "walk_in", "undo", "search", "stats", "roster", "absent"]


@dataclass(frozen=True)
class EventContext:
    """The few event facts every gate decision needs."""

    id: int
    zone: ZoneInfo
    starts_at: dt.datetime
    vip_max_rank: int


def event_context(db: Database) -> EventContext:
    """The event's facts (zone, start, VIP threshold), read now."""
    with db.read() as session:
        return _context(session)


def _context(session) -> EventContext:
    event_id, timezone, starts_at, vip_max_rank = queries.event_facts(session)
    return EventContext(event_id, ZoneInfo(timezone), starts_at, vip_max_rank or 0)


# The event's facts hardly ever change during a day; reading them once per few seconds keeps that query
# out of the gate's serialised write path.
CONTEXT_SECONDS = 5.0
_contexts: dict[str, tuple[float, EventContext]] = {}


def _cached_context(db: Database) -> EventContext:
    cached = _contexts.get(db.url)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    with db.read() as session:
        ctx = _context(session)
    _contexts[db.url] = (time.monotonic() + CONTEXT_SECONDS, ctx)
    return ctx


def _guest(row, ctx: EventContext) -> Guest:
    return Guest(id=row.id, full_name=row.full_name, honorific=row.honorific, title=row.title,
                 organisation=row.organisation, group_name=row.group_name, seat=row.seat,
                 vip=gate.is_vip(row.group_vip, row.protocol_rank, ctx.vip_max_rank) and not row.is_walk_in,
                 substitute_name=row.substitute_name, checked_in_at=row.checked_in_at,
                 checked_in_gate=row.checked_in_gate, removed=row.removed_at is not None,
                 checked_in_source=row.checked_in_source)


def guest_json(guest: Guest | None) -> dict | None:
    """What a gate screen may show about a guest: never the phone number."""
    if guest is None:
        return None
    return {"id": guest.id, "full_name": guest.full_name, "honorific": guest.honorific, "title": guest.title,
            "organisation": guest.organisation, "group": guest.group_name, "seat": guest.seat,
            "vip": guest.vip, "substitute_name": guest.substitute_name, "addressed": gate.addressed(guest)}


def _stamp(moment: dt.datetime | None, zone: ZoneInfo) -> dict:
    if moment is None:
        return {"at": None, "label": None}
    return {"at": moment.isoformat(), "label": format_time(moment.astimezone(zone))}


def _answer(outcome: str, guest: Guest | None, ctx: EventContext, *, reason=None, admitted_at=None) -> dict:
    first_at = guest.checked_in_at if guest and outcome == ALREADY else admitted_at
    first_gate = guest.checked_in_gate if guest and outcome == ALREADY else None
    return {
        "result": outcome,
        "message": gate.message(outcome, guest, ctx.zone, reason=reason, first_at=first_at, first_gate=first_gate),
        "reason": reason,
        "delegate": guest_json(guest) if outcome in (OK, ALREADY, REVOKED) else None,
        "vip": bool(guest and guest.vip and outcome == OK),
        "checked_in_at": _stamp(admitted_at if outcome == OK else first_at, ctx.zone)["at"],
        "first_checked_in_at": _stamp(first_at, ctx.zone)["at"],
        "first_checked_in_label": _stamp(first_at, ctx.zone)["label"],
        "first_gate": first_gate,
    }


def _entry(guest: Guest | None) -> offline.Entry | None:
    if guest is None or guest.checked_in_at is None:
        return None
    return offline.Entry(guest.checked_in_at, guest.checked_in_gate, guest.checked_in_source)


def _admit(session, ctx: EventContext, row, revoke_reason: str | None, meta: ScanMeta,
           now: dt.datetime) -> tuple[str, Guest | None, dict]:
    guest = _guest(row, ctx) if row else None
    at = meta.scanned_at or now
    outcome = gate.decide(row is not None, revoke_reason, guest, meta.scanned_at)
    reason = revoke_reason if outcome == REVOKED else None
    if outcome == REVOKED and reason is None:
        reason = "Thư mời đã bị huỷ"
    if outcome == OK and not offline.let_in(meta.source, meta.local_verdict):
        # The offline gate turned this guest away (its copy did not know the card, or said "already in"):
        # they did not come in at that moment, so nothing is admitted. The log keeps the scan.
        response = _answer(ALREADY if guest.checked_in_at else UNKNOWN, guest, ctx)
        response.update(result=offline.NOT_ADMITTED, source=meta.source,
                        message=offline.not_admitted_message(gate.addressed(guest), meta.local_verdict))
        return offline.NOT_ADMITTED, guest, response
    displaced = _entry(guest) if outcome == OK else None   # a later admission this earlier scan replaces
    if outcome == OK and not queries.admit(session, row.id, at, meta.gate, meta.source,
                                           earlier_wins=meta.scanned_at is not None):
        # Another gate admitted this person between our read and our write: tell the truth.
        guest = _guest(queries.guest_row(session, row.id), ctx)
        outcome, displaced = ALREADY, None
    response = _answer(outcome, guest, ctx, reason=reason, admitted_at=at)
    if meta.source:
        response["source"] = meta.source
        _note_conflict(session, ctx, guest, outcome, displaced, meta, at, response, now)
    return outcome, guest, response


def _note_conflict(session, ctx: EventContext, guest: Guest | None, outcome: str, displaced, meta: ScanMeta,
                   at: dt.datetime, response: dict, now: dt.datetime) -> None:
    """Record and answer a conflict (offline.py) when an offline gate let in someone it should not have."""
    kind = offline.conflict_kind(meta.local_verdict, meta.source, outcome, displaced)
    if kind is None or guest is None:
        return
    this = offline.Entry(at, meta.gate, meta.source)
    earlier, later = (this, displaced) if displaced is not None else (_entry(guest), this)
    if kind == offline.REVOKED_CARD:
        earlier, later = None, this
    who = gate.addressed(guest)
    conflict = {"kind": kind, "invitee_id": guest.id, "who": who,
                "message": offline.conflict_message(kind, who, earlier, later, ctx.zone),
                "first": earlier.as_json(ctx.zone) if earlier else None, "second": later.as_json(ctx.zone),
                "noted_at": now.isoformat()}
    response["conflict"] = conflict
    queries.log_scan(session, event_id=ctx.id, kind="conflict", raw=None, code=None, outcome=kind,
                     invitee_id=guest.id, meta=replace(meta, nonce=None), reason=conflict["message"],
                     response=conflict, now=now)


def conflicts(db: Database) -> list[dict]:
    """Every conflict noted so far, newest first (GET /api/gate/conflicts, the dashboard)."""
    with db.read() as session:
        return queries.conflicts(session, _context(session).id)


def _replayed(session, meta: ScanMeta) -> dict | None:
    """The first answer to a retried request (same nonce), marked as a replay; None for a new request."""
    if session.info.get(FIRST_TRY):
        # PostgreSQL's first try: a twin already written makes this scan's log row meet the nonce's unique
        # key, and the second try looks. No look-up for the many scans that are new.
        return None
    replay = queries.replayed_response(session, meta.nonce)
    return None if replay is None else {**replay, "replayed": True}


def scan(db: Database, raw: str, meta: ScanMeta, now: dt.datetime | None = None) -> dict:
    """Check in whatever was scanned or typed; every outcome is logged and answered, once per nonce."""
    now = now or utcnow()
    # Longer input (a stray vCard, a page of text) is judged and logged by its first MAX_SCAN characters.
    raw = clean_text(raw, MAX_SCAN)
    try:
        code, problem = parse_scan(raw).code, None
    except CodeError as exc:
        code, problem = None, exc.code

    ctx = _cached_context(db)
    # Most scans of a rush: a live scan of a card not used yet. On PostgreSQL it is admitted in one statement.
    first_scan_fast = code is not None and not db.is_sqlite and meta.scanned_at is None and meta.source is None

    def work(session) -> dict:
        replay = _replayed(session, meta)
        if replay is not None:
            return replay
        admitted = queries.admit_first_scan(session, code, now, meta.gate) if first_scan_fast else None
        if admitted is not None:
            response = _answer(OK, _guest(admitted, ctx), ctx, admitted_at=now)
            queries.log_scan(session, event_id=ctx.id, kind="scan", raw=raw, code=code, outcome=OK,
                             invitee_id=admitted.id, meta=meta, reason=None, response=response, now=now)
            return response
        invitee_id = None
        row = queries.guest_by_code(session, code) if code else None
        if problem is not None:
            outcome, response = INVALID, _answer(INVALID, None, ctx, reason=problem)
        elif row is None:
            outcome, response = UNKNOWN, _answer(UNKNOWN, None, ctx)
        else:
            invitee_id = row.id
            revoke_reason = row.revoke_reason or ("Thư mời đã bị huỷ" if row.revoked_at else None)
            outcome, _guest_obj, response = _admit(session, ctx, row, revoke_reason, meta, now)
        queries.log_scan(session, event_id=ctx.id, kind="scan", raw=raw, code=code, outcome=outcome,
                         invitee_id=invitee_id, meta=meta, reason=response["reason"], response=response, now=now)
        return response

    return db.batched(work)


def admit_by_id(db: Database, invitee_id: int, meta: ScanMeta, now: dt.datetime | None = None) -> dict:
    """Check in someone found by search (no card), with the same atomic rules as a scan."""
    now = now or utcnow()

    ctx = _cached_context(db)

    def work(session) -> dict:
        replay = _replayed(session, meta)
        if replay is not None:
            return replay
        row = queries.guest_row(session, invitee_id)
        if row is None:
            raise CheckInError("not_found")
        code = invitee_queries.active_code(session, invitee_id)
        revoke_reason = None if (code or row.is_walk_in) else "Thư mời đã bị huỷ"
        outcome, _guest_obj, response = _admit(session, ctx, row, revoke_reason, meta, now)
        queries.log_scan(session, event_id=ctx.id, kind="search", raw=None, code=code, outcome=outcome,
                         invitee_id=invitee_id, meta=meta, reason=response["reason"], response=response, now=now)
        return response

    return db.batched(work)


def walk_in(db: Database, values: dict, meta: ScanMeta, now: dt.datetime | None = None) -> dict:
    """Register and admit someone without an invitation (resident, donor, teacher, class, other)."""
    now = now or utcnow()
    name = nfc(values.get("full_name"))
    if not name:
        raise CheckInError("name_required")
    if meta.local_verdict == offline.STALE:
        raise CheckInError("stale", offline.not_admitted_message(name, offline.STALE))
    try:
        phone = normalise_phone(values.get("phone"))
    except PersonError as exc:  # its message goes after a column name in import reports: a sentence here
        raise CheckInError("bad_phone", exc.message[:1].upper() + exc.message[1:]) from None

    ctx = _cached_context(db)

    def work(session) -> dict:
        replay = _replayed(session, meta)
        if replay is not None:
            return replay
        group = invitee_queries.group_by_key(session, ctx.id, str(values.get("group") or ""))
        if group is None or not group.walk_in:
            raise CheckInError("group_not_walk_in")
        person = queries.add_walk_in(session, ctx.id, group.id,
                                     {"full_name": name, "organisation": nfc(values.get("organisation")) or None,
                                      "phone": phone}, now, meta.gate, meta.scanned_at, meta.source)
        guest = _guest(queries.guest_row(session, person.id), ctx)
        response = _answer(OK, guest, ctx, admitted_at=meta.scanned_at or now)
        response["walk_in"] = True
        if meta.source:
            response["source"] = meta.source
        queries.log_scan(session, event_id=ctx.id, kind="walk_in", raw=None, code=None, outcome=OK,
                         invitee_id=person.id, meta=meta, reason=None, response=response, now=now)
        return response

    return db.batched(work)


def undo(db: Database, invitee_id: int, reason: str, meta: ScanMeta, now: dt.datetime | None = None) -> dict:
    """Cancel an admission with a reason: a compensating entry in the log, the person may be admitted again."""
    now = now or utcnow()
    reason = nfc(reason)
    if not reason:
        raise CheckInError("reason_required")
    with db.write() as session:
        ctx = _context(session)
        if queries.guest_row(session, invitee_id) is None:
            raise CheckInError("not_found")
        undone_at = queries.undo_admission(session, invitee_id)
        if undone_at is None:
            raise CheckInError("not_checked_in")
        # No nonce: an undo is not replayed, and its nonce must never block a later scan's.
        queries.log_scan(session, event_id=ctx.id, kind="undo", raw=None, code=None, outcome="undone",
                         invitee_id=invitee_id, meta=replace(meta, nonce=None), reason=reason, response=None,
                         now=now)
        return {"undone": True, "invitee_id": invitee_id, "was_checked_in_at": undone_at.isoformat()}


def search(db: Database, query: str, limit: int = 25) -> list[dict]:
    """Invitees and walk-ins matching a query, best matches first (checkin/search_rank.py), with what staff
    need to tell people apart. Every match is ranked before the list is cut, so an exact match always shows."""
    with db.read() as session:
        ctx = _context(session)
        candidates = invitee_queries.search_candidates(session, ctx.id, query)
        ranker = search_rank.Ranker(query)
        ranked = sorted(range(len(candidates)), key=lambda i: (ranker(
            candidates[i].full_name, candidates[i].title, candidates[i].organisation, candidates[i].search_text),
            i))[:limit]
        chosen = [candidates[i].id for i in ranked]
        by_id = invitee_queries.invitees_by_id(session, chosen)
        results = []
        for person, code in (by_id[invitee_id] for invitee_id in chosen):
            results.append({
                "id": person.id, "full_name": person.full_name, "honorific": person.honorific,
                "addressed": naming.addressed(person.honorific, person.full_name),
                "title": person.title, "organisation": person.organisation, "group": person.group.name,
                "seat": person.seat, "walk_in": person.is_walk_in, "has_code": bool(code),
                "vip": gate.is_vip(person.group.is_vip, person.protocol_rank, ctx.vip_max_rank) and not person.is_walk_in,
                "phone_tail": person.phone[-4:] if person.phone else None,
                # As the printed door list shows it: tells namesakes apart when a tick is entered.
                "code_tail": code[-4:] if code else None,
                "substitute_name": person.substitute_name,
                "checked_in_at": person.checked_in_at.isoformat() if person.checked_in_at else None,
                "checked_in_label": format_time(person.checked_in_at.astimezone(ctx.zone))
                if person.checked_in_at else None})
        return results


def _arrivals_per_5_min(by_minute: list[tuple[int, int, int]], ctx: EventContext) -> list[dict]:
    """Fold per-minute UTC counts into local five-minute slots ("07h15")."""
    # One offset for the whole morning: the event's own (no zone moves its clocks during a ceremony).
    offset = int(ctx.starts_at.astimezone(ctx.zone).utcoffset().total_seconds() // 60)
    slots: Counter = Counter()
    for hour, minute, count in by_minute:
        local = (hour * 60 + minute + offset) % (24 * 60)
        slots[f"{local // 60:02d}h{local % 60 - local % 5:02d}"] += count
    return [{"slot": slot, "count": slots[slot]} for slot in sorted(slots)]


def stats(db: Database) -> dict:
    """Live counts: per group, VIPs, walk-ins, arrivals per 5 minutes, failed scans by reason."""
    with db.read() as session:
        ctx = _context(session)
        groups = queries.group_counts(session, ctx.id)
        vip_present, vip_expected = queries.vip_counts(session, ctx.id, ctx.vip_max_rank)
        arrivals = _arrivals_per_5_min(queries.arrivals_by_minute(session, ctx.id), ctx)
        failures = queries.failures_by_outcome(session, ctx.id)
        gates = queries.scans_per_gate(session, ctx.id)
    return {
        "present": sum(g["present"] for g in groups),
        "invited": sum(g["invited"] for g in groups),
        "invited_present": sum(g["invited_present"] for g in groups),
        "walk_ins": sum(g["walk_ins"] for g in groups),
        "vip_present": vip_present,
        "vip_expected": vip_expected,
        "groups": groups,
        "arrivals_per_5_min": arrivals,
        "failed_scans": {"unknown": failures.get(UNKNOWN, 0), "revoked": failures.get(REVOKED, 0),
                         "invalid": failures.get(INVALID, 0)},
        "scans_per_gate": gates,
        "server_time": int(utcnow().timestamp() * 1000),
    }


def roster(db: Database) -> list[dict]:
    """Dignitaries present in protocol order, as the MC reads them, late arrivals marked."""
    with db.read() as session:
        ctx = _context(session)
        rows = queries.present_delegates(session, ctx.id)
        return roster_entries(rows, ctx)


def roster_entries(rows, ctx: EventContext) -> list[dict]:
    """Roster dicts from present_delegates rows; a substitute is read in place of the invitee."""
    entries = []
    for row in rows:
        name, title = row.full_name, row.title
        if row.substitute_name:
            name, title = row.substitute_name, row.substitute_title or title
        entries.append({
            **_roster_words(row.honorific, name, title, row.organisation),
            "vip": gate.is_vip(row.group_vip, row.protocol_rank, ctx.vip_max_rank),
            "late": gate.is_late(row.checked_in_at, ctx.starts_at),
            "substitute_for": row.full_name if row.substitute_name else None,
            "arrived_label": format_time(row.checked_in_at.astimezone(ctx.zone)),
        })
    return entries


@functools.lru_cache(maxsize=4096)
def _roster_words(honorific: str | None, name: str, title: str | None, organisation: str | None) -> dict:
    """How one roster line names its person: the same words for the same person, so kept (the roster is
    rebuilt for every push while people stream in, and naming them was most of its cost)."""
    shown_title, shown_organisation = naming.detail_parts(name, title, organisation)
    return {"honorific": naming.listed_honorific(honorific, name), "name": name,
            "addressed": naming.addressed(honorific, name), "title": shown_title,
            "organisation": shown_organisation, "script": naming.script(honorific, name, title, organisation)}


def absent(db: Database) -> list[dict]:
    """Invitations expected but not here yet, with phone numbers, for the organiser to call."""
    with db.read() as session:
        ctx = _context(session)
        people = queries.absent_invitees(session, ctx.id)
        return [{"id": p.id, "honorific": p.honorific, "full_name": p.full_name, "title": p.title,
                 "addressed": naming.addressed(p.honorific, p.full_name),
                 "organisation": p.organisation, "phone": p.phone,
                 "vip": gate.is_vip(p.group.is_vip, p.protocol_rank, ctx.vip_max_rank)} for p in people]
