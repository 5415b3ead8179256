"""The gate's offline code reader (static/js/gate_codes.js) in a real Chromium on a plain-HTTP origin:
it reads every generated scan as the server does, and its SHA-256 is hashlib's, with no crypto.subtle."""
from __future__ import annotations

import hashlib
import json
import random
import unicodedata
from pathlib import Path

import pytest

from checkin.checkins import MAX_SCAN
from checkin.codes import ALPHABET, PREFIX, CodeError, display_form, is_valid, new_code, parse_scan
from kiosk.cleaning import clean_text

from .test_codes import type_through_ime

pytestmark = pytest.mark.browser

SCRIPT = Path(__file__).resolve().parent.parent / "static" / "js" / "gate_codes.js"
# A LAN address is not a secure context (127.0.0.1 and about:blank are): the browser has no crypto.subtle.
ORIGIN = "http://gate.lan:5000"
PAGE = '<!doctype html><meta charset="utf-8"><title>gate</title><script src="/static/js/gate_codes.js"></script>'

# Python's str.isspace() characters, and the invisible or control characters clean_text removes.
SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace()]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u200e", "\u202e", "\u2066", "\u00ad", "\u180e", "\u2060",
             "\ufeff", "\u061c", "\ufdd0", "\ufffe", "\uffff", "\U0001fffe", "\U0010ffff", "\ud800", "\udfff",
             "\U000e0001"]
CONTROLS = [chr(c) for c in (*range(0x20), *range(0x7f, 0xa0))]
VIETNAMESE = "ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
VIETNAMESE += VIETNAMESE.upper()
MARKS = [chr(c) for c in range(0x300, 0x370)] + ["\u20dd", "\ufe0f"]
EMOJI = ["😀", "👍🏽", "👨\u200d👩\u200d👧", "🇻🇳", "❤️", "🎉", "🧑🏻\u200d🏫"]
OTHER = list("ßﬆſıⅰⓣＴＭ０１①²½€¥©™«»“”‘’…–—·•") + ["中", "文", "한", "ع", "ש", "क", "ก"]


def browser_string(text: str) -> str:
    """`text` as a JS string holds it: a high and a low surrogate next to each other are one character."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def server_outcome(raw: str) -> str:
    """What POST /api/checkin makes of `raw`: the canonical code, or "!" and the CodeError's reason."""
    try:
        return parse_scan(clean_text(raw, MAX_SCAN)).code
    except CodeError as error:
        return "!" + error.code


def assigned_char(rng: random.Random) -> str:
    """A random code point that Python's Unicode database knows (Chromium's is newer: see gate_codes.js)."""
    while True:
        ch = chr(rng.randrange(0x110000))
        if unicodedata.category(ch) != "Cn":
            return ch


@pytest.fixture
def gate_page(page):
    """A page at a plain-HTTP LAN origin with gate_codes.js loaded by a <script> tag, as the gate loads it."""
    page.route(ORIGIN + "/", lambda route: route.fulfill(body=PAGE, content_type="text/html; charset=utf-8"))
    page.route(ORIGIN + "/static/js/gate_codes.js", lambda route: route.fulfill(
        body=SCRIPT.read_bytes(), content_type="text/javascript; charset=utf-8"))
    page.goto(ORIGIN + "/")
    page.wait_for_function("window.kioskCodes !== undefined")
    return page


def run_in_browser(page, function: str, texts: list[str]) -> list:
    """Apply kioskCodes.<function> to every text in one evaluate call. The texts travel as ASCII JSON
    (lone surrogates as \\u escapes), which JSON.parse turns back into the same JS strings."""
    return page.evaluate("""([name, json]) => JSON.parse(json).map(function (text) {
        var out = window.kioskCodes[name](text);
        return name === "parse" ? (out.code || "!" + out.error) : out;
    })""", [function, json.dumps(texts)])


def mismatches(texts: list[str], expected: list, got: list) -> str:
    wrong = [(t, e, g) for t, e, g in zip(texts, expected, got) if e != g]
    lines = [f"{ascii(t)[:160]}: Python {e!r}, JS {g!r}" for t, e, g in wrong[:15]]
    return f"{len(wrong)} of {len(texts)} differ; first ones:\n" + "\n".join(lines)


