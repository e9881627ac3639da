// Shows only the fields that matter for the chosen method; without JavaScript every field stays visible.
(function () {
  const form = document.querySelector("[data-launch-form]");
  if (!form) return;
  const methodFields = JSON.parse(form.dataset.methodFields);
  const always = new Set(["name", "method", "snapshot"]);
  const extra = {
    reward: ["criterion"], sft: ["model"], dpo: ["criterion", "model"],
    modpo: ["criterion", "model", "margin_reward_runs", "weight_set", "weights"],
    joint: ["model", "weight_set", "weights"],
    merge: ["merge_runs", "merge_method"],
  };
  function update() {
    const method = form.elements.method.value;
    const shown = new Set([...always, ...(extra[method] || []), ...(methodFields[method] || [])]);
    form.querySelectorAll("[data-field]").forEach((el) => { el.hidden = !shown.has(el.dataset.field); });
    form.querySelectorAll("fieldset").forEach((fs) => {
      fs.hidden = ![...fs.querySelectorAll("[data-field]")].some((el) => !el.hidden);
    });
  }
  form.elements.method.addEventListener("change", update);
  update();

  // The criterion list offers only the chosen snapshot's criteria (with none chosen, the current sets').
  const criterion = form.elements.criterion;
  const bySnapshot = JSON.parse(criterion.dataset.criteriaBySnapshot);
  const current = JSON.parse(criterion.dataset.currentCriteria);
  function narrow() {
    const snapshot = form.elements.snapshot.value;
    const offered = new Set(snapshot ? bySnapshot[snapshot] || [] : current);
    for (const option of criterion.options) {
      option.hidden = option.disabled = option.value !== "" && !offered.has(option.value);
    }
    if (criterion.selectedOptions[0] && criterion.selectedOptions[0].disabled) criterion.value = "";
  }
  form.elements.snapshot.addEventListener("change", narrow);
  narrow();
})();
