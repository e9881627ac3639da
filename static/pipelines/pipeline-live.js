// Follows a running pipeline and reloads its page when a step changes state, so the DAG shows it.
(function () {
  const card = document.querySelector("[data-pipeline-url]");
  if (!card || card.dataset.pipelineState !== "running") return;
  async function poll() {
    const response = await fetch(card.dataset.pipelineUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const pipeline = await response.json();
    const steps = pipeline.steps.map((step) => step.name + ":" + step.state).join("|");
    if (pipeline.state + "|" + steps !== card.dataset.pipelineFingerprint) window.location.reload();
    else setTimeout(poll, 3000);
  }
  setTimeout(poll, 3000);
})();
