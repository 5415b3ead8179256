// Every form on every page: the browser's own messages in Vietnamese, and forms that ask before they act.
// From this file, not inline attributes: the pages' Content-Security-Policy runs no inline script (an inline
// onsubmit="…" would be dropped silently and the form would submit without asking).
(function () {
  "use strict";

  // Required-field bubbles and the like are the page's Vietnamese, not the browser's "Please fill out this field".
  function message(field) {
    var v = field.validity;
    if (v.valueMissing) {
      if (field.type === "file") return "Vui lòng chọn tệp.";
      if (field.type === "radio" || field.type === "checkbox") return "Vui lòng chọn một mục.";
      if (field.tagName === "SELECT") return "Vui lòng chọn một mục trong danh sách.";
      return "Vui lòng điền vào ô này.";
    }
    if (v.patternMismatch) {
      return field.inputMode === "numeric" ? "Chỉ gõ chữ số." : "Nội dung chưa đúng dạng yêu cầu.";
    }
    if (v.typeMismatch) return "Nội dung chưa đúng dạng yêu cầu.";
    if (v.tooLong) return "Nội dung quá dài.";
    if (v.tooShort) return "Nội dung quá ngắn.";
    if (v.rangeUnderflow || v.rangeOverflow || v.stepMismatch || v.badInput) return "Giá trị không hợp lệ.";
    return "";
  }
  // The message is set before any check (on load, and again at every change), so the browser's own bubble
  // shows it; a field judged only at submit time would show the browser's English first.
  function judge(field) {
    if (!field || !field.setCustomValidity || !field.willValidate) return;
    field.setCustomValidity("");
    if (!field.validity.valid) field.setCustomValidity(message(field));
  }
  function judgeGroup(field) {
    if (field.type === "radio" && field.form && field.name) {
      Array.prototype.forEach.call(field.form.querySelectorAll('input[type="radio"]'), function (r) {
        if (r.name === field.name) judge(r);
      });
    } else {
      judge(field);
    }
  }
  function judgeAll() {
    Array.prototype.forEach.call(document.querySelectorAll("input, select, textarea"), judge);
  }
  ["input", "change"].forEach(function (type) {
    document.addEventListener(type, function (event) { judgeGroup(event.target); }, true);
  });
  document.addEventListener("invalid", function (event) { judge(event.target); }, true);
  // Forms reset by a script (the walk-in dialog) are judged afresh.
  document.addEventListener("reset", function () { setTimeout(judgeAll, 0); }, true);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", judgeAll);
  else judgeAll();

  // <form data-confirm="Câu hỏi?">: asks before it submits.
  document.addEventListener("submit", function (event) {
    var question = event.target && event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);
})();
