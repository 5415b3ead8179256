// The gate page: one always-focused input for USB scanners and name searches, phone-camera scanning,
// walk-ins, live counts over Socket.IO, and when the Wi-Fi drops, verdicts from the device's own copy
// (gate_store.js) with a queue that sends every offline scan later, at the time it happened.
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var input = $("scan-input");
  var REPEAT_MS = 3000;        // a scanner double-read of the same code is ignored for this long
  var RESULT_MS = 7000;        // a result stays on screen this long unless the next scan replaces it
  var QUEUE_KEY = "kiosk.gate.queue";
  var DEADLINE_MS = 1200;      // a server silent this long is treated as gone: the local copy decides
  var COPY_CHECK_MS = 60000;   // changes made by another process (the command line) arrive by this check
  var lastCode = null, lastCodeAt = 0, resultTimer = null;
  var serverOffset = 0;        // server clock minus this device's clock, from the last answer that had it

  // ---- Gate name, remembered per device ---------------------------------------------------------
  var gateInput = $("gate-name");
  gateInput.value = localStorage.getItem("kiosk.gate.name") || "Cổng chính";
  gateInput.addEventListener("change", function () {
    localStorage.setItem("kiosk.gate.name", gateInput.value.trim() || "Cổng chính");
  });

  // ---- Helpers ----------------------------------------------------------------------------------
  function nonce() {
    // crypto.randomUUID needs HTTPS; getRandomValues works on the plain-HTTP LAN too.
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  var zone = document.querySelector(".gate").dataset.timezone;
  function clock(date) {
    // The event's clock (07h30 style), whatever time zone the device is set to.
    var parts = new Intl.DateTimeFormat("vi-VN", { hour: "2-digit", minute: "2-digit", hour12: false,
                                                   timeZone: zone }).formatToParts(date);
    var get = function (type) { return (parts.find(function (p) { return p.type === type; }) || {}).value; };
    return get("hour") + "h" + get("minute");
  }
  function post(url, body, deadline) {
    var abort = deadline && window.AbortController ? new AbortController() : null;
    var timer = abort ? setTimeout(function () { abort.abort(); }, deadline) : null;
    return fetch(url, {
      method: "POST", headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body), credentials: "same-origin", signal: abort ? abort.signal : undefined
    }).then(function (r) {
      clearTimeout(timer);
      if (r.status === 401) { window.location.href = "/login?role=gate&next=/gate"; throw new Error("login"); }
      return r.json().then(function (data) { return { status: r.status, data: data }; });
    });
  }
  function looksLikeCode(text) {
    var t = text.replace(/[\s\-_.]/g, "");
    if (t.indexOf("/") >= 0) t = t.split("?")[0].replace(/\/+$/, "").split("/").pop();
    if (/^tm/i.test(t) && t.length >= 16) return true;
    return t.length >= 16 && /\d.*\d.*\d.*\d/.test(t) && text.trim().indexOf(" ") < 0;
  }

  // ---- Sound: one tone pattern per outcome, made here (no audio files) ---------------------------
  var audio = null;
  function warmAudio() {
    // Making the audio context takes ~100 ms the first time: done on the first keystroke (a scanner types
    // the code before its Enter), so the first verdict is not late by it.
    try { audio = audio || new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { /* none */ }
  }
  document.addEventListener("keydown", warmAudio, { once: true, capture: true });
  document.addEventListener("pointerdown", warmAudio, { once: true, capture: true });
  function beep(pattern) {
    try {
      warmAudio();
      var t = audio.currentTime;
      pattern.forEach(function (note) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.type = note[2] || "sine";
        osc.frequency.value = note[0];
        gain.gain.setValueAtTime(0.25, t);
        gain.gain.exponentialRampToValueAtTime(0.001, t + note[1]);
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(t); osc.stop(t + note[1]);
        t += note[1] * 0.9;
      });
    } catch (e) { /* no audio device: the colours still speak */ }
  }
  var SOUNDS = {
    ok: [[880, 0.12], [1320, 0.18]],
    vip: [[784, 0.14], [988, 0.14], [1319, 0.28]],
    already: [[660, 0.35]],
    error: [[220, 0.25, "square"], [180, 0.35, "square"]]
  };

  // ---- Showing a result -------------------------------------------------------------------------
  var KIND = {
    ok: ["ok", "Mời vào"], vip: ["vip", "Đại biểu — đón tiếp"], already_checked_in: ["already", "Đã vào rồi"],
    unknown: ["error", "Không có trong danh sách"], revoked: ["error", "Thư mời đã thu hồi"],
    invalid: ["error", "Mã không hợp lệ"], waiting: ["waiting", "Chưa gửi được"],
    not_here: ["error", "Không có trong danh sách trên máy này"],
    not_admitted: ["error", "Cổng đã không cho vào"]
  };

  function kindOf(data) {
    if (data.result === "ok" && data.vip) return "vip";
    return data.result;
  }

  function show(data) {
    var kind = kindOf(data), look = KIND[kind] || KIND.invalid;
    var d = data.delegate;
    var box = $("result");
    // The verdict takes the search list's place: the clerk sees it at once, never an old list above it.
    $("search-results").hidden = true;
    box.hidden = false;
    box.className = "result " + look[0] + (data.offline ? " offline" : "");
    box.dataset.result = data.result;
    box.dataset.offline = data.offline ? "1" : "";
    $("result-kind").textContent = look[1];
    $("result-badge").hidden = !data.offline;
    var fallback = { waiting: "Đang chờ mạng", invalid: "Quét lại, hoặc gõ tên để tìm" }[kind] ||
      "Mời khách đến bàn lễ tân";
    $("result-name").textContent = d ? d.addressed : (data.headline || fallback);
    $("result-detail").textContent = d ? [d.title, d.organisation].filter(Boolean).join(", ") : "";
    var seat = d && d.seat && (data.result === "ok" || data.result === "already_checked_in");
    $("result-seat").hidden = !seat;
    $("result-seat").textContent = seat ? d.seat : "";
    $("result-message").textContent = data.message || "";
    beep(SOUNDS[look[0] === "ok" ? "ok" : look[0] === "vip" ? "vip" : look[0] === "already" ? "already" : "error"]);
    if (box.scrollIntoView) box.scrollIntoView({ block: "nearest" });
    clearTimeout(resultTimer);
    resultTimer = setTimeout(idle, RESULT_MS);
    addRecent(data, look);
  }

  function idle() {
    var box = $("result");
    box.className = "result idle";
    box.dataset.result = "";
    box.dataset.offline = "";
    $("result-badge").hidden = true;
    $("result-kind").textContent = "Sẵn sàng quét";
    $("result-name").textContent = document.title.replace(" — Kiosk sự kiện", "");
    $("result-detail").textContent = "Đưa mã QR trên thư mời vào máy quét.";
    $("result-seat").hidden = true;
    $("result-message").textContent = "";
  }

  function addRecent(data, look, scannedAt) {
    var li = document.createElement("li");
    li.className = look[0];
    var d = data.delegate;
    li.innerHTML = '<span class="t"></span><span class="k"></span><span class="w"></span>';
    li.querySelector(".t").textContent = clock(scannedAt ? new Date(scannedAt) : new Date());
    // A queued scan answered on reconnect is listed at the time it was made, marked as sent.
    li.querySelector(".k").textContent = look[1] + (data.offline ? " (ngoại tuyến)" : scannedAt ? " (đã gửi)" : "");
    li.querySelector(".w").textContent = d ? d.addressed : (data.message || "");
    var list = $("recent-list");
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 10) list.removeChild(list.lastChild);
    return li;
  }

  // ---- The retry queue: a scan the server never answered is sent again with the same nonce ------
  function queue() { try { return JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]"); } catch (e) { return []; } }
  function saveQueue(items) { localStorage.setItem(QUEUE_KEY, JSON.stringify(items)); showPending(); report(); }
  function showPending() {
    var n = queue().length;
    $("pending").hidden = n === 0;
    $("pending").textContent = n + " lượt quét chưa được máy chủ ghi nhận — sẽ tự gửi lại (khi có mạng, khi máy chủ lưu được).";
  }
  var REFUSED_KEY = "kiosk.gate.refused", flushing = false;
  function refused() { try { return JSON.parse(localStorage.getItem(REFUSED_KEY) || "[]"); } catch (e) { return []; } }
  function showRefused() {
    var items = refused(), list = $("refused-list");
    $("refused").hidden = !items.length;
    list.replaceChildren();
    items.forEach(function (r) {
      var li = document.createElement("li");
      li.textContent = clock(new Date(r.at)) + " · " + r.what + ": " + r.message;
      list.appendChild(li);
    });
  }
  function flushQueue() {
    // One sender at a time: the interval, a reconnect and each offline scan all ask for a flush.
    if (flushing) return;
    var items = queue();
    if (!items.length) return;
    var item = items[0];
    flushing = true;
    post(item.url, item.body).then(function (res) {
      flushing = false;
      // Not written yet (busy, disk full, a server error), the role or session token is not right on this
      // page for now (another login in this browser, a stale token: a reload fixes it): kept, sent later.
      if (res.status >= 500 || res.status === 403 || res.status === 429 || (res.data && res.data.error === "csrf")) return;
      saveQueue(queue().filter(function (q) { return q.body.nonce !== item.body.nonce; }));
      var when = item.body.offline ? item.body.offline.scanned_at : item.body.client_time;
      if (res.status === 200) {
        addRecent(res.data, KIND[kindOf(res.data)] || KIND.invalid, when);
        if (res.data.conflict) addConflict(res.data.conflict);
      } else {
        // Refused for good (a walk-in's phone number the server will not take): kept on this device and
        // listed on the page until someone deals with it, never silently dropped.
        var list = refused();
        list.push({ at: when, what: item.body.full_name || item.body.code || ("khách #" + item.body.invitee_id),
                    message: res.data.message || String(res.status) });
        localStorage.setItem(REFUSED_KEY, JSON.stringify(list));
        showRefused();
      }
      flushQueue();
    }).catch(function () { flushing = false; /* still offline: try again later */ });
  }
  setInterval(flushQueue, 3000);
  showPending();
  showRefused();
  $("refused-clear").addEventListener("click", function () {
    localStorage.removeItem(REFUSED_KEY);
    showRefused();
    input.focus();
  });

  function gateName() { return gateInput.value.trim() || "Cổng chính"; }

  function send(url, body, judgeHere) {
    body.nonce = body.nonce || nonce();
    body.gate = gateName();
    body.client_time = new Date().toISOString();
    var scannedAt = new Date(Date.now() + serverOffset).toISOString();
    function keep(message, headline) {
      var items = queue(); items.push({ url: url, body: body }); saveQueue(items);
      show({ result: "waiting", message: message, headline: headline });
    }
    function offline() {
      // No answer from the server: the device's copy decides now, and the scan waits to be sent with the
      // time it happened and the verdict shown (the server then keeps the earlier of two admissions).
      if (!judgeHere) { keep("Mất kết nối. Lượt quét đã được giữ lại và sẽ tự gửi khi có mạng."); return null; }
      return judgeHere(scannedAt).then(function (verdict) {
        body.offline = { scanned_at: scannedAt, verdict: verdict.result, instance: copyInstance || undefined };
        var items = queue(); items.push({ url: url, body: body }); saveQueue(items);
        show(verdict);
        // The socket may only be reconnecting (a restarted server): try sending now rather than in 3 s.
        if (navigator.onLine !== false) setTimeout(flushQueue, 0);
        return verdict;
      });
    }
    if (judgeHere && !linkUp()) return offline();
    return post(url, body, judgeHere ? DEADLINE_MS : 0).then(function (res) {
      if (res.status === 200) { show(res.data); return res.data; }
      // The server could not record it for now (507 a full disk, 503 a busy database): kept and sent again,
      // like a scan made while the Wi-Fi was down; the same nonce admits once. Any other failure is shown
      // (a scan that always fails must not hold up the ones queued behind it).
      if (res.status === 503 || res.status === 507) {
        keep((res.data.message || "Lỗi máy chủ.") + " Lượt quét đã được giữ lại và sẽ tự gửi lại.",
             "Máy chủ chưa lưu được");
        return null;
      }
      show({ result: "invalid", message: res.data.message || "Lỗi máy chủ." });
      return null;
    }).catch(function (err) {
      if (err && err.message === "login") return null;
      return offline();
    });
  }

  // ---- Offline verdicts, from the local copy ------------------------------------------------------
  var REASONS = {   // checkin/codes.py REASONS, for a scan that is no code at all
    empty: "Chưa nhận được mã.",
    ime_mangled: "Mã bị bộ gõ tiếng Việt làm sai. Hãy tắt bộ gõ tiếng Việt (Unikey/EVKey) trên máy này.",
    not_ours: "Đây không phải mã thư mời của buổi lễ (có thể là mã QR khác).",
    invalid: "Mã thư mời không hợp lệ (sai ký tự hoặc thiếu ký tự)."
  };
  var copyReady = false, copyVersion = null, copyInstance = null, copyUpdated = null;

  function linkUp() { return navigator.onLine !== false && socket.connected; }

  function delegateOf(p) {
    return { id: p.id, addressed: p.addressed, title: p.title, organisation: p.organisation, group: p.group,
             seat: p.seat, vip: !!p.vip };
  }

  function judgeCode(text) {
    return function (scannedAt) {
      var parsed = window.kioskCodes.parse(text);
      if (parsed.error) {
        return Promise.resolve({ result: "invalid", offline: true, message: REASONS[parsed.error] || REASONS.invalid });
      }
      var hash = window.kioskCodes.sha256hex(parsed.code);
      return window.kioskCopy.lookup(hash).catch(function () { return null; }).then(function (found) {
        if (!found || !found.person) {
          return { result: "not_here", offline: true, headline: "Không có trong danh sách trên máy này",
                   message: (copyReady ? "Máy này chưa có thư mời này (có thể mới được cấp). "
                                       : "Máy này chưa tải được danh sách khách. ") +
                            "Mời khách đến bàn lễ tân, hoặc ghi vào danh sách giấy. " +
                            "Lượt quét được ghi vào nhật ký khi có mạng; khách chỉ được tính khi đã được cho vào." };
        }
        var p = found.person, d = delegateOf(p);
        if (found.code.revoked || p.removed) {
          return { result: "revoked", offline: true, delegate: d,
                   message: "Thư mời đã bị thu hồi: " + (found.code.revoked || "thư mời đã bị huỷ") +
                            ". Mời khách đến bàn lễ tân." };
        }
        if (p.in_at) {
          return { result: "already_checked_in", offline: true, delegate: d,
                   message: p.addressed + " đã vào lúc " + clock(new Date(p.in_at)) +
                            (p.in_gate ? " tại " + p.in_gate : "") + "." };
        }
        return window.kioskCopy.markIn(p.id, Date.parse(scannedAt), gateName()).catch(function () {})
          .then(function () {
            return { result: "ok", vip: !!p.vip, offline: true, delegate: d,
                     message: "Mời " + p.addressed + " vào." + (p.vip ? " Đại biểu: hãy đón và đưa vào chỗ ngồi." : "") };
          });
      });
    };
  }

  // ---- Keeping the copy current: whole at first, then the changes after its version --------------
  var copyChain = Promise.resolve();
  function withCopy(step) { copyChain = copyChain.then(step).catch(function () {}); return copyChain; }

  var copyFailedAt = 0;
  function fetchCopy() {
    return withCopy(function () {
      // IndexedDB refused the copy (private mode, a full disk): try again in a minute, not on every push.
      if (copyFailedAt && Date.now() - copyFailedAt < COPY_CHECK_MS) return null;
      var since = copyVersion == null ? "" : "?since=" + copyVersion;
      var asked = Date.now(), answered = null, serverTime = null;
      return fetch("/api/gate/copy" + since, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error("copy " + r.status);
        answered = Date.now();   // the clock is read as the headers arrive, not after a big body
        serverTime = Number(r.headers.get("X-Kiosk-Server-Time")) || null;
        return r.json();
      }).then(function (data) {
        // Half the round trip to the headers is the best guess of when the server read its clock.
        serverOffset = (serverTime || data.server_time) - (asked + answered) / 2;
        if (copyInstance != null && data.instance !== copyInstance && !data.whole) {
          // Changes of another database (a restore, another laptop): start this copy again.
          copyVersion = null; copyInstance = null;
          setTimeout(fetchCopy, 0);
          return null;
        }
        return storeCopy(data);
      });
    });
  }
  function storeCopy(data) {
    return window.kioskCopy.apply(data, serverOffset).catch(function (err) {
      copyFailedAt = Date.now();
      throw err;
    }).then(function () {
      copyFailedAt = 0;
      copyVersion = data.version; copyInstance = data.instance;
      copyReady = true; copyUpdated = Date.now();
      showCopyState();
      // One lookup now, so the first offline verdict does not pay for the first read of the store.
      window.kioskCopy.lookup(window.kioskCodes.sha256hex("TM")).catch(function () {});
    });
  }
  function pushedCopy(delta) {
    withCopy(function () {
      if (copyVersion != null && delta.version <= copyVersion) return null;        // already have it
      if (delta.too_many || copyVersion == null || delta.since !== copyVersion || delta.instance !== copyInstance) {
        setTimeout(fetchCopy, 0);                                                 // a gap: ask
        return null;
      }
      return storeCopy(delta);
    });
  }
  function showCopyState() {
    var line = $("copy-state");
    window.kioskCopy.count().then(function (n) {
      line.dataset.people = n;
      line.dataset.version = copyVersion;
      line.textContent = "Bản sao trên máy: " + n + " thư mời, cập nhật " + clock(new Date(copyUpdated)) + ".";
    }).catch(function () {});
  }
  // What this device already holds is read first, in the same chain, so the first fetch asks only for
  // the changes since.
  withCopy(function () {
    return window.kioskCopy.meta().then(function (m) {
      if (m) {
        copyVersion = m.version; copyInstance = m.instance || null;
        serverOffset = m.offset || 0; copyUpdated = m.updated;
        copyReady = true; showCopyState();
      }
    });
  });
  fetchCopy();
  setInterval(function () { if (linkUp()) fetchCopy(); }, COPY_CHECK_MS);

  // ---- Conflicts: someone let in twice, or on a revoked card, while gates were offline ------------
  var conflictsSeen = {};
  function addConflict(c) {
    var key = c.invitee_id + "|" + c.noted_at;
    if (conflictsSeen[key]) return;
    conflictsSeen[key] = true;
    var li = document.createElement("li");
    li.textContent = c.message;
    var list = $("conflict-list");
    list.insertBefore(li, list.firstChild);
    $("conflicts").hidden = false;
    $("conflict-count").textContent = list.children.length;
  }
  function loadConflicts() {
    fetch("/api/gate/conflicts", { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (data) { (data.conflicts || []).slice().reverse().forEach(addConflict); })
      .catch(function () {});
  }

  // ---- This device on the organiser's dashboard -------------------------------------------------
  var deviceKey = localStorage.getItem("kiosk.gate.device");
  if (!deviceKey) { deviceKey = nonce() + nonce(); localStorage.setItem("kiosk.gate.device", deviceKey); }
  var gateSocket = null;
  function report() {
    if (gateSocket && gateSocket.connected) gateSocket.emit("status", { gate: gateName(), pending: queue().length });
  }

  // ---- Scan or search ---------------------------------------------------------------------------
  function submit(text) {
    text = text.trim();
    if (!text) return;
    if (looksLikeCode(text)) {
      var key = text.replace(/[\s\-_.]/g, "").toUpperCase();
      if (key === lastCode && Date.now() - lastCodeAt < REPEAT_MS) return;  // scanner double-read
      lastCode = key; lastCodeAt = Date.now();
      $("search-results").hidden = true;
      send("/api/checkin", { code: text }, judgeCode(text));
    } else {
      search(text);
    }
  }

  function search(text) {
    if (!linkUp()) { searchHere(text); return; }
    fetch("/api/delegates?q=" + encodeURIComponent(text), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) { renderResults(text, data.results || []); })
      .catch(function () { searchHere(text); });
  }

  // ---- Offline search: the same list, from the copy (name, title, organisation; accents optional) ----
  function fold(text) {
    return (text || "").toLowerCase().replace(/đ/g, "d").normalize("NFD").replace(/[\u0300-\u036f]/g, "");
  }
  function searchHere(text) {
    var words = fold(text).split(/\s+/).filter(Boolean);
    window.kioskCopy.people().then(function (all) {
      var found = all.filter(function (p) {
        if (p.removed) return false;
        var hay = fold([p.addressed, p.title, p.organisation].join(" "));
        return words.every(function (w) { return hay.indexOf(w) >= 0; });
      }).slice(0, 25).map(function (p) {
        return { id: p.id, addressed: p.addressed, title: p.title, organisation: p.organisation, group: p.group,
                 seat: p.seat, vip: !!p.vip, checked_in_at: p.in_at ? new Date(p.in_at).toISOString() : null,
                 checked_in_label: p.in_at ? clock(new Date(p.in_at)) : null, here: true };
      });
      renderResults(text, found, true);
    }).catch(function () { show({ result: "waiting", message: "Không tìm được: máy này chưa có danh sách khách." }); });
  }
  function judgePerson(id) {
    return function (scannedAt) {
      return window.kioskCopy.people().then(function (all) {
        var p = all.filter(function (x) { return x.id === id; })[0];
        if (!p) return { result: "not_here", offline: true, headline: "Không có trong danh sách trên máy này",
                         message: "Mời khách đến bàn lễ tân." };
        var d = delegateOf(p);
        if (p.removed || !p.card) return { result: "revoked", offline: true, delegate: d,
                                          message: "Thư mời đã bị thu hồi: thư mời đã bị huỷ. Mời khách đến bàn lễ tân." };
        if (p.in_at) return { result: "already_checked_in", offline: true, delegate: d,
                              message: p.addressed + " đã vào lúc " + clock(new Date(p.in_at)) + (p.in_gate ? " tại " + p.in_gate : "") + "." };
        return window.kioskCopy.markIn(p.id, Date.parse(scannedAt), gateName()).then(function () {
          return { result: "ok", vip: !!p.vip, offline: true, delegate: d,
                   message: "Mời " + p.addressed + " vào." + (p.vip ? " Đại biểu: hãy đón và đưa vào chỗ ngồi." : "") };
        });
      });
    };
  }

  function renderResults(text, results, here) {
    var list = $("search-list");
    list.innerHTML = "";
    // A new search is a new guest: the previous verdict (perhaps a red one) makes way for the list.
    $("result").hidden = true;
    $("search-results").hidden = false;
    $("search-title").textContent = (results.length
      ? "Tìm thấy " + results.length + " người khớp “" + text + "”"
      : "Không tìm thấy ai khớp “" + text + "”. Nếu khách không có thư mời, hãy đăng ký khách vãng lai.") +
      (here ? " (tìm trên máy này — ngoại tuyến)" : "");
    $("search-results").dataset.offline = here ? "1" : "";
    results.forEach(function (p) {
      var li = document.createElement("li");
      li.innerHTML = '<div class="who"><div class="name"></div><div class="meta"></div></div><div class="act"></div>';
      li.querySelector(".name").textContent = p.addressed + (p.vip ? " ★" : "");
      li.querySelector(".meta").textContent = [p.title, p.organisation, p.group, p.seat,
        p.phone_tail ? "ĐT …" + p.phone_tail : null, p.substitute_name ? "Đi thay: " + p.substitute_name : null]
        .filter(Boolean).join(" · ");
      var act = li.querySelector(".act");
      if (p.checked_in_at) {
        act.innerHTML = '<span class="here"></span>';
        act.firstChild.textContent = "Đã đến " + p.checked_in_label;
      } else {
        var b = document.createElement("button");
        b.className = "btn"; b.type = "button"; b.textContent = "Cho vào";
        b.addEventListener("click", function () {
          b.disabled = true;
          send("/api/checkin/by-id", { invitee_id: p.id }, judgePerson(p.id));  // its verdict replaces the list
          input.focus();
        });
        act.appendChild(b);
      }
      list.appendChild(li);
    });
  }

  $("scan-form").addEventListener("submit", function (e) {
    e.preventDefault();
    submit(input.value);
    input.value = "";
    input.focus();
  });
  // Scanners that end with Tab instead of Enter.
  input.addEventListener("keydown", function (e) {
    if (e.key === "Tab" && looksLikeCode(input.value)) { e.preventDefault(); $("scan-form").requestSubmit(); }
  });
  // Keep the input focused: a keystroke anywhere outside a form field goes to it.
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (t === input || $("walkin-dialog").open || t === gateInput) return;
    if (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT") return;
    if (e.key.length === 1 || e.key === "Enter") input.focus();
  });

  // ---- Walk-ins ---------------------------------------------------------------------------------
  var dialog = $("walkin-dialog");
  // One nonce per person registered: a second press after a lost reply returns the first registration.
  var walkinNonce = null;
  $("walkin-button").addEventListener("click", function () {
    $("walkin-form").reset(); $("walkin-error").hidden = true;
    walkinNonce = nonce();
    dialog.showModal(); $("walkin-name").focus();
  });
  $("walkin-cancel").addEventListener("click", function () { dialog.close(); input.focus(); });
  $("walkin-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var form = new FormData($("walkin-form"));
    var body = { full_name: form.get("full_name"), group: form.get("group"),
                 organisation: form.get("organisation") || null, phone: form.get("phone") || null,
                 nonce: walkinNonce, gate: gateInput.value.trim() || "Cổng chính" };
    function keepWalkIn() {
      // Offline: registered here, sent later with the time they came (the nonce makes it one person).
      body.offline = { scanned_at: new Date(Date.now() + serverOffset).toISOString(), verdict: "ok",
                       instance: copyInstance || undefined };
      var items = queue(); items.push({ url: "/api/walkins", body: body }); saveQueue(items);
      dialog.close();
      show({ result: "ok", offline: true, delegate: { addressed: body.full_name, organisation: body.organisation },
             message: "Đã ghi khách vãng lai trên máy này; sẽ gửi về máy chủ khi có mạng. Mời vào." });
      input.focus();
    }
    if (!linkUp()) { keepWalkIn(); return; }
    post("/api/walkins", body, DEADLINE_MS).then(function (res) {
      if (res.status === 200) { dialog.close(); show(res.data); input.focus(); }
      else { $("walkin-error").hidden = false; $("walkin-error").textContent = res.data.message; }
    }).catch(function (err) {
      if (err && err.message === "login") return;
      keepWalkIn();
    });
  });

  // ---- Live counts over Socket.IO (no polling) ---------------------------------------------------
  function renderStats(s) {
    $("count-present").textContent = s.present;
    $("count-invited").textContent = s.invited_present + "/" + s.invited;
    $("count-vip").textContent = s.vip_present + "/" + s.vip_expected;
    $("count-walkins").textContent = s.walk_ins;
  }
  function loadStats() {
    fetch("/api/stats", { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(renderStats)
      .catch(function () {});
  }
  var socket = io("/display", { transports: ["websocket", "polling"], reconnectionDelayMax: 2000 });
  if (window.kioskMode) { window.kioskMode.watch(socket); }
  function linkChanged() {
    var up = linkUp();
    $("link-dot").className = "link-dot " + (up ? "on" : "off");
    document.body.classList.toggle("gate-offline", !up);
    $("offline-banner").hidden = up;
  }
  socket.on("connect", function () { linkChanged(); loadStats(); flushQueue(); });
  socket.on("disconnect", linkChanged);
  socket.on("stats", function (s) {
    if (s.server_time) serverOffset = s.server_time - Date.now();
    renderStats(s);
  });
  window.addEventListener("offline", linkChanged);
  window.addEventListener("online", linkChanged);
  loadStats();

  gateSocket = io("/gate", { transports: ["websocket", "polling"], reconnectionDelayMax: 2000 });
  gateSocket.on("connect", function () {
    gateSocket.emit("hello", { key: deviceKey, gate: gateName(), pending: queue().length }, function (ack) {
      if (ack && ack.server_time) serverOffset = ack.server_time - Date.now();
    });
    fetchCopy();
    loadConflicts();
  });
  gateSocket.on("copy", pushedCopy);
  gateSocket.on("conflict", addConflict);
  gateInput.addEventListener("change", report);

  // A phone shared between shifts: logging out takes the names on it away too.
  var logout = document.querySelector('form[action$="/logout"]');
  if (logout) logout.addEventListener("submit", function () {
    window.kioskCopy.forget();
    if (window.caches) caches.keys().then(function (keys) { keys.forEach(function (k) { caches.delete(k); }); });
  });

  // ---- The page itself offline: a service worker keeps it, where the browser allows one (HTTPS) ----
  if (window.isSecureContext && navigator.serviceWorker) {
    navigator.serviceWorker.register("/gate-sw.js", { scope: "/gate" }).catch(function () {
      $("reload-note").textContent = "Trình duyệt không cho lưu trang cổng để mở lại khi mất mạng (thường vì " +
        "chứng chỉ của máy chủ chưa được cài trên máy này, xem trang /setup). Cổng vẫn quét được khi mất mạng, " +
        "nhưng đừng tải lại trang.";
      $("reload-note").hidden = false;
    });
  } else {
    $("reload-note").hidden = false;
  }

  // ---- Phone camera -----------------------------------------------------------------------------
  var stream = null, scanning = false;
  function cameraProblem() {
    if (!window.isSecureContext) {
      return "Trình duyệt chỉ cho dùng camera trên trang HTTPS. Trang này đang mở qua http:// nên camera bị chặn. " +
        "Hãy chạy máy chủ với KIOSK_TLS=1 và mở trang /setup trên điện thoại để cài chứng chỉ, " +
        "hoặc dùng máy quét USB trên laptop.";
    }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return "Trình duyệt này không hỗ trợ camera. Hãy dùng Chrome hoặc Safari bản mới.";
    }
    return null;
  }
  function setCameraStatus(text, problem) {
    $("camera-status").textContent = text;
    $("camera-status").className = "camera-status" + (problem ? " problem" : "");
  }
  function stopCamera() {
    scanning = false;
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    $("camera").hidden = true;
    input.focus();
  }
  function scanFrame() {
    if (!scanning) return;
    var video = $("camera-video"), canvas = $("camera-canvas");
    if (video.readyState === video.HAVE_ENOUGH_DATA) {
      canvas.width = video.videoWidth; canvas.height = video.videoHeight;
      var ctx = canvas.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      var img = ctx.getImageData(0, 0, canvas.width, canvas.height);
      var found = window.jsQR && jsQR(img.data, img.width, img.height, { inversionAttempts: "dontInvert" });
      if (found && found.data) submit(found.data);
    }
    requestAnimationFrame(scanFrame);
  }
  $("camera-button").addEventListener("click", function () {
    $("camera").hidden = false;
    var problem = cameraProblem();
    if (problem) { setCameraStatus(problem, true); return; }
    setCameraStatus("Đang mở camera sau…");
    navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false })
      .then(function (s) {
        stream = s;
        var video = $("camera-video");
        video.srcObject = s; video.play();
        scanning = true;
        setCameraStatus("Đưa mã QR vào khung hình.");
        var track = s.getVideoTracks()[0];
        var caps = track.getCapabilities ? track.getCapabilities() : {};
        $("torch-button").hidden = !caps.torch;
        requestAnimationFrame(scanFrame);
      })
      .catch(function (err) {
        var why = err && err.name === "NotAllowedError"
          ? "Bạn đã từ chối quyền dùng camera. Hãy cho phép camera trong cài đặt trang của trình duyệt."
          : err && err.name === "NotFoundError" ? "Không tìm thấy camera trên thiết bị này."
          : "Không mở được camera (" + (err && err.name) + ").";
        setCameraStatus(why, true);
      });
  });
  var torchOn = false;
  $("torch-button").addEventListener("click", function () {
    if (!stream) return;
    torchOn = !torchOn;
    stream.getVideoTracks()[0].applyConstraints({ advanced: [{ torch: torchOn }] }).catch(function () {});
    $("torch-button").textContent = torchOn ? "Tắt đèn" : "Bật đèn";
  });
  $("camera-close").addEventListener("click", stopCamera);

  window.kioskGate = { queueLength: function () { return queue().length; }, looksLikeCode: looksLikeCode,
                      copyVersion: function () { return copyVersion; }, linkUp: linkUp };
})();
