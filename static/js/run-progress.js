// Live progress for a training run: polls the run, and while its step moves on fetches the page's charts
// again (the server draws every chart, so the page and the live view are the same picture).
(function () {
  const card = document.querySelector("[data-run-charts-url]");
  if (!card) return;
  const terminal = new Set(["succeeded", "failed", "cancelled"]);
  let shownStep = Number(card.querySelector("[data-run-step]").textContent);

  async function redrawCharts() {
    const response = await fetch(card.dataset.runChartsUrl, { headers: { Accept: "text/html" } });
    if (response.ok) card.querySelector("[data-run-charts]").innerHTML = await response.text();
  }

  async function poll() {
    const response = await fetch(card.dataset.runUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const run = await response.json();
    document.querySelector("[data-run-status]").textContent = run.status.charAt(0).toUpperCase() + run.status.slice(1);
    card.querySelector("[data-run-step]").textContent = run.step;
    card.querySelector("[data-run-total]").textContent = run.total_steps || "?";
    card.querySelector("[data-run-progress]").value = run.total_steps ? Math.round((100 * run.step) / run.total_steps) : 0;
    if (run.step !== shownStep) {
      shownStep = run.step;
      await redrawCharts();
    }
    if (terminal.has(run.status)) {
      if (!document.body.dataset.reloaded) { document.body.dataset.reloaded = "1"; setTimeout(() => location.reload(), 500); }
      return;
    }
    setTimeout(poll, 2000);
  }
  const statusText = document.querySelector("[data-run-status]").textContent.trim().toLowerCase();
  if (!terminal.has(statusText)) poll();
})();
