"""Invitations (codes, QR cards, import) and the gate (scan, search, walk-in, undo, live counts)."""
from flask import Blueprint

bp = Blueprint("checkin", __name__, template_folder="templates")

from . import admin_views, views  # noqa: E402,F401  (registers the routes on bp)
