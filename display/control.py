"""Applies control actions and programme edits: one at a time, persisted, audited, then pushed."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Flask

from kiosk.storage import events as event_queries
from kiosk.storage import show as show_queries
from kiosk.storage import utcnow

from . import programme, push, show as show_model
from .programme import ProgrammeError
from .show import ShowError

ACTIONS = ("next", "prev", "goto", "start", "hold", "announce", "blackout", "slide", "screen")


def _int_or_none(body: dict, key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ShowError("bad_request")
    return value


def _apply(action: str, show: show_model.Show, agenda: list, body: dict, now) -> show_model.Show:
    """The domain transition an HTTP action names, with its arguments taken from the JSON body."""
    ids = [item.id for item in agenda]
    expected = _int_or_none(body, "expected_index")
    if action == "next":
        return show_model.next_item(show, ids, now, expected)
    if action == "prev":
        return show_model.previous_item(show, ids, now, expected)
    if action == "goto":
        index = _int_or_none(body, "index")
        if index is None:
            raise ShowError("bad_request")
        return show_model.go_to(show, ids, index, now, expected)
    if action == "start":
        return show_model.start(show, ids, now, expected)
    if action == "hold":
        return show_model.hold(show, now, expected)
    if action == "announce":
        return show_model.announce(show, body.get("text"), expected)
    if action == "blackout":
        return show_model.set_blackout(show, body.get("on"), expected)
    if action == "slide":
        return show_model.set_slide(show, body.get("on"), [item.slide for item in agenda], expected)
    if action == "screen":
        return show_model.set_screen(show, body.get("screen_id"), name=body.get("name"),
                                     view=body.get("view"), forget=body.get("forget") is True)
    raise ShowError("unknown_action")


def perform(app: Flask, action: str, body: dict, actor: str, address: str) -> dict:
    """Apply one control action under the lock; persist, audit and push it; return the new state.

    Raises ShowError (after logging the refusal) when the action cannot be applied.
    """
    db = app.extensions["kiosk.db"]
    with app.extensions["display.control_lock"]:
        now = utcnow()
        try:
            with db.write() as session:
                event, agenda, show = push.load(session)
                changed = _apply(action, show, agenda, body, now)
                if changed is not show:
                    if not show_queries.write_show(session, event.id, show_model.to_record(changed), now, show.rev):
                        raise ShowError("stale_index")
                    show_queries.log_action(session, actor, f"show.{action}", _detail(show, changed, body, address),
                                            now)
        except ShowError as refusal:
            with db.write() as session:
                show_queries.log_action(session, actor, f"show.{action}.refused",
                                        {"error": refusal.code, "rev": show.rev, "index": show.current_index,
                                         "expected_index": body.get("expected_index"), "addr": address}, now)
            raise
        if changed is show:
            return push.current_state(app)
        state = push.broadcast_state(app)
    if action == "screen":
        push.schedule_screens_push(app)
    return state


def _detail(before: show_model.Show, after: show_model.Show, body: dict, address: str) -> dict:
    detail = {"rev": after.rev, "from": before.current_index, "to": after.current_index, "addr": address}
    for key in ("text", "on", "index", "screen_id", "name", "view", "forget"):
        if key in body:
            detail[key] = body[key]
    return detail


# ---- the programme editor (admin) -------------------------------------------------------------

def programme_view(app: Flask) -> dict:
    """The programme for the editor: items with ids, the warnings, and the state's rev."""
    with app.extensions["kiosk.db"].read() as session:
        event, agenda, show = push.load(session)
    described = programme.describe(agenda, event.timezone)
    return {"rev": show.rev, "current_item_id": show.current_item_id, "items": described,
            "warnings": programme.warnings(described, show.accepted_warnings),
            "slides": list(programme.SLIDES)}


def edit_programme(app: Flask, op: str, body: dict, actor: str, address: str, item_id: int | None = None) -> dict:
    """Add, change, remove or reorder items, or accept a warning; the show follows; screens are pushed.

    Raises ProgrammeError or ShowError when the edit cannot be made (nothing is written then).
    """
    if not isinstance(body, dict):
        raise ProgrammeError("bad_request")
    db = app.extensions["kiosk.db"]
    with app.extensions["display.control_lock"]:
        now = utcnow()
        with db.write() as session:
            event, agenda, show = push.load(session)
            day = event.starts_at.astimezone(ZoneInfo(event.timezone)).date()
            detail: dict = {"addr": address}
            if op == "accept":
                changed = show_model.accept_warning(show, body.get("key"), body.get("accepted", True) is not False)
                detail["key"] = body.get("key")
            else:
                edited = _edit_agenda(session, event, agenda, show, op, body, item_id, day)
                changed = show
                if edited is not None:
                    detail.update(edited)
                    agenda = event_queries.agenda_items(session, event.id)
                    changed = show_model.reconcile(show, [item.id for item in agenda], now)
            if changed is not show:
                if not show_queries.write_show(session, event.id, show_model.to_record(changed), now, show.rev):
                    raise ShowError("stale_index")
                show_queries.log_action(session, actor, f"programme.{op}", detail, now)
        if changed is not show:
            push.broadcast_state(app)
    return programme_view(app)


def _edit_agenda(session, event, agenda, show, op, body, item_id, day) -> dict | None:
    """Make one edit in the session; return what to audit, or None when it changes nothing."""
    if op == "reorder":
        ids = programme.check_order(body.get("ids"), [item.id for item in agenda])
        if ids == [item.id for item in agenda]:
            return None
        event_queries.reorder_agenda(session, event.id, ids)
        return {"ids": ids}
    if op == "add":
        fields = programme.item_fields(body, day, event.timezone)
        position = body.get("position")
        if position is not None and (isinstance(position, bool) or not isinstance(position, int)):
            raise ProgrammeError("bad_request", "position")
        if position is None:
            # By default a new item goes where its time puts it, after the items starting no later.
            earlier = [i for i, item in enumerate(agenda) if item.planned_start <= fields["planned_start"]]
            position = earlier[-1] + 1 if earlier else 0
        item = event_queries.add_agenda_item(session, event.id, fields, position)
        return {"item": item.id, "content": fields["content"]}
    item = event_queries.agenda_item(session, event.id, item_id)
    if item is None:
        raise ProgrammeError("unknown_item")
    if op == "remove":
        if item.id == show.current_item_id:
            raise ProgrammeError("item_is_current")
        event_queries.remove_agenda_item(session, event.id, item)
        return {"item": item_id, "content": item.content}
    if op == "update":
        current = {"planned_start": item.planned_start, "planned_end": item.planned_end,
                   "content": item.content, "performer": item.performer, "slide": item.slide}
        fields = programme.item_fields(body, day, event.timezone, current)
        changes = {name: value for name, value in fields.items() if current[name] != value}
        if not changes:
            return None
        event_queries.update_agenda_item(session, item, changes)
        return {"item": item_id, "changed": sorted(changes)}
    raise ProgrammeError("bad_request")
