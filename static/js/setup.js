// The phone set-up page: say exactly why the camera is or is not available on this device.
(function () {
  "use strict";
  var box = document.getElementById("camera-check");
  function say(text, ok) { box.textContent = text; box.className = "notice " + (ok ? "info" : "warn"); }
  if (!window.isSecureContext) {
    say("Trang đang mở qua http:// nên trình duyệt chặn camera. Hãy cài chứng chỉ rồi mở trang cổng qua https://.", false);
  } else if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    say("Trình duyệt này không hỗ trợ camera. Hãy dùng Chrome (Android) hoặc Safari (iPhone) bản mới.", false);
  } else {
    navigator.mediaDevices.enumerateDevices().then(function (devices) {
      var cams = devices.filter(function (d) { return d.kind === "videoinput"; }).length;
      say(cams ? "Sẵn sàng: trang an toàn (HTTPS) và có " + cams + " camera." : "Trang an toàn nhưng không thấy camera.", cams > 0);
    }).catch(function () { say("Trang an toàn (HTTPS). Trình duyệt sẽ hỏi quyền dùng camera khi bắt đầu quét.", true); });
  }
})();
