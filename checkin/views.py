"""The gate page and the check-in API (DESIGN.md: POST /api/checkin, GET /api/delegates, GET /api/stats)."""
from __future__ import annotations

import datetime as dt
import functools
import gzip
import hashlib
import json
import time
from pathlib import Path

from flask import Response, current_app, jsonify, render_template, request, url_for

from kiosk import auth
from kiosk.storage import utcnow
from kiosk.storage import checkins as checkin_queries
from kiosk.storage import events as event_queries

from . import bp, checkins, gate_copy, live, offline
from .gate import CheckInError



def _db():
    return current_app.extensions["kiosk.db"]


def _body() -> dict | None:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


def _text(body: dict, key: str, limit: int = 200) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(key)
    return value


def _offline(body: dict) -> dict:
    """ScanMeta fields of a scan judged on the gate's copy while offline: {"scanned_at", "verdict"}."""
    value = body.get("offline")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("offline")
    verdict = value.get("verdict")
    if verdict is not None and verdict not in OFFLINE_VERDICTS:
        raise ValueError("offline.verdict")
    claimed, now = _moment(value.get("scanned_at")), utcnow()
    if offline.is_stale(claimed, now):
        verdict = offline.STALE
    return {"source": "offline", "local_verdict": verdict, "scanned_at": offline.scan_time(claimed, now)}


def _moment(value) -> dt.datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("offline.scanned_at")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("offline.scanned_at") from None
    if moment.tzinfo is None:
        raise ValueError("offline.scanned_at")
    return moment


# The verdicts a gate can give from its copy (judgeHere and the walk-in form in static/js/gate.js).
OFFLINE_VERDICTS = ("ok", "vip", "already_checked_in", "revoked", "invalid", "not_here")


def _foreign(body: dict | None):
    """409 for an offline entry judged on the copy of another database (a rehearsal's, another laptop's):
    it must never admit anyone into this one."""
    value = body.get("offline") if body else None
    claimed = value.get("instance") if isinstance(value, dict) else None
    if isinstance(claimed, str) and claimed != gate_copy.instance(_db()):
        return auth.api_error("other_database", 409, "Lượt này được ghi trên máy cổng khi nó giữ danh sách của một "
                              "cơ sở dữ liệu khác (ví dụ buổi tổng duyệt), nên không được tính cho buổi lễ này.")
    return None


def _meta(body: dict) -> checkins.ScanMeta:
    return checkins.ScanMeta(gate=(_text(body, "gate", 80) or None), operator=auth.current_role(),
                             client_addr=auth.client_address(), nonce=_text(body, "nonce", 80) or None,
                             client_at=_text(body, "client_time", 40), **_offline(body))


def _invitee_id(body: dict | None) -> int | None:
    """A positive row id from the body (not a bool, not beyond SQLite's 64 bits)."""
    value = body.get("invitee_id") if body else None
    return value if type(value) is int and 0 < value < 2**63 else None


def _bad(message: str = "Yêu cầu không hợp lệ."):
    return auth.api_error("bad_request", 400, message)


def _after_change(result: dict) -> None:
    """Tell every screen: counts (coalesced), the greeting, the roster when a delegate came."""
    live.after_checkin(current_app._get_current_object(), result)


@bp.post("/api/checkin")
@auth.requires_role("gate")
def api_checkin():
    body = _body()
    if body is None or not isinstance(body.get("code"), str):
        return _bad("Thiếu mã quét (trường “code”).")
    try:
        meta = _meta(body)
    except ValueError as exc:
        return _bad(f"Trường “{exc}” không hợp lệ.")
    refused = _foreign(body)
    if refused is not None:
        return refused
    result = checkins.scan(_db(), body["code"], meta)
    _after_change(result)
    return jsonify(result)


def _gate_action(action):
    """Run a gate use case: Vietnamese errors for refusals and bad fields, pushes after success."""
    refused = _foreign(_body())
    if refused is not None:
        return refused
    try:
        result = action()
    except CheckInError as exc:
        return auth.api_error(exc.code, 404 if exc.code == "not_found" else 400, exc.message)
    except ValueError as exc:
        return _bad(f"Trường “{exc}” không hợp lệ.")
    _after_change(result)
    return jsonify(result)


@bp.post("/api/checkin/by-id")
@auth.requires_role("gate")
def api_checkin_by_id():
    body = _body()
    if _invitee_id(body) is None:
        return _bad("Thiếu mã khách (invitee_id).")
    return _gate_action(lambda: checkins.admit_by_id(_db(), body["invitee_id"], _meta(body)))


@bp.post("/api/walkins")
@auth.requires_role("gate")
def api_walk_in():
    body = _body()
    if body is None:
        return _bad()
    return _gate_action(lambda: checkins.walk_in(
        _db(), {key: _text(body, key) for key in ("full_name", "group", "organisation", "phone")}, _meta(body)))


