"""Pages under a strict Content-Security-Policy (confirmations still ask, in Chromium), and private files."""
from __future__ import annotations

import datetime as dt
import os
import re
import stat
from pathlib import Path

import pytest

from kiosk.storage import backup as backups

from .conftest import browser_login, screenshot
from .gate_helpers import first_non_vip

ROOT = Path(__file__).resolve().parent.parent


def test_no_template_or_script_relies_on_inline_handlers():
    """The policy runs no inline script: an onsubmit="…" would be dropped silently (the form would just go)."""
    found = []
    for template in ROOT.glob("*/templates/**/*.html"):
        for number, line in enumerate(template.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\son[a-z]+\s*=", line) or re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", line):
                found.append(f"{template.relative_to(ROOT)}:{number}")
    assert found == []


def test_the_policy_limits_forms_base_and_connections_to_this_laptop(client):
    policy = client.get("/", headers={"Host": "192.168.1.23:5000"}).headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'" and directives["object-src"] == "'none'"
    assert directives["form-action"] == "'self'" and directives["base-uri"] == "'self'"
    assert directives["connect-src"] == "'self' ws://192.168.1.23:5000 wss://192.168.1.23:5000"
    assert directives["frame-ancestors"] == "'none'"
    # A Host header that could end the policy and add to it is not repeated in it.
    odd = client.get("/", headers={"Host": "x; script-src *"}).headers["Content-Security-Policy"]
    assert "script-src *" not in odd and odd.endswith("connect-src 'self'")


@pytest.mark.browser
@pytest.mark.parametrize("answer", ["dismiss", "accept"])
def test_withdrawing_an_invitation_asks_first_in_chromium(page, live_server, answer):
    invitee_id, _code, name = first_non_vip(live_server.app)
    violations = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    browser_login(page, live_server, "admin", f"/admin/invitees/{invitee_id}")
    asked = []

    def on_dialog(dialog):
        asked.append(dialog.message)
        dialog.accept() if answer == "accept" else dialog.dismiss()
    page.on("dialog", on_dialog)
    page.get_by_role("button", name="Huỷ thư mời").click()
    if answer == "accept":
        page.wait_for_url(live_server.url + "/admin/invitees")
        assert "Đã huỷ thư mời" in page.content()
    else:
        page.wait_for_timeout(500)
        assert page.url.endswith(f"/admin/invitees/{invitee_id}")
        with live_server.app.extensions["kiosk.db"].read() as session:
            from kiosk.storage.schema import Invitee
            assert session.get(Invitee, invitee_id).removed_at is None
        screenshot(page, "admin-withdraw-kept")
    assert asked == ["Huỷ thư mời này? Mã sẽ bị từ chối ở cổng."]
    assert violations == []


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.sqlite_only
def test_the_database_backups_exports_and_logs_are_private(app, client_as, tmp_path):
    data = Path(app.config["KIOSK_DATA_DIR"])
    admin = client_as("admin")
    admin.post("/api/checkin", json={"code": "TM"})                  # the WAL gets written
    for folder in (data, data / "logs", data / "receipts", data / "exports", data / "backups"):
        assert _mode(folder) == 0o700, folder
    for name in ("kiosk.sqlite3", "kiosk.sqlite3-wal", "kiosk.sqlite3-shm", "secret_key", "logs/kiosk.log"):
        assert _mode(data / name) == 0o600, name
    backup = backups.take_backup(data / "kiosk.sqlite3", data / "backups", keep=5, now=dt.datetime.now(dt.timezone.utc))
    assert _mode(backup) == 0o600
    from checkin import invitations
    card_file = invitations.write_cards(app.extensions["kiosk.db"], data / "exports" / "thu-moi.pdf", "pdf")
    assert _mode(card_file) == 0o600


@pytest.mark.sqlite_only
def test_an_existing_data_folder_is_made_private(tmp_path):
    from kiosk import create_app
    from .conftest import app_config
    data = tmp_path / "data"
    (data / "backups").mkdir(parents=True)
    os.chmod(data, 0o755)
    os.chmod(data / "backups", 0o777)
    (data / "kiosk.sqlite3").touch(mode=0o644)
    os.chmod(data / "kiosk.sqlite3", 0o644)
    app = create_app(app_config(data))
    try:
        assert _mode(data) == 0o700 and _mode(data / "backups") == 0o700
        assert _mode(data / "kiosk.sqlite3") == 0o600
    finally:
        app.extensions["kiosk.db"].dispose()
