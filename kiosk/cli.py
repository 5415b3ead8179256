"""Command line: init, serve, pins (and, as features land, import, invitations, report, backup)."""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import click

from . import create_app, initialise
from .config import ROLES, ConfigError, ensure_data_dir, load_config
from .pins import ADMIN_PIN_LENGTH, MAX_PIN_LENGTH, MIN_PIN_LENGTH
from .event_file import EventFileError
from .storage import Database, ensure_schema, utcnow
from .storage import events as event_queries
from .storage import staff

STATIONS = (("Quản trị", "/admin"), ("Cổng đón tiếp", "/gate"), ("Dẫn chương trình", "/mc"),
            ("Màn hình máy chiếu", "/display"), ("Màn hình sảnh", "/display/lobby"),
            ("Màn hình chào khách", "/display/welcome"), ("Bàn ủng hộ", "/donations"))
ROLE_NAMES = {"admin": "Quản trị", "gate": "Cổng đón tiếp", "mc": "Dẫn chương trình", "cashier": "Bàn ủng hộ"}


def _config() -> dict:
    """The configuration, or a Vietnamese error and exit status 1."""
    try:
        return load_config()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _open_db(cfg: dict) -> Database:
    ensure_data_dir(cfg["KIOSK_DATA_DIR"])
    db = Database(cfg["DATABASE_URL"])
    ensure_schema(db)
    return db


def _print_pins(new_pins: dict[str, str], from_env: dict[str, bool]) -> None:
    click.echo("Mã PIN các trạm:")
    for role in ROLES:
        if role in new_pins:
            shown = click.style(new_pins[role], bold=True)
        elif from_env.get(role):
            # The PIN was set by whoever installed the laptop (config.toml or the environment): say where.
            shown = f"(đặt sẵn trong cấu hình máy, mục KIOSK_PIN_{role.upper()}; không in ra ở đây)"
        else:
            shown = "(đã đặt từ trước; quên thì chạy: ./run.sh pins --reset)"
        click.echo(f"  {ROLE_NAMES[role]:<18} {shown}")


def _start_auto_backup(app):
    """Back up the database every KIOSK_BACKUP_MINUTES while serving (0 turns it off): SQLite snapshots,
    or pg_dump on PostgreSQL (by one process of several)."""
    from .storage import snapshots

    minutes = app.config["KIOSK_BACKUP_MINUTES"]
    if not minutes:
        return None
    folder = Path(app.config["KIOSK_DATA_DIR"]) / "backups"
    click.echo(f"Tự động sao lưu mỗi {minutes} phút vào {folder}")
    return snapshots.AutoBackup(app.extensions["kiosk.db"], Path(app.config["KIOSK_DATA_DIR"]), minutes,
                                app.config["KIOSK_BACKUP_KEEP"]).start()


@click.group()
def main() -> None:
    """Kiosk sự kiện: thư mời QR, cổng đón tiếp, màn hình chương trình, biên nhận ủng hộ."""
    # Windows consoles default to a code page without Vietnamese letters.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")


@main.command()
@click.option("--event", "event_file", type=click.Path(dir_okay=False), help="Tệp sự kiện TOML khác.")
def init(event_file: str | None) -> None:
    """Khởi tạo thư mục dữ liệu với sự kiện mặc định (hoặc tệp --event)."""
    try:
        cfg = load_config()
        db = _open_db(cfg)
        with db.read() as session:
            existing = event_queries.current_event(session)
        if existing is not None and event_file:
            raise click.ClickException(
                f"Thư mục dữ liệu {cfg['KIOSK_DATA_DIR']} đã có sự kiện “{existing.title}”. "
                "Dùng một thư mục dữ liệu mới (KIOSK_DATA_DIR) cho sự kiện khác.")
        new_pins = initialise(db, cfg, event_file)
    except (ConfigError, EventFileError) as exc:
        raise click.ClickException(str(exc)) from None
    with db.read() as session:
        event = event_queries.current_event(session)
        from_env = staff.pins_from_env(session)
    click.echo(f"Thư mục dữ liệu: {cfg['KIOSK_DATA_DIR']}")
    click.echo(f"Sự kiện: {event.title}" + (" (đã có từ trước, không thay đổi)" if existing else ""))
    _print_pins(new_pins, from_env)


