// Admin "Đến dự": live counts per group and who is still expected, refreshed when the gate pushes.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };

  function cell(row, text, cls) {
    var td = document.createElement("td");
    td.textContent = text == null ? "" : text;
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }

  function renderStats(s) {
    $("s-present").textContent = s.present;
    $("s-invited").textContent = s.invited_present + "/" + s.invited;
    $("s-vip").textContent = s.vip_present + "/" + s.vip_expected;
    $("s-walkins").textContent = s.walk_ins;
    var body = $("groups-table").querySelector("tbody");
    body.innerHTML = "";
    s.groups.forEach(function (g) {
      var tr = document.createElement("tr");
      cell(tr, g.name);
      cell(tr, g.invited_present, "num");
      cell(tr, g.expected || "", "num");
      cell(tr, g.walk_ins || "", "num");
      body.appendChild(tr);
    });
    $("updated").textContent = "Cập nhật " + new Date().toLocaleTimeString("vi-VN");
  }

  function renderAbsent(list) {
    $("absent-count").textContent = "(" + list.length + ")";
    var body = $("absent-table").querySelector("tbody");
    body.innerHTML = "";
    list.forEach(function (p) {
      var tr = document.createElement("tr");
      var who = cell(tr, p.addressed + (p.vip ? " ★" : ""));
      if (p.title) { var small = document.createElement("div"); small.className = "muted small"; small.textContent = p.title; who.appendChild(small); }
      cell(tr, p.organisation);
      var phone = cell(tr, "");
      if (p.phone) { var a = document.createElement("a"); a.href = "tel:" + p.phone; a.textContent = p.phone; phone.appendChild(a); }
      body.appendChild(tr);
    });
  }

  function refresh() {
    fetch("/api/stats").then(function (r) { return r.json(); }).then(renderStats).catch(function () {});
    fetch("/api/absent").then(function (r) { return r.json(); }).then(function (d) { renderAbsent(d.absent); })
      .catch(function () {});
  }
  var socket = io("/display", { transports: ["websocket", "polling"], reconnectionDelayMax: 2000 });
  if (window.kioskMode) { window.kioskMode.watch(socket); }
  socket.on("connect", refresh);
  socket.on("stats", function (s) { renderStats(s); fetch("/api/absent").then(function (r) { return r.json(); })
    .then(function (d) { renderAbsent(d.absent); }).catch(function () {}); });
  refresh();
})();