def decorated(code: str) -> list[str]:
    """What scanners, people and QR readers make of one valid code."""
    shown = display_form(code)
    return [
        code, code.lower(), code.title(), shown, shown.lower(), shown.replace("-", " "), shown.replace("-", "."),
        shown.replace("-", "_"), shown.replace("-", "\u00a0"), shown.replace("-", "\u3000"),
        code + "\r", code + "\n", code + "\r\n", code + "\t", code + "\x1d", code + "\x04", "\x1d" + code + "\t",
        "  " + code + "  ", code[:6] + "\x00" + code[6:], code[:6] + "\u200b" + code[6:], "\ufeff" + code,
        code[:9] + "\u00ad" + code[9:], code[:4] + "\u202e" + code[4:], code[:7] + "\u0301" + code[7:],
        f"http://192.168.1.5:5000/c/{code}?x=1#y", f"http://192.168.1.5:5000/c/{code.lower()}",
        f"https://kiosk.local/checkin/{code}/?src=qr", f"http://192.168.1.5:5000/c/{shown}#top",
        f"http://192.168.1.5:5000/c/{code}/extra", f"192.168.1.5/c/{code}", f"/{code}//", f"{code}/",
        f"http://192.168.1.5:5000/c/{code}?next=/gate", code + code, code[:-1], code[1:], "TM" + code,
        code[:2] + " " + code[2:], code.replace("M", "m", 1), "Ｔ" + code[1:], code[:-1] + "ⅰ",
        # NFC turns the Kelvin sign into K (a valid code), and ́ composes with what precedes it.
        code.replace("K", "\u212a"), code.replace("V", "\u212a"), code[:3] + "\u037e" + code[3:],
    ]


def mangled(code: str, rng: random.Random) -> list[str]:
    """Codes and code-like keys typed through the Telex and VNI simulators of test_codes."""
    out = []
    for mode in ("telex", "vni"):
        for keys in (code, code.lower(), "TMAA" + code[4:], code[:8] + "dd" + code[8:], code[:10] + "oo" + code[10:],
                     code[:5] + "as" + code[5:], code[:5] + "a1" + code[5:], code.lower()[:6] + "uw" + code[6:],
                     "tm" + "".join(rng.choice(ALPHABET.lower() + "aeiouyd") for _ in range(16)),
                     # (the simulator needs a plain first key: it fails on a tone key with nothing before it)
                     "TM" + "".join(rng.choice(ALPHABET + "AEOUYDSFRXJW123456789") for _ in range(16))):
            typed = type_through_ime(keys, mode)
            out += [typed, unicodedata.normalize("NFD", typed), typed + "\r\n", "\x1d" + typed.upper()]
    return out


def typos(code: str) -> list[str]:
    """Every single wrong symbol and every swap of two neighbours."""
    out = [code[:i] + ch + code[i + 1:] for i in range(len(code)) for ch in ALPHABET if ch != code[i]]
    out += [code[:i] + code[i + 1] + code[i] + code[i + 2:] for i in range(len(code) - 1)]
    return out


def gs1(code: str, rng: random.Random) -> list[str]:
    """Multi-field input: GS1 fields separated by GS (or other breaks), with the code as one field."""
    gtin = "01" + "".join(rng.choice("0123456789") for _ in range(14))
    other = new_code()
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    return [
        f"]C1{gtin}\x1d{code}\x1d10LOT42", f"{gtin}\x1d{code.lower()}", f"{gtin}\x1e{display_form(code)}\x1d",
        f"{wrong}\x1d{code}", f"{code}\x1d{other}", f"{wrong}\x1d{gtin}", f"{gtin}\x1d{code[:9]}\x1d{code[9:]}",
        f"{gtin}\t{code}\r\n", f"name: Lê Văn Tám\x1d{code}", f"{gtin}\x1dhttp://192.168.1.5:5000/c/{code}?x=1",
        f"{code} {code}", f"{code}\u2028{gtin}", f"đ\x1d{code}", f"{gtin}\x1d{wrong}", f"x\x1d{code}extra",
    ]


def random_text(rng: random.Random, pools: list[list[str]], longest: int) -> str:
    return "".join(rng.choice(rng.choice(pools)) for _ in range(rng.randint(0, longest)))


