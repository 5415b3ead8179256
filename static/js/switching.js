// After a rehearsal button: wait until the server answers from the other database (its pages carry another
// data-mode), then open the admin page there. Until then the old server, then nothing, answers.
(function () {
  "use strict";
  var box = document.getElementById("switching");
  var status = document.getElementById("switching-status");
  var mine = document.documentElement.getAttribute("data-mode") || "";
  var GIVE_UP_MS = 120000;
  var started = Date.now();

  function check() {
    fetch("/login", { credentials: "same-origin", cache: "no-store" }).then(function (response) {
      return response.text();
    }).then(function (page) {
      var found = /<html[^>]*data-mode="([^"]*)"/.exec(page);
      if (found && found[1] && found[1] !== mine) {
        window.location.href = box.getAttribute("data-next");
        return;
      }
      later();
    }).catch(later);
  }

  function later() {
    if (Date.now() - started > GIVE_UP_MS) {
      status.textContent = "Máy chủ chưa trở lại sau 2 phút. Xem cửa sổ dòng lệnh trên máy chủ, rồi tải lại trang này.";
      return;
    }
    setTimeout(check, 700);
  }

  setTimeout(check, 700);
})();
