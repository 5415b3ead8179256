// The programme editor (/admin/programme): add, change, remove and reorder items; accept planned gaps.
// Every change goes to the JSON API; the answer is the whole programme, which is re-rendered.
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var root = $("editor");
  var csrf = root.dataset.csrf;
  var programme = JSON.parse($("initial-programme").textContent);
  var SLIDES = { "": "Không", delegates: "Danh sách đại biểu", donations: "Tổng quyên góp" };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "className") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function hhmm(iso) { return iso ? iso.slice(11, 16) : ""; }

  function message(id, text) {
    var box = $(id);
    box.textContent = text || "";
    box.hidden = !text;
  }

  function send(method, url, body, errorBox) {
    errorBox = errorBox || "editor-error";
    message("editor-error", "");
    message("add-error", "");
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.status === 401) { window.location.href = "/login?role=admin&next=/admin/programme"; return null; }
        if (!response.ok) {
          message(errorBox, data.message || "Không lưu được thay đổi.");
          return Promise.reject(data);
        }
        programme = data;
        render();
        return data;
      });
    }, function () {
      message(errorBox, "Không kết nối được máy chủ. Thay đổi chưa được lưu.");
      return Promise.reject({ error: "network" });
    });
  }

  function saved(text) {
    message("editor-saved", text);
    setTimeout(function () { message("editor-saved", ""); }, 3000);
  }

  function renderWarnings() {
    var box = $("editor-warnings");
    var fresh = document.createDocumentFragment();
    programme.warnings.forEach(function (w) {
      var note = el("div", { className: "notice " + (w.accepted ? "info" : "warn"), "data-warning": w.kind,
                             "data-accepted": w.accepted ? "1" : "0" });
      note.appendChild(el("span", null, (w.accepted ? "✓ Đã chấp nhận: " : "⚠ ") + w.message));
      if (w.acceptable) {
        var button = el("button", { type: "button", className: "btn secondary small-btn" },
                        w.accepted ? "Bỏ chấp nhận" : "Chấp nhận khoảng trống này");
        button.addEventListener("click", function () {
          send("POST", "/api/programme/warnings", { key: w.key, accepted: !w.accepted });
        });
        note.appendChild(button);
      } else {
        note.appendChild(el("span", { className: "small" }, " Cần sửa giờ để hết chồng lấn."));
      }
      fresh.appendChild(note);
    });
    box.replaceChildren(fresh);
  }

  function row(item, index) {
    var tr = el("tr", { "data-id": item.id });
    var isCurrent = item.id === programme.current_item_id;
    if (isCurrent) tr.className = "current";
    var start = el("input", { type: "time", name: "start", "aria-label": "Giờ bắt đầu mục " + (index + 1) });
    start.value = hhmm(item.planned_start);
    var end = el("input", { type: "time", name: "end", "aria-label": "Giờ kết thúc mục " + (index + 1) });
    end.value = hhmm(item.planned_end);
    var content = el("textarea", { name: "content", rows: "2", maxlength: "600", "aria-label": "Nội dung mục " + (index + 1) });
    content.value = item.content;
    var performer = el("input", { type: "text", name: "performer", maxlength: "200", placeholder: "Người thực hiện",
                                  "aria-label": "Người thực hiện mục " + (index + 1) });
    performer.value = item.performer || "";
    var slide = el("select", { name: "slide", "aria-label": "Trang chiếu mục " + (index + 1) });
    Object.keys(SLIDES).forEach(function (key) {
      var option = el("option", { value: key }, SLIDES[key]);
      if ((item.slide || "") === key) option.selected = true;
      slide.appendChild(option);
    });
    var fields = { start: start, end: end, content: content, performer: performer, slide: slide };
    var original = { start: start.value, end: end.value, content: content.value, performer: performer.value, slide: slide.value };

    var save = el("button", { type: "button", className: "btn small-btn", disabled: "disabled" }, "Lưu");
    var up = el("button", { type: "button", className: "btn secondary small-btn", title: "Lên trên", "aria-label": "Đưa mục " + (index + 1) + " lên" }, "↑");
    var down = el("button", { type: "button", className: "btn secondary small-btn", title: "Xuống dưới", "aria-label": "Đưa mục " + (index + 1) + " xuống" }, "↓");
    var remove = el("button", { type: "button", className: "btn secondary small-btn remove", "aria-label": "Xóa mục " + (index + 1) }, "Xóa");
    if (index === 0) up.disabled = true;
    if (index === programme.items.length - 1) down.disabled = true;
    if (isCurrent) { remove.disabled = true; remove.title = "Mục đang diễn ra"; }

    function changes() {
      var body = {};
      Object.keys(fields).forEach(function (key) {
        if (fields[key].value !== original[key]) body[key] = fields[key].value;
      });
      return body;
    }
    Object.keys(fields).forEach(function (key) {
      fields[key].addEventListener("input", function () {
        save.disabled = Object.keys(changes()).length === 0;
        tr.classList.toggle("dirty", !save.disabled);
      });
    });
    save.addEventListener("click", function () {
      send("PATCH", "/api/programme/items/" + item.id, changes()).then(function () { saved("Đã lưu mục " + (index + 1) + "."); },
        function (err) { if (err && err.field && fields[err.field]) fields[err.field].focus(); });
    });
    function move(delta) {
      var ids = programme.items.map(function (i) { return i.id; });
      var target = index + delta;
      ids.splice(target, 0, ids.splice(index, 1)[0]);
      send("POST", "/api/programme/order", { ids: ids }).then(function () { saved("Đã đổi thứ tự."); }, function () {});
    }
    up.addEventListener("click", function () { move(-1); });
    down.addEventListener("click", function () { move(1); });
    remove.addEventListener("click", function () {
      if (!window.confirm("Xóa mục " + (index + 1) + ": “" + item.content + "”?")) return;
      send("DELETE", "/api/programme/items/" + item.id).then(function () { saved("Đã xóa mục."); }, function () {});
    });

    var cells = [el("td", { className: "no" }, String(index + 1) + (isCurrent ? " ▶" : "")), el("td"), el("td"),
                 el("td", { className: "text" }), el("td"), el("td", { className: "actions" })];
    cells[1].appendChild(start);
    cells[2].appendChild(end);
    cells[3].appendChild(content);
    cells[3].appendChild(performer);
    cells[4].appendChild(slide);
    var moves = el("div", { className: "moves" });
    moves.appendChild(up);
    moves.appendChild(down);
    [save, moves, remove].forEach(function (b) { cells[5].appendChild(b); });
    cells.forEach(function (cell) { tr.appendChild(cell); });
    return tr;
  }

  function render() {
    renderWarnings();
    var fresh = document.createDocumentFragment();
    programme.items.forEach(function (item, index) { fresh.appendChild(row(item, index)); });
    $("editor-rows").replaceChildren(fresh);
  }

  $("add-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.currentTarget;
    var body = {};
    ["start", "end", "content", "performer", "slide"].forEach(function (name) { body[name] = form.elements[name].value; });
    send("POST", "/api/programme/items", body, "add-error").then(function () {
      form.reset();
      saved("Đã thêm mục vào chương trình.");
    }, function (err) { if (err && err.field && form.elements[err.field]) form.elements[err.field].focus(); });
  });

  render();
})();
