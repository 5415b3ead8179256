"""Guests are named as the plan names them: a person by honorific and name, an office's invitation
("Đại diện …") by its office, on the gate, the welcome screen, the MC's roster, cards and lists."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from checkin import gate, naming
from checkin.cards import CardPerson, CardRenderer, EventCardInfo

OFFICE = "Đại diện Trung tâm Văn hóa, Thể thao và Truyền thông huyện"
OFFICE_ORG = "Trung tâm Văn hóa, Thể thao và Truyền thông huyện Bạch Thông"


def test_an_office_invitation_is_named_by_its_office_never_as_dong_chi_dai_dien():
    assert naming.office_of(OFFICE) == "Trung tâm Văn hóa, Thể thao và Truyền thông huyện"
    assert naming.office_of("dai dien  Công an huyện") == "Công an huyện"   # typed without accents
    assert naming.office_of("Nguyễn Đại Diện") is None and naming.office_of("Đại diện") is None
    assert naming.addressed("Đồng chí", OFFICE) == "Đại biểu Trung tâm Văn hóa, Thể thao và Truyền thông huyện"
    assert naming.greeting("Đồng chí", OFFICE) == "Kính chào đại biểu Trung tâm Văn hóa, Thể thao và Truyền thông huyện"
    assert naming.card_name("Đồng chí", OFFICE) == OFFICE
    assert naming.listed_honorific("Đồng chí", OFFICE) is None


def test_a_person_keeps_honorific_and_name():
    assert naming.addressed("Đồng chí", "Nông Văn Tày") == "Đồng chí Nông Văn Tày"
    assert naming.greeting("Bà", "Hà Thị Ngọc") == "Kính chào bà Hà Thị Ngọc"
    assert naming.greeting(None, "Hà Thị Ngọc") == "Kính chào Hà Thị Ngọc"
    assert naming.card_name("Ông", "Lý Văn Sơn") == "Ông Lý Văn Sơn"
    assert naming.listed_honorific("Ông", "Lý Văn Sơn") == "Ông"
    assert naming.script("Đồng chí", "Nông Văn Tày", "Chủ tịch UBND huyện", "UBND huyện Bạch Thông") == \
        "Đồng chí Nông Văn Tày, Chủ tịch UBND huyện, UBND huyện Bạch Thông"


def test_the_mc_does_not_read_an_office_twice():
    assert naming.script("Đồng chí", OFFICE, None, OFFICE_ORG) == \
        "Đại biểu Trung tâm Văn hóa, Thể thao và Truyền thông huyện"
    assert naming.script("Đồng chí", "Đại diện Lãnh đạo Trường THPT Phủ Thông", None, "Trường THPT Phủ Thông") == \
        "Đại biểu Lãnh đạo Trường THPT Phủ Thông"
    assert naming.script("Đồng chí", "Đại diện Thường trực Huyện ủy", "Thường trực Huyện ủy",
                         "Huyện ủy Bạch Thông") == "Đại biểu Thường trực Huyện ủy, Huyện ủy Bạch Thông"


def test_an_office_key_matches_the_office_however_the_list_writes_it():
    keys = naming.placeholder_keys("Đại diện Lãnh đạo Công an huyện", "Công an huyện Bạch Thông")
    assert naming.office_key("CÔNG AN HUYỆN BẠCH THÔNG.") in keys
    assert naming.office_key("Công an  huyện") in keys
    assert naming.office_key("Trung tâm Y tế huyện") not in keys


def _guest(name, honorific="Đồng chí"):
    return gate.Guest(id=1, full_name=name, honorific=honorific, title=None, organisation=OFFICE_ORG,
                      group_name="G", seat=None, vip=True, substitute_name=None, checked_in_at=None,
                      checked_in_gate=None, removed=False)


def test_the_gate_admits_and_recognises_an_office_by_its_office():
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    assert gate.message(gate.OK, _guest(OFFICE), zone).startswith(
        "Mời Đại biểu Trung tâm Văn hóa, Thể thao và Truyền thông huyện vào.")
    first = dt.datetime(2023, 10, 2, 0, 10, tzinfo=dt.timezone.utc)
    already = gate.message(gate.ALREADY, _guest(OFFICE), zone, first_at=first, first_gate="Cổng chính")
    assert already.startswith("Đại biểu Trung tâm") and "Đồng chí" not in already


def test_an_office_card_carries_the_invitation_as_written_without_an_honorific():
    info = EventCardInfo(organiser="Phòng GD&ĐT huyện Bạch Thông", title="Lễ khai mạc", venue="Trường THCS Phủ Thông",
                         starts_at=dt.datetime(2023, 10, 2, 0, 30, tzinfo=dt.timezone.utc),
                         timezone="Asia/Ho_Chi_Minh", address=None)
    renderer = CardRenderer(info, dpi=150)
    with_honorific = renderer.render(CardPerson(code="ABCD-EFGH-JKLM", full_name=OFFICE, honorific="Đồng chí",
                                                organisation=OFFICE_ORG))
    as_written = renderer.render(CardPerson(code="ABCD-EFGH-JKLM", full_name=OFFICE))
    assert with_honorific.tobytes() == as_written.tobytes()   # no "Đồng chí", no office printed twice
    person = renderer.render(CardPerson(code="ABCD-EFGH-JKLM", full_name="Nông Văn Tày", honorific="Đồng chí"))
    bare = renderer.render(CardPerson(code="ABCD-EFGH-JKLM", full_name="Nông Văn Tày"))
    assert person.tobytes() != bare.tobytes()               # a person's honorific is printed
