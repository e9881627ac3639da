// Live progress for a training run: polls the run and its new events, redraws the loss curve.
(function () {
  const card = document.querySelector("[data-run-events-url]");
  if (!card) return;
  const terminal = new Set(["succeeded", "failed", "cancelled"]);
  // Same keys as training_worker.selectors.LOSS_KEYS: the train split's loss, and the test split's.
  const splits = [
    { label: "train split", colour: "#2d5bd1", keys: ["train/loss", "loss"], points: [] },
    { label: "test split", colour: "#d1462d", keys: ["test/loss", "test_loss", "eval_loss"], points: [] },
  ];
  let lastStep = -1;

  function draw() {
    const all = splits.flatMap((s) => s.points);
    if (all.length < 2) return;
    const w = 640, h = 280, l = 56, r = 16, t = 28, b = 40;
    const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
    const x0 = Math.min(...xs), x1 = Math.max(...xs) || 1, y0 = Math.min(...ys), y1 = Math.max(...ys);
    const sx = (x) => l + ((x - x0) / ((x1 - x0) || 1)) * (w - l - r);
    const sy = (y) => h - b - ((y - y0) / ((y1 - y0) || 1)) * (h - t - b);
    const lines = splits.filter((s) => s.points.length).map((s, i) =>
      '<polyline fill="none" stroke="' + s.colour + '" stroke-width="2" points="' +
      s.points.map((p) => sx(p[0]).toFixed(1) + "," + sy(p[1]).toFixed(1)).join(" ") + '"/>' +
      '<text x="' + (w - r) + '" y="' + (t + 14 * i) + '" text-anchor="end" font-size="12" fill="' + s.colour + '">' + s.label + "</text>").join("");
    card.querySelector("[data-run-chart]").innerHTML =
      '<svg class="chart" viewBox="0 0 ' + w + " " + h + '" role="img" aria-label="Loss: train split vs test split">' +
      "<title>Loss: train split vs test split</title>" +
      '<text x="' + l + '" y="18" font-weight="600">Loss: train split vs test split (live)</text>' +
      '<line x1="' + l + '" y1="' + (h - b) + '" x2="' + (w - r) + '" y2="' + (h - b) + '" stroke="#999"/>' +
      '<line x1="' + l + '" y1="' + t + '" x2="' + l + '" y2="' + (h - b) + '" stroke="#999"/>' +
      '<text x="' + (l - 6) + '" y="' + (sy(y1) + 4) + '" text-anchor="end" font-size="11">' + y1.toPrecision(3) + "</text>" +
      '<text x="' + (l - 6) + '" y="' + (sy(y0) + 4) + '" text-anchor="end" font-size="11">' + y0.toPrecision(3) + "</text>" +
      '<text x="' + (w - r) + '" y="' + (h - b + 14) + '" text-anchor="end" font-size="11">step ' + x1 + "</text>" +
      lines + "</svg>";
  }

  async function poll() {
    const [runResponse, eventsResponse] = await Promise.all([
      fetch(card.dataset.runUrl, { headers: { Accept: "application/json" } }),
      fetch(card.dataset.runEventsUrl + "?after=" + lastStep, { headers: { Accept: "application/json" } }),
    ]);
    if (!runResponse.ok || !eventsResponse.ok) return;
    const run = await runResponse.json();
    for (const event of await eventsResponse.json()) {
      lastStep = Math.max(lastStep, event.step);
      for (const split of splits) {
        const key = split.keys.find((k) => typeof event.metrics[k] === "number");
        if (key) split.points.push([event.step, event.metrics[key]]);
      }
    }
    document.querySelector("[data-run-status]").textContent = run.status.charAt(0).toUpperCase() + run.status.slice(1);
    card.querySelector("[data-run-step]").textContent = run.step;
    card.querySelector("[data-run-total]").textContent = run.total_steps || "?";
    card.querySelector("[data-run-progress]").value = run.total_steps ? Math.round((100 * run.step) / run.total_steps) : 0;
    draw();
    if (terminal.has(run.status)) {
      if (!document.body.dataset.reloaded) { document.body.dataset.reloaded = "1"; setTimeout(() => location.reload(), 500); }
      return;
    }
    setTimeout(poll, 2000);
  }
  const statusText = document.querySelector("[data-run-status]").textContent.trim().toLowerCase();
  if (!terminal.has(statusText)) poll();
})();
