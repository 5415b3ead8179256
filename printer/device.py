"""The one module that talks to printers (python-escpos): targets, raster bytes, DLE EOT status, previews."""
from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from PIL import Image

log = logging.getLogger(__name__)

PREVIEW = "preview"   # the target name of preview mode, also stored on its print jobs
KINDS = ("preview", "tcp", "usb", "serial", "file", "cups", "win32")
ANSWERS_STATUS = {"tcp", "usb", "serial"}  # spoolers and device files are one-way
DEFAULT_TIMEOUT = 3.0
CONFIRM_TIMEOUT = 10.0  # the printer may still be printing the previous receipt when asked
CHUNK = 4096  # each write has its own timeout: a printer that stops reading fails within seconds
FRAGMENT_ROWS = 960  # python-escpos' own split height; printers' raster buffers handle it
FEED_LINES = 5  # without a cutter: enough to clear the tear bar
DLE_EOT = b"\x10\x04"
INIT = b"\x1b\x40"

MESSAGES = {
    "bad_target": "Cấu hình KIOSK_PRINTER không hợp lệ: {detail}",
    "missing_driver": "Thiếu thư viện để in qua {label}: cài gói {package} vào môi trường của kiosk.",
    "unreachable": "Không kết nối được máy in ({label}). Kiểm tra máy in đã bật, dây cáp/mạng và địa chỉ.",
    "no_answer": "Máy in ({label}) không trả lời trong {timeout} giây. Kiểm tra nguồn và kết nối; nếu máy in "
                 "không hỗ trợ lệnh trạng thái DLE EOT, thêm ?status=off vào KIOSK_PRINTER.",
    "paper_out": "Hết giấy. Lắp cuộn giấy mới rồi bấm “Thử in lại”.",
    "cover_open": "Nắp máy in đang mở. Đóng nắp rồi bấm “Thử in lại”.",
    "offline": "Máy in đang ngoại tuyến (offline). Kiểm tra đèn báo lỗi rồi bấm “Thử in lại”.",
    "printer_error": "Máy in báo lỗi (kẹt giấy hoặc dao cắt). Xử lý xong rồi bấm “Thử in lại”.",
    "stalled": "Máy in ngừng nhận dữ liệu giữa chừng (quá {timeout} giây). Biên nhận có thể chỉ in được "
               "một phần: kiểm tra rồi bấm “Thử in lại” nếu cần.",
    "disconnected": "Mất kết nối với máy in giữa chừng. Kiểm tra biên nhận: nếu chưa in đủ, bấm “Thử in lại”.",
    "unconfirmed": "Đã gửi nhưng máy in không xác nhận đã nhận đủ. Kiểm tra biên nhận: nếu chưa in đủ, "
                   "bấm “Thử in lại”.",
    "paper_out_during": "Hết giấy trong khi in: biên nhận có thể bị thiếu. Lắp giấy, kiểm tra rồi bấm "
                        "“Thử in lại” nếu cần.",
    "io_error": "Lỗi khi gửi tới máy in ({label}): {detail}",
    "internal": "Lỗi khi chuẩn bị bản in: {detail}. Bấm “Thử in lại”; nếu vẫn lỗi, xem nhật ký kiosk.",
}
NEAR_END = "Giấy sắp hết: chuẩn bị cuộn giấy mới."
PACKAGES = {"usb": "pyusb (và libusb)", "serial": "pyserial", "cups": "pycups (hoặc lệnh lp)",
            "win32": "pywin32"}


class PrinterError(Exception):
    """A print that did not happen (or may not have); `code` is stable, `message` is Vietnamese."""

    def __init__(self, code: str, **values):
        self.code = code
        self.message = MESSAGES[code].format(**values)
        super().__init__(f"{code}: {self.message}")


@dataclass(frozen=True)
class Target:
    """Where receipts go, parsed from KIOSK_PRINTER."""

    kind: str
    address: str = ""
    timeout: float = DEFAULT_TIMEOUT
    status: bool = False
    pause: float = 0.0
    confirm: float = CONFIRM_TIMEOUT
    options: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        """The canonical form stored with each print job."""
        return "preview" if self.kind == "preview" else f"{self.kind}://{self.address}"

    @property
    def label(self) -> str:
        """The target in Vietnamese, for the desk."""
        return {
            "preview": "xem trước, không có máy in",
            "tcp": f"máy in mạng {self.address}",
            "usb": f"máy in USB {self.address}",
            "serial": f"cổng nối tiếp {self.address}",
            "file": f"tệp thiết bị {self.address}",
            "cups": f"hàng đợi CUPS “{self.address}”",
            "win32": f"máy in Windows “{self.address}”",
        }[self.kind]

    def option(self, key: str, default: str | None = None) -> str | None:
        return dict(self.options).get(key, default)


