// Invitation codes in the browser, with no network: the gate reads a scan exactly as the server does
// (kiosk/cleaning.py clean_text, then checkin/codes.py parse_scan) and hashes the canonical code, so it
// can judge scans from its local copy. Plain HTTP on the LAN has no crypto.subtle, so SHA-256 is here too.
(function () {
  "use strict";

  var ALPHABET = "0123456789BCGHKMNPQTV";   // codes.py: digits and consonants no Vietnamese IME rewrites
  var PREFIX = "TM";
  var CODE_LENGTH = 18;                      // prefix, 15 random symbols, one check symbol
  var SCAN_LIMIT = 500;                      // checkins.py MAX_SCAN: the server judges this much of a scan

  // Python's str.isspace() (and re's \s): JS \s differs (it has U+FEFF, lacks FS/GS/RS/US and U+0085).
  // clean_text turns line breaks, tabs and FS/GS/RS/US into a space, then every run of these into one.
  var SPACE = "\\t-\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
  var SPACES = new RegExp("[" + SPACE + "]+", "g");
  var EDGES = new RegExp("^[" + SPACE + "]+|[" + SPACE + "]+$", "g");
  // codes.py _NOISE: scanner noise and the separators people type.
  var NOISE = new RegExp("[" + SPACE + "\\x00-\\x1f\\x7f\\-_.]+", "g");
  // cleaning.py _DROP (noncharacters apart); anchored, so it sees one UTF-16 unit: BMP chars, lone surrogates.
  var DROP = new RegExp("^[\\x00-\\x08\\x0e-\\x1b\\x7f-\\x84\\x86-\\x9f\\xad\\u061c\\u180e\\u200b\\u200e\\u200f" +
                        "\\u202a-\\u202e\\u2060\\u2066-\\u2069\\ud800-\\udfff\\ufdd0-\\ufdef\\ufeff]$");
  var FORMAT = /^\p{Cf}$/u;                  // the other invisible format characters go too...
  var JOINERS = /^[\u200c\u200d]$/;          // ...but for the joiners inside emoji
  var LETTER_OR_MARK = /[\p{L}\p{M}]/u;
  // Deliberate difference: these use the browser's Unicode, newer than Python 3.11's 14.0. A character
  // unassigned in 14.0 but a letter or mark later (U+1AE0...) reads "ime_mangled" here, "not_ours" or
  // "invalid" there; U+13439-U+1343F (format controls since 15.0) vanish here, so a code with one inside
  // is accepted here and "invalid" there. No scanner or IME sends those.

  function cleanChar(ch) {
    var cp = ch.codePointAt(0);
    if (DROP.test(ch) || (cp & 0xfffe) === 0xfffe) return "";  // U+xFFFE and U+xFFFF of every plane
    return FORMAT.test(ch) && !JOINERS.test(ch) ? "" : ch;
  }

  function cleanText(raw, limit) {
    // Array.from walks code points, as Python's str does (a lone surrogate is one, as there).
    var chars = Array.from(raw == null ? "" : String(raw)).slice(0, 4 * limit + 64);
    // Always the slow path: clean_text's fast path gives the same text for what it accepts.
    // NFC matters: U+212A KELVIN SIGN becomes K, and composing shortens a text before the cut.
    var text = chars.map(cleanChar).join("").normalize("NFC").replace(SPACES, " ").replace(EDGES, "");
    // (clean_text's rstrip after the cut is left out: trailing spaces never change a parse.)
    return Array.from(text).slice(0, limit).join("");
  }

  function upperAscii(text) {
    // Python's .upper() also maps ß, ﬆ... but a code is ASCII: non-ASCII letters are refused as IME
    // damage first, and no other non-ASCII character upper-cases to ASCII, so every outcome agrees.
    return text.replace(/[a-z]+/g, function (s) { return s.toUpperCase(); });
  }

  function checkValue(symbols) {
    // Damm over x∘y = (2x + y) mod 21; 0 means the check holds.
    var interim = 0;
    for (var i = 0; i < symbols.length; i++) interim = (2 * interim + ALPHABET.indexOf(symbols[i])) % 21;
    return interim;
  }

  function isValid(code) {
    if (typeof code !== "string" || code.length !== CODE_LENGTH || code.slice(0, 2) !== PREFIX) return false;
    for (var i = 0; i < code.length; i++) if (ALPHABET.indexOf(code[i]) < 0) return false;
    return checkValue(code) === 0;
  }

  function payload(raw) {
    // Input without scanner noise; for a URL (http://laptop:5000/c/TM...), its last path segment.
    var text = raw.replace(NOISE, "");
    if (text.indexOf("/") < 0) return text;
    var path = text.split("?")[0].split("#")[0].replace(/\/+$/, "");
    return path.slice(path.lastIndexOf("/") + 1);
  }

  function parse(raw) {
    var text = cleanText(raw, SCAN_LIMIT);
    // A GS1 code's fields (GS became a space) pass when one whole field is a valid code.
    var fields = text.split(SPACES).filter(Boolean);
    if (fields.length > 1) {
      for (var i = 0; i < fields.length; i++) {
        var candidate = upperAscii(payload(fields[i]));
        if (isValid(candidate)) return { code: candidate };
      }
    }
    text = payload(text);
    if (!text) return { error: "empty" };
    // â, đ, ư, tones: a non-ASCII letter or mark is what Unikey/EVKey made of the scanner's keys.
    if (LETTER_OR_MARK.test(text.replace(/[\x00-\x7f]+/g, ""))) return { error: "ime_mangled" };
    text = upperAscii(text);
    if (text.slice(0, 2) !== PREFIX) return { error: "not_ours" };
    return isValid(text) ? { code: text } : { error: "invalid" };
  }

  // ---- SHA-256 (FIPS 180-4), synchronous: crypto.subtle exists only in secure contexts ---------------
  function primeFractions(count, root) {
    // The standard's constants: first 32 bits of the fractional parts of roots of the first primes.
    var out = [];
    for (var n = 2; out.length < count; n++) {
      for (var d = 2; d * d <= n && n % d; d++) { /* trial division */ }
      if (d * d > n) out.push((Math.pow(n, 1 / root) % 1) * 4294967296 | 0);
    }
    return out;
  }
  var K = primeFractions(64, 3), H0 = primeFractions(8, 2);

  function sha256hex(text) {
    // TextEncoder works without a secure context; a lone surrogate becomes U+FFFD (Python would refuse it).
    var bytes = new TextEncoder().encode(String(text));
    var n = bytes.length, blocks = ((n + 8) >> 6) + 1, words = new Array(blocks * 16).fill(0);
    for (var i = 0; i < n; i++) words[i >> 2] |= bytes[i] << (24 - 8 * (i & 3));
    words[n >> 2] |= 0x80 << (24 - 8 * (n & 3));                 // the 1 bit after the message
    words[words.length - 2] = Math.floor(n / 0x20000000);        // bit length, high word
    words[words.length - 1] = (n * 8) | 0;                       // bit length, low word
    var state = H0.slice(), w = new Array(64);
    var rotr = function (x, r) { return (x >>> r) | (x << (32 - r)); };
    for (var j = 0; j < words.length; j += 16) {
      for (var t = 0; t < 64; t++) {
        if (t < 16) { w[t] = words[j + t]; continue; }
        var s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >>> 3);
        var s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >>> 10);
        w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
      }
      var a = state[0], b = state[1], c = state[2], d = state[3];
      var e = state[4], f = state[5], g = state[6], h = state[7];
      for (t = 0; t < 64; t++) {
        var t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t]) | 0;
        var t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      var next = [a, b, c, d, e, f, g, h];
      for (t = 0; t < 8; t++) state[t] = (state[t] + next[t]) | 0;
    }
    return state.map(function (x) { return ("0000000" + (x >>> 0).toString(16)).slice(-8); }).join("");
  }

  window.kioskCodes = { parse: parse, sha256hex: sha256hex, isValid: isValid };
})();
