// Participant pages: focus the error summary, guard the final submit, open the support panel on wide
// screens, and turn the rank <select>s into a reorderable list (drag and drop, Up/Down arrow keys, move
// buttons) that asks before an untouched order is submitted. Without JavaScript the selects work on their
// own and the server checks that the ranks are a permutation and that a shown order was confirmed.
(function () {
  "use strict";

  const summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();

  const support = document.querySelector("[data-support-more]");
  if (support && window.matchMedia("(min-width: 40rem)").matches) support.open = true;

  document.querySelectorAll("form").forEach(function (form) {
    const once = form.querySelector("[data-submit-once]");
    if (!once) return;
    let sent = false;
    form.addEventListener("submit", function (event) {
      if (sent) { event.preventDefault(); return; }
      sent = true;
    });
  });

  document.querySelectorAll("[data-ranking]").forEach(enhanceRanking);

  // Continue with the qualities still in the shuffled order they were shown in reveals the "keep this
  // order" box and moves focus to it instead of submitting (the server asks the same without JavaScript).
  function guardUntouched(fieldset, container) {
    const box = fieldset.querySelector("[data-rank-confirm]");
    const confirm = box.querySelector("input[type=checkbox]");
    const shown = Array.from(container.querySelectorAll("[data-rank-row] select"));
    fieldset.closest("form").addEventListener("submit", function (event) {
      if (confirm.checked || !event.submitter || event.submitter.value !== "next") return;
      const untouched = shown.every(function (select, index) { return select.value === String(index + 1); });
      if (!untouched) return;
      event.preventDefault();
      box.hidden = false;
      confirm.focus();
    });
  }

  function enhanceRanking(fieldset) {
    // A page shown again with rank errors keeps the selects, so every message stays next to its field.
    if (fieldset.querySelector(".rank-row.has-error")) return;
    const container = fieldset.querySelector("[data-rank-rows]");
    guardUntouched(fieldset, container);
    const entries = Array.from(container.querySelectorAll("[data-rank-row]")).map(function (row) {
      return {
        label: row.dataset.label,
        hint: row.querySelector(".hint").textContent,
        select: row.querySelector("select"),
      };
    });
    const count = entries.length;
    const saved = entries.map(function (entry) { return parseInt(entry.select.value, 10); });
    if (saved.every(function (rank) { return rank >= 1; }) && new Set(saved).size === count) {
      entries.sort(function (a, b) { return parseInt(a.select.value, 10) - parseInt(b.select.value, 10); });
    }

    const instructions = document.createElement("p");
    instructions.id = "rank-instructions";
    instructions.className = "hint";
    instructions.textContent =
      "Drag the qualities into order, most important at the top. With a keyboard, move to a quality " +
      "with the Tab key and press the Up or Down arrow key to move it.";
    const list = document.createElement("ol");
    list.className = "rank-list";
    const status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("aria-live", "polite");

    entries.forEach(function (entry) {
      const item = document.createElement("li");
      item.tabIndex = 0;
      item.draggable = true;
      item.dataset.key = entry.select.name;
      item.setAttribute("aria-describedby", instructions.id);
      item.innerHTML =
        '<span class="rank-number" aria-hidden="true"></span>' +
        '<span class="rank-text"><span class="rank-name"></span><span class="rank-hint"></span></span>' +
        '<span class="rank-buttons">' +
        '<button type="button" class="rank-move" tabindex="-1" data-move="-1"><span aria-hidden="true">&#8593;</span></button>' +
        '<button type="button" class="rank-move" tabindex="-1" data-move="1"><span aria-hidden="true">&#8595;</span></button>' +
        "</span>";
      item.querySelector(".rank-name").textContent = entry.label;
      item.querySelector(".rank-hint").textContent = entry.hint;
      item.querySelector('[data-move="-1"]').setAttribute("aria-label", "Move " + entry.label + " up");
      item.querySelector('[data-move="1"]').setAttribute("aria-label", "Move " + entry.label + " down");
      item._entry = entry;
      list.appendChild(item);
    });

    container.hidden = true;
    const noJsHint = fieldset.querySelector("[data-ranking-nojs]");
    if (noJsHint) noJsHint.hidden = true;
    container.after(instructions, list, status);
    sync();

    function items() { return Array.from(list.children); }

    function sync() {
      items().forEach(function (item, index) {
        const rank = index + 1;
        item._entry.select.value = String(rank);
        item.querySelector(".rank-number").textContent = rank;
        item.setAttribute("aria-label", item._entry.label + ", rank " + rank + " of " + count);
      });
    }

    function announce(item) {
      const rank = items().indexOf(item) + 1;
      status.textContent = item._entry.label + " moved to rank " + rank + " of " + count + ".";
    }

    function move(item, step) {
      const index = items().indexOf(item);
      const target = index + step;
      if (target < 0 || target >= count) return;
      if (step < 0) list.insertBefore(item, items()[target]);
      else list.insertBefore(item, items()[target].nextSibling);
      sync();
      announce(item);
    }

    list.addEventListener("keydown", function (event) {
      const item = event.target.closest("li");
      if (!item || event.target !== item) return;
      if (event.key === "ArrowUp" || event.key === "ArrowDown") {
        event.preventDefault();
        move(item, event.key === "ArrowUp" ? -1 : 1);
        item.focus();
      }
    });

    list.addEventListener("click", function (event) {
      const button = event.target.closest("[data-move]");
      if (!button) return;
      const item = button.closest("li");
      move(item, parseInt(button.dataset.move, 10));
    });

    let dragged = null;
    list.addEventListener("dragstart", function (event) {
      dragged = event.target.closest("li");
      dragged.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.dataset.key);
    });
    list.addEventListener("dragover", function (event) {
      if (!dragged) return;
      event.preventDefault();
      const over = event.target.closest("li");
      if (!over || over === dragged) return;
      const box = over.getBoundingClientRect();
      const after = event.clientY > box.top + box.height / 2;
      list.insertBefore(dragged, after ? over.nextSibling : over);
    });
    list.addEventListener("drop", function (event) { event.preventDefault(); });
    list.addEventListener("dragend", function () {
      if (!dragged) return;
      dragged.classList.remove("dragging");
      sync();
      announce(dragged);
      dragged = null;
    });
  }
})();
