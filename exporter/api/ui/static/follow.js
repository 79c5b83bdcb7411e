// Shared by the export and jobs pages: CSRF header, number formats, following a job live.
"use strict";
window.Exporter = (function () {
  const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

  function csrfHeaders() {
    // The session's CSRF token (not a credential: the session itself is an HttpOnly cookie).
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? { "X-CSRF-Token": meta.content } : {};
  }

  function formatBytes(bytes) {
    const units = ["B", "kB", "MB", "GB", "TB"];
    let value = Number(bytes) || 0;
    let unit = 0;
    while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
    return (unit === 0 ? String(value) : value.toFixed(value < 10 ? 2 : 1)) + " " + units[unit];
  }

  function formatNumber(n) { return Number(n || 0).toLocaleString("en-US"); }

  // Calls onJob(job) for each snapshot until the job finishes. WebSocket first; Server-Sent
  // Events when the WebSocket cannot be opened (a proxy that does not pass it through).
  function followJob(eventsPath, onJob) {
    let done = false;
    let sse = null;
    function deliver(job) {
      if (done) return;
      onJob(job);
      if (FINISHED.has(job.state)) {
        done = true;
        if (sse) sse.close();
      }
    }
    function useSse() {
      if (done || sse) return;
      sse = new EventSource(eventsPath);
      const handler = (event) => deliver(JSON.parse(event.data));
      sse.addEventListener("state", handler);
      sse.addEventListener("progress", handler);
    }
    let opened = false;
    try {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const socket = new WebSocket(scheme + "//" + location.host + eventsPath);
      socket.addEventListener("open", () => { opened = true; });
      socket.addEventListener("message", (event) => deliver(JSON.parse(event.data).job));
      socket.addEventListener("close", () => { if (!opened || !done) useSse(); });
    } catch (error) {
      useSse();
    }
  }

  return { FINISHED, csrfHeaders, formatBytes, formatNumber, followJob };
})();
