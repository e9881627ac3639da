// Polls a background job's status and updates its progress bar until the job ends.
(function () {
  const card = document.querySelector("[data-job-status-url]");
  if (!card) return;
  const terminal = new Set(["succeeded", "failed", "cancelled"]);
  const statusEl = card.querySelector("[data-job-status]");
  const bar = card.querySelector("[data-job-progress]");
  const counts = card.querySelector("[data-job-counts]");
  async function poll() {
    const response = await fetch(card.dataset.jobStatusUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const job = await response.json();
    statusEl.textContent = job.status.charAt(0).toUpperCase() + job.status.slice(1);
    statusEl.className = "badge status-" + job.status;
    bar.value = job.progress_percent;
    counts.textContent = job.progress_done + " of " + job.progress_total;
    if (job.status === "succeeded") card.querySelector("[data-job-download]").hidden = false;
    if (job.error) { const e = card.querySelector("[data-job-error]"); e.textContent = job.error; e.hidden = false; }
    if (!terminal.has(job.status)) setTimeout(poll, 1000);
  }
  poll();
})();
