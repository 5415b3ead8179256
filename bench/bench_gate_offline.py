"""Benchmark: the gate's local copy, and how fast an offline gate gives its verdict.

Run: .venv/bin/python bench/bench_gate_offline.py [--sizes 1000,40000] [--scans 40]
For each size it fills a fresh data folder with that many invitations (codes and display fields), starts
the real server, and prints:
- the copy's size (JSON, and gzipped as the server sends it) and the server's time to build it;
- in headless Chromium (Debian's chromium), the time a logged-in gate needs to fetch the copy and write
  it into IndexedDB, on this machine and with the CPU slowed 4x (a mid-range phone);
- with the network cut (context.set_offline), the time from the scanner's Enter to the verdict on screen,
  judged from the copy, over --scans scans.
Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checkin import codes, gate_copy  # noqa: E402
from kiosk.storage.schema import InvitationCode, Invitee, InviteeGroup  # noqa: E402
from tests.conftest import PINS, app_config  # noqa: E402
from tests.live import LiveServer  # noqa: E402

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"]
MIDDLE = ["Văn", "Thị", "Đức", "Minh", "Thu", "Ngọc", "Hữu", "Thanh", "Quang"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hà", "Hường", "Lan", "Long", "Mai", "Nam", "Phương", "Sơn", "Thảo"]
TITLES = ["Phó Chủ tịch UBND xã", "Hiệu trưởng Trường Tiểu học", "Bí thư Đoàn xã", "Trưởng thôn Nà Pài",
          "Chủ tịch Hội Khuyến học xã", "Giáo viên Trường THCS"]
ORGS = ["UBND xã Phủ Thông", "Trường Tiểu học Vi Hương", "Hội Cựu chiến binh xã Cẩm Giàng",
        "Trường THCS Phủ Thông", "Đoàn Thanh niên xã Quân Hà"]


def fill(app, count: int) -> list[str]:
    """`count` invitations written straight into the database (the importer's own speed is another bench)."""
    rng = random.Random(count)
    db = app.extensions["kiosk.db"]
    now = dt.datetime.now(dt.timezone.utc)
    made = []
    with db.write() as session:
        group = session.query(InviteeGroup).filter(InviteeGroup.walk_in.is_(False)).order_by(InviteeGroup.id).first()
        for start in range(0, count, 2000):
            people = [Invitee(event_id=group.event_id, group_id=group.id, honorific=rng.choice(["Ông", "Bà"]),
                              full_name=f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
                              title=rng.choice(TITLES), organisation=rng.choice(ORGS), seat=f"Dãy {rng.randint(1, 30)}",
                              search_text="", created_at=now, updated_at=now)
                      for _ in range(min(2000, count - start))]
            session.add_all(people)
            session.flush()
            batch = [codes.new_code() for _ in people]
            session.add_all([InvitationCode(code=code, invitee_id=p.id, issued_at=now) for p, code in zip(people, batch)])
            made.extend(batch)
    return made


LOAD_COPY = """async () => {
  const t0 = performance.now();
  const response = await fetch('/api/gate/copy', {credentials: 'same-origin'});
  const data = await response.json();
  const t1 = performance.now();
  await kioskCopy.apply(data, 0);
  const t2 = performance.now();
  return {fetch_parse: t1 - t0, store: t2 - t1, people: data.people.length};
}"""

WATCH = """() => {
  window.benchTimes = [];
  let pressed = 0;
  document.getElementById('scan-input').addEventListener('keydown', e => { if (e.key === 'Enter') pressed = performance.now(); }, true);
  new MutationObserver(() => {
    const box = document.getElementById('result');
    if (pressed && box.dataset.offline === '1') { window.benchTimes.push(performance.now() - pressed); pressed = 0; }
  }).observe(document.getElementById('result'), {attributes: true, attributeFilter: ['data-result', 'data-offline']});
}"""


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):6.1f} ms   p99 {p99:6.1f} ms   max {ordered[-1]:6.1f} ms"


def run(browser, size: int, scans: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-gate-offline-"))
    server = LiveServer(app_config(folder / "data")).start()
    try:
        made = fill(server.app, size)
        started = time.perf_counter()
        copy = gate_copy.snapshot(server.app.extensions["kiosk.db"])
        built = (time.perf_counter() - started) * 1000
        raw = json.dumps(copy, ensure_ascii=False, separators=(",", ":")).encode()
        packed = gzip.compress(raw, compresslevel=5)
        print(f"\n{len(copy['people']):,} invitations: copy {len(raw) / 1e6:.2f} MB JSON, "
              f"{len(packed) / 1e6:.2f} MB gzipped; built by the server in {built:.0f} ms")

        context = browser.new_context(locale="vi-VN")
        page = context.new_page()
        page.goto(server.url + "/login?role=gate&next=/gate")
        page.get_by_label("Mã PIN").fill(PINS["gate"])
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_function("() => Number(document.getElementById('copy-state').dataset.people) > 0",
                               timeout=300000)
        for label, rate in (("this machine", 1), ("CPU slowed 4x (phone)", 4)):
            cdp = context.new_cdp_session(page)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
            runs = [page.evaluate(LOAD_COPY) for _ in range(3)]
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
            best = min(runs, key=lambda r: r["fetch_parse"] + r["store"])
            print(f"  load into IndexedDB, {label:22s}: fetch+parse {best['fetch_parse']:7.0f} ms, "
                  f"write {best['store']:7.0f} ms, total {best['fetch_parse'] + best['store']:7.0f} ms (best of 3)")

        page.evaluate(WATCH)
        context.set_offline(True)
        page.wait_for_selector(".link-dot.off")
        for number, code in enumerate(random.Random(1).sample(made, scans), start=1):
            page.fill("#scan-input", code)
            page.press("#scan-input", "Enter")
            page.wait_for_function("n => window.benchTimes.length >= n", arg=number)
        times = page.evaluate("window.benchTimes")
        print("  first scans (ms):", [round(t) for t in times[:5]], " slowest:", sorted(round(t) for t in times)[-3:])
        print(f"  offline verdict, Enter → card on screen, {len(times)} scans: {_ms(times)}")
        context.close()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,40000")
    parser.add_argument("--scans", type=int, default=40)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or shutil.which("chromium-browser"),
                                    headless=True, args=["--no-sandbox", "--disable-gpu"])
        for size in (int(s) for s in args.sizes.split(",")):
            run(browser, size, args.scans)
        browser.close()


if __name__ == "__main__":
    main()
