// The gate page: one always-focused input for USB scanners and name searches, phone-camera scanning,
// walk-ins, live counts over Socket.IO, and a retry queue so a Wi-Fi drop never loses a scan.
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var input = $("scan-input");
  var REPEAT_MS = 3000;        // a scanner double-read of the same code is ignored for this long
  var RESULT_MS = 7000;        // a result stays on screen this long unless the next scan replaces it
  var QUEUE_KEY = "kiosk.gate.queue";
  var lastCode = null, lastCodeAt = 0, resultTimer = null;

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
  function post(url, body) {
    return fetch(url, {
      method: "POST", headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body), credentials: "same-origin"
    }).then(function (r) {
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
  function beep(pattern) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
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
    invalid: ["error", "Mã không hợp lệ"], waiting: ["waiting", "Chưa gửi được"]
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
    box.className = "result " + look[0];
    box.dataset.result = data.result;
    $("result-kind").textContent = look[1];
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
    $("result-kind").textContent = "Sẵn sàng quét";
    $("result-name").textContent = document.title.replace(" — Kiosk sự kiện", "");
    $("result-detail").textContent = "Đưa mã QR trên thư mời vào máy quét.";
    $("result-seat").hidden = true;
    $("result-message").textContent = "";
  }

  function addRecent(data, look) {
    var li = document.createElement("li");
    li.className = look[0];
    var d = data.delegate;
    li.innerHTML = '<span class="t"></span><span class="k"></span><span class="w"></span>';
    li.querySelector(".t").textContent = clock(new Date());
    li.querySelector(".k").textContent = look[1];
    li.querySelector(".w").textContent = d ? d.addressed : (data.message || "");
    var list = $("recent-list");
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 10) list.removeChild(list.lastChild);
    return li;
  }

  // ---- The retry queue: a scan the server never answered is sent again with the same nonce ------
  function queue() { try { return JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]"); } catch (e) { return []; } }
  function saveQueue(items) { localStorage.setItem(QUEUE_KEY, JSON.stringify(items)); showPending(); }
  function showPending() {
    var n = queue().length;
    $("pending").hidden = n === 0;
    $("pending").textContent = n + " lượt quét chưa được máy chủ ghi nhận — sẽ tự gửi lại (khi có mạng, khi máy chủ lưu được).";
  }
  function flushQueue() {
    var items = queue();
    if (!items.length) return;
    var item = items[0];
    post(item.url, item.body).then(function (res) {
      if (res.status === 503 || res.status === 507) return;  // not written yet (busy, disk full): later
      saveQueue(queue().filter(function (q) { return q.body.nonce !== item.body.nonce; }));
      if (res.status === 200) addRecent(res.data, KIND[kindOf(res.data)] || KIND.invalid);
      flushQueue();
    }).catch(function () { /* still offline: try again later */ });
  }
  setInterval(flushQueue, 3000);
  showPending();

  function send(url, body) {
    body.nonce = body.nonce || nonce();
    body.gate = gateInput.value.trim() || "Cổng chính";
    body.client_time = new Date().toISOString();
    function keep(message, headline) {
      var items = queue(); items.push({ url: url, body: body }); saveQueue(items);
      show({ result: "waiting", message: message, headline: headline });
    }
    return post(url, body).then(function (res) {
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
      keep("Mất kết nối. Lượt quét đã được giữ lại và sẽ tự gửi khi có mạng.");
      return null;
    });
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
      send("/api/checkin", { code: text });
    } else {
      search(text);
    }
  }

  function search(text) {
    fetch("/api/delegates?q=" + encodeURIComponent(text), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) { renderResults(text, data.results || []); })
      .catch(function () { show({ result: "waiting", message: "Không tìm được vì mất kết nối." }); });
  }

  function renderResults(text, results) {
    var list = $("search-list");
    list.innerHTML = "";
    // A new search is a new guest: the previous verdict (perhaps a red one) makes way for the list.
    $("result").hidden = true;
    $("search-results").hidden = false;
    $("search-title").textContent = results.length
      ? "Tìm thấy " + results.length + " người khớp “" + text + "”"
      : "Không tìm thấy ai khớp “" + text + "”. Nếu khách không có thư mời, hãy đăng ký khách vãng lai.";
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
          send("/api/checkin/by-id", { invitee_id: p.id });  // its verdict replaces the list
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
    post("/api/walkins", body).then(function (res) {
      if (res.status === 200) { dialog.close(); show(res.data); input.focus(); }
      else { $("walkin-error").hidden = false; $("walkin-error").textContent = res.data.message; }
    }).catch(function () {
      $("walkin-error").hidden = false;
      $("walkin-error").textContent = "Mất kết nối với máy chủ. Thử lại khi có mạng.";
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
  socket.on("connect", function () { $("link-dot").className = "link-dot on"; loadStats(); flushQueue(); });
  socket.on("disconnect", function () { $("link-dot").className = "link-dot off"; });
  socket.on("stats", renderStats);
  loadStats();

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

  window.kioskGate = { queueLength: function () { return queue().length; }, looksLikeCode: looksLikeCode };
})();
