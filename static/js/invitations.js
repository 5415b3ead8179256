// Admin invitee list: export every card (PDF or ZIP of PNGs) in the background with a progress bar.
(function () {
  "use strict";
  var box = document.getElementById("export");
  if (!box) return;
  var bar = document.getElementById("export-bar");
  var text = document.getElementById("export-text");
  var progress = document.getElementById("export-progress");
  var buttons = box.querySelectorAll("button[data-format]");
  var csrf = null;

  function setBusy(busy) { buttons.forEach(function (b) { b.disabled = busy; }); }

  function token() {
    if (csrf) return Promise.resolve(csrf);
    return fetch("/api/me").then(function (r) { return r.json(); }).then(function (me) { csrf = me.csrf_token; return csrf; });
  }

  function poll(url) {
    fetch(url).then(function (r) { return r.json(); }).then(function (job) {
      var pct = job.total ? Math.round(100 * job.done / job.total) : 0;
      bar.style.width = pct + "%";
      if (job.status === "running") {
        text.textContent = "Đang tạo thẻ " + job.done + "/" + job.total + " (" + pct + "%)";
        setTimeout(function () { poll(url); }, 400);
      } else if (job.status === "done") {
        text.textContent = "Xong " + job.total + " thẻ. Đang tải xuống…";
        setBusy(false);
        window.location.href = job.download_url;
      } else {
        text.textContent = "Lỗi khi tạo thẻ: " + (job.error || "không rõ");
        setBusy(false);
      }
    }).catch(function () {
      text.textContent = "Mất kết nối với máy chủ, đang thử lại…";
      setTimeout(function () { poll(url); }, 1500);
    });
  }

  buttons.forEach(function (button) {
    button.addEventListener("click", function () {
      setBusy(true);
      progress.hidden = false;
      bar.style.width = "0";
      text.textContent = "Đang bắt đầu…";
      token().then(function (t) {
        return fetch(box.dataset.start, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-CSRFToken": t },
          body: JSON.stringify({ format: button.dataset.format })
        });
      }).then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          if (!res.ok) { text.textContent = res.body.message; setBusy(false); return; }
          // Another export still runs: follow that one (its own message says so).
          if (res.body.message) text.textContent = res.body.message;
          setTimeout(function () { poll("/api/invitations/export/" + res.body.job); }, res.body.message ? 1500 : 0);
        })
        .catch(function () { text.textContent = "Không gửi được yêu cầu. Kiểm tra kết nối."; setBusy(false); });
    });
  });
})();
