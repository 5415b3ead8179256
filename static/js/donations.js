// The donation desk: live read-back of the typed amount, save-then-print, receipt preview and print
// status, reprint ("BẢN SAO"), void with a reason, retry of failed jobs, printer check and calibration.
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const form = $("donation-form");
  if (!form) return;

  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const amountInput = $("amount");
  const readback = $("amount-readback");
  const saveButton = $("save");
  const SAVE_LABEL = "Lưu và in biên nhận";
  const CASHIER_KEY = "kiosk.cashierName";
  const PENDING = ["queued", "printing"];

  let parsed = { text: null, amount: null, pending: null };
  let requestId = newRequestId();
  let current = null; // the donation shown in the panel
  let currentJob = null;
  let pollTimer = null;
  let saving = false;

  // A fresh id per gift: a retried or double-submitted save returns the same receipt, never a second one.
  // crypto.randomUUID needs HTTPS; getRandomValues works on the plain-HTTP LAN address too.
  function newRequestId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function api(method, url, body) {
    const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (method !== "GET") {
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRFToken"] = csrf;
      options.body = JSON.stringify(body || {});
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (err) {
      return { ok: false, status: 0, data: { error: "network", message: "Mất kết nối tới máy chủ kiosk. Kiểm tra Wi-Fi rồi thử lại." } };
    }
    let data = {};
    try { data = await response.json(); } catch (err) { data = { message: "Máy chủ trả lời không hợp lệ." }; }
    if (response.status === 401) {
      window.location.href = "/login?role=cashier&next=" + encodeURIComponent(location.pathname);
    }
    return { ok: response.ok, status: response.status, data };
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // --- Amount read-back ---------------------------------------------------------------------------
  let parseTimer = null;
  function showReadback(state, main, detail) {
    readback.dataset.state = state;
    readback.replaceChildren();
    if (main) readback.append(el("b", { class: "figure" }, main));
    if (detail) readback.append(el("span", { class: "words" }, detail));
  }

  function parseAmount() {
    const text = amountInput.value.trim();
    if (parsed.text === text && parsed.pending) return parsed.pending;
    if (!text) {
      parsed = { text, amount: null, pending: null };
      showReadback("empty", null, "Gõ số có dấu chấm, hoặc viết tắt: 500k, 1,5tr, 2 triệu.");
      updateSaveLabel();
      return Promise.resolve(parsed);
    }
    const promise = api("GET", "/api/money/parse?text=" + encodeURIComponent(text)).then((res) => {
      if (amountInput.value.trim() !== text) return parsed; // typed on meanwhile
      if (res.ok) {
        parsed = { text, amount: res.data.amount_vnd, label: res.data.label, pending: promise };
        showReadback(res.data.hint ? "warn" : "ok", "= " + res.data.label, res.data.words + (res.data.hint ? " — " + res.data.hint : ""));
      } else {
        parsed = { text, amount: null, pending: promise, error: res.data.message };
        showReadback("error", null, res.data.message);
      }
      updateSaveLabel();
      return parsed;
    });
    parsed = { text, amount: null, pending: promise };
    return promise;
  }

  // The button repeats the amount as read, so the cashier confirms the figure with the click.
  function updateSaveLabel() {
    if (saving) return;
    saveButton.textContent = parsed.amount !== null && parsed.label ? SAVE_LABEL + " — " + parsed.label : SAVE_LABEL;
  }

  amountInput.addEventListener("input", () => {
    clearTimeout(parseTimer);
    parseTimer = setTimeout(parseAmount, 120);
  });

  // --- Who collects ("Người thu"): asked once per login, kept by the server with the login ---------------
  const collector = $("collector");
  const collectorDialog = $("collector-dialog");
  const collectorInput = $("collector-input");

  function askCollector() {
    // This device's last collector is offered, never assumed: the desk may have changed hands.
    let last = "";
    try { last = localStorage.getItem(CASHIER_KEY) || ""; } catch (err) { /* private mode */ }
    collectorInput.value = collector.dataset.name || last;
    $("collector-error").hidden = true;
    if (!collectorDialog.open) collectorDialog.showModal();
    collectorInput.select();
  }

  $("collector-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = collectorInput.value.trim();
    const error = $("collector-error");
    if (!name) {
      error.textContent = "Hãy nhập họ và tên người thu tiền.";
      error.hidden = false;
      return collectorInput.focus();
    }
    const res = await api("POST", "/api/desk/collector", { name });
    if (!res.ok) {
      error.textContent = res.data.message || "Không lưu được tên người thu. Thử lại.";
      error.hidden = false;
      return;
    }
    collector.dataset.name = res.data.collector_name;
    $("collector-name").textContent = res.data.collector_name;
    try { localStorage.setItem(CASHIER_KEY, res.data.collector_name); } catch (err) { /* ignore */ }
    collectorDialog.close();
    succeeded();
    $("donor_name").focus();
  });
  $("collector-cancel").addEventListener("click", () => collectorDialog.close());
  $("collector-change").addEventListener("click", askCollector);
  if (!collector.dataset.name) askCollector();

  // --- Saving -------------------------------------------------------------------------------------

  function formError(message, focus) {
    const box = $("form-error");
    box.hidden = !message;
    box.textContent = message || "";
    if (focus) focus.focus();
  }

  // After an action the treasurer took succeeds, earlier failure messages are no longer true (the server
  // is reachable, the printer answered): they go, so nobody reads an old "Mất kết nối" as the latest news.
  function succeeded() {
    formError(null);
    const calibration = $("calibration-result");
    if (calibration.dataset.kind === "error") { calibration.replaceChildren(); delete calibration.dataset.kind; }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (saving) return; // one save at a time; the request id also guards the server side
    if (!collector.dataset.name) return askCollector();
    const donor = $("donor_name").value.trim();
    if (!donor) return formError("Chưa nhập tên người (hoặc đơn vị) ủng hộ.", $("donor_name"));
    clearTimeout(parseTimer);
    saving = true;
    saveButton.disabled = true;
    try {
      const amount = await parseAmount();
      if (amount.amount === null) {
        return formError(amount.error || "Chưa nhập số tiền.", amountInput);
      }
      formError(null);
      const body = {
        donor_name: donor,
        organisation: $("organisation").value.trim() || null,
        amount_vnd: amount.amount,
        method: form.querySelector('input[name="method"]:checked').value,
        note: $("note").value.trim() || null,
        show_on_screen: $("show_on_screen").checked,
        request_id: requestId,
      };
      saveButton.textContent = "Đang lưu…";
      const res = await api("POST", "/api/donations", body);
      if (!res.ok) {
        if (res.data.error === "collector_required") askCollector();
        return formError(res.data.message || "Không lưu được. Thử lại.", null);
      }
      requestId = newRequestId();
      succeeded();
      form.reset();
      parsed = { text: null, amount: null, pending: null };
      showReadback("empty", null, "Gõ số có dấu chấm, hoặc viết tắt: 500k, 1,5tr, 2 triệu.");
      showDonation(res.data, res.data.print);
      refreshLists();
      $("donor_name").focus();
    } finally {
      saving = false;
      saveButton.disabled = false;
      updateSaveLabel();
    }
  });

  // --- The receipt panel ----------------------------------------------------------------------------
  function previewUrl(donation, job) {
    let url = "/donations/receipts/" + encodeURIComponent(donation.receipt_no) + ".png?v=" + Date.now();
    if (job && job.kind === "copy" && job.copy_no) url += "&copy=" + job.copy_no;
    return url;
  }

  function showDonation(donation, job) {
    current = donation;
    currentJob = job || null;
    const panel = $("receipt-panel");
    panel.dataset.state = donation.voided ? "voided" : "shown";
    panel.dataset.receipt = donation.receipt_no;
    $("panel-empty").hidden = true;
    $("panel-body").hidden = false;
    $("receipt-no").textContent = donation.receipt_no;
    $("void-badge").hidden = !donation.voided;
    $("panel-summary").replaceChildren(el("span", {},
      el("b", {}, donation.donor_name), donation.organisation ? " — " + donation.organisation : null,
      el("br"), el("span", { class: "amount" }, donation.amount_label), " · " + donation.method_label + " · " + donation.created_label,
      el("br"), el("span", { class: "muted" }, donation.amount_words),
      donation.reprint_count ? el("span", { class: "muted" }, " · đã in lại " + donation.reprint_count + " lần") : null,
      donation.cashier_name ? el("br") : null,
      donation.cashier_name ? el("span", { class: "muted" }, "Người thu: " + donation.cashier_name) : null));
    $("reprint").disabled = donation.voided;
    $("void").disabled = donation.voided;
    const info = $("void-info");
    info.hidden = !donation.voided;
    info.textContent = donation.voided ? "Đã hủy lúc " + donation.voided_label + ". Lý do: " + donation.void_reason : "";
    $("receipt-preview").src = previewUrl(donation, job);
    showJob(job);
  }

  function showJob(job) {
    currentJob = job || null;
    const box = $("print-status");
    const bin = $("download-bin");
    clearTimeout(pollTimer);
    box.replaceChildren();
    bin.hidden = true;
    if (!job) {
      box.dataset.status = "none";
      return;
    }
    box.dataset.status = job.status;
    let label = job.kind_label + ": " + job.status_label;
    if (job.status === "done" && job.previewed) label += " (chưa nối máy in)";
    box.append(el("b", {}, label));
    if (job.message) box.append(el("span", { class: "message" }, job.message));
    if (job.retryable) {
      const retry = el("button", { type: "button", class: "btn", dataset: { job: job.job_id } }, "Thử in lại");
      retry.addEventListener("click", () => retryJob(job.job_id));
      box.append(retry);
    }
    if (job.preview_bin) {
      bin.hidden = false;
      bin.href = job.preview_bin;
    }
    if (PENDING.includes(job.status)) {
      pollTimer = setTimeout(async () => {
        const res = await api("GET", "/api/print-jobs/" + job.job_id);
        if (res.ok && currentJob && currentJob.job_id === job.job_id) {
          showJob(res.data);
          if (!PENDING.includes(res.data.status)) { refreshLists(); }
        }
      }, 700);
    }
  }

  async function openReceipt(receiptNo) {
    const res = await api("GET", "/api/donations/" + encodeURIComponent(receiptNo));
    if (!res.ok) return statusMessage(res.data.message);
    succeeded();
    const jobs = res.data.jobs || [];
    showDonation(res.data, jobs.length ? jobs[jobs.length - 1] : null);
  }

  $("reprint").addEventListener("click", async () => {
    if (!current) return;
    $("reprint").disabled = true;
    const res = await api("POST", "/api/donations/" + encodeURIComponent(current.receipt_no) + "/reprint");
    $("reprint").disabled = false;
    if (!res.ok) return statusMessage(res.data.message);
    succeeded();
    showDonation(res.data, res.data.print);
    refreshLists();
  });

  async function retryJob(jobId) {
    const res = await api("POST", "/api/print-jobs/" + jobId + "/retry");
    if (!res.ok) return statusMessage(res.data.message);
    succeeded();
    if (currentJob && currentJob.job_id === jobId) showJob(res.data.print);
    refreshPrinter();
    refreshLists();
  }

  function statusMessage(message) {
    const box = $("print-status");
    box.dataset.status = "failed";
    box.replaceChildren(el("b", {}, message || "Không thực hiện được."));
  }

  // --- Void -----------------------------------------------------------------------------------------
  const dialog = $("void-dialog");
  $("void").addEventListener("click", () => {
    if (!current) return;
    $("void-receipt").textContent = current.receipt_no;
    $("void-reason").value = "";
    $("void-error").hidden = true;
    dialog.showModal();
    $("void-reason").focus();
  });
  $("void-cancel").addEventListener("click", () => dialog.close());
  $("void-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const reason = $("void-reason").value.trim();
    const res = await api("POST", "/api/donations/" + encodeURIComponent(current.receipt_no) + "/void", { reason });
    if (!res.ok) {
      $("void-error").hidden = false;
      $("void-error").textContent = res.data.message;
      return;
    }
    dialog.close();
    succeeded();
    showDonation(res.data, null);
    refreshLists();
  });

  // --- Lists, totals, printer -----------------------------------------------------------------------
  function renderRecent(donations) {
    const body = $("recent").tBodies[0];
    body.replaceChildren();
    if (!donations.length) {
      body.append(el("tr", { class: "empty" }, el("td", { colspan: 6, class: "muted" }, "Chưa có khoản ủng hộ nào.")));
      return;
    }
    for (const d of donations) {
      const job = d.print;
      body.append(el("tr", { dataset: { receipt: d.receipt_no }, tabindex: 0, class: d.voided ? "voided" : null },
        el("td", { class: "code" }, d.receipt_no),
        el("td", {}, d.created_label.split(" ")[0]),
        el("td", {}, d.donor_name, d.voided ? el("span", { class: "badge void" }, "Đã hủy") : null),
        el("td", { class: "num amount" }, d.amount_label),
        el("td", {}, d.method_label),
        el("td", {}, job ? el("span", { class: "job " + job.status }, job.status_label) : null)));
    }
  }

  function renderTotals(t) {
    $("total-amount").textContent = t.total_label;
    $("total-count").textContent = t.count + " lượt";
    $("total-voided").textContent = t.voided.count;
    for (const [key, bucket] of Object.entries(t.by_method)) {
      const part = document.querySelector('.total-part[data-method="' + key + '"] b');
      if (part) part.textContent = bucket.total_label;
    }
  }

  async function refreshLists() {
    const res = await api("GET", "/api/donations?limit=12");
    if (!res.ok) return;
    renderRecent(res.data.donations);
    renderTotals(res.data.totals);
    refreshPrinter();
  }

  function renderPrinter(p) {
    const state = $("printer-state");
    state.dataset.state = p.state.state;
    state.textContent = p.state.message;
    const box = $("failed-jobs");
    box.replaceChildren();
    if (!p.failed.length) return;
    box.append(el("h3", {}, "Chưa in được (" + p.failed.length + ")"));
    const list = el("ul", {});
    for (const job of p.failed) {
      const retry = el("button", { type: "button", class: "btn small-btn", dataset: { job: job.job_id } }, "Thử in lại");
      retry.addEventListener("click", () => retryJob(job.job_id));
      list.append(el("li", {}, el("b", {}, (job.receipt_no || job.kind_label) + (job.copy_no ? " (bản sao " + job.copy_no + ")" : "")),
        " — " + (job.message || job.status_label) + " ", retry));
    }
    box.append(list);
  }

  async function refreshPrinter() {
    const res = await api("GET", "/api/printer");
    if (res.ok) renderPrinter(res.data);
  }

  $("printer-check").addEventListener("click", async () => {
    const button = $("printer-check");
    button.disabled = true;
    $("printer-state").textContent = "Đang hỏi máy in…";
    const res = await api("POST", "/api/printer/check");
    button.disabled = false;
    if (!res.ok) { $("printer-state").textContent = res.data.message || "Không hỏi được máy in."; return; }
    succeeded();
    renderPrinter(res.data);
  });

  $("calibration-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = $("calibration-result");
    out.textContent = "Đang in thử…";
    const res = await api("POST", "/api/printer/calibration", { dots: parseInt($("calibration-dots").value, 10) });
    out.replaceChildren();
    if (!res.ok) { out.textContent = res.data.message; out.dataset.kind = "error"; return; }
    succeeded();
    const job = res.data.print;
    out.append(el("b", {}, job.status_label), job.message ? " — " + job.message : "");
    if (job.preview_png) out.append(el("img", { src: job.preview_png + "?v=" + Date.now(), alt: "Thước đo khổ giấy", class: "calibration-preview" }));
    refreshPrinter();
  });

  $("recent").addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-receipt]");
    if (row) openReceipt(row.dataset.receipt);
  });
  $("recent").addEventListener("keydown", (event) => {
    const row = event.target.closest("tr[data-receipt]");
    if (row && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); openReceipt(row.dataset.receipt); }
  });

  // A link from the ledger (/donations#KH-2023-0007) opens that receipt.
  if (location.hash.length > 1) openReceipt(decodeURIComponent(location.hash.slice(1)));
  // Nothing live on this page, but a rehearsal begun or ended must still reload it (static/js/mode.js).
  if (window.io && window.kioskMode) {
    window.kioskMode.watch(window.io("/display", { transports: ["websocket", "polling"], reconnectionDelayMax: 2000 }));
  }
  refreshPrinter();
  setInterval(refreshPrinter, 15000);
})();
