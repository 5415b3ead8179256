// The MC page (/mc): run the programme. Every action is an authenticated POST carrying the index the
// MC saw; the state comes back in the answer and over the /display socket; /mc lists the screens.
// Timers are computed here every second with the same model as display/timing.py.
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var root = $("mc");
  var csrf = root.dataset.csrf;
  var state = JSON.parse($("initial-state").textContent);
  var screens = JSON.parse($("initial-screens").textContent);
  var viewLabels = JSON.parse($("view-labels").textContent);
  var offsetMs = state.server_time - Date.now();
  var pending = null;   // the rev the MC saw when a move was sent, until its answer or a newer state
  var armed = null, armTimer = null;
  var MOVES = ["next", "prev", "goto", "start", "hold", "slide"];

  function now() { return Date.now() + offsetMs; }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function setText(id, text) {
    var node = $(id);
    text = text === undefined || text === null ? "" : String(text);
    if (node.textContent !== text) node.textContent = text;
    return node;
  }

  // ---- times, the Vietnamese way
  var formats = {};
  function parts(kind, options, ms) {
    formats[kind] = formats[kind] || new Intl.DateTimeFormat(kind === "day" ? "en-CA" : "vi-VN",
      Object.assign({ timeZone: state.event.timezone }, options));
    var found = {};
    formats[kind].formatToParts(new Date(ms)).forEach(function (p) { found[p.type] = p.value; });
    return found;
  }

  function hhmm(ms) {
    if (ms === null || ms === undefined) return "--h--";
    var p = parts("time", { hour: "2-digit", minute: "2-digit", hour12: false }, ms);
    return p.hour + "h" + p.minute;
  }

  function mmss(ms) {
    var total = Math.floor(Math.abs(ms) / 1000);
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return (h ? h + ":" + pad(m) : pad(m)) + ":" + pad(s);
  }

  function minutesLabel(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000), hours = Math.floor(minutes / 60), rest = minutes % 60;
    if (hours && rest) return hours + " giờ " + rest + " phút";
    if (hours) return hours + " giờ";
    return rest + " phút";
  }

  function driftLabel(ms) {
    if (Math.abs(ms) < 60000) return "đúng giờ";
    return (ms > 0 ? "chậm " : "sớm ") + minutesLabel(ms);
  }

  // ---- the timing model of display/timing.py, line for line
  function elapsedMs(s, t) {
    if (s.current_index < 0 || s.started_at === null || s.started_at === undefined) return null;
    var paused = s.paused_ms || 0;
    if (s.holding && s.held_since) paused += Math.max(t - s.held_since, 0);
    return Math.max(t - s.started_at - paused, 0);
  }

  function localDay(ms) {
    var p = parts("day", { year: "numeric", month: "2-digit", day: "2-digit" }, ms);
    return Date.UTC(+p.year, +p.month - 1, +p.day);
  }

  // Whole days between the plan's date and the day the programme runs (its first start, else today).
  function planShift(s, t) {
    if (!s.items.length) return 0;
    var starts = s.items.map(function (i) { return i.actual_start; }).filter(function (v) { return v; });
    var reference = starts.length ? Math.min.apply(null, starts) : t;
    return localDay(reference) - localDay(Date.parse(s.items[0].planned_start));
  }

  function project(s, t) {
    var shift = planShift(s, t);
    var plan = s.items.map(function (item) {
      return { start: Date.parse(item.planned_start) + shift,
               end: item.planned_end ? Date.parse(item.planned_end) + shift : null };
    });
    var n = plan.length;
    var spans = plan.map(function (slot, i) {
      if (slot.end !== null) return slot.end - slot.start;
      if (i + 1 < n) return Math.max(plan[i + 1].start - slot.start, 0);
      return null;
    });
    var expected = plan.map(function () { return null; });
    if (!n) return { elapsed: null, remaining: null, drift: 0, expected: expected, projectedEnd: null, plannedEnd: null, span: null, shift: shift };
    var current = Math.min(s.current_index, n - 1);
    var ran = elapsedMs(s, t), remaining = null, cursor, drift, first, span = null;
    if (current < 0) {
      cursor = t;
      drift = Math.max(t - plan[0].start, 0);
      first = 0;
    } else {
      var begun = s.started_at !== null && s.started_at !== undefined ? s.started_at : t;
      expected[current] = begun;
      span = spans[current];
      if (span === null) {
        cursor = begun;
        drift = begun - plan[current].start;
      } else {
        remaining = span - (ran || 0);
        cursor = t + Math.max(remaining, 0);
        drift = cursor - (plan[current].start + span);
      }
      first = current + 1;
    }
    for (var j = first; j < n; j++) {
      var begins = Math.max(cursor, plan[j].start);
      expected[j] = begins;
      cursor = begins + (spans[j] || 0);
    }
    return { elapsed: ran, remaining: remaining, drift: drift, expected: expected, projectedEnd: cursor,
             plannedEnd: plan[n - 1].start + (spans[n - 1] || 0), span: span, shift: shift };
  }

  // ---- actions
  var toastTimer = null;
  function toast(message, kind) {
    var box = setText("mc-toast", message);
    box.dataset.kind = kind || "info";
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.hidden = true; }, 6000);
  }

  // An error said before is no longer true once an action succeeds (the link is back, the index is fresh).
  function clearErrorToast() {
    var box = document.getElementById("mc-toast");
    if (box.dataset.kind === "error") { box.hidden = true; clearTimeout(toastTimer); }
  }

  function setPending(rev) {
    pending = rev;
    root.dataset.pending = rev === null ? "0" : "1";
  }

  function act(action, extra) {
    // Moving actions carry the index the MC saw (a stale one gets 409), one in flight at a time, so a
    // held-down key or a double tap sends one request; settings apply whatever the item.
    var moves = MOVES.indexOf(action) >= 0;
    if (moves && pending !== null) return Promise.resolve(null);
    var payload = Object.assign({}, extra || {});
    if (moves) {
      setPending(state.rev);
      payload.expected_index = state.current_index;
    }
    return fetch("/api/agenda/" + action, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify(payload)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.status === 401) window.location.href = "/login?role=mc&next=/mc";
        else if (response.ok) { clearErrorToast(); accept(body); }
        else {
          if (body.state) accept(body.state);        // a stale click shows what is true now
          toast(body.message || "Không thực hiện được thao tác.", "error");
        }
        return response.ok ? body : null;
      });
    }).catch(function () {
      toast("Không gửi được lệnh tới máy chủ. Kiểm tra kết nối mạng rồi thử lại.", "error");
      return null;
    }).then(function (result) {
      if (moves) {
        setPending(null);
      }
      return result;
    });
  }

  // ---- rendering
  function current() { return state.current_index >= 0 ? state.items[state.current_index] || null : null; }

  var programmeKey = null;
  function renderProgramme(p) {
    var rows = state.items.map(function (item, i) {
      var status = i === state.current_index ? "now" : (i < state.current_index ? (item.actual_start ? "done" : "skipped") : "upcoming");
      var when = item.actual_start ? "bắt đầu " + item.actual_start_label
        : (status === "skipped" ? "đã bỏ qua" : (p.expected[i] ? "dự kiến " + hhmm(p.expected[i]) : ""));
      return [status + (armed === i ? " armed" : ""), item.time_label, item.content, when];
    });
    // Rebuilt only when something shown changes (a projection moves by the minute, not every tick).
    var key = JSON.stringify(rows);
    if (key === programmeKey) return;
    programmeKey = key;
    var fresh = document.createDocumentFragment();
    rows.forEach(function (row, i) {
      var li = el("li", "mc-item " + row[0]);
      var button = el("button", "mc-item-go");
      button.type = "button";
      button.dataset.index = i;
      ["no", "planned", "text", "actual"].forEach(function (cls, k) {
        button.appendChild(el("span", cls, k === 0 ? String(i + 1) : row[k]));
      });
      li.appendChild(button);
      fresh.appendChild(li);
    });
    $("mc-programme").replaceChildren(fresh);
  }

  function renderScript() {
    var item = current();
    var slide = item ? item.slide : null;
    $("mc-script").hidden = slide !== "delegates";
    $("mc-donations").hidden = slide !== "donations";
    if (slide === "delegates") {
      var roster = state.roster;
      var list = $("mc-roster");
      var fresh = document.createDocumentFragment();
      (Array.isArray(roster) ? roster : []).forEach(function (person) {
        var li = el("li", person.late ? "late" : "");
        li.appendChild(el("b", null, person.addressed));
        var role = [person.title, person.organisation].filter(Boolean).join(", ");
        if (role) li.appendChild(document.createTextNode(" — " + role));
        if (person.substitute_for) li.appendChild(el("span", "sub", " (đi thay " + person.substitute_for + ")"));
        if (person.late) li.appendChild(el("span", "badge late", "Đến muộn" + (person.arrived_label ? " · " + person.arrived_label : "")));
        fresh.appendChild(li);
      });
      list.replaceChildren(fresh);
      var empty = $("mc-roster-empty");
      if (!Array.isArray(roster)) {
        empty.textContent = "Chưa có danh sách đại biểu có mặt từ cổng đón tiếp. Đọc theo danh sách giấy.";
      } else if (!roster.length) {
        empty.textContent = "Cổng đón tiếp chưa ghi nhận đại biểu nào có mặt.";
      }
      empty.hidden = Array.isArray(roster) && roster.length > 0;
      // The exact count comes with the state; a very long roster reaches screens cut in protocol order.
      var count = state.roster_count || (Array.isArray(roster)
        ? {present: roster.length, late: roster.filter(function (r) { return r.late; }).length, shown: roster.length}
        : null);
      setText("mc-roster-count", count
        ? "(" + count.present + " đại biểu có mặt" + (count.late ? ", " + count.late + " đến muộn" : "")
          + (count.shown < count.present ? "; hiện " + count.shown + " vị đầu theo thứ tự nghi thức" : "") + ")"
        : "");
    }
    if (slide === "donations") {
      renderFund();
      if (state.donations) fetchExactFund();
    }
  }

  // Screens show the fund in steps of three gifts, so no watcher can subtract one donor's amount; the MC
  // announces the exact figure, read with the MC's login (the step-wise one until it arrives).
  var exactFund = null, fundFetch = null;
  function fetchExactFund() {
    if (fundFetch) return;
    fundFetch = fetch("/api/donations/total", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) { fundFetch = null; if (d) { exactFund = d; renderFund(); } })
      .catch(function () { fundFetch = null; });
  }

  function renderFund() {
    // Without the desk's part in the state there is no fund to speak of (the feature is not running).
    var d = state.donations ? (exactFund || state.donations) : null;
    $("mc-donation-empty").hidden = !!d;
    setText("mc-donation-total", d ? d.total_label : "");
    setText("mc-donation-count", d ? d.count + " lượt ủng hộ" : "");
    var donors = (d && d.recent_donors ? d.recent_donors : []).map(function (donor) {
      if (typeof donor === "string") return donor;
      return [donor.name, donor.organisation].filter(Boolean).join(", ");
    }).filter(Boolean);
    setText("mc-donation-donors", donors.length ? "Mới nhất: " + donors.join("; ") : "");
  }

  function renderButtons() {
    var idx = state.current_index, n = state.items.length, item = current();
    $("btn-prev").disabled = idx < 0;
    $("btn-next").disabled = idx >= n - 1;
    setText("btn-next", "");
    $("btn-next").append(idx < 0 ? "Bắt đầu chương trình →" : "Tiếp theo →", el("small", null, "Space hoặc →"));
    // Before the first item the big button starts the programme; this one resumes a held item.
    $("btn-start").hidden = !state.holding;
    setText("btn-start", "Tiếp tục");
    $("btn-hold").hidden = idx < 0 || state.holding;
    var slide = item ? item.slide : null;
    var slideButton = $("btn-slide");
    slideButton.hidden = !slide;
    slideButton.setAttribute("aria-pressed", state.slide ? "true" : "false");
    setText("btn-slide", (state.slide ? "Tắt " : "Chiếu ") + (slide === "donations" ? "tổng quyên góp" : "danh sách đại biểu"));
    $("btn-blackout").setAttribute("aria-pressed", state.blackout ? "true" : "false");
    setText("btn-blackout", state.blackout ? "Bật lại máy chiếu" : "Màn đen (máy chiếu)");
    setText("announce-current", state.announcement ? "Đang hiện: “" + state.announcement + "”" : "Không có thông báo.");
  }

  function render() {
    var item = current(), idx = state.current_index, n = state.items.length;
    var next = state.items[idx + 1] || null;
    setText("mc-item-no", item ? "Mục " + (idx + 1) + "/" + n : "Chưa bắt đầu — màn hình đang chào mừng");
    setText("mc-item-time", item ? "· " + item.time_label : "");
    setText("mc-item-content", item ? item.content : state.event.title);
    setText("mc-item-performer", item ? item.performer : "");
    $("mc-holding").hidden = !state.holding;
    $("mc-timer").hidden = !item;
    $("mc-progress").hidden = !item;
    $("mc-next").hidden = !next;
    if (next) {
      setText("mc-next-content", next.time_label + " · " + next.content);
      setText("mc-next-performer", next.performer);
    }
    renderButtons();
    renderScript();
    tick();
  }

  function tick() {
    var t = now(), p = project(state, t);
    setText("mc-clock", hhmm(t));
    var drift = $("mc-drift");
    setText("mc-drift", driftLabel(p.drift));
    drift.dataset.sign = Math.abs(p.drift) < 60000 ? "ok" : (p.drift > 0 ? "late" : "early");
    setText("mc-projected-end", hhmm(p.projectedEnd));
    setText("mc-planned-end", hhmm(p.plannedEnd));
    var next = state.items[state.current_index + 1];
    setText("mc-next-expected", next && p.expected[state.current_index + 1] ? "· dự kiến " + hhmm(p.expected[state.current_index + 1]) : "");
    renderProgramme(p);
    if (p.elapsed === null) return;
    setText("mc-elapsed", mmss(p.elapsed));
    setText("mc-duration", p.span !== null ? " / " + mmss(p.span) : "");
    var over = p.remaining !== null && p.remaining < 0;
    setText("mc-remaining", p.remaining === null ? "" : (over ? "quá giờ " : "còn ") + mmss(p.remaining)).dataset.over = over ? "1" : "0";
    $("mc-progress-bar").style.width = (p.span ? Math.min(p.elapsed / p.span, 1) * 100 : 0).toFixed(1) + "%";
  }

  function renderScreens() {
    var list = $("mc-screens");
    // Do not rebuild while the MC is typing a name: their text would be lost.
    if (list.contains(document.activeElement)) return;
    var fresh = document.createDocumentFragment();
    screens.forEach(function (screen) {
      var li = el("li", "mc-screen " + (screen.connected ? "online" : "offline"));
      li.dataset.screenId = screen.id;
      var name = el("input", "screen-name");
      name.type = "text";
      name.maxLength = 60;
      name.value = screen.name;
      name.setAttribute("aria-label", "Tên màn hình");
      name.addEventListener("change", function () { act("screen", { screen_id: screen.id, name: name.value }); });
      var select = el("select", "screen-view");
      select.setAttribute("aria-label", "Chế độ hiển thị của " + screen.name);
      Object.keys(viewLabels).forEach(function (key) {
        var option = el("option", null, viewLabels[key]);
        option.value = key;
        option.selected = key === screen.view;
        select.appendChild(option);
      });
      select.addEventListener("change", function () { act("screen", { screen_id: screen.id, view: select.value }); });
      var info = !screen.connected ? "mất kết nối" : "đang kết nối" + (screen.address ? " · " + screen.address : "") +
        (screen.connections > 1 ? " (" + screen.connections + " cửa sổ)" : "");
      [el("span", "dot", "●"), name, select, el("span", "screen-info muted small", info)].forEach(function (node) {
        li.appendChild(node);
      });
      fresh.appendChild(li);
    });
    if (!screens.length) fresh.appendChild(el("li", "muted", "Chưa có màn hình nào kết nối."));
    list.replaceChildren(fresh);
    setText("mc-screens-count", "(" + screens.filter(function (s) { return s.connected; }).length + " đang kết nối)");
  }

  function accept(incoming) {
    if (!incoming || typeof incoming.rev !== "number") return;
    if (incoming.rev < state.rev && !freshConnection) return;
    freshConnection = false;
    offsetMs = incoming.server_time - Date.now();
    state = incoming;
    // Once the MC sees a newer state (often over the socket, before the POST's answer), they may act on it.
    if (pending !== null && state.rev > pending) setPending(null);
    render();
  }

  // ---- input: buttons and the keyboard
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (event) {
    if (typing(event.target) || event.altKey || event.ctrlKey || event.metaKey) return;
    var key = event.key;
    if (key === " " || key === "Spacebar" || key === "ArrowRight" || key === "PageDown") {
      // Space on a focused button would also click it (blackout, say): the MC means "next".
      event.preventDefault();
      if (!event.repeat) act("next");
    } else if (key === "ArrowLeft" || key === "PageUp") {
      event.preventDefault();
      if (!event.repeat) act("prev");
    }
  });
  document.addEventListener("keyup", function (event) {
    if (!typing(event.target) && (event.key === " " || event.key === "Spacebar")) event.preventDefault();
  });

  function on(id, handler) {
    $(id).addEventListener("click", function (event) {
      event.currentTarget.blur();
      handler(event);
    });
  }
  on("btn-next", function () { act(state.current_index < 0 ? "start" : "next"); });
  on("btn-prev", function () { act("prev"); });
  on("btn-start", function () { act("start"); });
  on("btn-hold", function () { act("hold"); });
  on("btn-slide", function () { act("slide", { on: !state.slide }); });
  on("btn-blackout", function () { act("blackout", { on: !state.blackout }); });
  on("btn-announce", function () {
    var text = $("announce-text").value.trim();
    if (!text) { toast("Nhập nội dung thông báo trước.", "error"); return; }
    act("announce", { text: text });
  });
  on("btn-announce-clear", function () { act("announce", { text: "" }); });

  // Jumping is two taps on the same item, so a stray tap on the list never moves the projector.
  $("mc-programme").addEventListener("click", function (event) {
    var button = event.target.closest(".mc-item-go");
    if (!button) return;
    var index = parseInt(button.dataset.index, 10);
    if (index === state.current_index) return;
    if (armed === index) {
      armed = null;
      clearTimeout(armTimer);
      act("goto", { index: index });
      return;
    }
    armed = index;
    tick();
    toast("Bấm lần nữa vào mục " + (index + 1) + " để chuyển đến mục đó.", "info");
    clearTimeout(armTimer);
    armTimer = setTimeout(function () { armed = null; tick(); }, 4000);
  });
  on("btn-reset", function () {
    if (window.confirm("Về màn hình chào mừng và đặt lại giờ bắt đầu thực tế của mọi mục?")) act("goto", { index: -1 });
  });

  // ---- connections: state on /display (like every screen), the screen list on /mc
  var freshConnection = true;
  var display = window.io("/display", { transports: ["websocket", "polling"], reconnectionDelay: 500,
                                        reconnectionDelayMax: 1500, randomizationFactor: 0.3 });
  if (window.kioskMode) { window.kioskMode.watch(display); }
  function online(isOnline) {
    var conn = $("mc-conn");
    conn.dataset.online = isOnline ? "1" : "0";
    setText("mc-conn", isOnline ? "● Đã kết nối" : "● Mất kết nối — đang kết nối lại");
    root.dataset.connected = isOnline ? "1" : "0";
  }
  display.on("connect", function () { online(true); });
  display.on("disconnect", function () { freshConnection = true; online(false); });
  display.on("connect_error", function () { online(false); });
  display.on("state", accept);

  var mcSocket = window.io("/mc", { transports: ["websocket", "polling"], reconnectionDelay: 1000,
                                    reconnectionDelayMax: 3000 });
  mcSocket.on("screens", function (list) {
    if (Array.isArray(list)) { screens = list; renderScreens(); }
  });

  render();
  renderScreens();
  setInterval(tick, 1000);
  window.kioskMc = { state: function () { return state; }, project: project, driftLabel: driftLabel };
})();
