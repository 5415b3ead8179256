// Screens (/display, /display/lobby, /display/welcome): render the server-owned show state pushed over
// Socket.IO. The clock is computed here from server_time, never ticked over the socket.
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var body = document.body;
  var view = body.dataset.view;
  var state = JSON.parse($("initial-state").textContent);
  var offsetMs = state.server_time - Date.now();
  var greetMs = parseInt(body.dataset.greetMs, 10) || 6000;
  var VIEWS = ["projector", "lobby", "welcome"];

  // ---- who this screen is: a random secret key kept across reloads. The server answers each hello with
  // the public id it derives from the key (the MC names the screen by that id); the key itself never
  // appears anywhere, so no other device can speak for this screen.
  function stored(key, value) {
    try {
      if (value === undefined) return window.localStorage.getItem(key);
      window.localStorage.setItem(key, value);
    } catch (e) { /* private mode: the key lives as long as the page */ }
    return value;
  }
  function randomKey() {
    var bytes = new Uint8Array(24);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  var screenKey = stored("kiosk.screen.key") || stored("kiosk.screen.key", randomKey());
  var screenId = stored("kiosk.screen.id");
  var params = new URLSearchParams(window.location.search);
  if (params.get("name")) stored("kiosk.screen.name", params.get("name"));
  var ownName = stored("kiosk.screen.name") || null;
  var assignedName = null;

  // ---- text that always fits its box
  function fits(el) { return el.scrollHeight <= el.clientHeight && el.scrollWidth <= el.clientWidth; }

  // Largest font size (up to the stylesheet's) at which the text fits: long Vietnamese items never
  // overflow. Binary search, all in one task, so no intermediate size is ever painted.
  function fit(el) {
    if (!el || el.getClientRects().length === 0) return;
    el.style.fontSize = "";
    if (fits(el)) return;
    var hi = parseFloat(window.getComputedStyle(el).fontSize);
    var lo = Math.max(9, hi * 0.15);
    for (var i = 0; i < 14 && hi - lo > 0.5; i++) {
      var mid = (lo + hi) / 2;
      el.style.fontSize = mid + "px";
      if (fits(el)) lo = mid; else hi = mid;
    }
    el.style.fontSize = lo + "px";
  }

  function setText(id, text) {
    var el = $(id);
    text = text || "";
    if (el.textContent !== text) el.textContent = text;
    return el;
  }

  function show(id, visible) {
    var el = $(id);
    if (el.hidden === visible) el.hidden = !visible;
  }

  // Older TV browsers lack replaceChildren.
  function replaceContent(parent, fragment) {
    parent.textContent = "";
    parent.appendChild(fragment);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  // ---- the parts of each view
  var lobbyKey = null, delegatesKey = null, shownItemKey = null;

  function renderLobby(items, idx) {
    var key = JSON.stringify([idx, items.map(function (i) { return [i.time_label, i.content]; })]);
    if (key === lobbyKey) return;
    lobbyKey = key;
    var list = $("lobby-list");
    var fresh = document.createDocumentFragment();
    items.forEach(function (item, i) {
      var li = el("li", i === idx ? "now" : (i < idx ? "done" : ""));
      li.appendChild(el("span", "t", item.start_label));
      li.appendChild(el("span", "c", item.content));
      if (i === idx) li.setAttribute("aria-current", "step");
      fresh.appendChild(li);
    });
    replaceContent(list, fresh);
  }

  function personLine(person) {
    var li = el("li", person.late ? "late" : "");
    li.appendChild(el("span", "who", person.addressed));
    var role = [person.title, person.organisation].filter(Boolean).join(", ");
    if (person.substitute_for) role += (role ? " " : "") + "(thay " + person.substitute_for + ")";
    if (role) li.appendChild(el("span", "role", role));
    return li;
  }

  function renderDelegates(roster) {
    var key = JSON.stringify(roster);
    if (key === delegatesKey) return;
    delegatesKey = key;
    var list = $("delegates");
    var fresh = document.createDocumentFragment();
    roster.forEach(function (person) { fresh.appendChild(personLine(person)); });
    replaceContent(list, fresh);
    list.classList.toggle("many", roster.length > 8);
  }

  function donorName(donor) { return typeof donor === "string" ? donor : (donor && donor.name) || ""; }

  function renderDonations(d) {
    if (d.fund_name) setText("fund-name", d.fund_name);
    setText("donation-total", d.total_label || "");
    setText("donation-count", d.count ? d.count + " lượt ủng hộ" : "");
    // Names only (of donors who agreed to be shown): amounts stay at the desk and with the MC.
    var names = (d.recent_donors || []).map(donorName).filter(Boolean);
    setText("donation-thanks", names.length ? "Trân trọng cảm ơn: " + names.join(", ") : "");
  }

  // ---- greetings for arriving guests (welcome view): queued, each shown for a while
  var greetQueue = [], greeting = null, greetTimer = null;

  function nextGreeting() {
    greeting = greetQueue.shift() || null;
    clearTimeout(greetTimer);
    if (greeting) {
      setText("greeting-text", greeting.greeting);
      setText("greeting-who", [greeting.title, greeting.organisation].filter(Boolean).join(" — "));
      setText("greeting-seat", greeting.seat ? "Chỗ ngồi: " + greeting.seat : "");
      // A queue at the gate shortens each greeting, so nobody is greeted long after sitting down.
      var ms = greetQueue.length ? Math.max(2500, greetMs / 2) : greetMs;
      greetTimer = setTimeout(nextGreeting, ms);
    }
    render();
  }

  function onGreet(data) {
    if (view !== "welcome" || !data || typeof data.greeting !== "string") return;
    greetQueue.push(data);
    if (greetQueue.length > 30) greetQueue.shift();
    if (!greeting) nextGreeting();
  }

  // ---- the whole screen from the state
  function render() {
    var items = state.items || [];
    var idx = state.current_index;
    var current = idx >= 0 ? items[idx] || null : null;
    var next = current ? items[idx + 1] || null : null;
    var parts = { welcome: false, current: false, "slide-delegates": false, "slide-donations": false,
                  "lobby-list": false, greeting: false, "next-box": false };

    if (view === "lobby") {
      parts["lobby-list"] = true;
      renderLobby(items, idx);
    } else if (view === "welcome") {
      parts[greeting ? "greeting" : "welcome"] = true;
    } else {
      var slide = state.slide && current ? current.slide : null;
      // A slide whose data has not arrived (the feature is off, or not yet built) shows the item instead.
      if (slide === "delegates" && Array.isArray(state.roster) && state.roster.length) {
        parts["slide-delegates"] = true;
        renderDelegates(state.roster);
      } else if (slide === "donations" && state.donations) {
        parts["slide-donations"] = true;
        renderDonations(state.donations);
      } else if (current) {
        parts.current = true;
        var key = state.current_item_id + "|" + current.content;
        setText("item-no", "Mục " + (idx + 1) + "/" + items.length);
        setText("item-time", current.time_label);
        setText("current-content", current.content);
        setText("current-performer", current.performer);
        show("current-performer", !!current.performer);
        if (shownItemKey !== null && key !== shownItemKey) {
          // Restart the gentle entrance; the old text is replaced in place, never a blank frame.
          var box = $("current");
          box.classList.remove("entering");
          void box.offsetWidth;
          box.classList.add("entering");
        }
        shownItemKey = key;
      } else {
        parts.welcome = true;
      }
      if (next) {
        parts["next-box"] = true;
        setText("next-time", next.time_label);
        setText("next-content", next.content);
      }
    }
    Object.keys(parts).forEach(function (id) { show(id, parts[id]); });

    show("blackout", !!state.blackout && view === "projector");
    setText("announcement-text", state.announcement);
    show("announcement", !!state.announcement);
    Array.prototype.forEach.call(document.querySelectorAll(".fit"), fit);
  }

  var clockFormat = null;
  function clockLabel(date) {
    if (!clockFormat) {
      clockFormat = new Intl.DateTimeFormat("vi-VN", { hour: "2-digit", minute: "2-digit", hour12: false,
                                                      timeZone: state.event.timezone });
    }
    var h = "", m = "";
    clockFormat.formatToParts(date).forEach(function (p) {
      if (p.type === "hour") h = p.value;
      if (p.type === "minute") m = p.value;
    });
    return h + "h" + m;
  }

  function tick() { setText("clock", clockLabel(new Date(Date.now() + offsetMs))); }

  var nameTimer = null;
  function flashName(name) {
    setText("screen-name", name);
    show("screen-name", true);
    clearTimeout(nameTimer);
    nameTimer = setTimeout(function () { show("screen-name", false); }, 5000);
  }

  function setView(next) {
    if (VIEWS.indexOf(next) < 0 || next === view) return;
    body.classList.remove("view-" + view);
    view = next;
    body.classList.add("view-" + view);
    body.dataset.view = view;
    lobbyKey = null;
    if (view !== "welcome") { greetQueue = []; greeting = null; clearTimeout(greetTimer); }
    // A reload keeps the view the MC chose (the server's assignment wins anyway).
    var path = view === "projector" ? "/display" : "/display/" + view;
    try { window.history.replaceState(null, "", path + window.location.search); } catch (e) { /* file: */ }
    sayHello();
  }

  function follow() {
    var mine = screenId ? (state.screens || {})[screenId] : null;
    if (!mine) return;
    if (mine.name && mine.name !== assignedName) flashName(mine.name);
    assignedName = mine.name || null;
    if (mine.view) setView(mine.view);
  }

  function accept(incoming, fresh) {
    // Within one connection states arrive in order, so an older rev is a straggler; after a reconnect
    // the server is the truth, whatever its rev.
    if (!fresh && incoming.rev < state.rev) return;
    offsetMs = incoming.server_time - Date.now();
    state = incoming;
    follow();
    render();
    tick();
  }

  // ---- the connection: reconnect fast (1.5 s at most between tries), say who we are each time
  var socket = window.io("/display", {
    transports: ["websocket", "polling"],
    reconnectionDelay: 500,
    reconnectionDelayMax: 1500,
    randomizationFactor: 0.3,
    timeout: 5000
  });
  if (window.kioskMode) { window.kioskMode.watch(socket); }
  // The first state of every connection may go back in rev (a restored server). The client hands over
  // states sent during the handshake before it fires "connect", so the flag is set on disconnect.
  var freshConnection = true;

  function sayHello() {
    if (!socket.connected) return;
    socket.emit("hello", { key: screenKey, name: ownName, view: view }, function (answer) {
      if (!answer || !answer.ok || !answer.id || answer.id === screenId) return;
      screenId = stored("kiosk.screen.id", answer.id);
      follow();
      render();
    });
  }

  function offline(isOffline) {
    show("offline-mark", isOffline);
    body.dataset.connected = isOffline ? "0" : "1";
  }

  socket.on("connect", function () { offline(false); sayHello(); });
  socket.on("disconnect", function () { freshConnection = true; offline(true); });
  socket.on("connect_error", function () { offline(true); });
  socket.on("state", function (incoming) {
    if (!incoming || typeof incoming.rev !== "number") return;
    var fresh = freshConnection;
    freshConnection = false;
    accept(incoming, fresh);
  });
  socket.on("greet", onGreet);

  follow();
  render();
  tick();
  setInterval(tick, 1000);
  window.addEventListener("resize", render);
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(render);
  window.kioskDisplay = {
    state: function () { return state; },
    view: function () { return view; },
    screenId: function () { return screenId; },
    socket: socket
  };
})();
