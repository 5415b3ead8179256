"""Shared fixtures: apps on temporary data folders, logged-in clients, a live server, a real Chromium."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from kiosk import create_app
from kiosk.storage import Database

from .live import LiveServer

PINS = {"admin": "111111", "gate": "222222", "mc": "333333", "cashier": "444444"}
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def pytest_addoption(parser):
    parser.addoption("--database", choices=("sqlite", "postgresql"),
                     default=os.environ.get("KIOSK_TEST_DATABASE", "sqlite"),
                     help="the engine every test app runs on (./run.sh test runs the suite on both)")


def pytest_configure(config):
    config.addinivalue_line("markers", "processes: several `kiosk serve` processes on PostgreSQL and Redis "
                                       "(./run.sh test runs them once, on its PostgreSQL pass)")
    config.addinivalue_line("markers", "sqlite_only: inspects SQLite itself (its file, pragmas, plans); "
                                       "skipped on the PostgreSQL run, where a counterpart covers it")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--database") != "postgresql":
        return
    skip = pytest.mark.skip(reason="kiểm thử riêng cho SQLite (tệp, pragma, kế hoạch truy vấn)")
    for item in items:
        if "sqlite_only" in item.keywords:
            item.add_marker(skip)


class FolderDatabases:
    """On the PostgreSQL run: one fresh database per data folder, as SQLite gives one file per folder."""

    def __init__(self, server):
        self.server = server
        self.urls: dict[Path, str] = {}

    def url_for(self, data_dir: Path | str) -> str:
        key = Path(data_dir).resolve()
        if key not in self.urls:
            self.urls[key] = self.server.new_database()
        return self.urls[key]

    def drop_all(self) -> None:
        for url in self.urls.values():
            self.server.drop_database(url)
        self.urls.clear()


_folder_databases: FolderDatabases | None = None


@pytest.fixture(autouse=True)
def _database_engine(request, tmp_path, monkeypatch):
    """On `--database postgresql` every app, CLI call and `kiosk serve` child of the test runs on PostgreSQL."""
    global _folder_databases
    if request.config.getoption("--database") != "postgresql" or "sqlite_only" in request.keywords:
        yield
        return
    _folder_databases = FolderDatabases(request.getfixturevalue("postgres"))
    # The environment reaches the CLI and child processes; their default folder is the test's `data`.
    monkeypatch.setenv("DATABASE_URL", _folder_databases.url_for(tmp_path / "data"))
    opened: list[Database] = []
    original_init = Database.__init__

    def remember(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        opened.append(self)
    monkeypatch.setattr(Database, "__init__", remember)
    yield
    # Every database handle the test opened is closed: its background workers stop before it is dropped.
    for db in opened:
        if not db.closed:
            db.dispose()
    _folder_databases.drop_all()
    _folder_databases = None


def storable(app, text: str) -> str:
    """Hostile text as a database written past the cleaning boundary can hold it: PostgreSQL refuses NUL in
    any text, so only SQLite keeps it."""
    return text if app.extensions["kiosk.db"].is_sqlite else text.replace("\x00", "")


def app_config(data_dir: Path, **extra) -> dict:
    """Config for a test app: its own data folder and known PINs (and its own database on PostgreSQL)."""
    config = {"KIOSK_DATA_DIR": str(data_dir), "TESTING": True}
    config.update({f"KIOSK_PIN_{role.upper()}": pin for role, pin in PINS.items()})
    config.update(extra)
    if _folder_databases is not None:
        config.setdefault("DATABASE_URL", _folder_databases.url_for(data_dir))
    return config


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def app(data_dir):
    app = create_app(app_config(data_dir))
    yield app
    app.extensions["kiosk.db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


# The donation desk asks who collects once per login, as a treasurer's first step (printer/views.py).
COLLECTOR = "Hoàng Thị Lan"


def login(client, role: str, collector: str | None = COLLECTOR) -> str:
    """Log a test client in as `role`; return the CSRF token and set it as a default header. A cashier
    also names the collector, as the desk asks at once (collector=None leaves it unasked)."""
    response = client.post("/api/login", json={"role": role, "pin": PINS[role]})
    assert response.status_code == 200, response.get_json()
    token = response.get_json()["csrf_token"]
    client.environ_base["HTTP_X_CSRFTOKEN"] = token
    if role in ("cashier", "admin") and collector:
        answer = client.post("/api/desk/collector", json={"name": collector})
        assert answer.status_code == 200, answer.get_json()
    return token


@pytest.fixture
def client_as(app):
    """Factory: a fresh test client logged in as the given role."""

    def make(role: str):
        c = app.test_client()
        login(c, role)
        return c
    return make


@pytest.fixture
def live_server(data_dir):
    server = LiveServer(app_config(data_dir)).start()
    yield server
    server.stop()


def _chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser():
    """A real headless Debian Chromium driven by Playwright; skipped locally when missing, fatal in CI."""
    required = os.environ.get("KIOSK_REQUIRE_BROWSER") == "1"
    executable = _chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if executable is None or sync_playwright is None:
        message = "Chromium hoặc Playwright chưa được cài: bỏ qua kiểm thử trình duyệt."
        if required:
            pytest.fail(message + " (CI bắt buộc chạy các kiểm thử này)")
        pytest.skip(message)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


def _missing(program: str, variable: str):
    """Skip locally with a Vietnamese reason; fail under CI, where ./run.sh test installs everything."""
    message = f"{program} chưa được cài: bỏ qua kiểm thử này."
    if os.environ.get(variable) == "1":
        pytest.fail(message + " (CI bắt buộc chạy kiểm thử này)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres():
    """A private PostgreSQL server for the run (tests.postgres); `postgres.new_database()` gives a URL."""
    from .postgres import PrivatePostgres, server_bin
    try:
        import psycopg  # noqa: F401
    except ImportError:
        psycopg = None
    if server_bin() is None or psycopg is None:
        _missing("PostgreSQL", "KIOSK_REQUIRE_POSTGRES")
    server = PrivatePostgres().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server():
    """A private Redis server for the run (tests.services), the message queue of several kiosk processes."""
    from .services import PrivateRedis
    if shutil.which("redis-server") is None:
        _missing("Redis", "KIOSK_REQUIRE_REDIS")
    server = PrivateRedis().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def nginx_program() -> str:
    """nginx, the reverse proxy of deploy/nginx-kiosk.conf in front of several kiosk processes."""
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)
    if found is None:
        _missing("nginx", "KIOSK_REQUIRE_NGINX")
    return found


@pytest.fixture(scope="session")
def libreoffice() -> str:
    """The LibreOffice program, to open what the kiosk exports as the organiser would."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        _missing("LibreOffice", "KIOSK_REQUIRE_LIBREOFFICE")
    return found


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Save a screenshot under test-artifacts/ for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def browser_login(page, live_server, role: str, path: str) -> None:
    """Log a browser page in through the PIN form, as staff do, and land on `path`."""
    page.goto(live_server.url + f"/login?role={role}&next={path}")
    page.get_by_label("Mã PIN").fill(PINS[role])
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(live_server.url + path)