@bp.post("/api/checkin/undo")
@auth.requires_role("admin")
def api_undo():
    body = _body()
    if _invitee_id(body) is None or not isinstance(body.get("reason"), str):
        return _bad("Cần invitee_id và lý do (reason).")
    try:
        result = checkins.undo(_db(), body["invitee_id"], body["reason"][:500], _meta(body))
    except CheckInError as exc:  # before ValueError, which it extends
        return auth.api_error(exc.code, 404 if exc.code == "not_found" else 400, exc.message)
    except ValueError as exc:
        return _bad(f"Trường “{exc}” không hợp lệ.")
    live.after_undo(current_app._get_current_object())
    return jsonify(result)


@bp.get("/api/gate/copy")
@auth.requires_role("gate")
def api_gate_copy():
    """The gate's local copy (whole, or the changes after ?since=N), gzipped for phones on a busy Wi-Fi."""
    since = request.args.get("since", type=int)
    if since is None or since < 0:
        body, packed = _whole_copy()
    else:
        body = json.dumps(gate_copy.snapshot(_db(), since), ensure_ascii=False, separators=(",", ":")).encode()
        packed = None
    response = Response(body, mimetype="application/json")
    if len(body) > 4096 and "gzip" in request.headers.get("Accept-Encoding", ""):
        response.set_data(packed or gzip.compress(body, compresslevel=5))
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = "no-store"
    # The clock the gate corrects its offline scan times by (a cached copy's own server_time is older).
    response.headers["X-Kiosk-Server-Time"] = str(gate_copy.millis_now())
    return response


def _whole_copy() -> tuple[bytes, bytes]:
    """The whole copy as JSON and gzipped, built once per version: eight phones logging in together at a
    40,000-name event would otherwise each cost the server seconds of the gate's time."""
    app = current_app._get_current_object()
    with app.extensions["checkin.whole_copy_lock"]:   # the phones that ask meanwhile wait for this one
        cached = app.extensions.get("checkin.whole_copy")
        # During a rush every scan moves the version: a copy a few seconds old is served as it is (the gate
        # then asks for the changes after its version), instead of being rebuilt for every login.
        if cached and (time.monotonic() - cached[3] < WHOLE_COPY_SECONDS
                       or cached[0] == gate_copy.current_version(_db())):
            return cached[1], cached[2]
        copy = gate_copy.snapshot(_db())
        body = json.dumps(copy, ensure_ascii=False, separators=(",", ":")).encode()
        packed = gzip.compress(body, compresslevel=5)
        app.extensions["checkin.whole_copy"] = (copy["version"], body, packed, time.monotonic())
        return body, packed


WHOLE_COPY_SECONDS = 30.0


@bp.get("/api/gate/conflicts")
@auth.requires_role("gate")
def api_gate_conflicts():
    return jsonify({"conflicts": checkins.conflicts(_db())})


@bp.get("/api/delegates")
@auth.requires_role("gate")
def api_delegates():
    query = (request.args.get("q") or "")[:100]
    if len(query.strip()) < 1:
        return jsonify({"results": []})
    return jsonify({"results": checkins.search(_db(), query)})


@bp.get("/api/stats")
@auth.requires_role("gate", "mc", "cashier")
def api_stats():
    return jsonify(checkins.stats(_db()))


@bp.get("/api/roster")
@auth.requires_role("mc")
def api_roster():
    return jsonify({"roster": checkins.roster(_db())})


@bp.get("/api/absent")
@auth.requires_role("admin")
def api_absent():
    return jsonify({"absent": checkins.absent(_db())})


# What the gate page loads (gate.html, kiosk.css's fonts): kept by its service worker for offline reloads.
GATE_ASSETS = ("css/kiosk.css", "css/gate.css", "js/forms.js", "vendor/socket.io/socket.io.min.js",
               "vendor/jsqr/jsQR.js", "js/gate_codes.js", "js/gate_store.js", "js/gate.js",
               "vendor/fonts/BeVietnamPro-Regular.ttf", "vendor/fonts/BeVietnamPro-Medium.ttf",
               "vendor/fonts/BeVietnamPro-SemiBold.ttf", "vendor/fonts/BeVietnamPro-Bold.ttf",
               "vendor/fonts/BeVietnamPro-ExtraBold.ttf")


@functools.lru_cache(maxsize=1)
def _service_worker_source() -> tuple[str, str]:
    """(worker script, version): the version is a hash of every file it keeps, so a new kiosk release
    installs a new worker and the phones drop the old files."""
    static = Path(current_app.static_folder)
    digest = hashlib.sha256()
    for name in GATE_ASSETS + ("js/gate_sw.js",):
        digest.update((static / name).read_bytes())
    return (static / "js/gate_sw.js").read_text(encoding="utf-8"), digest.hexdigest()[:16]


@bp.get("/gate-sw.js")
def gate_service_worker():
    """The gate's service worker (no login: it holds no data, and fetches the page with the phone's own)."""
    source, version = _service_worker_source()
    urls = ["/gate"] + [url_for("static", filename=name) for name in GATE_ASSETS]
    body = f"var PRECACHE = {json.dumps(urls)};\nvar VERSION = {json.dumps(version)};\n{source}"
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/gate")
@auth.requires_role("gate")
def gate():
    with _db().read() as session:
        event = event_queries.current_event(session)
        groups = checkin_queries.walk_in_groups(session, event.id)
    return render_template("checkin/gate.html", event=event, walk_in_groups=groups)
