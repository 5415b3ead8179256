"""How a guest is named aloud and in print. A person is "Đồng chí Nguyễn Văn A"; an invitation to an office
("Đại diện Trung tâm Y tế huyện", the plan invites offices before it knows who they send) is named by its
office: "Đại biểu Trung tâm Y tế huyện", never "đồng chí Đại diện …"."""
from __future__ import annotations

import re

from kiosk.vietnamese import fold, nfc

PLACEHOLDER = "Đại diện"
PLACEHOLDER_FOLDED = "dai dien "
_LEADERSHIP_FOLDED = "lanh dao "   # "Đại diện Lãnh đạo Công an huyện": the office is "Công an huyện"
_WORDS = re.compile(r"[a-z0-9]+")


def office_of(full_name: str | None) -> str | None:
    """The office an invitation is addressed to when its name is "Đại diện <office>"; None for a person."""
    name = nfc(full_name) or ""
    if not fold(name).startswith(PLACEHOLDER_FOLDED):
        return None
    office = name[len(PLACEHOLDER):].strip(" :-–,")
    return office or None


def addressed(honorific: str | None, full_name: str) -> str:
    """'Đồng chí Nguyễn Văn A', or 'Đại biểu Trung tâm Y tế huyện' for an office's invitation."""
    office = office_of(full_name)
    if office:
        return f"Đại biểu {office}"
    return " ".join(part for part in (honorific, full_name) if part)


def greeting(honorific: str | None, full_name: str) -> str:
    """'Kính chào đồng chí Nguyễn Văn A': in mid-sentence the honorific is written in lower case."""
    name = addressed(honorific, full_name)
    if name != full_name:
        name = name[0].lower() + name[1:]
    return f"Kính chào {name}"


def card_name(honorific: str | None, full_name: str) -> str:
    """The name line of an invitation card: the office's invitation as written ("Đại diện …"), without
    an honorific; a person with theirs."""
    if office_of(full_name):
        return full_name
    return addressed(honorific, full_name)


def listed_honorific(honorific: str | None, full_name: str) -> str | None:
    """The honorific column of a list: empty for an office's invitation (no one is 'đồng chí Đại diện')."""
    return None if office_of(full_name) else honorific


def detail_parts(full_name: str, title: str | None, organisation: str | None) -> tuple[str | None, str | None]:
    """(title, organisation) to show after a name; for an office's invitation the parts that only repeat
    the office are left out ("Đại biểu Trường THPT Phủ Thông", not "…, Trường THPT Phủ Thông")."""
    office = office_key(office_of(full_name))

    def repeats(part: str | None) -> bool:
        key = office_key(part)
        return bool(office and key and (key in office or office in key))

    return (None if repeats(title) else title or None, None if repeats(organisation) else organisation or None)


def details(full_name: str, title: str | None, organisation: str | None) -> str:
    """'Chức vụ, Đơn vị' after a name (see detail_parts)."""
    return ", ".join(part for part in detail_parts(full_name, title, organisation) if part)


def script(honorific: str | None, full_name: str, title: str | None, organisation: str | None) -> str:
    """The line the MC reads out: name, then title and office."""
    return ", ".join(part for part in (addressed(honorific, full_name), details(full_name, title, organisation))
                     if part)


def office_key(text: str | None) -> str:
    """An office's name as a comparable key: folded, punctuation dropped, "lãnh đạo" in front ignored."""
    key = " ".join(_WORDS.findall(fold(text)))
    return key[len(_LEADERSHIP_FOLDED):] if key.startswith(_LEADERSHIP_FOLDED) else key


def placeholder_keys(full_name: str, organisation: str | None) -> set[str]:
    """The office keys an office's invitation answers to: its "Đơn vị" and the office in its name."""
    return {key for key in (office_key(organisation), office_key(office_of(full_name))) if key}
