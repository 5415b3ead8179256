"""The printed door list for the gate: GET /admin/door-list.pdf (admin)."""
from __future__ import annotations

from io import BytesIO

from flask import current_app, send_file

from kiosk import auth
from kiosk.storage import utcnow

from . import bp, door_list


@bp.get("/admin/door-list.pdf")
@auth.requires_role("admin")
def door_list_pdf():
    event, lines = door_list.collect(current_app.extensions["kiosk.db"])
    data = door_list.door_list_pdf(event, lines, utcnow())
    # Inline: the organiser opens it in the browser and prints; it holds names and codes, so it is not kept.
    response = send_file(BytesIO(data), mimetype="application/pdf", download_name="danh-sach-cong.pdf",
                         as_attachment=False)
    response.headers["Cache-Control"] = "no-store"
    return response
