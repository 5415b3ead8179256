"""Donation desk pages and API (the desk itself lands with its own issue)."""
from __future__ import annotations

from flask import render_template

from kiosk import auth
from . import bp


@bp.get("/donations")
@auth.requires_role("cashier")
def desk():
    return render_template("placeholder.html", station="cashier", title="Bàn ủng hộ Quỹ Khuyến học",
                           message="Ghi nhận ủng hộ và in biên nhận: chức năng đang được xây dựng.")
