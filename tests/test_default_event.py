"""First run: the data folder and the default event, exactly as the plan's programme and protocol list."""
from __future__ import annotations

import datetime as dt
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import inspect, select, text

from kiosk import create_app
from kiosk.storage.schema import AgendaItem, Event, Invitee, InviteeGroup

from .conftest import app_config
from .event_files import write_other_event

ROOT = Path(__file__).resolve().parent.parent
VN = ZoneInfo("Asia/Ho_Chi_Minh")
PLANNED = [("07:00", "07:30"), ("07:30", "08:00"), ("08:00", "08:10"), ("08:10", "08:25"),
           ("08:35", "08:45"), ("08:45", "09:00"), ("09:00", "09:30"), ("09:30", None)]
GROUP_ORDER = ["lanh-dao-huyen", "phong-ban-doan-the-huyen", "truong-hoc-don-vi-huyen", "hoi-khuyen-hoc-huyen",
               "co-quan-tren-dia-ban", "lanh-dao-xa-thi-tran", "khach-moi", "dai-dien-nhan-dan",
               "giao-vien-thcs-phu-thong", "hoc-sinh-thcs-phu-thong", "nha-hao-tam", "khach-khac"]


def _dump(db) -> dict:
    """Every row of every table, to compare two database states."""
    with db.read() as session:
        tables = inspect(session.connection()).get_table_names()
        return {t: session.execute(text(f"SELECT * FROM {t} ORDER BY 1")).all() for t in sorted(tables)}


def test_first_run_creates_data_folder_and_default_event(data_dir):
    assert not data_dir.exists()
    app = create_app(app_config(data_dir))
    db = app.extensions["kiosk.db"]
    assert (data_dir / "kiosk.sqlite3").is_file() or not db.is_sqlite
    key_file = data_dir / "secret_key"
    assert key_file.is_file() and len(key_file.read_text()) == 64
    if os.name == "posix":
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (data_dir / "logs" / "kiosk.log").is_file()

    with db.read() as session:
        event = session.scalars(select(Event)).one()
        assert event.title == "Lễ khai mạc Tuần lễ hưởng ứng học tập suốt đời năm 2023"
        assert event.starts_at.astimezone(VN) == dt.datetime(2023, 10, 2, 7, 30, tzinfo=VN)
        assert event.venue == "Trường THCS Phủ Thông"
        assert event.address == "Phố Nà Hái, thị trấn Phủ Thông, huyện Bạch Thông, tỉnh Bắc Kạn"

        items = session.scalars(select(AgendaItem).order_by(AgendaItem.position)).all()
        assert len(items) == 8
        for item, (start, end) in zip(items, PLANNED):
            assert item.planned_start.astimezone(VN).strftime("%H:%M") == start
            assert (item.planned_end.astimezone(VN).strftime("%H:%M") if item.planned_end else None) == end
            assert item.planned_start.astimezone(VN).date() == dt.date(2023, 10, 2)
        assert items[0].content == "Đón tiếp đại biểu."
        assert items[2].content == "Chào cờ; tuyên bố lý do, giới thiệu đại biểu và thành phần tham dự."
        assert items[2].slide == "delegates" and items[5].slide == "donations"
        assert items[7].performer is None and items[7].content.startswith("Tổ chức một hoặc một số hoạt động")

        groups = session.scalars(select(InviteeGroup).order_by(InviteeGroup.protocol_rank)).all()
        assert [g.key for g in groups] == GROUP_ORDER
        assert event.default_group_key == "khach-moi"

        invitees = session.scalars(select(Invitee).order_by(Invitee.protocol_rank)).all()
        by_group = {}
        for person in invitees:
            by_group.setdefault(person.group.key, []).append(person)
        # One invitation per office the plan names.
        assert len(by_group["lanh-dao-huyen"]) == 3
        assert len(by_group["co-quan-tren-dia-ban"]) == 9
        assert len(by_group["dai-dien-nhan-dan"]) == 10
        assert len(by_group["truong-hoc-don-vi-huyen"]) == 5
        assert [p.protocol_rank for p in invitees] == list(range(1, len(invitees) + 1))
        assert "Bưu điện huyện Bạch Thông" in [p.organisation for p in invitees]
        everything = " ".join(f"{p.full_name} {p.organisation} {p.title}" for p in invitees)
        for typo in ("Phú Thông", "Bru điện", "Nà Hải"):
            assert typo not in everything and typo not in event.address


def test_second_start_changes_nothing(data_dir):
    app = create_app(app_config(data_dir))
    before = _dump(app.extensions["kiosk.db"])
    key = (data_dir / "secret_key").read_text()
    app.extensions["kiosk.db"].dispose()
    again = create_app(app_config(data_dir))
    assert _dump(again.extensions["kiosk.db"]) == before
    assert (data_dir / "secret_key").read_text() == key
    assert again.extensions["kiosk.new_pins"] == {}