@main.command()
@click.option("--reset", is_flag=True, help="Tạo mã PIN mới (các thiết bị đang đăng nhập sẽ bị đăng xuất).")
@click.option("--role", "roles", multiple=True, type=click.Choice(ROLES),
              help="Chỉ tạo lại mã của trạm này (có thể ghi nhiều lần); mặc định: mọi trạm.")
@click.option("--admin-digits", type=click.IntRange(MIN_PIN_LENGTH, MAX_PIN_LENGTH), default=ADMIN_PIN_LENGTH,
              show_default=True, help="Số chữ số của mã PIN quản trị (dài hơn thì khó đoán hơn).")
def pins(reset: bool, roles: tuple[str, ...], admin_digits: int) -> None:
    """Xem tình trạng mã PIN; --reset tạo mã mới và in ra."""
    cfg = _config()
    db = _open_db(cfg)
    env_pins = {role: cfg.get(f"KIOSK_PIN_{role.upper()}") for role in ROLES}
    with db.write() as session:
        new_pins = staff.sync_pins(session, env_pins, utcnow(), reset=reset, roles=roles or ROLES,
                                   lengths={"admin": admin_digits})
        from_env = staff.pins_from_env(session)
    if not reset and not new_pins:
        click.echo("Mã PIN chỉ lưu dạng băm nên không hiển thị lại được. Chạy với --reset để tạo mã mới.")
    _print_pins(new_pins, from_env)


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--only-valid", is_flag=True, help="Nhập các dòng hợp lệ, bỏ qua dòng lỗi.")
def import_command(file: str, only_valid: bool) -> None:
    """Nhập danh sách khách mời từ tệp .xlsx hoặc .csv (theo tệp mẫu)."""

    from checkin import invitations
    from checkin.importer import ImportFileError

    db = _open_db(_config())
    path = Path(file)
    try:
        report = invitations.check_import(db, path.name, path.read_bytes())
    except (ImportFileError, invitations.InvitationError) as exc:
        raise click.ClickException(str(exc)) from None
    for error in report.errors:
        click.echo(f"  {error}", err=True)
    try:
        counts = invitations.apply_import(db, report, only_valid, actor="cli", filename=path.name)
    except invitations.InvitationError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Đã nhập {path.name}: thêm {counts['created']}, cập nhật {counts['updated']}"
               + (f", bỏ qua {len(report.errors)} dòng lỗi." if report.errors else "."))


@main.command()
@click.argument("outdir", type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["pdf", "png"]), default="pdf", show_default=True,
              help="pdf: A4, 4 thẻ mỗi trang; png: một ảnh mỗi thẻ.")
def invitations(outdir: str, fmt: str) -> None:
    """Tạo thẻ mời cho mọi khách mời vào thư mục OUTDIR."""
    import time

    from checkin import card_batches
    from checkin import invitations as invitation_cases

    db = _open_db(_config())
    out = Path(outdir)
    started = time.perf_counter()
    try:
        if fmt == "pdf":
            path = invitation_cases.write_cards(db, out / "thu-moi.pdf", "pdf")
            click.echo(f"Đã tạo {path}")
        else:
            info, people = invitation_cases.card_people(db)
            out.mkdir(parents=True, exist_ok=True)
            for number, (person, data) in enumerate(card_batches.png_cards(info, people), start=1):
                (out / f"{number:04d}-{person.code}.png").write_bytes(data)
            click.echo(f"Đã tạo {len(people)} ảnh thẻ trong {out}")
    except invitation_cases.InvitationError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Thời gian: {time.perf_counter() - started:.1f} giây")


