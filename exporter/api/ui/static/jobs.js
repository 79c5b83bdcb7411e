// The jobs page: sizes in readable units, and unfinished jobs followed live.
"use strict";
(function () {
  const root = document.querySelector("#jobs") ? "" : null;
  if (root === null) return;
  for (const cell of document.querySelectorAll('[data-cell="bytes"]')) {
    cell.textContent = Exporter.formatBytes(cell.dataset.value);
  }
  for (const row of document.querySelectorAll("tr[data-job]")) {
    if (Exporter.FINISHED.has(row.dataset.state)) continue;
    Exporter.followJob(row.dataset.events, (job) => {
      row.dataset.state = job.state;
      row.querySelector('[data-cell="state"]').textContent = job.state;
      row.querySelector('[data-cell="rows"]').textContent = Exporter.formatNumber(job.rows);
      const size = job.file && job.file.bytes != null ? job.file.bytes : job.bytes;
      row.querySelector('[data-cell="bytes"]').textContent = Exporter.formatBytes(size);
      if (job.file && job.file.status === "available") {
        const link = document.createElement("a");
        link.href = row.dataset.events.replace(/\/events$/, "/download");
        link.setAttribute("download", "");
        link.textContent = job.file.name;
        row.querySelector('[data-cell="file"]').replaceChildren(link);
        if (job.file.expires_at) {
          const time = document.createElement("time");
          time.dateTime = job.file.expires_at;
          time.textContent = job.file.expires_at.slice(0, 19).replace("T", " ");
          row.querySelector('[data-cell="expires"]').replaceChildren(time);
        }
      }
    });
  }
})();
