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
})();