def parse_target(text: str | None) -> Target:
    """Read KIOSK_PRINTER: preview, tcp://HOST[:PORT], usb://VID:PID, serial:///dev/X?baudrate=N, ..."""
    raw = (text or "preview").strip()
    if raw == "preview":
        return Target("preview")
    parts = urlsplit(raw)
    kind = parts.scheme.lower()
    if kind not in KINDS or kind == "preview":
        raise PrinterError("bad_target", detail=f"“{raw}” (dùng preview, tcp://, usb://, serial://, file://, "
                                                "cups:// hoặc win32://)")
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    address = unquote(parts.netloc + parts.path)
    if kind == "tcp":
        host, _, port = parts.netloc.rpartition(":") if ":" in parts.netloc else (parts.netloc, "", "9100")
        if not host or not port.isdigit():
            raise PrinterError("bad_target", detail=f"“{raw}” (ví dụ tcp://192.168.1.50:9100)")
        address = f"{host}:{int(port)}"
    elif kind == "usb":
        vid, _, pid = parts.netloc.partition(":")
        try:
            int(vid, 16), int(pid, 16)
        except ValueError:
            raise PrinterError("bad_target", detail=f"“{raw}” (ví dụ usb://0416:5011)") from None
    if not address:
        raise PrinterError("bad_target", detail=f"“{raw}” thiếu địa chỉ")
    try:
        timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
        pause = float(options.get("pause", 0))
        confirm = float(options.get("confirm", max(CONFIRM_TIMEOUT, 3 * timeout)))
    except ValueError:
        raise PrinterError("bad_target", detail=f"“{raw}” (timeout, pause, confirm là số giây)") from None
    # Ask DLE EOT before and after every job on printers that can answer, unless told not to.
    status = kind in ANSWERS_STATUS and options.get("status", "on").lower() not in ("off", "0", "no")
    return Target(kind, address, timeout, status, pause, confirm, tuple(sorted(options.items())))


# --- python-escpos, imported late so its capabilities cache lands in the data folder -------------

_import_lock = threading.Lock()
_escpos_modules: tuple | None = None


def configure(data_dir: str | Path) -> None:
    """Point python-escpos' capabilities cache at the data folder (read once, when escpos is imported)."""
    cache = Path(data_dir) / "escpos"
    cache.mkdir(parents=True, exist_ok=True)
    with _import_lock:
        if _escpos_modules is None:
            os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(cache)


def _escpos():
    """(escpos.printer, escpos.exceptions, escpos.capabilities), imported once with logging put back."""
    global _escpos_modules
    with _import_lock:
        if _escpos_modules is None:
            # Without a folder escpos makes a new temporary one on every import; an inherited setting
            # may name a folder that is gone, and escpos would fail writing its cache there.
            folder = Path(os.environ.get("ESCPOS_CAPABILITIES_PICKLE_DIR")
                          or Path(tempfile.gettempdir()) / "kiosk-escpos")
            folder.mkdir(parents=True, exist_ok=True)
            os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(folder)
            root = logging.getLogger()
            before = list(root.handlers)
            import escpos.capabilities as capabilities
            import escpos.exceptions as exceptions
            import escpos.printer as printer
            # escpos calls logging.basicConfig() on import; the kiosk configures its own logging.
            for handler in root.handlers[:]:
                if handler not in before:
                    root.removeHandler(handler)
            logging.getLogger("escpos").setLevel(logging.WARNING)
            _escpos_modules = (printer, exceptions, capabilities)
    return _escpos_modules


