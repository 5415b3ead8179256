"""Invitation use cases shared by the admin pages and the command line: import, edit, reissue, cards."""
from __future__ import annotations

import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from kiosk.config import private_file
from kiosk.storage import Database, utcnow
from kiosk.storage import events as event_queries
from kiosk.storage import invitees as invitee_queries
from kiosk.vietnamese import fold, nfc

from . import card_batches, naming
from .cards import CardPerson, CardRenderer, EventCardInfo, write_pdf
from .codes import new_code
from .importer import ImportReport, parse_invitees, template_xlsx
from .people import PersonFields, clean_person, group_lookup


class InvitationError(ValueError):
    """A use case refused; `code` is short, `message` Vietnamese."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _event(session):
    event = event_queries.current_event(session)
    if event is None:
        raise InvitationError("no_event", "Chưa có sự kiện. Hãy chạy: python -m kiosk init")
    return event


def check_import(db: Database, filename: str, data: bytes) -> ImportReport:
    """Parse a list against the event's groups without changing anything (in this process)."""
    return parse_invitees(filename, data, group_choices(db))


def group_choices(db: Database) -> dict[str, str]:
    """The event's groups by folded name and key (what a list's “Nhóm” column may say)."""
    with db.read() as session:
        return group_lookup(invitee_queries.group_pairs(session, _event(session).id))


# Rows written per transaction, and the pause between transactions: each holds the database for a few
# milliseconds, and a gate scan waiting behind it gets its turn in the pause (measured in bench/).
IMPORT_BATCH = 20
IMPORT_PAUSE = 0.004


def apply_import(db: Database, report: ImportReport, only_valid: bool, actor: str, filename: str = "",
                 progress=None) -> dict[str, int]:
    """Import the report's rows (nothing when it has errors, unless only the valid rows are wanted), a few
    rows per transaction so the gate is never held up; a re-run after a failure matches what was written."""
    if report.errors and not only_valid:
        raise InvitationError("import_has_errors",
                              f"Tệp có {len(report.errors)} lỗi nên chưa nhập dòng nào. Sửa tệp, "
                              "hoặc chọn “chỉ nhập các dòng hợp lệ”.")
    if not report.rows:
        raise InvitationError("import_empty", "Không có dòng hợp lệ nào để nhập.")
    with db.read() as session:
        known = invitee_queries.identities(session, _event(session).id)
    counts = {"created": 0, "updated": 0}
    for start in range(0, len(report.rows), IMPORT_BATCH):
        if start:
            time.sleep(IMPORT_PAUSE)
        with db.write() as session:
            done = invitee_queries.import_rows(session, _event(session), report.rows[start:start + IMPORT_BATCH],
                                               known, utcnow(), new_code)
        counts = {key: counts[key] + done[key] for key in counts}
        if progress:
            progress(min(start + IMPORT_BATCH, len(report.rows)))
    with db.write() as session:
        invitee_queries.log_import(session, filename, counts, actor, utcnow())
    return counts


@dataclass(frozen=True)
class NamedOffice:
    """An office's invitation ("Đại diện …") that an import has now named people for."""

    id: int
    name: str
    organisation: str | None
    named: tuple[str, ...]     # the people of that office the import brought


def offices_now_named(db: Database, report: ImportReport) -> list[NamedOffice]:
    """Office invitations not yet used whose office the imported list names people of: the organiser may
    withdraw them (the named invitations replace them). Offices the same list invites again are left out."""
    people: dict[str, list[str]] = {}
    listed = set()
    for _row, person in report.rows:
        listed.add(person.identity())
        if not naming.office_of(person.full_name) and naming.office_key(person.organisation):
            people.setdefault(naming.office_key(person.organisation), []).append(person.full_name)
    if not people:
        return []
    with db.read() as session:
        offices = invitee_queries.unused_invitations_named(session, _event(session).id, naming.PLACEHOLDER_FOLDED)
        found = []
        for office in offices:
            if not naming.office_of(office.full_name) or (fold(office.full_name), fold(office.organisation)) in listed:
                continue
            named = [name for key in naming.placeholder_keys(office.full_name, office.organisation)
                     for name in people.get(key, [])]
            if named:
                found.append(NamedOffice(office.id, office.full_name, office.organisation, tuple(dict.fromkeys(named))))
    return found


def withdraw_offices(db: Database, invitee_ids: list[int], actor: str) -> int:
    """Withdraw office invitations the organiser chose (each still unused); how many were withdrawn."""
    withdrawn = 0
    with db.write() as session:
        for invitee_id in invitee_ids:
            person = invitee_queries.get_invitee(session, invitee_id)
            if (person is None or person.removed_at is not None or person.checked_in_at is not None
                    or not naming.office_of(person.full_name)):
                continue  # used meanwhile, or not an office's invitation: never withdrawn from here
            invitee_queries.remove_invitee(session, person, utcnow(), actor)
            withdrawn += 1
    return withdrawn