@main.command()
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--csv", "with_csv", is_flag=True, help="Cũng ghi mỗi bảng thành một tệp CSV bên cạnh.")
def report(out: str, with_csv: bool) -> None:
    """Xuất báo cáo sau sự kiện ra tệp Excel OUT (.xlsx)."""
    from . import report as report_data
    from . import report_files

    db = _open_db(_config())
    data = report_data.build(db, utcnow())
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(report_files.workbook_bytes(data))
    click.echo(f"Đã ghi báo cáo: {path}")
    if with_csv:
        for table in data.tables:
            target = path.with_name(f"{path.stem}.{table.key}.csv")
            target.write_bytes(report_files.csv_bytes(table))
            click.echo(f"  {target}")


@main.command()
def backup() -> None:
    """Sao lưu cơ sở dữ liệu ngay (an toàn cả khi máy chủ đang chạy)."""
    from .storage import backup as backups

    from .storage import snapshots

    cfg = _config()
    db = _open_db(cfg)
    try:
        path = snapshots.take(db, Path(cfg["KIOSK_DATA_DIR"]), cfg["KIOSK_BACKUP_KEEP"], utcnow())
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        db.dispose()
    click.echo(f"Đã sao lưu: {path}")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Không hỏi lại.")
def restore(file: str, yes: bool) -> None:
    """Khôi phục cơ sở dữ liệu từ một bản sao lưu (bản hiện tại được sao lưu trước)."""
    from .storage import backup as backups

    cfg = _config()
    data_dir = Path(cfg["KIOSK_DATA_DIR"])
    on_postgres = not cfg["DATABASE_URL"].startswith("sqlite")
    try:
        if on_postgres:
            db_file = None
            click.echo(f"Bản sao lưu PostgreSQL: {file}.")
        else:
            db_file = backups.database_file(cfg["DATABASE_URL"])
            version = backups.check_backup(Path(file))
            click.echo(f"Bản sao lưu: {file} (phiên bản cơ sở dữ liệu {version}).")
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("Nên dừng máy chủ (mọi tiến trình) trước khi khôi phục. Mọi thay đổi sau thời điểm sao lưu sẽ "
               "được thay thế.")
    if not yes and not click.confirm("Khôi phục bản sao lưu này?", default=False):
        raise click.ClickException("Đã huỷ, không thay đổi gì.")
    if on_postgres:
        from .storage import pg_backup
        try:
            restored = pg_backup.restore_dump(_open_db(cfg), Path(file), data_dir / "backups", utcnow())
        except backups.BackupError as exc:
            raise click.ClickException(str(exc)) from None
    else:
        restored = backups.restore(Path(file), db_file, data_dir / "backups", utcnow(), data_dir / "receipts")
    if restored.safety:
        click.echo(f"Bản cũ đã được giữ lại tại: {restored.safety}")
    for prefix, first, last in restored.missing_receipts:
        span = f"{prefix}-{first:04d}" + (f" đến {prefix}-{last:04d}" if last > first else "")
        click.echo(click.style(f"Chú ý: biên nhận {span} đã in sau lúc sao lưu nên không có trong sổ vừa khôi "
                               f"phục. Các số này không bao giờ được cấp lại: biên nhận tiếp theo là "
                               f"{prefix}-{last + 1:04d}. Hãy đối chiếu cuống biên nhận và ghi lại các khoản đó.",
                               bold=True))
    click.echo("Đã khôi phục.")


@main.command()
@click.option("--host", default=None, help="Địa chỉ lắng nghe (mặc định KIOSK_HOST hoặc 0.0.0.0).")
@click.option("--port", default=None, type=int, help="Cổng (mặc định PORT hoặc 5000).")
def serve(host: str | None, port: int | None) -> None:
    """Chạy máy chủ kiosk."""
    _clear_stale_rehearsal(_config())
    _stop_on_signals()
    _run_next(_serve(_listen(host, port)), host, port)


def _listen(host: str | None, port: int | None) -> dict:
    return {k: v for k, v in (("KIOSK_HOST", host), ("PORT", port)) if v is not None}