def generated_scans() -> list[str]:
    rng = random.Random(20240905)
    codes = [new_code() for _ in range(40)]
    scans: list[str] = []
    for code in codes:
        scans += decorated(code) + mangled(code, rng) + gs1(code, rng)
    for code in codes[:14]:
        scans += typos(code)
        scans += [t.lower() for t in typos(code)[::7]]
    printable = [chr(c) for c in range(0x20, 0x7f)]
    scans += [random_text(rng, [printable], 40) for _ in range(2000)]
    scans += ["TM" + "".join(rng.choice(ALPHABET) for _ in range(16)) for _ in range(800)]
    scans += ["tm" + "".join(rng.choice(ALPHABET.lower() + "-. ") for _ in range(rng.randint(10, 24)))
              for _ in range(400)]
    alphabet = list(ALPHABET + "tm-./?#: ")
    pools = [alphabet, list(VIETNAMESE), MARKS, EMOJI, CONTROLS, SPACES, INVISIBLE, OTHER, printable]
    scans += [random_text(rng, pools, 30) for _ in range(2500)]
    scans += ["".join(assigned_char(rng) for _ in range(rng.randint(0, 12))) for _ in range(800)]
    # A code with one foreign character slipped in somewhere, and codes next to random noise.
    for _ in range(800):
        code, ch = rng.choice(codes), rng.choice(rng.choice(pools[1:] + [[assigned_char(rng)]]))
        at = rng.randrange(len(code) + 1)
        scans += [code[:at] + ch + code[at:], random_text(rng, pools, 4) + code + random_text(rng, pools, 4)]
    scans += ["", " ", "\r\n", "\t\t", "\x1d", "\x00", "\x00\x1d\x7f", "\u200b", "\ufeff", "\u3000\u2028", "-",
              "--..__", "///", "http://x/", "?", "#", "/?x", "\ud800", "\u0301", "\U0001f600", "TM", "tm-",
              "000201010211"]
    # Length cuts: 500 characters after cleaning, 2064 before it (clean_text's own pre-cut).
    code = codes[0]
    scans += [code + " " + "x" * 600, "x" * 600 + " " + code, ("x " * 241) + code, ("x " * 246) + code,
              " " * 3000 + code, "\x00" * 2000 + code, "\x00" * 2100 + code, "a\u0301" * 1100 + code,
              code + "\u0301" * 600, "\u200b" * 2063 + code, "\x1d".join([code] * 40), "đ" * 499 + " " + code,
              "a\u0301" * 300 + " " + code, " " + "x" * 481 + " " + code, "\t" * 5 + "x" * 480 + "\t" + code]
    return [browser_string(text) for text in scans]


def test_no_secure_context_and_sha256_still_works(gate_page):
    assert gate_page.evaluate("window.isSecureContext") is False
    assert gate_page.evaluate("typeof crypto.subtle") == "undefined"
    # Known answers from FIPS 180-4, and a text of several blocks.
    vectors = {"": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
               "abc": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
               "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq":
               "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"}
    texts = list(vectors) + ["a" * 1000]
    got = run_in_browser(gate_page, "sha256hex", texts)
    assert got == list(vectors.values()) + [hashlib.sha256(b"a" * 1000).hexdigest()]


def test_sha256hex_is_hashlibs_for_any_text(gate_page):
    rng = random.Random(65)
    pools = [[chr(c) for c in range(0x20, 0x7f)], list(VIETNAMESE), MARKS, EMOJI, CONTROLS, SPACES, OTHER,
             [chr(c) for c in range(0x80, 0x800)], [chr(c) for c in range(0xe000, 0x10000)], ["\x00"]]
    texts = [random_text(rng, pools, 300) for _ in range(1500)]
    texts += ["a" * n for n in range(0, 140)] + ["đ" * n for n in range(0, 70)]  # every padding boundary
    texts += ["".join(assigned_char(rng) for _ in range(rng.randint(0, 300))) for _ in range(200)]
    texts = [t for t in texts if not any(0xD800 <= ord(ch) <= 0xDFFF for ch in t)]  # no UTF-8 for those
    expected = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    got = run_in_browser(gate_page, "sha256hex", texts)
    assert got == expected, mismatches(texts, expected, got)
    # A lone surrogate (Python's encoder refuses it) hashes as U+FFFD, as TextEncoder writes it.
    assert run_in_browser(gate_page, "sha256hex", ["TM\ud800"]) == [hashlib.sha256("TM\ufffd".encode()).hexdigest()]


def test_parse_reads_every_scan_as_the_server_does(gate_page):
    scans = generated_scans()
    expected = [server_outcome(raw) for raw in scans]
    # The generator reaches every outcome, and valid codes in many shapes.
    outcomes = {e if e.startswith("!") else "code" for e in expected}
    assert outcomes == {"code", "!empty", "!ime_mangled", "!not_ours", "!invalid"}, outcomes
    assert sum(not e.startswith("!") for e in expected) > 1500
    # Every text reaches the page as the same code points (lone surrogates included).
    lengths = gate_page.evaluate("json => JSON.parse(json).map(t => Array.from(t).length)", json.dumps(scans))
    assert lengths == [len(raw) for raw in scans]
    got = run_in_browser(gate_page, "parse", scans)
    assert got == expected, mismatches(scans, expected, got)


def test_is_valid_agrees(gate_page):
    rng = random.Random(3)
    texts = [new_code() for _ in range(200)]
    texts += [t for code in texts[:10] for t in typos(code)]
    texts += [code.lower() for code in texts[:50]] + [display_form(code) for code in texts[:50]]
    texts += [PREFIX + "".join(rng.choice(ALPHABET) for _ in range(16)) for _ in range(1000)]
    texts += ["", "TM", texts[0] + "\n", "\U0001f600" + texts[0][2:], texts[0][:-1] + "ⅰ", "ｔm" + texts[0][2:]]
    texts = [browser_string(t) for t in texts]
    expected = [is_valid(t) for t in texts]
    got = run_in_browser(gate_page, "isValid", texts)
    assert got == expected, mismatches(texts, expected, got)
