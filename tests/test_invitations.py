"""Invitations: reissue and revocation, substitutes, indexed code lookup, admin pages."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from checkin import invitations
from checkin.codes import is_valid
from kiosk.storage import checkins as checkin_queries
from kiosk.storage import invitees as invitee_queries
from kiosk.storage.schema import AuditLog, InvitationCode, Invitee


def _first_invitee(db) -> tuple[int, str]:
    with db.read() as session:
        person, code = invitee_queries.list_invitees(session, 1)[0]
        return person.id, code


def test_every_default_invitation_has_one_valid_code(app):
    db = app.extensions["kiosk.db"]
    with db.read() as session:
        people = invitee_queries.list_invitees(session, 1)
    assert len(people) == 36
    codes = [code for _person, code in people]
    assert all(code and is_valid(code) for code in codes)
    assert len(set(codes)) == len(codes)


def test_reissue_revokes_the_old_code_with_its_reason(app):
    db = app.extensions["kiosk.db"]
    invitee_id, old = _first_invitee(db)
    new = invitations.reissue(db, invitee_id, "Mất thẻ", "admin")
    assert new != old and is_valid(new)
    with db.read() as session:
        old_row = checkin_queries.guest_by_code(session, old)
        assert old_row.revoked_at is not None and old_row.revoke_reason == "Mất thẻ"
        assert old_row.id == invitee_id
        new_row = checkin_queries.guest_by_code(session, new)
        assert new_row.revoked_at is None
        assert invitee_queries.active_code(session, invitee_id) == new
        assert session.scalar(select(AuditLog.action).order_by(AuditLog.id.desc())) == "code_reissued"


def test_reissue_needs_a_reason(app):
    db = app.extensions["kiosk.db"]
    invitee_id, _ = _first_invitee(db)
    try:
        invitations.reissue(db, invitee_id, "  ", "admin")
    except invitations.InvitationError as exc:
        assert exc.code == "reason_required" and "lý do" in exc.message
    else:
        raise AssertionError("reissue without a reason was accepted")


def test_removing_an_invitation_revokes_its_code_and_keeps_the_row(app):
    db = app.extensions["kiosk.db"]
    invitee_id, code = _first_invitee(db)
    invitations.remove_person(db, invitee_id, "admin")
    with db.read() as session:
        row = checkin_queries.guest_by_code(session, code)
        assert row.revoked_at is not None and row.removed_at is not None
        assert invitee_id not in [p.id for p, _ in invitee_queries.list_invitees(session, 1)]


def test_substitute_is_recorded_and_cleared(app):
    db = app.extensions["kiosk.db"]
    invitee_id, _ = _first_invitee(db)
    invitations.set_substitute(db, invitee_id, "  Hoàng Văn Tú ", "Phó Bí thư", "admin")
    with db.read() as session:
        person = session.get(Invitee, invitee_id)
        assert (person.substitute_name, person.substitute_title) == ("Hoàng Văn Tú", "Phó Bí thư")
    invitations.set_substitute(db, invitee_id, "", "", "admin")
    with db.read() as session:
        assert session.get(Invitee, invitee_id).substitute_name is None


@pytest.mark.sqlite_only
def test_code_lookup_is_one_indexed_lookup_not_a_scan(app):
    db = app.extensions["kiosk.db"]
    _, code = _first_invitee(db)
    with db.read() as session:
        plan = session.execute(text("EXPLAIN QUERY PLAN SELECT * FROM invitation_code WHERE code = :c"),
                               {"c": code}).all()
    detail = " ".join(row[-1] for row in plan)
    assert "SCAN" not in detail and ("PRIMARY KEY" in detail or "INDEX" in detail)


def test_code_lookup_on_postgresql_can_use_an_index(app):
    db = app.extensions["kiosk.db"]
    if db.is_sqlite:
        pytest.skip("the PostgreSQL run's counterpart of the query plan above")
    _, code = _first_invitee(db)
    with db.read() as session:
        # A table of a few dozen rows is cheaper to read whole; forbid that to see whether an index serves.
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(row[0] for row in session.execute(
            text("EXPLAIN SELECT * FROM invitation_code WHERE code = :c"), {"c": code}))
    assert "Index" in plan and "Seq Scan" not in plan, plan


def test_search_folds_accents_and_matches_organisation_and_phone_tail(app):
    db = app.extensions["kiosk.db"]
    fields = invitations.person_from_form(db, {"full_name": "Đặng Thị Lan", "organisation": "Phòng Nội vụ",
                                               "phone": "0912 888 777", "group": "khach-moi"})
    invitations.add_person(db, fields, "admin")
    with db.read() as session:
        for query in ("dang thi lan", "Lan", "ĐẶNG", "noi vu", "8777"):
            names = [p.full_name for p, _ in invitee_queries.list_invitees(session, 1, query)]
            assert "Đặng Thị Lan" in names, query
        assert invitee_queries.list_invitees(session, 1, "không có ai tên này") == []


def test_admin_pages_add_edit_and_show_the_card(client_as):
    admin = client_as("admin")
    created = admin.post("/admin/invitees/new", data={"full_name": "Lò Văn Páo", "honorific": "Ông",
                                                      "group": "khach-moi", "seat": "Khu C"})
    assert created.status_code == 302
    edit_url = created.headers["Location"]
    page = admin.get(edit_url).get_data(as_text=True)
    assert "Lò Văn Páo" in page and "Đang dùng" in page
    invitee_id = int(edit_url.rsplit("/", 1)[-1])
    bad = admin.post(edit_url, data={"full_name": "", "group": "khach-moi"})
    assert bad.status_code == 400 and "không được để trống" in bad.get_data(as_text=True)
    card = admin.get(f"/admin/invitees/{invitee_id}/card.png")
    assert card.status_code == 200 and card.mimetype == "image/png"
    reissue = admin.post(f"/admin/invitees/{invitee_id}/reissue", data={"reason": "Đổi người"})
    assert reissue.status_code == 302
    assert "Đã thu hồi" in admin.get(edit_url).get_data(as_text=True)