def raster_chunks(image: Image.Image, cutter: bool) -> list[bytes]:
    """ESC/POS for one 1-bit image: ESC @, GS v 0 blocks (one per fragment), then cut or feed."""
    if image.mode != "1":
        raise ValueError("render the receipt as a 1-bit image first")
    printer, _, _ = _escpos()
    dummy = printer.Dummy()
    # A per-instance profile with the paper width, so escpos neither prints a warning nor refuses.
    dummy.profile.profile_data = {**dummy.profile.profile_data,
                                  "media": {"dpi": 203, "width": {"mm": "Unknown", "pixels": image.width}}}
    chunks = [INIT]
    for top in range(0, image.height, FRAGMENT_ROWS):
        fragment = image.crop((0, top, image.width, min(top + FRAGMENT_ROWS, image.height)))
        # Full paper width and never center=: escpos 3.1 garbles centred tall images.
        dummy.image(fragment, impl="bitImageRaster")
        chunks.append(dummy.output)
        dummy.clear()
    if cutter:
        dummy.cut()
    else:
        dummy.print_and_feed(FEED_LINES)
    chunks.append(dummy.output)
    return chunks


# --- Status (DLE EOT) ------------------------------------------------------------------------------

def is_status_byte(byte: int) -> bool:
    """Real-time status bytes have bits 1 and 4 set and bits 0 and 7 clear."""
    return byte & 0x93 == 0x12


def read_status(n: int, byte: int) -> str | None:
    """What a DLE EOT n answer means: a failure code, "near_end", or None when fine."""
    if n == 1:
        return "offline" if byte & 0x08 else None
    if n == 2:
        if byte & 0x04:
            return "cover_open"
        if byte & 0x20:
            return "paper_out"
        if byte & 0x40:
            return "printer_error"
        return None
    if n == 4:
        if byte & 0x60:
            return "paper_out"
        if byte & 0x0C:
            return "near_end"
        return None
    raise ValueError(n)


def _ask(device, target: Target, n: int, wait: float) -> int | None:
    """Send DLE EOT n and return the status byte, or None when nothing valid came back in time."""
    device._raw(DLE_EOT + bytes((n,)))
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            data = bytes(device._read())
        except TimeoutError:
            continue
        except OSError as exc:
            if "timeout" in type(exc).__name__.lower() or "timed out" in str(exc).lower():
                continue  # pyusb's USBTimeoutError
            raise
        if not data:
            if target.kind == "tcp":
                raise PrinterError("disconnected")  # orderly close by the far end
            time.sleep(0.02)  # serial read returns empty after its own short timeout
            continue
        answers = [b for b in data if is_status_byte(b)]
        if answers:
            return answers[-1]
    return None


def check_ready(device, target: Target) -> str | None:
    """Ask the printer before printing; raise PrinterError when it cannot print, return a warning."""
    online = _ask(device, target, 1, target.timeout)
    if online is None:
        raise PrinterError("no_answer", label=target.label, timeout=f"{target.timeout:g}")
    paper = _ask(device, target, 4, target.timeout)
    if read_status(1, online):
        cause = _ask(device, target, 2, target.timeout)
        code = (read_status(2, cause) if cause is not None else None) or \
            ("paper_out" if paper is not None and read_status(4, paper) == "paper_out" else "offline")
        raise PrinterError(code)
    state = read_status(4, paper) if paper is not None else None
    if state == "paper_out":
        raise PrinterError("paper_out")
    return NEAR_END if state == "near_end" else None


def confirm_received(device, target: Target) -> str | None:
    """Ask again after the data: TCP keeps order, so an answer means every byte reached the printer."""
    paper = _ask(device, target, 4, target.confirm)
    if paper is None:
        raise PrinterError("unconfirmed")
    state = read_status(4, paper)
    if state == "paper_out":
        raise PrinterError("paper_out_during")
    return NEAR_END if state == "near_end" else None


# --- Sending -----------------------------------------------------------------------------------------