def _cli(data_dir, *args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env.update({"KIOSK_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "kiosk", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=60)


def test_cli_init_prints_generated_pins_once_and_is_idempotent(data_dir):
    first = _cli(data_dir, "init")
    assert first.returncode == 0, first.stderr
    assert "Lễ khai mạc Tuần lễ hưởng ứng học tập suốt đời năm 2023" in first.stdout
    pins = [line.split()[-1] for line in first.stdout.splitlines() if line.strip()[-6:].isdigit()]
    # The admin PIN opens everything: 8 digits; the stations' PINs are quick to type on a phone: 6.
    assert [len(p) for p in pins] == [8, 6, 6, 6]

    from kiosk.storage import Database
    db = Database(os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'kiosk.sqlite3'}")
    before = _dump(db)
    second = _cli(data_dir, "init")
    assert second.returncode == 0, second.stderr
    assert "đã có từ trước" in second.stdout
    assert not any(line.strip()[-6:].isdigit() for line in second.stdout.splitlines())
    after = _dump(db)
    before.pop("audit_log"), after.pop("audit_log")
    assert after == before


def test_cli_pins_reset_gives_new_working_pins(data_dir):
    assert _cli(data_dir, "init").returncode == 0
    reset = _cli(data_dir, "pins", "--reset")
    assert reset.returncode == 0, reset.stderr
    new = {}
    for line in reset.stdout.splitlines():
        if line.strip()[-6:].isdigit():
            label, pin = line.strip().rsplit(" ", 1)
            new[label.strip()] = pin
    assert set(new) == {"Quản trị", "Cổng đón tiếp", "Dẫn chương trình", "Bàn ủng hộ"}
    app = create_app({"KIOSK_DATA_DIR": str(data_dir)})
    client = app.test_client()
    assert client.post("/api/login", json={"role": "gate", "pin": new["Cổng đón tiếp"]}).status_code == 200


def test_cli_init_with_another_event_file(tmp_path):
    other = write_other_event(tmp_path / "other.toml", """
[[groups]]
key = "dai-bieu"
name = "Đại biểu"
rank = 1
[[groups.invitees]]
name = "Nguyễn Văn An"
""")
    data_dir = tmp_path / "other-data"
    result = _cli(data_dir, "init", "--event", str(other))
    assert result.returncode == 0, result.stderr
    assert "Hội nghị tổng kết năm học" in result.stdout
    # A data folder holds one event: loading another into it is refused with a Vietnamese message.
    again = _cli(data_dir, "init", "--event", str(other))
    assert again.returncode != 0 and "đã có sự kiện" in again.stderr


def test_cli_init_rejects_a_broken_event_file(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text('[event]\ntitle = "Thiếu ngày"\n', encoding="utf-8")
    result = _cli(tmp_path / "d", "init", "--event", str(broken))
    assert result.returncode != 0
    assert "'date'" in result.stderr


def _start_screen(data_dir, env_extra: dict) -> str:
    """What `serve` prints from its start until Ctrl+C has stopped it."""
    import signal
    from .live import free_port
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env.update({"KIOSK_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT), "PORT": str(free_port()),
                "KIOSK_HOST": "127.0.0.1", **env_extra})
    server = subprocess.Popen([sys.executable, "-m", "kiosk", "serve"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    lines = []
    try:
        for line in server.stdout:
            lines.append(line)
            if "Ctrl+C" in line:
                break
        server.send_signal(signal.SIGINT)
        lines.extend(server.communicate(timeout=20)[0].splitlines(keepends=True))
    finally:
        server.kill()
    # The terminal QR code's block characters are not words.
    return "".join(line for line in lines if not re.search("[█▀▄]", line))


def test_the_start_screen_speaks_vietnamese_to_the_clerk(data_dir):
    """Every line `serve` prints, the log line included, is Vietnamese; a PIN set in the configuration
    says where it was set, in words a school clerk reads."""
    shown = _start_screen(data_dir, {"KIOSK_PIN_ADMIN": "24681357"})
    assert "Đã nạp sự kiện “Lễ khai mạc Tuần lễ hưởng ứng học tập suốt đời năm 2023” từ tệp default_event.toml" in shown
    admin_line = next(line for line in shown.splitlines() if line.strip().startswith("Quản trị ") and "http" not in line)
    assert "đặt sẵn trong cấu hình máy" in admin_line and "biến môi trường" not in admin_line
    assert "24681357" not in shown
    assert "Đã dừng máy chủ." in shown
    vietnamese = set("ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ")
    for line in shown.splitlines():
        words = [w for w in re.findall(r"[^\W\d_]+", re.sub(r"\S*[/:]\S*", "", line))]
        if len(words) >= 3:   # a sentence, not a URL, a path or a PIN
            assert vietnamese & set(line.lower()), f"not Vietnamese: {line!r}"
