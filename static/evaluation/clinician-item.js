// Keyboard shortcuts for the clinician's comparison page (documented on the page itself).
// The form works without this script; it only adds shortcuts and highlights the current criterion.
(function () {
  const form = document.querySelector("[data-rating-form]");
  if (!form) return;
  const groups = Array.from(form.querySelectorAll("[data-criterion]"));
  const status = document.querySelector("[data-shortcut-status]");
  const comment = form.querySelector("#comment");
  const flag = form.querySelector("#flagged-unsafe");
  const choiceFor = { a: "A", b: "B", t: "tie" };
  let current = null;

  function answered(group) { return group.querySelector("input:checked") !== null; }
  function groupOf(element) { return groups.find((group) => group.contains(element)) || null; }
  function highlight(group) {
    groups.forEach((g) => g.classList.toggle("current", g === group));
    current = group;
  }
  function currentGroup() {
    return groupOf(document.activeElement) || current || groups.find((g) => !answered(g)) || groups[0];
  }
  function focusGroup(group) {
    if (!group) { form.querySelector("[data-submit]").focus(); highlight(null); return; }
    highlight(group);
    (group.querySelector("input:checked") || group.querySelector("input")).focus();
  }
  function announce(text) { if (status) status.textContent = text; }
  function typing(target) {
    return target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && !["radio", "checkbox"].includes(target.type));
  }

  form.addEventListener("focusin", (event) => { const g = groupOf(event.target); if (g) highlight(g); });
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") { event.target.blur(); focusGroup(currentGroup()); }
      return;
    }
    const key = event.key.toLowerCase();
    const group = currentGroup();
    if (key in choiceFor && group) {
      const input = group.querySelector(`input[value="${choiceFor[key]}"]`);
      input.checked = true;
      const legend = group.querySelector("legend").textContent;
      announce(`${legend}: ${input.parentElement.textContent.trim()}`);
      const index = groups.indexOf(group);
      focusGroup(groups[index + 1] || null);
    } else if (key === "j" || key === "k") {
      const index = groups.indexOf(group) + (key === "j" ? 1 : -1);
      focusGroup(groups[Math.max(0, Math.min(index, groups.length - 1))]);
    } else if (key === "c") {
      comment.focus();
    } else if (key === "f") {
      flag.checked = !flag.checked;
      announce(flag.checked ? "Flagged as unsafe" : "Flag removed");
    } else if (key === "s") {
      form.requestSubmit(form.querySelector("[data-save]"));
    } else if (key === "enter" && event.target.tagName !== "BUTTON" && event.target.tagName !== "A") {
      form.requestSubmit(form.querySelector("[data-submit]"));
    } else {
      return;
    }
    event.preventDefault();
  });
  form.dataset.shortcuts = "on";
})();