def _clear_stale_rehearsal(cfg: dict) -> None:
    """Refuse to serve the real event beside a running rehearsal; remove a copy left by a power cut."""
    from . import rehearsal

    if not rehearsal.folder(cfg["KIOSK_DATA_DIR"]).exists():
        return
    running = rehearsal.owner(cfg["KIOSK_DATA_DIR"])
    if running:
        raise click.ClickException(f"Đang tổng duyệt (tiến trình {running}). Kết thúc tổng duyệt trước "
                                   "(Ctrl+C ở cửa sổ đó, hoặc nút “Kết thúc tổng duyệt”) rồi chạy lại ./run.sh.")
    saved = rehearsal.end(cfg["KIOSK_DATA_DIR"], utcnow())
    click.echo("Đã xoá bản sao tổng duyệt còn sót từ lần trước (máy tắt giữa buổi tổng duyệt)." +
               (f" Báo cáo tổng duyệt: {saved}" if saved else ""))


def _run_next(command: list[str] | None, host: str | None, port: int | None) -> None:
    """After the admin's button: become `kiosk rehearse` or `kiosk serve` in this same process (same terminal,
    same Ctrl+C), so nothing of the database just left stays open, not a thread nor a connection."""
    if not command:
        return
    argv = [sys.executable, "-m", "kiosk", *command]
    if host:
        argv += ["--host", host]
    if port:
        argv += ["--port", str(port)]
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "nt":
        # Windows has no exec: execv would start a new process and return the terminal to the shell.
        import subprocess
        raise SystemExit(subprocess.call(argv))
    os.execv(sys.executable, argv)


@main.command()
@click.option("--start", "start", default=None, metavar="HH:MM",
              help="Giờ bắt đầu chương trình hôm nay (mặc định: 5 phút nữa).")
@click.option("--host", default=None, help="Địa chỉ lắng nghe (mặc định KIOSK_HOST hoặc 0.0.0.0).")
@click.option("--port", default=None, type=int, help="Cổng (mặc định PORT hoặc 5000).")
@click.option("--simulate", is_flag=True, help="Chạy một buổi sáng mô phỏng qua API thật của buổi tổng duyệt.")
@click.option("--speed", default=10.0, type=float, show_default=True, help="Mô phỏng nhanh gấp bao nhiêu lần.")
@click.option("--gates", default=4, type=int, show_default=True, help="Số cổng quét cùng lúc.")
@click.option("--invitees", default=None, type=int, help="Số khách mời (thêm người giả nếu danh sách ít hơn).")
@click.option("--screens", default=4, type=int, show_default=True, help="Số màn hình kết nối.")
@click.option("--prepared", is_flag=True, hidden=True)   # the admin's button made the copy already
def rehearse(start: str | None, host: str | None, port: int | None, simulate: bool, speed: float, gates: int,
             invitees: int | None, screens: int, prepared: bool) -> None:
    """Tổng duyệt trên bản sao dữ liệu: chương trình dời sang hôm nay, dữ liệu thật không bị ghi."""
    from . import rehearsal

    cfg = _config()
    copy_dir = rehearsal.folder(cfg["KIOSK_DATA_DIR"])
    if not (prepared and rehearsal.info(copy_dir)):
        _clear_stale_rehearsal(cfg)
        try:
            copy_dir = rehearsal.prepare(cfg["KIOSK_DATA_DIR"], cfg["DATABASE_URL"], utcnow(), start)
        except rehearsal.RehearsalError as exc:
            raise click.ClickException(str(exc)) from None
    rehearsal.claim(copy_dir, os.getpid())
    copy_url = rehearsal.database_url(copy_dir)
    click.echo(click.style(f"TỔNG DUYỆT trên bản sao {copy_dir}: không có gì ghi vào dữ liệu thật.", bold=True))
    on_ready = _simulation(cfg, copy_url, speed=speed, gates=gates, invitees=invitees, screens=screens) \
        if simulate else None
    # A stop from the system (kill, a closed terminal) ends the rehearsal as Ctrl+C does: the copy goes.
    _stop_on_signals()
    next_command = None
    try:
        next_command = _serve({**_listen(host, port), "KIOSK_DATA_DIR": str(copy_dir), "DATABASE_URL": copy_url,
                               "KIOSK_EXPORT_DIR": str(copy_dir / "exports"),
                               "KIOSK_BACKUP_MINUTES": 0}, on_ready=on_ready,
                              shown_pins=getattr(on_ready, "pins", None))
    finally:
        saved = rehearsal.end(cfg["KIOSK_DATA_DIR"], utcnow())
        click.echo("Đã kết thúc tổng duyệt và xoá bản sao." +
                   (f" Báo cáo tổng duyệt: {saved}" if saved else ""))
        if not next_command:
            click.echo("Chạy ./run.sh để phục vụ buổi lễ thật.")
    _run_next(next_command, host, port)


