"""Where a request's input enters the app: body size limits first, then cleaned JSON, form, query, path.

Views never see raw client text: `request.get_json()`, `request.form`, `request.args`, uploaded file
names and URL path parameters all come through kiosk.cleaning.clean_text. Sizes are checked from the
Content-Length before anything is read (and while reading a body that has none).
"""
from __future__ import annotations

from flask import Flask, Request, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.utils import cached_property

from .cleaning import TooDeep, clean_json, clean_text

KB = 1024
# The whole app: the largest body anything may send (an invitee list upload and its form fields).
MAX_BODY = 6 * KB * KB
# Every JSON API and ordinary form: a scan, a donation, a programme item are a few hundred bytes.
SMALL_BODY = 64 * KB
# A login is a role and a PIN: it never reads more than this.
LOGIN_BODY = 4 * KB
# Endpoints allowed more than SMALL_BODY.
BODY_LIMITS = {"kiosk.api_login": LOGIN_BODY, "kiosk.login_submit": LOGIN_BODY,
               "checkin.import_upload": MAX_BODY}
# What a refused body is told, where more than "too large" helps.
TOO_LARGE_MESSAGES = {"checkin.import_upload": "Tệp quá lớn (tối đa 5 MB). Danh sách khách mời chỉ cần các cột "
                                               "của tệp mẫu.",
                      "kiosk.api_login": "Yêu cầu đăng nhập quá lớn.", "kiosk.login_submit": "Yêu cầu đăng nhập quá lớn."}
# Form fields other than files (Werkzeug's own default: its multipart parser buffers up to this much of a
# file's chunks too, so much less refuses ordinary uploads), and how many parts a multipart body may have.
MAX_FORM_FIELD = 500 * KB
MAX_FORM_PARTS = 50


class KioskRequest(Request):
    """Flask's request, with every text the client sent passed through the cleaning function."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True):
        key = ("_kiosk_json", force, silent)
        if key in self.__dict__:
            return self.__dict__[key]
        try:
            # cache=True keeps the raw body for request.get_data(): views tell "no body" from "bad body".
            value = clean_json(super().get_json(force=force, silent=silent, cache=True))
        except (RecursionError, TooDeep):
            # json.loads recurses per nesting level: "[[[[…" a few thousand deep is malformed input.
            if not silent:
                raise BadRequest("JSON nested too deeply") from None
            value = None
        self.__dict__[key] = value
        return value

    @cached_property
    def args(self):
        raw = super().args
        return ImmutableMultiDict([(clean_text(key), clean_text(value)) for key, value in raw.items(multi=True)])

    def _load_form_data(self) -> None:
        if "form" in self.__dict__:
            return
        super()._load_form_data()
        form = self.__dict__["form"]
        self.__dict__["form"] = ImmutableMultiDict(
            [(clean_text(key), clean_text(value)) for key, value in form.items(multi=True)])
        for upload in self.__dict__["files"].values():
            upload.filename = clean_text(upload.filename, 255) or None


def body_limit(endpoint: str | None) -> int:
    """The most bytes a request to this endpoint may send."""
    return BODY_LIMITS.get(endpoint or "", SMALL_BODY)


def _check_size_and_clean_path():
    limit = body_limit(request.endpoint)
    # Read by Werkzeug while streaming a body without Content-Length (chunked); checked here for the rest,
    # before any hook or view touches the body.
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    if request.view_args:
        request.view_args = {key: clean_text(value) if isinstance(value, str) else value
                             for key, value in request.view_args.items()}


def install(app: Flask) -> None:
    """Use the cleaning request class and the size limits (before every other hook)."""
    app.request_class = KioskRequest
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY, MAX_FORM_MEMORY_SIZE=MAX_FORM_FIELD,
                      MAX_FORM_PARTS=MAX_FORM_PARTS)
    app.before_request(_check_size_and_clean_path)
