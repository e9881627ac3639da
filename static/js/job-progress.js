// Polls a background job's status and updates its progress bar until the job ends.
// A card marked data-job-reload reloads the page once the job succeeds (its result is then on the page).
(function () {
  const card = document.querySelector("[data-job-status-url]");
  if (!card) return;
  const terminal = new Set(["succeeded", "partial", "failed", "cancelled"]);
  const label = (status) => (status === "partial" ? "Partially succeeded" : status.charAt(0).toUpperCase() + status.slice(1));
  const part = (name) => card.querySelector("[" + name + "]");
  async function poll() {
    const response = await fetch(card.dataset.jobStatusUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const job = await response.json();
    const statusEl = part("data-job-status");
    if (statusEl) {
      statusEl.textContent = label(job.status);
      statusEl.className = "badge status-" + job.status;
    }
    if (part("data-job-progress")) part("data-job-progress").value = job.progress_percent;
    if (part("data-job-counts")) part("data-job-counts").textContent = job.progress_done + " of " + job.progress_total;
    if (job.status === "succeeded") {
      if (card.hasAttribute("data-job-reload")) { window.location.reload(); return; }
      if (part("data-job-download")) part("data-job-download").hidden = false;
    }
    if (job.error && part("data-job-error")) { const e = part("data-job-error"); e.textContent = job.error; e.hidden = false; }
    if (!terminal.has(job.status)) setTimeout(poll, 1000);
  }
  poll();
})();
