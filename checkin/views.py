"""Gate pages and check-in API (the gate itself lands with its own issue)."""
from __future__ import annotations

from flask import render_template

from kiosk import auth
from . import bp


@bp.get("/gate")
@auth.requires_role("gate")
def gate():
    return render_template("placeholder.html", station="gate", title="Cổng đón tiếp",
                           message="Quét mã mời và đón tiếp đại biểu: chức năng đang được xây dựng.")
