// Admin "Danh sách giấy": find each person ticked on the printed door list and record the time written
// beside the tick; walk-ins from the paper sheet likewise. Every request carries a nonce, so a double
// click or a retry records once.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var csrf = document.querySelector('meta[name="csrf-token"]').content;

  function nonce() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function post(body) {
    return fetch("/api/checkin/paper", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (data) { return { status: r.status, data: data }; }); });
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  var entered = 0;
  function note(data, time) {
    var li = el("li", data.result === "ok" ? "ok" : "already");
    var d = data.delegate || {};
    li.textContent = time + " · " + (d.addressed || d.full_name || "") + " — " +
      (data.result === "ok" ? "đã ghi nhận (từ danh sách giấy)" : data.message);
    var list = $("entered");
    list.insertBefore(li, list.firstChild);
    entered += 1;
    $("entered-count").textContent = "(" + entered + ")";
  }

  function row(p) {
    var li = el("li", "paper-row");
    li.dataset.id = p.id;
    var who = el("div", "who");
    who.appendChild(el("div", "name", p.addressed + (p.vip ? " ★" : "")));
    who.appendChild(el("div", "meta small muted", [p.title, p.organisation, p.group, p.seat,
      p.code_tail ? "Mã thẻ …" + p.code_tail : null].filter(Boolean).join(" · ")));
    li.appendChild(who);
    var act = el("form", "act");
    if (p.checked_in_at) act.appendChild(el("span", "here small", "Đã đến " + p.checked_in_label));
    var time = el("input", "time");
    time.type = "text"; time.maxLength = 8; time.placeholder = "07:25"; time.required = true;
    time.setAttribute("aria-label", "Giờ đến ghi trên giấy");
    var button = el("button", "btn", "Ghi nhận");
    button.type = "submit";
    var error = el("div", "notice error small");
    error.hidden = true;
    var requestNonce = nonce();
    act.appendChild(time); act.appendChild(button); act.appendChild(error);
    act.addEventListener("submit", function (e) {
      e.preventDefault();
      button.disabled = true; error.hidden = true;
      post({ invitee_id: p.id, time: time.value, nonce: requestNonce }).then(function (res) {
        button.disabled = false;
        if (res.status !== 200) { error.hidden = false; error.textContent = res.data.message; return; }
        note(res.data, time.value);
        li.classList.add("done");
        act.replaceChildren(el("span", "here small", res.data.result === "ok"
          ? "Đã ghi nhận " + res.data.first_checked_in_label + " (giấy)" : res.data.message));
      }).catch(function () {
        button.disabled = false; error.hidden = false;
        error.textContent = "Mất kết nối với máy chủ. Thử lại.";
      });
    });
    li.appendChild(act);
    return li;
  }

  $("paper-search").addEventListener("submit", function (e) {
    e.preventDefault();
    var q = $("paper-q").value.trim();
    if (!q) return;
    fetch("/api/delegates?q=" + encodeURIComponent(q), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var list = $("paper-results");
        list.replaceChildren();
        var people = (data.results || []).filter(function (p) { return !p.walk_in; });
        if (!people.length) list.appendChild(el("li", "muted", "Không tìm thấy ai khớp “" + q + "”."));
        people.forEach(function (p) { list.appendChild(row(p)); });
        var first = list.querySelector("input.time");
        if (first) first.focus();
      });
  });

  var walkinNonce = nonce();
  $("paper-walkin").addEventListener("submit", function (e) {
    e.preventDefault();
    var form = new FormData($("paper-walkin"));
    $("walkin-error").hidden = true;
    post({ walk_in: { full_name: form.get("full_name"), group: form.get("group"),
                      organisation: form.get("organisation") || null, phone: form.get("phone") || null },
           time: form.get("time"), nonce: walkinNonce }).then(function (res) {
      if (res.status !== 200) {
        $("walkin-error").hidden = false; $("walkin-error").textContent = res.data.message; return;
      }
      note(res.data, form.get("time"));
      walkinNonce = nonce();
      var group = $("paper-walkin").elements.group.value;
      $("paper-walkin").reset();
      $("paper-walkin").elements.group.value = group;
      $("paper-walkin").elements.full_name.focus();
    });
  });
})();
