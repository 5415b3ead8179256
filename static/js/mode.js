// The page reloads itself when the server behind it now runs another database: the admin began or ended
// a dress rehearsal, and every station must show (or stop showing) the rehearsal banner and its data.
(function () {
  "use strict";
  function watch(socket) {
    // Every namespace sends "kiosk_mode" right after it accepts the connection (kiosk/sockets.py).
    socket.on("kiosk_mode", function (mode) {
      var mine = document.documentElement.getAttribute("data-mode") || "";
      if (mode && mine && mode !== mine) { window.location.reload(); }
    });
    return socket;
  }
  window.kioskMode = { watch: watch };
})();
