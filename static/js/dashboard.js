// The organiser's dashboard: redrawn from /api/dashboard whenever the gate, the programme or the
// donation desk pushes a change over Socket.IO. Charts are drawn here as SVG (nothing from the internet).
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var SVG = "http://www.w3.org/2000/svg";

  function money(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ".") + " đ"; }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }
  function li(list, text, cls) {
    var item = document.createElement("li");
    item.textContent = text;
    if (cls) item.className = cls;
    list.appendChild(item);
    return item;
  }
  function row(body, cells) {
    var tr = document.createElement("tr");
    cells.forEach(function (c) {
      var td = document.createElement("td");
      td.textContent = c.text == null ? "" : c.text;
      if (c.note) {
        var note = document.createElement("div");
        note.className = "small " + (c.noteCls || "muted");
        note.textContent = c.note;
        td.appendChild(note);
      }
      if (c.cls) td.className = c.cls;
      tr.appendChild(td);
    });
    body.appendChild(tr);
    return tr;
  }

  // A bar chart as SVG: labels under the bars, values above them.
  function bars(box, points, format) {
    clear(box);
    if (!points.length) { box.textContent = "Chưa có dữ liệu."; box.className = "chart empty"; return; }
    box.className = "chart";
    var w = 560, h = 170, pad = 22, max = Math.max.apply(null, points.map(function (p) { return p.value; })) || 1;
    var step = (w - 10) / Math.max(points.length, 6), barW = Math.max(4, Math.min(48, step * 0.7));
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    points.forEach(function (p, i) {
      var bh = (h - 2 * pad) * p.value / max, x = 5 + i * step + (step - barW) / 2, y = h - pad - bh;
      var rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", x); rect.setAttribute("y", y); rect.setAttribute("width", barW);
      rect.setAttribute("height", Math.max(bh, 1)); rect.setAttribute("rx", 2);
      svg.appendChild(rect);
      var every = Math.ceil(points.length / 10);
      if (i % every === 0) {
        var label = document.createElementNS(SVG, "text");
        label.setAttribute("x", x + barW / 2); label.setAttribute("y", h - 6);
        label.setAttribute("text-anchor", "middle"); label.textContent = p.label;
        svg.appendChild(label);
      }
      if (points.length <= 16) {
        var value = document.createElementNS(SVG, "text");
        value.setAttribute("x", x + barW / 2); value.setAttribute("y", y - 4);
        value.setAttribute("text-anchor", "middle"); value.setAttribute("class", "v");
        value.textContent = format(p.value);
        svg.appendChild(value);
      }
    });
    box.appendChild(svg);
  }

  function render(d) {
    var s = d.stats;
    $("d-present").textContent = s.present;
    $("d-invited").textContent = s.invited_present + "/" + s.invited;
    $("d-vip").textContent = s.vip_present + "/" + s.vip_expected;
    $("d-walkins").textContent = s.walk_ins;
    $("d-money").textContent = d.donations.total_label;
    $("d-money-count").textContent = d.donations.count + " lượt ủng hộ" +
      (d.donations.voided ? " (" + d.donations.voided + " biên nhận huỷ)" : "");

    var groups = clear($("d-groups").querySelector("tbody"));
    s.groups.forEach(function (g) {
      row(groups, [{ text: g.name }, { text: g.invited_present, cls: "num" }, { text: g.expected || "", cls: "num" },
                   { text: g.walk_ins || "", cls: "num" }]);
    });
    bars($("d-arrivals-chart"), s.arrivals_per_5_min.map(function (a) { return { label: a.slot, value: a.count }; }),
         String);
    var missing = clear($("d-missing"));
    if (!d.missing_vips.length) li(missing, "Tất cả đại biểu đã có mặt.", "muted");
    d.missing_vips.forEach(function (m) {
      li(missing, m.name + (m.organisation ? " — " + m.organisation : "") + (m.phone ? " · " + m.phone : ""));
    });

    var methods = clear($("d-methods"));
    if (!d.donations.by_method.length) li(methods, "Chưa có lượt ủng hộ nào.", "muted");
    d.donations.by_method.forEach(function (m) { li(methods, m.method + ": " + m.label); });
    bars($("d-money-chart"), d.donations.over_time.map(function (p) { return { label: p.slot, value: p.total_vnd }; }),
         function (v) { return v >= 1e6 ? (v / 1e6).toFixed(1).replace(".", ",") + "tr" : Math.round(v / 1e3) + "k"; });

    var gates = clear($("d-gates"));
    Object.keys(s.scans_per_gate).forEach(function (g) { li(gates, g + ": " + s.scans_per_gate[g] + " lượt"); });
    if (!Object.keys(s.scans_per_gate).length) li(gates, "Chưa có lượt quét.", "muted");
    var devices = clear($("d-gate-devices"));
    if (!d.gate_devices.length) li(devices, "Chưa có máy nào mở trang cổng.", "muted");
    d.gate_devices.forEach(function (g) {
      var item = li(devices, g.gate + " — " + (g.online ? "trực tuyến" : "NGOẠI TUYẾN từ " + g.since_label) +
        (g.pending ? " · " + g.pending + " lượt quét chờ gửi" : ""), g.online ? "online" : "offline");
      item.dataset.pending = g.pending;
    });
    var conflicts = clear($("d-conflicts"));
    $("d-conflicts-box").hidden = !d.conflicts.length;
    d.conflicts.forEach(function (c) { li(conflicts, c.message); });
    var f = s.failed_scans, failures = clear($("d-failures"));
    li(failures, "Không có trong danh sách: " + f.unknown);
    li(failures, "Thư mời đã thu hồi: " + f.revoked);
    li(failures, "Mã không hợp lệ: " + f.invalid);

    var t = d.programme_timing;
    if (t) {
      var driftBox = $("d-drift");
      driftBox.textContent = "Tiến độ: " + t.drift_label + (t.projected_end_label
        ? " · dự kiến kết thúc " + t.projected_end_label + (t.planned_end_label ? " (kế hoạch " + t.planned_end_label + ")" : "") : "");
      driftBox.dataset.sign = Math.abs(t.drift_s) < 60 ? "ok" : (t.drift_s > 0 ? "late" : "early");
    }
    var prog = clear($("d-programme").querySelector("tbody"));
    d.programme.forEach(function (p) {
      var late = p.late_label && p.late_label !== "đúng giờ" ? p.late_label : null;
      var tr = row(prog, [{ text: p.no }, { text: p.planned },
                          { text: p.actual || "—", note: late, noteCls: late && late.indexOf("chậm") === 0 ? "late" : "muted" },
                          { text: p.content }]);
      if (p.current) tr.className = "current";
    });

    var printer = $("d-printer");
    if (d.printer) {
      var q = d.printer.queue || {};
      printer.textContent = "Máy in: " + d.printer.label + " · đang chờ " + (q.queued || 0) + ", lỗi " + (q.failed || 0) +
        (d.printer.state && d.printer.state.message ? " · " + d.printer.state.message : "");
    } else {
      printer.textContent = "Chưa cấu hình máy in.";
    }
    var screens = clear($("d-screens"));
    var online = d.screens.filter(function (x) { return x.connected; });
    if (!online.length) li(screens, "Chưa có màn hình nào.", "muted");
    online.forEach(function (x) { li(screens, (x.name || x.id) + " — " + (x.view || "")); });
    $("d-backup").textContent = d.backup
      ? "Lần gần nhất: " + new Date(d.backup.at).toLocaleString("vi-VN") + " (" + d.backup.file + ", " + d.backup.size_kb + " KB)"
      : "Chưa có bản sao lưu nào.";
    security(d.security);
    $("dash-updated").textContent = "Cập nhật " + new Date().toLocaleTimeString("vi-VN");
  }

  // Wrong PINs: a locked station login is an alert; recent failures a warning; nothing, no box.
  function security(sec) {
    var box = $("d-security");
    if (!sec || (!sec.locked_roles.length && !sec.failed_logins_10_min)) { box.hidden = true; return; }
    clear(box);
    box.hidden = false;
    box.className = "notice " + (sec.locked_roles.length ? "error" : "warn");
    sec.locked_roles.forEach(function (r) {
      var p = document.createElement("p");
      p.textContent = "⚠ Đăng nhập trạm " + r.label + " bằng mã PIN đang tạm khoá (còn " +
        Math.ceil(r.seconds / 60) + " phút) vì có quá nhiều lần nhập sai mã PIN. Các máy đã đăng nhập vẫn dùng được. " +
        "Nếu nghi có người dò mã: chạy ./run.sh pins --reset --role " + r.role + " trên máy chủ.";
      box.appendChild(p);
    });
    if (sec.failed_logins_10_min) {
      var p = document.createElement("p");
      var last = sec.recent_failed_logins[0];
      p.textContent = sec.failed_logins_10_min + " lần nhập sai mã PIN trong 10 phút qua" +
        (last ? " (gần nhất: " + last.at_label + ", trạm " + last.role + ", máy " + last.address + ")." : ".");
      box.appendChild(p);
    }
  }

  var pending = null;
  function refresh() {
    // Bursts of pushes (many scans in a second) make one fetch.
    if (pending) return;
    pending = setTimeout(function () {
      pending = null;
      fetch("/api/dashboard", { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(render)
        .catch(function () { $("dash-updated").textContent = "Mất kết nối, đang thử lại…"; });
    }, 300);
  }

  render(JSON.parse($("dashboard-initial").textContent));
  var socket = io("/display", { transports: ["websocket", "polling"], reconnectionDelayMax: 2000 });
  if (window.kioskMode) { window.kioskMode.watch(socket); }
  socket.on("connect", refresh);
  socket.on("stats", refresh);
  socket.on("state", refresh);
  // Gate devices going on- and offline, and conflicts after an outage, arrive on the gates' namespace.
  var gates = io("/gate", { transports: ["websocket", "polling"], reconnectionDelayMax: 2000 });
  gates.on("gates", refresh);
  gates.on("conflict", refresh);
  // Some changes (a locked PIN login, the printer) push nothing to screens: look again every 20 s.
  setInterval(refresh, 20000);
  window.kioskDashboard = { refresh: refresh };
})();
