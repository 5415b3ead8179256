"""Donations ledger, receipt layout, ESC/POS output and the print queue."""
from flask import Blueprint

bp = Blueprint("printer", __name__, template_folder="templates")

from . import views  # noqa: E402,F401  (registers the routes on bp)
