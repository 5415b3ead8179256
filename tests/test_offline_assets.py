"""Nothing the kiosk serves points at the internet: pages, our CSS and JS."""
from __future__ import annotations

import re
from pathlib import Path

REMOTE = re.compile(r"""(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import\s+["']?(https?:)?//""",
                    re.IGNORECASE)
STATIC = Path(__file__).resolve().parent.parent / "static"


def test_no_page_references_an_external_url(app, client_as):
    admin = client_as("admin")
    pages = [rule.rule for rule in app.url_map.iter_rules()
             if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith(("/api/", "/static"))]
    checked = 0
    for path in pages + ["/display/lobby"]:
        response = admin.get(path)
        assert response.status_code in (200, 302) or path == "/setup/ca.crt", path
        if response.mimetype == "text/html":
            checked += 1
            assert not REMOTE.search(response.get_data(as_text=True)), path
    assert checked >= 8


def test_our_css_and_js_load_nothing_remote():
    files = [p for p in STATIC.rglob("*") if p.suffix in {".css", ".js", ".html"} and "vendor" not in p.parts]
    assert files
    for path in files:
        assert not REMOTE.search(path.read_text(encoding="utf-8")), path


def test_vendored_assets_are_documented():
    readme = (STATIC / "vendor" / "README.md").read_text(encoding="utf-8")
    for path in (STATIC / "vendor").rglob("*"):
        if path.is_file() and path.suffix in {".js", ".ttf"}:
            assert path.name.split(".")[0].split("-")[0] in readme, path