def _open(target: Target):
    """A connected python-escpos printer for the target."""
    printer, exceptions, _ = _escpos()
    opts = dict(target.options)
    try:
        if target.kind == "tcp":
            host, _, port = target.address.rpartition(":")
            device = printer.Network(host, int(port), timeout=target.timeout)
        elif target.kind == "usb":
            vid, _, pid = target.address.partition(":")
            kwargs = {k: int(opts[k], 0) for k in ("in_ep", "out_ep") if k in opts}
            device = printer.Usb(int(vid, 16), int(pid, 16), timeout=int(target.timeout * 1000), **kwargs)
        elif target.kind == "serial":
            device = printer.Serial(target.address, baudrate=int(opts.get("baudrate", 9600)),
                                    timeout=min(target.timeout, 1.0))
        elif target.kind == "file":
            device = printer.File(target.address)
        elif target.kind == "cups":
            cls = printer.CupsPrinter if printer.CupsPrinter.is_usable() else printer.LP
            device = cls(printer_name=target.address)
        elif target.kind == "win32":
            device = printer.Win32Raw(printer_name=target.address)
        else:
            raise PrinterError("bad_target", detail=target.kind)
    except RuntimeError as exc:  # escpos' "requires ... library" guard
        raise PrinterError("missing_driver", label=target.label, package=PACKAGES.get(target.kind, "?")) from exc
    except exceptions.Error as exc:
        raise PrinterError("unreachable", label=target.label) from exc
    try:
        device.open()
    except RuntimeError as exc:
        raise PrinterError("missing_driver", label=target.label, package=PACKAGES.get(target.kind, "?")) from exc
    except ValueError as exc:  # pyusb's NoBackendError: libusb is not installed on this computer
        raise PrinterError("missing_driver", label=target.label, package="libusb (thư viện hệ thống)") from exc
    except (exceptions.Error, OSError) as exc:
        log.info("Printer %s unreachable: %s", target.name, exc)
        raise PrinterError("unreachable", label=target.label) from exc
    return device


def _close_quietly(device) -> None:
    try:
        device.close()
    except Exception:  # noqa: BLE001 - the failure being reported matters more than this one
        log.debug("closing the printer failed", exc_info=True)


def _as_printer_error(exc: BaseException, target: Target) -> PrinterError:
    """python-escpos leaves socket errors unwrapped: name them for the desk."""
    _, exceptions, _ = _escpos()
    if isinstance(exc, TimeoutError) or "timeout" in type(exc).__name__.lower():
        return PrinterError("stalled", timeout=f"{target.timeout:g}")
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return PrinterError("disconnected")
    if isinstance(exc, exceptions.DeviceNotFoundError):
        return PrinterError("unreachable", label=target.label)
    return PrinterError("io_error", label=target.label, detail=str(exc) or type(exc).__name__)


def send(target: Target, chunks: list[bytes]) -> str | None:
    """Send a job's bytes; return a warning (paper near end) or raise PrinterError. Never retries."""
    _, exceptions, _ = _escpos()
    device = _open(target)
    try:
        warning = check_ready(device, target) if target.status else None
        for index, chunk in enumerate(chunks):
            for start in range(0, len(chunk), CHUNK):
                device._raw(chunk[start:start + CHUNK])
            if target.pause and 0 < index < len(chunks) - 2:
                time.sleep(target.pause)  # some printers need a breath between raster blocks
        if target.status:
            warning = confirm_received(device, target) or warning
        # Spoolers submit the job on close: only a clean close counts as printed.
        device.close()
        return warning
    except PrinterError:
        _close_quietly(device)
        raise
    except (exceptions.Error, OSError) as exc:
        _close_quietly(device)
        raise _as_printer_error(exc, target) from exc


def probe(target: Target) -> tuple[str, str]:
    """Ask the printer how it is, without printing: (state, Vietnamese message)."""
    if target.kind == "preview":
        return "ok", "Chế độ xem trước: biên nhận được lưu thành ảnh, không in ra giấy."
    if not target.status:
        return "unknown", f"Không hỏi được trạng thái ({target.label}): kiểm tra máy in bằng mắt."
    _, exceptions, _ = _escpos()
    try:
        device = _open(target)
    except PrinterError as exc:
        return exc.code, exc.message
    try:
        warning = check_ready(device, target)
    except PrinterError as exc:
        _close_quietly(device)
        return exc.code, exc.message
    except (exceptions.Error, OSError) as exc:
        _close_quietly(device)
        error = _as_printer_error(exc, target)
        return error.code, error.message
    _close_quietly(device)
    if warning:
        return "near_end", warning
    return "ok", f"Máy in sẵn sàng ({target.label})."


def write_preview(folder: str | Path, name: str, image: Image.Image, chunks: list[bytes]) -> dict[str, str]:
    """The preview target: the PNG and the exact bytes a printer would get, written atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"png": folder / f"{name}.png", "bin": folder / f"{name}.bin"}
    for kind, path in paths.items():
        tmp = path.with_suffix(path.suffix + ".tmp")
        if kind == "png":
            image.save(tmp, format="PNG")
        else:
            tmp.write_bytes(b"".join(chunks))
        os.replace(tmp, path)
    return {kind: path.name for kind, path in paths.items()}