def _simulation(cfg: dict, copy_url: str, **options):
    """New PINs for the copy (the simulation logs in as every role), and a hook that starts the morning once
    the rehearsal serves; its table is printed when it ends, and the rehearsal stays open for a look."""
    from .simulation import launch

    env_pins = {role: cfg.get(f"KIOSK_PIN_{role.upper()}") for role in ROLES}
    db = Database(copy_url)
    try:
        with db.write() as session:
            pins = {**{r: p for r, p in env_pins.items() if p}, **staff.sync_pins(session, env_pins, utcnow(),
                                                                                  reset=True)}
    finally:
        db.dispose()
    click.echo("Buổi sáng mô phỏng đăng nhập mọi trạm: bản sao có mã PIN mới, in bên dưới "
               "(mã của buổi lễ thật không đổi).")

    def done(outcome) -> None:
        if isinstance(outcome, Exception):
            click.echo(click.style(f"Buổi sáng mô phỏng dừng giữa chừng: {outcome}", fg="red", bold=True))
        else:
            click.echo(outcome.table())
        click.echo("Nhấn Ctrl+C để kết thúc tổng duyệt (báo cáo tổng duyệt được giữ lại).")

    def on_ready(app, _base: str) -> None:
        scheme = "https" if app.config["KIOSK_TLS"] else "http"
        host = app.config["KIOSK_HOST"]
        local = f"{scheme}://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{app.config['PORT']}"
        click.echo(f"Bắt đầu buổi sáng mô phỏng: tốc độ {options['speed']:g}×, {options['gates']} cổng, "
                   f"{options['screens']} màn hình.")
        # Over HTTPS the simulation trusts exactly the kiosk's own CA, as the phones do.
        ca = Path(app.config["KIOSK_DATA_DIR"]) / "tls" / "ca.crt"
        launch.start(local, pins, on_done=done, verify=str(ca) if app.config["KIOSK_TLS"] else True, **options)

    on_ready.pins = {role: pin for role, pin in pins.items() if not env_pins.get(role)}
    return on_ready


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def _stop_on_signals() -> None:
    """SIGTERM (kill, a service manager) and SIGHUP (the terminal closed) stop as Ctrl+C does: the receipt
    being printed finishes, a rehearsal keeps its report and removes its copy."""
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        # A signal already ignored stays so: `nohup ./run.sh` must outlive its terminal.
        if number is not None and signal.getsignal(number) is not signal.SIG_IGN:
            signal.signal(number, _interrupt)


