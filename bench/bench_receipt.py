"""Receipt figures: render time per paper width, and saving a donation -> last byte at a fake printer.

Run: .venv/bin/python -m bench.bench_receipt [--runs N]
Targets from the issue: rendering under 100 ms, the whole path under 300 ms at the median.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk import create_app  # noqa: E402
from printer import device  # noqa: E402
from printer.receipt import WIDTHS, ReceiptData, render_receipt  # noqa: E402
from tests.conftest import app_config, login  # noqa: E402
from tests.printer_fakes import FakePrinter  # noqa: E402

SAMPLE = ReceiptData(
    receipt_no="KH-2023-0001", association="Hội Khuyến học huyện Bạch Thông", fund_name="Quỹ Khuyến học",
    donor_name="Nguyễn Thị Phương Thảo", organisation="Trường Tiểu học Phủ Thông, huyện Bạch Thông",
    amount_vnd=1_500_000, method_label="Tiền mặt", created_local=dt.datetime(2023, 10, 2, 8, 15),
    cashier_name="Hoàng Văn Bình", verify_url="http://192.168.1.10:5000/r/KH-2023-0001?k=ABCDEFGHIJKLMNOP")


def figures(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):6.1f} ms   p95 {p95:6.1f} ms   (n={len(ordered)})"


def bench_render(runs: int) -> None:
    print("Render the receipt (Pillow, 1-bit) and build its ESC/POS bytes")
    render_receipt(SAMPLE, 576)  # fonts load once
    for width in WIDTHS:
        render_ms, bytes_ms = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            image = render_receipt(SAMPLE, width)
            t1 = time.perf_counter()
            chunks = device.raster_chunks(image, cutter=True)
            t2 = time.perf_counter()
            render_ms.append((t1 - t0) * 1000)
            bytes_ms.append((t2 - t1) * 1000)
        size = sum(len(c) for c in chunks)
        print(f"  {width} dots ({image.height} rows, {size / 1024:.0f} KiB):  render {figures(render_ms)}")
        print(f"  {'':>{len(str(width)) + 20}}  bytes  {figures(bytes_ms)}")


def bench_path(runs: int, width: int) -> None:
    with tempfile.TemporaryDirectory() as folder, FakePrinter() as printer:
        app = create_app(app_config(Path(folder) / "data", KIOSK_PRINTER=printer.url(timeout=3),
                                    KIOSK_PAPER_DOTS=width, KIOSK_PUBLIC_URL="http://192.168.1.10:5000"))
        client = app.test_client()
        login(client, "cashier")
        queue = app.extensions["printer.queue"]
        client.post("/api/donations", json={"donor_name": "Khởi động", "amount_vnd": 1000})  # warm up
        samples = []
        for i in range(runs):
            before = len(printer.connections)
            t0 = time.perf_counter()
            response = client.post("/api/donations", json={"donor_name": f"Người ủng hộ {i}",
                                                            "amount_vnd": 100_000 + i, "method": "cash"})
            job_id = response.get_json()["print"]["job_id"]
            status = queue.wait(job_id, 30)
            assert status == "done", status
            conn = printer.connections[before]
            samples.append((conn.last_byte_at - t0) * 1000)
        app.extensions["kiosk.db"].dispose()
    print(f"  {width} dots: save (POST /api/donations) -> last byte at the fake printer: {figures(samples)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    bench_render(args.runs)
    print("Whole path over loopback TCP (status asked before and after, GS v 0 raster, cut):")
    for width in (384, 576):
        bench_path(args.runs, width)


if __name__ == "__main__":
    main()
