"""The programme on screens: MC control, projector and lobby views, and the pushed show state."""
from flask import Blueprint

bp = Blueprint("display", __name__, template_folder="templates")

from . import views  # noqa: E402,F401  (registers the routes on bp)
