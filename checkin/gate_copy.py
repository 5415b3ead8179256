"""The local copy every logged-in gate keeps so it can judge a scan when the Wi-Fi drops.

It holds, per invitation, only what a verdict shows (no phone numbers), and each code as its SHA-256 so
the copy on a phone never holds a working code. Its version is the database's change feed
(kiosk/storage/gate_copy.py): a copy at version V plus every change after V is the server's truth.
"""
from __future__ import annotations

import hashlib
from zoneinfo import ZoneInfo

from kiosk.storage import Database, utcnow
from kiosk.storage import checkins as checkin_queries
from kiosk.storage import gate_copy as queries

from . import gate, naming

# Field order of a person row: arrays, not objects, keep 40,000 invitations a few megabytes.
PERSON_FIELDS = ("id", "addressed", "title", "organisation", "group", "seat", "vip", "in_at", "in_gate",
                 "in_source", "removed", "card")
CODE_FIELDS = ("hash", "person", "revoked")
# A delta naming more invitees than this (an import) is not pushed: the gates fetch it themselves.
MAX_PUSHED_PEOPLE = 500


def code_hash(code: str) -> str:
    """How a copy names a code: the hex SHA-256 of its canonical form."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def _millis(moment) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _person(row, vip_max_rank: int, carded: set[int]) -> list:
    # "card": the person holds a valid invitation; admitting one without (found by name) is "revoked", as
    # the server's admit_by_id says.
    return [row.id, naming.addressed(row.honorific, row.full_name), row.title, row.organisation,
            row.group_name, row.seat, 1 if gate.is_vip(row.group_vip, row.protocol_rank, vip_max_rank) else 0,
            _millis(row.checked_in_at), row.checked_in_gate, row.checked_in_source,
            1 if row.removed_at is not None else 0, 1 if row.id in carded else 0]


def _code(row, removed: set[int]) -> list:
    reason = None
    if row.revoked_at is not None or row.invitee_id in removed:
        reason = row.revoke_reason or "Thư mời đã bị huỷ"
    return [code_hash(row.code), row.invitee_id, reason]


def build(session, since: int | None = None) -> dict:
    """The whole copy (since=None), or what changed after `since`, read in one transaction."""
    event_id, timezone, _starts, vip_max_rank = checkin_queries.event_facts(session)
    current = queries.version(session)
    whole = since is None or since > current   # a copy from another database (a restore): start again
    since = None if whole else since
    people = queries.people(session, event_id, since)
    removed = {row.id for row in people if row.removed_at is not None}
    codes = queries.codes(session, event_id, since)
    carded = {row.invitee_id for row in codes if row.revoked_at is None}
    return {"version": current, "since": None if whole else since, "whole": whole, "event": event_id,
            "instance": queries.instance(session), "timezone": timezone, "server_time": _millis(utcnow()),
            "person_fields": PERSON_FIELDS, "code_fields": CODE_FIELDS,
            "people": [_person(row, vip_max_rank or 0, carded) for row in people],
            "codes": [_code(row, removed) for row in codes]}


def snapshot(db: Database, since: int | None = None) -> dict:
    """GET /api/gate/copy: the copy or the changes after `since`, consistent with its version."""
    with db.read() as session:
        return build(session, since)


def delta_for_push(db: Database, since: int) -> dict | None:
    """The changes after `since` for a push to every gate; None when there are none, and a bare version
    (the gates then ask for the changes themselves) when there are too many to push."""
    with db.read() as session:
        current = queries.version(session)
        if current <= since:
            return None
        if queries.changed_count(session, since) > MAX_PUSHED_PEOPLE:
            return {"version": current, "since": since, "too_many": True, "instance": queries.instance(session)}
        return build(session, since)


def current_version(db: Database) -> int:
    """The copy's version now."""
    with db.read() as session:
        return queries.version(session)


def instance(db: Database) -> str:
    """Which database this is (kiosk_meta "instance"): offline entries carry the one their copy came from."""
    with db.read() as session:
        return queries.instance(session)


def event_zone(db: Database) -> ZoneInfo:
    """The event's time zone (for the labels on the dashboard's list of gates)."""
    with db.read() as session:
        return ZoneInfo(checkin_queries.event_facts(session)[1])


def millis_now() -> int:
    """The server's clock, as the gates correct theirs by it."""
    return _millis(utcnow())
