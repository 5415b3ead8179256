// Forms that ask before they act: <form data-confirm="Câu hỏi?">. A listener from this file, not an inline
// onsubmit attribute, because the pages' Content-Security-Policy runs no inline script (an inline
// handler would be silently dropped and the form would submit without asking).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var question = event.target && event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);
})();