def import_template(db: Database) -> bytes:
    """The Excel template with the event's group names."""
    with db.read() as session:
        event = _event(session)
        return template_xlsx([name for _key, name in invitee_queries.group_pairs(session, event.id)])


def person_from_form(db: Database, values: dict) -> PersonFields:
    """Validate an add/edit form into PersonFields (raises people.PersonError)."""
    with db.read() as session:
        event = _event(session)
        groups = group_lookup(invitee_queries.group_pairs(session, event.id))
    return clean_person(values, groups)


def add_person(db: Database, fields: PersonFields, actor: str) -> int:
    """Add one invitation and issue its code; return its id."""
    with db.write() as session:
        event = _event(session)
        return invitee_queries.create_invitee(session, event, fields, utcnow(), new_code, actor).id


def edit_person(db: Database, invitee_id: int, fields: PersonFields, actor: str) -> None:
    """Change one invitation's details."""
    with db.write() as session:
        person = _live_person(session, invitee_id)
        invitee_queries.update_invitee(session, _event(session), person, fields, utcnow(), actor)


def _live_person(session, invitee_id: int):
    person = invitee_queries.get_invitee(session, invitee_id)
    if person is None or person.removed_at is not None:
        raise InvitationError("not_found", "Không tìm thấy khách mời này (có thể đã bị xoá).")
    return person


def remove_person(db: Database, invitee_id: int, actor: str) -> None:
    """Withdraw an invitation; its code will answer "revoked" at the gate."""
    with db.write() as session:
        invitee_queries.remove_invitee(session, _live_person(session, invitee_id), utcnow(), actor)


def reissue(db: Database, invitee_id: int, reason: str, actor: str) -> str:
    """Revoke the current code with a reason and issue a new one."""
    reason = (reason or "").strip()
    if not reason:
        raise InvitationError("reason_required", "Hãy ghi lý do cấp lại (ví dụ: mất thẻ, đổi người).")
    with db.write() as session:
        return invitee_queries.reissue_code(session, _live_person(session, invitee_id), reason, utcnow(),
                                            new_code, actor)


def set_substitute(db: Database, invitee_id: int, name: str | None, title: str | None, actor: str) -> None:
    """Record who comes in the invitee's place ("đi thay"); empty name clears it."""
    with db.write() as session:
        invitee_queries.set_substitute(session, _live_person(session, invitee_id), nfc(name) or None,
                                       nfc(title) or None, utcnow(), actor)


# ---- Cards ---------------------------------------------------------------------------------------

def card_people(db: Database, invitee_ids: list[int] | None = None) -> tuple[EventCardInfo, list[CardPerson]]:
    """The event's card info and, in protocol order, every invitation with an active code."""
    with db.read() as session:
        event = _event(session)
        info = EventCardInfo(organiser=event.organiser or "", title=event.title, starts_at=event.starts_at,
                             timezone=event.timezone, venue=event.venue, address=event.address,
                             rehearsal=event_queries.rehearsal_info(session) is not None)
        people = [CardPerson(code=code, full_name=p.full_name, honorific=p.honorific, title=p.title,
                             organisation=p.organisation, seat=p.seat)
                  for p, code in invitee_queries.list_invitees(session, event.id)
                  if code and (invitee_ids is None or p.id in invitee_ids)]
    return info, people


def card_png(db: Database, invitee_id: int) -> tuple[bytes, str]:
    """One invitee's card as PNG bytes and a download file name."""
    info, people = card_people(db, [invitee_id])
    if not people:
        raise InvitationError("not_found", "Không tìm thấy thư mời còn hiệu lực của khách này.")
    return CardRenderer(info).png(people[0]), f"thu-moi-{people[0].code}.png"


def write_cards(db: Database, out: Path, fmt: str, progress=None) -> Path:
    """Write every card to `out` (a .pdf file, or a .zip of PNGs); return the path."""
    info, people = card_people(db)
    if not people:
        raise InvitationError("no_cards", "Chưa có thư mời nào để in.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = private_file(out.with_name(out.name + ".part"))  # cards carry names and codes: owner-only
    if fmt == "pdf":
        write_pdf(card_batches.pdf_pages(info, people, progress), tmp)
    elif fmt == "png":
        # PNG is already compressed: store, do not deflate again.
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
            for number, (person, data) in enumerate(card_batches.png_cards(info, people, progress), start=1):
                archive.writestr(f"{number:04d}-{person.code}.png", data)
    else:
        raise InvitationError("bad_format", "Định dạng chỉ có thể là pdf hoặc png.")
    tmp.replace(out)
    return out
