"""Gate search ranks what the clerk typed: accents respected, whole words before prefixes before substrings,
a one-syllable name found among thousands, no exact match ever cut off by the list's length."""
from __future__ import annotations

from checkin import invitations
from checkin.search_rank import rank

from .invitee_files import csv_bytes, many_people

PEOPLE = [                                      # syllables the generated thousands never use
    ["Lò Văn A", "Ông", "", "Bản Nà Hái", "", "", "", "", ""],                # a one-syllable Tày given name
    ["Vàng A Sử", "Ông", "", "Bản Khuổi Chủ", "", "", "", "", ""],
    ["Lầu Văn Sư", "Ông", "", "Xã Cẩm Giàng", "", "", "", "", ""],
    ["Sùng A Dế", "Ông", "", "Xã Quân Hà", "", "", "", "", ""],
    ["Hoàng Thị Sử", "Bà", "", "Xã Mỹ Thanh", "", "", "", "", ""],
]


def _names(client, query: str) -> list[str]:
    return [r["full_name"] for r in client.get("/api/delegates", query_string={"q": query}).get_json()["results"]]


def test_the_tiers_order_accented_folded_prefix_substring():
    ranks = {name: rank("Hà", name, None, None) for name in ("Nguyễn Thị Hà", "Lê Văn Hạ", "Trần Văn Hải",
                                                             "Đinh Thị Thảo")}
    assert sorted(ranks, key=ranks.get) == ["Nguyễn Thị Hà", "Lê Văn Hạ", "Trần Văn Hải", "Đinh Thị Thảo"]
    assert rank("HÀ", "Nguyễn Thị Hà", None, None) == rank("hà", "Nguyễn Thị Hà", None, None) == (0, 0)
    # A match in the name before the same match in the organisation.
    assert rank("Hà", "Hà Văn Tư", None, "Xã Vi Hương") < rank("Hà", "Trần Văn Hải", None, "Xã Quân Hà")
    assert rank("5678", "Lê An", None, None, "5678") == (1, 1)          # the phone's last digits


def test_a_short_name_is_found_first_among_thousands(app, client_as):
    db = app.extensions["kiosk.db"]
    invitations.apply_import(db, invitations.check_import(db, "ds.csv", csv_bytes(many_people(3000) + PEOPLE)),
                             False, "test")
    gate = client_as("gate")
    found = _names(gate, "A")
    assert set(found[:3]) == {"Lò Văn A", "Vàng A Sử", "Sùng A Dế"}       # the three with "A" as a word
    assert len(found) == 25                                            # thousands hold an "a" somewhere
    assert _names(gate, "lo van a")[0] == "Lò Văn A"
    accented = _names(gate, "Sử")                                      # as typed, then without accents, then prefixes
    assert set(accented[:2]) == {"Vàng A Sử", "Hoàng Thị Sử"}
    # Then "sư", "sự" (Ban Chỉ huy Quân sự huyện, in protocol order first), then the prefix of "Sùng".
    assert accented.index("Lầu Văn Sư") < accented.index("Sùng A Dế")
    plain = _names(gate, "su")                                         # nothing typed with accents: whole words alike
    assert max(plain.index(name) for name in ("Vàng A Sử", "Hoàng Thị Sử", "Lầu Văn Sư")) < plain.index("Sùng A Dế")
    assert _names(gate, "Sư")[0] == "Lầu Văn Sư"
