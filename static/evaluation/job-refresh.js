// Follows the evaluation's latest job and reloads the page once it ends, so the new results show.
(function () {
  const card = document.querySelector("[data-job-status-url]");
  if (!card) return;
  const terminal = new Set(["succeeded", "partial", "failed", "cancelled"]);
  const label = (status) => (status === "partial" ? "Partially succeeded" : status.charAt(0).toUpperCase() + status.slice(1));
  if (terminal.has(card.dataset.jobState)) return;
  const statusEl = card.querySelector("[data-job-status]");
  const bar = card.querySelector("[data-job-progress]");
  const counts = card.querySelector("[data-job-counts]");
  async function poll() {
    const response = await fetch(card.dataset.jobStatusUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const job = await response.json();
    statusEl.textContent = label(job.status);
    statusEl.className = "badge status-" + job.status;
    bar.value = job.progress_percent;
    counts.textContent = job.progress_done + " of " + job.progress_total;
    if (terminal.has(job.status)) window.location.reload();
    else setTimeout(poll, 2000);
  }
  setTimeout(poll, 2000);
})();
