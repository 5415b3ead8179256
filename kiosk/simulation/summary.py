"""The simulated morning's final table (Vietnamese labels) and its progress bar."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..vietnamese import format_vnd
from .truth import Line

VERDICTS = {"ok": "Cho vào", "already_checked_in": "Đã vào trước đó", "unknown": "Mã không có trong danh sách",
            "invalid": "Mã sai / bộ gõ làm hỏng", "revoked": "Thư mời đã thu hồi", "search": "Tìm theo tên rồi cho vào",
            "walkin": "Khách vãng lai", "undo": "Huỷ lượt vào"}
PUSHES = {"state": "trạng thái chương trình", "stats": "số liệu cổng", "greet": "lời chào"}


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


@dataclass
class Summary:
    """What the run did and whether the server's report equals it."""

    verdicts: Counter
    latencies: list[float]
    pushes: Counter
    screens: int
    receipts: int
    printed: int
    lines: list[Line]
    wall_seconds: float
    reprinted: int = 0
    retries: int = 0
    reconnects: int = 0
    faults: list[str] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return all(line.ok for line in self.lines)

    @property
    def scans(self) -> int:
        return len(self.latencies)

    def table(self) -> str:
        width = 44
        out = ["BUỔI SÁNG MÔ PHỎNG — KẾT QUẢ", "=" * (width + 24), "Lượt quét theo kết quả:"]
        for key, count in sorted(self.verdicts.items(), key=lambda kv: -kv[1]):
            out.append(f"  {VERDICTS.get(key, key):<{width}}{count:>8}")
        out.append(f"  {'Độ trễ mỗi lượt quét p50 / p99':<{width}}{percentile(self.latencies, .5) * 1000:>6.1f} ms"
                   f" / {percentile(self.latencies, .99) * 1000:.1f} ms")
        rate = self.scans / self.wall_seconds if self.wall_seconds else 0
        out.append(f"  {'Lượt quét, tìm, vãng lai mỗi giây':<{width}}{rate:>8.1f}")
        out.append(f"Màn hình ({self.screens}) đã nhận:")
        for key, label in PUSHES.items():
            out.append(f"  {label:<{width}}{self.pushes.get(key, 0):>8}")
        out.append(f"  {'kết nối lại':<{width}}{self.reconnects:>8}")
        out.append(f"Biên nhận: {self.receipts} đã cấp, {self.printed} đã in"
                   + (f" ({self.reprinted} in lại sau khi máy in gặp sự cố)" if self.reprinted else ""))
        out.append(f"Yêu cầu phải gửi lại (máy chủ chưa trả lời): {self.retries}")
        for fault in self.faults:
            out.append(f"Sự cố đã gây ra: {fault}")
        out.append(f"Thời gian chạy: {self.wall_seconds:.1f} giây")
        out.append("-" * (width + 24))
        out.append(f"{'Đối chiếu với báo cáo của máy chủ':<{width}}{'mô phỏng':>12}{'báo cáo':>12}")
        for line in self.lines:
            out.append(f"{'✓' if line.ok else '✗'} {line.label:<{width - 2}}{_figure(line.simulated):>12}"
                       f"{_figure(line.reported):>12}")
        out.append("KHỚP ✓" if self.matches else "KHÔNG KHỚP ✗")
        return "\n".join(out)


def _figure(value) -> str:
    """A count as it is written in Vietnamese: 22.750.000."""
    return format_vnd(value).removesuffix(" đ") if isinstance(value, int) else str(value)


class Progress:
    """A one-line bar redrawn with \\r on a terminal; elsewhere (a log, CI) a line every 10 %."""

    def __init__(self, stream):
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.shown = -1

    def update(self, fraction: float, text: str) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        if self.tty:
            bar = "█" * int(fraction * 30)
            self.stream.write(f"\r[{bar:<30}] {fraction * 100:5.1f}% {text}\x1b[K")
            self.stream.flush()
            return
        step = int(fraction * 10)
        if step > self.shown:
            self.shown = step
            self.stream.write(f"{step * 10:3d}% {text}\n")
            self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