def _serve(overrides: dict, on_ready=None, shown_pins: dict | None = None) -> list[str] | None:
    """Serve the app built with these settings until Ctrl+C; return the command the admin's rehearsal button
    asked to run next (`rehearse` or `serve`), if it was pressed. `on_ready(app, base)` runs once it listens;
    `shown_pins` are PINs made before the app (a simulated rehearsal's), printed with the addresses."""
    import threading

    from .http_server import make_kiosk_server
    from .netinfo import lan_addresses, terminal_qr

    # Everything the server writes (receipt previews, exports, backups) is its owner's only.
    os.umask(0o077)
    try:
        app = create_app(overrides)
    except (ConfigError, EventFileError) as exc:
        raise click.ClickException(str(exc)) from None
    host, port, tls = app.config["KIOSK_HOST"], app.config["PORT"], app.config["KIOSK_TLS"]
    with app.extensions["kiosk.db"].read() as session:
        event = event_queries.current_event(session)
        from_env = staff.pins_from_env(session)
    addresses = lan_addresses() if host in ("0.0.0.0", "::") else [host]
    base = f"{'https' if tls else 'http'}://{addresses[0]}:{port}"
    servers = []
    following: list[list[str]] = []
    try:
        if tls:
            from .tls import ensure_certificates
            cert, key, _ca = ensure_certificates(app.config["KIOSK_DATA_DIR"], addresses)
            servers.append(make_kiosk_server(host, port, app, ssl_context=(str(cert), str(key))))
            # Plain HTTP beside it, only for /setup: phones fetch the CA certificate there first.
            servers.append(make_kiosk_server(host, port + 1, app))
        else:
            servers.append(make_kiosk_server(host, port, app))
    except OSError as exc:
        raise click.ClickException(f"Không mở được cổng {port} ({exc}). Cổng đang bị chương trình khác dùng? "
                                   "Đặt PORT=5050 để dùng cổng khác.") from None
    auto_backup = None
    # Ctrl+C at any moment from here (even while the addresses are still printing) stops cleanly.
    try:
        click.echo("")
        click.echo(click.style(event.title, bold=True))
        click.echo(f"Dữ liệu: {app.config['KIOSK_DATA_DIR']}")
        click.echo("Địa chỉ các trạm (mở trên máy trong cùng mạng Wi-Fi):")
        for label, path in STATIONS:
            click.echo(f"  {label:<20} {base}{path}")
        for other in addresses[1:]:
            click.echo(f"  (hoặc qua địa chỉ khác: {base.split('://')[0]}://{other}:{port})")
        _print_pins(shown_pins or app.extensions["kiosk.new_pins"], from_env)
        scan_target = f"http://{addresses[0]}:{port + 1}/setup" if tls else f"{base}/gate"
        if tls:
            click.echo(f"HTTPS đã bật. Điện thoại mở {scan_target} trước để cài chứng chỉ (một lần).")
        click.echo("Quét mã QR này bằng điện thoại để mở " + ("trang cài đặt:" if tls else "trang Cổng đón tiếp:"))
        try:
            click.echo(terminal_qr(scan_target))
        except UnicodeEncodeError:
            click.echo("(Cửa sổ dòng lệnh không hiển thị được mã QR.)")
        auto_backup = _start_auto_backup(app)
        click.echo("Nhấn Ctrl+C để dừng máy chủ.")
        for extra in servers[1:]:
            threading.Thread(target=extra.serve_forever, daemon=True).start()
        app.extensions["kiosk.restart"] = _restarter(servers[0], following)
        if on_ready:
            on_ready(app, base)
        servers[0].serve_forever()
    except KeyboardInterrupt:
        following.clear()   # Ctrl+C means stop, even just after the admin pressed a rehearsal button
    finally:
        if auto_backup:
            auto_backup.stop()
        for extra in servers[1:]:
            extra.shutdown()   # its serve_forever thread would spin on a closed socket
        for server in servers:
            server.server_close()
        queue = app.extensions.get("printer.queue")
        if queue is not None and not queue.stop(PRINT_FINISH_WITHIN):
            click.echo("Máy in chưa in xong biên nhận đang in: biên nhận đó sẽ ở trạng thái lỗi, bấm “Thử in lại”.")
        app.extensions["kiosk.db"].dispose()
        click.echo("Đã dừng máy chủ.")
    return following[0] if following else None


RESTART_AFTER = 1.0   # seconds: the admin's page gets its answer and its script before the server stops
PRINT_FINISH_WITHIN = 15.0   # seconds a stopping server waits for the receipt being printed


def _restarter(server, following: list):
    """What the admin's rehearsal buttons call: note the command to run next, then stop serving shortly.
    `restart.lock` is held by a button from its check of `restart.pending()` to its call (a second press must
    not rebuild the copy the first one made)."""
    import threading

    def restart(command: list[str]) -> None:
        if following:
            return
        following.append(list(command))
        threading.Timer(RESTART_AFTER, server.shutdown).start()

    restart.pending = lambda: bool(following)
    restart.lock = threading.Lock()
    return restart
