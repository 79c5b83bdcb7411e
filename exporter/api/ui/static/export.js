// One export's page: keeps the URL and the download link in step with the form, shows the
// service's 422 next to the field it names, previews, and runs background jobs live.
"use strict";
(function () {
  const form = document.getElementById("export-form");
  const root = form.dataset.root;
  const name = form.dataset.export;
  const download = document.getElementById("download");
  const previewBox = document.getElementById("preview");
  const runJob = document.getElementById("run-job");
  const inputs = Array.from(form.querySelectorAll("input[data-type]"));
  const format = document.getElementById("format");

  // The parameters as the API takes them: an empty non-text input means "the default".
  function apiParams(withSensitive) {
    const params = new URLSearchParams();
    for (const input of inputs) {
      if (input.dataset.sensitive !== undefined && !withSensitive) continue;
      if (input.type === "checkbox") {
        params.set(input.name, input.checked ? "true" : "false");
        continue;
      }
      if (input.value === "" && (input.dataset.type !== "text" || input.dataset.sensitive !== undefined)) continue;
      params.set(input.name, input.value);
    }
    params.set("format", format.value);
    return params;
  }

  function sync() {
    download.href = root + "/exports/" + encodeURIComponent(name) + "?" + apiParams(true);
    // Secrets stay out of the page's URL (history, bookmarks, shared links).
    history.replaceState(null, "", "?" + apiParams(false));
  }

  function clearErrors() {
    for (const box of form.querySelectorAll(".error")) { box.hidden = true; box.textContent = ""; }
    for (const field of form.querySelectorAll(".field.invalid")) field.classList.remove("invalid");
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  }

  function showError(fieldName, message) {
    const field = form.querySelector('.field[data-field="' + CSS.escape(fieldName) + '"]');
    const box = field ? field.querySelector(".error") : document.getElementById("form-error");
    box.textContent = message;
    box.hidden = false;
    if (field) {
      field.classList.add("invalid");
      const control = field.querySelector("input:not([type=hidden]), select");
      control.setAttribute("aria-invalid", "true");
      control.focus();
    }
  }

  // Shows a problem+json (or any failed response) where it belongs; never as a raw page.
  async function showProblem(response) {
    let problem = null;
    if ((response.headers.get("content-type") || "").includes("json")) {
      problem = await response.json();
    }
    if (response.redirected || response.status === 401) {
      showError("", "Your session has ended: reload the page to log in again.");
    } else if (problem && problem.parameter && problem.type.endsWith(":invalid-parameter")) {
      const known = form.querySelector('.field[data-field="' + CSS.escape(problem.parameter) + '"]');
      showError(known ? problem.parameter : "", known ? problem.reason : problem.detail);
    } else if (problem && problem.type.endsWith(":unsupported-format")) {
      showError("format", problem.detail);
    } else {
      showError("", problem ? problem.title + ": " + problem.detail : "Request failed (" + response.status + ")");
    }
  }

  form.addEventListener("input", sync);
  form.addEventListener("change", sync);

  download.addEventListener("click", async (event) => {
    event.preventDefault();
    clearErrors();
    sync();
    const url = download.href;
    const check = await fetch(root + "/ui/exports/" + encodeURIComponent(name) + "/check?" + apiParams(true),
                              { headers: { Accept: "application/json" } });
    if (check.ok) {
      location.assign(url);  // the browser's own download: progress, the server's filename
    } else {
      await showProblem(check);
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    sync();
    previewBox.setAttribute("aria-busy", "true");
    previewBox.innerHTML = '<p class="muted">Loading the first rows…</p>';
    const response = await fetch(root + "/ui/exports/" + encodeURIComponent(name) + "/preview?" + apiParams(true),
                                 { headers: { Accept: "text/html, application/problem+json" } });
    previewBox.setAttribute("aria-busy", "false");
    if (response.ok && !response.redirected) {
      previewBox.innerHTML = await response.text();  // our own server-rendered, escaped HTML
    } else {
      previewBox.innerHTML = "";
      await showProblem(response);
    }
  });

  // Background jobs need a script (live progress), so the button only appears with one.
  const jobBox = document.getElementById("job");
  const bar = document.getElementById("job-progress");
  const percent = document.getElementById("job-percent");
  const jobDownload = document.getElementById("job-download");
  const cancel = document.getElementById("job-cancel");
  const jobError = document.getElementById("job-error");
  let current = null;
  let startedAt = 0;
  let timer = null;

  function show(job) {
    const elapsedS = (performance.now() - startedAt) / 1000;
    document.getElementById("job-state").textContent = job.state + (job.cancel_requested && !Exporter.FINISHED.has(job.state) ? " (cancelling)" : "");
    document.getElementById("job-rows").textContent = Exporter.formatNumber(job.rows);
    document.getElementById("job-bytes").textContent = Exporter.formatBytes(job.bytes);
    document.getElementById("job-rate").textContent = elapsedS > 0 && job.rows ? Exporter.formatNumber(Math.round(job.rows / elapsedS)) + " rows/s" : "–";
    if (job.state === "succeeded") {
      bar.value = 100;
      percent.textContent = "100%";
      jobDownload.href = root + job.file.download;
      jobDownload.textContent = "Download " + job.file.name + " (" + Exporter.formatBytes(job.file.bytes) + ")";
      jobDownload.hidden = false;
    } else if (job.state === "running" || job.state === "queued") {
      // The result's size is unknown until it is written: the bar runs, the counters count.
      bar.removeAttribute("value");
      percent.textContent = job.state === "queued" ? "queued" : "running";
    } else {
      bar.value = 0;
      percent.textContent = job.state;
    }
    if (job.error) { jobError.textContent = job.error; jobError.hidden = false; }
    if (Exporter.FINISHED.has(job.state)) {
      cancel.hidden = true;
      clearInterval(timer);
      document.getElementById("job-elapsed").textContent = elapsedS.toFixed(1) + " s";
    }
  }

  runJob.hidden = false;
  runJob.addEventListener("click", async () => {
    clearErrors();
    sync();
    const params = Object.fromEntries(apiParams(true));
    const output = params.format;
    delete params.format;
    const response = await fetch(root + "/jobs", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", ...Exporter.csrfHeaders() },
      body: JSON.stringify({ export: name, params: params, format: output }),
    });
    if (!response.ok) { await showProblem(response); return; }
    current = await response.json();
    jobBox.hidden = false;
    jobDownload.hidden = true;
    jobError.hidden = true;
    cancel.hidden = false;
    startedAt = performance.now();
    clearInterval(timer);
    timer = setInterval(() => {
      document.getElementById("job-elapsed").textContent = ((performance.now() - startedAt) / 1000).toFixed(0) + " s";
    }, 500);
    show(current);
    jobBox.scrollIntoView({ block: "nearest" });
    Exporter.followJob(root + current.links.events, show);
  });

  cancel.addEventListener("click", async () => {
    if (!current) return;
    const response = await fetch(root + current.links.self, { method: "DELETE", headers: Exporter.csrfHeaders() });
    if (!response.ok) await showProblem(response);
  });
})();
