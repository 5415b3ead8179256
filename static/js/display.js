// Screens (/display, /display/lobby): render the server-owned show state pushed over Socket.IO.
// The clock and timers are computed here from server_time, never ticked over the socket.
(function () {
  "use strict";

  var view = document.body.dataset.view;
  var state = JSON.parse(document.getElementById("initial-state").textContent);
  var offsetMs = state.server_time - Date.now();
  var $ = function (id) { return document.getElementById(id); };

  function serverNow() { return new Date(Date.now() + offsetMs); }

  function clockLabel(date, timeZone) {
    var parts = new Intl.DateTimeFormat("vi-VN", {
      hour: "2-digit", minute: "2-digit", hour12: false, timeZone: timeZone
    }).formatToParts(date);
    var h = "", m = "";
    parts.forEach(function (p) { if (p.type === "hour") h = p.value; if (p.type === "minute") m = p.value; });
    return h + "h" + m;
  }

  // Shrink a block's font until its text fits its box: long Vietnamese items must never overflow.
  function fit(el) {
    if (!el || el.offsetParent === null) return;
    el.style.fontSize = "";
    var size = parseFloat(getComputedStyle(el).fontSize);
    var min = Math.max(12, window.innerHeight * 0.025);
    // Stacked Vietnamese tone marks poke a few pixels above the line box: that is not overflow.
    var overflows = function () {
      return el.scrollHeight > el.clientHeight + size * 0.3 || el.scrollWidth > el.clientWidth + 1;
    };
    while (overflows() && size > min) {
      size = size * 0.94;
      el.style.fontSize = size + "px";
    }
  }

  function setText(id, text) {
    var el = $(id);
    if (el.textContent !== text) el.textContent = text;
  }

  function render() {
    var items = state.items || [];
    var idx = state.current_index;
    var current = idx >= 0 ? items[idx] : null;
    var next = items[idx + 1] || null;

    $("blackout").hidden = !state.blackout;
    $("announcement").hidden = !state.announcement;
    setText("announcement-text", state.announcement || "");

    if (view === "lobby") {
      $("welcome").hidden = true;
      $("current").hidden = true;
      var list = $("lobby-list");
      list.hidden = false;
      list.innerHTML = "";
      items.forEach(function (item, i) {
        var li = document.createElement("li");
        li.className = i === idx ? "now" : (i < idx ? "done" : "");
        var t = document.createElement("span"); t.className = "t"; t.textContent = item.start_label;
        var c = document.createElement("span"); c.className = "c"; c.textContent = item.content;
        li.appendChild(t); li.appendChild(c);
        list.appendChild(li);
      });
      $("next-box").hidden = true;
    } else {
      // Swap contents in place (no clearing first): the projector never shows a blank frame.
      $("welcome").hidden = !!current;
      $("current").hidden = !current;
      if (current) {
        setText("item-no", "Mục " + (idx + 1) + "/" + items.length);
        setText("item-time", current.time_label);
        setText("current-content", current.content);
        setText("current-performer", current.performer || "");
      }
      $("next-box").hidden = !next;
      if (next) {
        setText("next-time", next.time_label);
        setText("next-content", next.content);
      }
    }
    fit($("current-content"));
    fit($("welcome-title"));
    fit($("announcement-text"));
    fit($("lobby-list"));
  }

  function tick() {
    setText("clock", clockLabel(serverNow(), state.event.timezone));
  }

  function accept(incoming) {
    // A snapshot after a reconnect may repeat the same rev; never go back to an older one.
    if (incoming.rev < state.rev && incoming.event.title === state.event.title) return;
    offsetMs = incoming.server_time - Date.now();
    state = incoming;
    render();
    tick();
  }

  render();
  tick();
  setInterval(tick, 1000);
  window.addEventListener("resize", render);

  var socket = io("/display", {
    transports: ["websocket", "polling"],
    reconnectionDelay: 500,
    reconnectionDelayMax: 2000
  });
  socket.on("state", accept);
  socket.on("connect", function () { $("offline-mark").hidden = true; document.body.dataset.connected = "1"; });
  socket.on("disconnect", function () { $("offline-mark").hidden = false; document.body.dataset.connected = "0"; });
  window.kioskDisplay = { state: function () { return state; } };
})();
